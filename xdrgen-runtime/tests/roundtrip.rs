//! Property tests: every scalar and bounded type round-trips, `encoded_len` matches the bytes
//! written, decoding is canonical (accepted bytes re-encode to themselves), and arbitrary bytes
//! never make a decoder panic.

use proptest::prelude::*;
use xdrgen_runtime::xdr::{
    from_bytes, to_bytes, Decode, Decoder, Encode, Encoder, Opaque, VarArray, XdrString,
};

/// Encodes `v`, checks the length bookkeeping, decodes it back.
fn round_trip<T: Encode + Decode>(v: &T) -> T {
    let bytes = to_bytes(v).expect("value within its bounds encodes");
    assert_eq!(bytes.len(), v.encoded_len(), "encoded_len disagrees");
    assert_eq!(bytes.len() % 4, 0, "XDR output is whole 4-byte units");
    // Also through a plain Encoder, which must append exactly encoded_len bytes.
    let mut e = Encoder::from_vec(vec![0xee]);
    v.encode(&mut e).expect("encodes");
    assert_eq!(e.len(), 1 + v.encoded_len());
    from_bytes(&bytes).expect("own encoding decodes")
}

/// Decodes arbitrary bytes; when accepted, they must be the one canonical encoding.
fn canonical<T: Encode + Decode>(bytes: &[u8]) {
    if let Ok(v) = from_bytes::<T>(bytes) {
        assert_eq!(to_bytes(&v).expect("decoded value re-encodes"), bytes);
    }
}

fn bytes_up_to(n: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=n)
}

/// Near-valid string/opaque encodings: a small length word, exactly the padded number of
/// bytes (ASCII half the time so UTF-8 checks pass), padding zeroed unless `dirty`, and
/// sometimes one word too many or too few.
fn length_prefixed() -> impl Strategy<Value = Vec<u8>> {
    (
        0u32..24,
        any::<bool>(),
        any::<bool>(),
        0usize..4,
        bytes_up_to(24),
    )
        .prop_map(|(len, ascii, dirty, shape, noise)| {
            let n = len as usize;
            let padded = n.div_ceil(4) * 4;
            let mut v = len.to_be_bytes().to_vec();
            for i in 0..padded {
                let b = noise.get(i).copied().unwrap_or(0x41);
                v.push(match (i < n, ascii, dirty) {
                    (true, true, _) => b & 0x7f,
                    (true, false, _) => b,
                    (false, _, true) => b,
                    (false, _, false) => 0,
                });
            }
            match shape {
                0 => v.extend([0, 0, 0, 0]),
                1 => v.truncate(v.len().saturating_sub(4)),
                _ => {}
            }
            v
        })
}

proptest! {
    #[test]
    fn integers_round_trip(a: i32, b: u32, c: i64, d: u64, e: i8, f: u8, g: i16, h: u16, t: bool) {
        prop_assert_eq!(round_trip(&a), a);
        prop_assert_eq!(round_trip(&b), b);
        prop_assert_eq!(round_trip(&c), c);
        prop_assert_eq!(round_trip(&d), d);
        prop_assert_eq!(round_trip(&e), e);
        prop_assert_eq!(round_trip(&f), f);
        prop_assert_eq!(round_trip(&g), g);
        prop_assert_eq!(round_trip(&h), h);
        prop_assert_eq!(round_trip(&t), t);
    }

    #[test]
    fn floats_round_trip_bit_exact(a_bits: u32, b_bits: u64) {
        // Bits, not values: NaN payloads and -0.0 must survive too.
        let a = f32::from_bits(a_bits);
        let b = f64::from_bits(b_bits);
        prop_assert_eq!(round_trip(&a).to_bits(), a_bits);
        prop_assert_eq!(round_trip(&b).to_bits(), b_bits);
    }

    #[test]
    fn strings_round_trip(chars in prop::collection::vec(any::<char>(), 0..=4), long: String) {
        // At most 4 chars of at most 4 bytes: always within 16.
        let s = XdrString::<16>::new(chars.into_iter().collect()).unwrap();
        prop_assert_eq!(&round_trip(&s), &s);
        let unbounded = XdrString::<{ u32::MAX }>::new(long).unwrap();
        prop_assert_eq!(&round_trip(&unbounded), &unbounded);
    }

    #[test]
    fn string_bound_is_byte_length(s: String) {
        let r = XdrString::<5>::try_from(s.as_str());
        prop_assert_eq!(r.is_ok(), s.len() <= 5);
    }

    #[test]
    fn opaque_round_trips(small in bytes_up_to(7), big in bytes_up_to(300)) {
        let o = Opaque::<7>::new(small).unwrap();
        prop_assert_eq!(&round_trip(&o), &o);
        let o = Opaque::<{ u32::MAX }>::new(big).unwrap();
        prop_assert_eq!(&round_trip(&o), &o);
    }

    #[test]
    fn var_array_round_trips_through_helpers(items in prop::collection::vec(any::<i64>(), 0..=6)) {
        // The shape generated code emits for `hyper list<6>`.
        let a = VarArray::<i64, 6>::new(items).unwrap();
        let mut e = Encoder::new();
        e.put_len(a.len(), 6).unwrap();
        for x in &a {
            x.encode(&mut e).unwrap();
        }
        let bytes = e.into_bytes();
        prop_assert_eq!(bytes.len(), 4 + 8 * a.len());
        let mut d = Decoder::new(&bytes);
        let n = d.get_len(6, 8).unwrap();
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(i64::decode(&mut d).unwrap());
        }
        d.finish().unwrap();
        prop_assert_eq!(VarArray::<i64, 6>::new(v).unwrap(), a);
    }

    #[test]
    fn fixed_opaque_round_trips(data: [u8; 5]) {
        let mut e = Encoder::new();
        e.put_fixed_opaque(&data);
        let bytes = e.into_bytes();
        prop_assert_eq!(bytes.len(), 8);
        let mut d = Decoder::new(&bytes);
        prop_assert_eq!(d.get_fixed_opaque::<5>().unwrap(), data);
        prop_assert_eq!(d.remaining(), 0);
    }

    #[test]
    fn arbitrary_bytes_decode_canonically_or_fail(bytes in bytes_up_to(40)) {
        canonical::<i32>(&bytes);
        canonical::<u32>(&bytes);
        canonical::<i64>(&bytes);
        canonical::<u64>(&bytes);
        canonical::<f32>(&bytes);
        canonical::<f64>(&bytes);
        canonical::<bool>(&bytes);
        canonical::<i8>(&bytes);
        canonical::<u8>(&bytes);
        canonical::<i16>(&bytes);
        canonical::<u16>(&bytes);
        canonical::<XdrString<8>>(&bytes);
        canonical::<XdrString>(&bytes);
        canonical::<Opaque<8>>(&bytes);
        canonical::<Opaque>(&bytes);
    }

    #[test]
    fn length_prefixed_bytes_decode_canonically_or_fail(bytes in length_prefixed()) {
        canonical::<XdrString<8>>(&bytes);
        canonical::<XdrString>(&bytes);
        canonical::<Opaque<8>>(&bytes);
        canonical::<Opaque>(&bytes);
    }

    #[test]
    fn decoder_methods_never_panic(
        bytes in bytes_up_to(40),
        bound: u32,
        elem in 0usize..=16,
        fixed in 0usize..=12,
    ) {
        // Each read on a fresh decoder; results are ignored, only panics would fail.
        let _ = Decoder::new(&bytes).get_var_opaque(bound);
        let _ = Decoder::new(&bytes).get_var_opaque_ref(bound);
        let _ = Decoder::new(&bytes).get_str_ref(bound);
        let _ = Decoder::new(&bytes).get_fixed_opaque::<3>();
        let _ = Decoder::new(&bytes).get_fixed_opaque::<9>();
        let _ = Decoder::new(&bytes).get_fixed_opaque_ref(fixed);
        let mut d = Decoder::new(&bytes);
        if let Ok(n) = d.get_len(bound, elem) {
            // The promise callers rely on before Vec::with_capacity(n).
            prop_assert!(n as u64 <= u64::from(bound));
            prop_assert!(n * elem.max(1) <= d.remaining());
        }
    }
}
