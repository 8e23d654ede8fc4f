//! The RFC 5531 record reader and message header: the input is a TCP byte stream (fragment
//! headers and bodies, in reads whose sizes the input's first byte chooses) reassembled by
//! `RecordCodec` under a 64 KiB record maximum, and every record decoded as an `rpc_msg`
//! with its credentials. Each must give a record, a message or an error: never a panic, and
//! never room reserved for what a header only claims (`-malloc_limit_mb` catches that).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder as _;
use xdrgen_runtime::onc::msg::Message;
use xdrgen_runtime::onc::{Credentials, RecordCodec};
use xdrgen_runtime::xdr::Decoder;

fuzz_target!(|data: &[u8]| {
    let Some((&step, stream)) = data.split_first() else {
        return;
    };
    let step = usize::from(step).max(1);
    let mut codec = RecordCodec::new(64 * 1024);
    let mut buf = BytesMut::new();
    for chunk in stream.chunks(step) {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(record)) => {
                    let mut input = Decoder::new(&record);
                    if let Ok(Message::Call(call)) = Message::decode_from(&mut input) {
                        let _ = Credentials::from_opaque(&call.cred);
                    }
                }
                Ok(None) => break,
                // A broken stream ends the connection.
                Err(_) => return,
            }
        }
    }
    let _ = codec.decode_eof(&mut buf);
});
