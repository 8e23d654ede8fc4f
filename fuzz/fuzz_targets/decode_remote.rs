//! Decoding every enum, struct and union of libvirt's remote_protocol.x: the input's first word
//! picks the type (modulo their number), the rest is what is decoded. A decoder must answer
//! every input with a value or an error: never a panic, never an allocation sized by an
//! unchecked length (libFuzzer's `-malloc_limit_mb` catches those).
#![no_main]

use libfuzzer_sys::fuzz_target;

include!(concat!(env!("OUT_DIR"), "/types.rs"));

fuzz_target!(|data: &[u8]| {
    let Some((word, body)) = data.split_first_chunk::<4>() else {
        return;
    };
    let index = u32::from_be_bytes(*word) as usize % TYPES.len();
    (TYPES[index].1)(body);
});
