//! The `random` feature: determinism, length caps, bounds and round trips of random values.
#![cfg(feature = "random")]

use xdrgen_runtime::random::{random_fixed_opaque, random_vec, Gen, Random};
use xdrgen_runtime::xdr::{from_bytes, to_bytes, Decode, Encode, Opaque, VarArray, XdrString};

#[test]
fn same_seed_same_sequence() {
    let mut a = Gen::new(42);
    let mut b = Gen::new(42);
    for _ in 0..1000 {
        assert_eq!(a.next_u64(), b.next_u64());
    }
    let draw = |seed| {
        let mut g = Gen::new(seed);
        (
            XdrString::<20>::random(&mut g),
            Opaque::<9>::random(&mut g),
            f64::random(&mut g).to_bits(),
            i16::random(&mut g),
            random_vec(&mut g, 10, |g| g.next_u32()),
        )
    };
    assert_eq!(draw(7), draw(7));
    assert_ne!(draw(7), draw(8));
}

#[test]
fn len_never_exceeds_bound_or_cap() {
    for max_len in [0usize, 1, 5, 64] {
        let mut g = Gen::new(max_len as u64).with_max_len(max_len);
        for bound in [0u32, 1, 2, 3, 4, 5, 6, 63, 64, 65, 1000, u32::MAX] {
            for _ in 0..300 {
                let n = g.len(bound);
                assert!(n as u64 <= u64::from(bound), "len {n} > bound {bound}");
                assert!(n <= max_len, "len {n} > max_len {max_len}");
            }
        }
    }
}

#[test]
fn len_visits_the_edges() {
    let mut g = Gen::new(1);
    let seen: Vec<usize> = (0..500).map(|_| g.len(10)).collect();
    for edge in [0, 9, 10] {
        assert!(seen.contains(&edge), "never produced {edge}");
    }
    // A bound above the cap still gives varied lengths up to the cap.
    let mut g = Gen::new(2).with_max_len(16);
    let seen: Vec<usize> = (0..500).map(|_| g.len(u32::MAX)).collect();
    assert!(seen.contains(&0));
    assert!(seen.iter().any(|&n| n > 8));
    assert!(seen.iter().all(|&n| n <= 16));
}

#[test]
fn strings_respect_their_byte_bound_and_use_multibyte_chars() {
    let mut g = Gen::new(3);
    let mut multibyte = false;
    for _ in 0..500 {
        let s = XdrString::<0>::random(&mut g);
        assert!(s.is_empty());
        let s = XdrString::<1>::random(&mut g);
        assert!(s.len() <= 1);
        let s = XdrString::<7>::random(&mut g);
        assert!(s.len() <= 7, "{s:?}");
        let s = XdrString::<{ u32::MAX }>::random(&mut g);
        assert!(s.len() <= 64);
        assert!(!s.contains('\0'));
        multibyte |= s.chars().any(|c| c.len_utf8() > 1);
    }
    assert!(multibyte, "no multi-byte character in 500 strings");
}

#[test]
fn opaques_and_arrays_respect_bounds() {
    let mut g = Gen::new(4).with_max_len(100);
    for _ in 0..300 {
        assert!(Opaque::<5>::random(&mut g).len() <= 5);
        assert!(VarArray::<u8, 3>::random(&mut g).len() <= 3);
        assert!(random_vec(&mut g, 2, |g| g.gen_bool()).len() <= 2);
    }
    let a: [u8; 13] = random_fixed_opaque(&mut g);
    let b: [u8; 13] = random_fixed_opaque(&mut g);
    assert_ne!(a, b);
}

#[test]
fn floats_are_never_nan_and_hit_special_values() {
    let mut g = Gen::new(5);
    let xs: Vec<f64> = (0..2000).map(|_| f64::random(&mut g)).collect();
    let ys: Vec<f32> = (0..2000).map(|_| f32::random(&mut g)).collect();
    assert!(xs.iter().all(|x| !x.is_nan()));
    assert!(ys.iter().all(|y| !y.is_nan()));
    assert!(xs.contains(&f64::INFINITY) && xs.contains(&f64::NEG_INFINITY));
    assert!(xs.iter().any(|x| *x == 0.0 && x.is_sign_negative()));
    assert!(ys
        .iter()
        .any(|y| y.is_finite() && y.abs() > 1.0 && *y != f32::MAX));
}

#[test]
fn integers_hit_their_extremes() {
    let mut g = Gen::new(6);
    let xs: Vec<i32> = (0..500).map(|_| i32::random(&mut g)).collect();
    for v in [0, 1, -1, i32::MIN, i32::MAX] {
        assert!(xs.contains(&v), "never produced {v}");
    }
    let us: Vec<u8> = (0..500).map(|_| u8::random(&mut g)).collect();
    assert!(us.contains(&0) && us.contains(&u8::MAX));
}

fn round_trips<T: Random + Encode + Decode + PartialEq + std::fmt::Debug>(seed: u64) {
    let mut g = Gen::new(seed);
    for _ in 0..200 {
        let v = T::random(&mut g);
        let bytes = to_bytes(&v).expect("random values meet their bounds");
        assert_eq!(bytes.len(), v.encoded_len());
        assert_eq!(from_bytes::<T>(&bytes).expect("decodes"), v);
    }
}

#[test]
fn random_values_round_trip() {
    round_trips::<i8>(1);
    round_trips::<u8>(2);
    round_trips::<i16>(3);
    round_trips::<u16>(4);
    round_trips::<i32>(5);
    round_trips::<u32>(6);
    round_trips::<i64>(7);
    round_trips::<u64>(8);
    round_trips::<f32>(9);
    round_trips::<f64>(10);
    round_trips::<bool>(11);
    round_trips::<XdrString<5>>(12);
    round_trips::<XdrString>(13);
    round_trips::<Opaque<3>>(14);
    round_trips::<Opaque>(15);
}
