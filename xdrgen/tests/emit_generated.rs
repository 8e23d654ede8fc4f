//! Compiles the emitter's output for the hand-made demo models (`generated/demo.rs`, kept current
//! by the unit test `emit::tests::compiled_fixture_is_current`) and checks it against the wire
//! format and the runtime.

use xdrgen_runtime::codegen::{from_bytes, to_bytes, Decode, Encode, ErrorKind, Random};

/// The extern type `clock_t` that the demo model maps to `crate::Clock`. Its hand-written codec
/// refuses C's `(clock_t)-1` ("no time available") both ways, with a custom error.
#[derive(Debug, Clone, PartialEq)]
pub struct Clock(pub u32);

/// What C's `clock()` returns when it has no time to give.
const NO_CLOCK: u32 = u32::MAX;

fn no_clock() -> xdrgen_runtime::codegen::Error {
    xdrgen_runtime::codegen::Error::custom("clock_t -1: no time available")
}

impl Encode for Clock {
    fn encoded_len(&self) -> usize {
        4
    }
    fn encode(
        &self,
        out: &mut xdrgen_runtime::codegen::Encoder,
    ) -> Result<(), xdrgen_runtime::codegen::Error> {
        if self.0 == NO_CLOCK {
            return Err(no_clock());
        }
        out.put_u32(self.0);
        Ok(())
    }
}

impl Decode for Clock {
    fn decode(
        input: &mut xdrgen_runtime::codegen::Decoder<'_>,
    ) -> Result<Self, xdrgen_runtime::codegen::Error> {
        match input.get_u32()? {
            NO_CLOCK => Err(no_clock()),
            ticks => Ok(Clock(ticks)),
        }
    }
}

impl Random for Clock {
    fn random(g: &mut xdrgen_runtime::codegen::Gen) -> Self {
        Clock(g.next_u32() >> 1)
    }
}

// Not every generated item is exercised here.
#[allow(dead_code)]
mod generated {
    include!("generated/demo.rs");
}

use generated::{demo, other};
use xdrgen_runtime::codegen::{Gen, Opaque, VarArray, XdrString};

/// Encodes with the generated impl and checks `encoded_len` is exact.
fn encode<T: Encode>(value: &T) -> Vec<u8> {
    let bytes = to_bytes(value).expect("encodes");
    assert_eq!(bytes.len(), value.encoded_len(), "encoded_len is exact");
    bytes
}

fn name(s: &str) -> demo::Name {
    XdrString::try_from(s).expect("fits")
}

/// A list of `n` entries with values 0..n, built without recursion.
fn list(n: i32) -> demo::Entry {
    let mut head: Option<Box<demo::Entry>> = None;
    for v in (0..n).rev() {
        head = Some(Box::new(demo::Entry {
            v,
            name: name(""),
            next: head,
        }));
    }
    *head.expect("n > 0")
}

#[test]
fn struct_wire_format_is_rfc4506() {
    let s = demo::Scalars {
        i: -2,
        u: 3,
        h: -1,
        uh: 1 << 40,
        b: true,
        c: -54,
        uc: 200,
        s: -2,
        us: 65535,
        col: demo::Color::Blue,
    };
    let mut want = Vec::new();
    want.extend((-2i32).to_be_bytes());
    want.extend(3u32.to_be_bytes());
    want.extend((-1i64).to_be_bytes());
    want.extend((1u64 << 40).to_be_bytes());
    want.extend(1u32.to_be_bytes());
    want.extend([0xff, 0xff, 0xff, 0xca]);
    want.extend(200u32.to_be_bytes());
    want.extend((-2i32).to_be_bytes());
    want.extend(65535u32.to_be_bytes());
    want.extend((-2i32).to_be_bytes());
    assert_eq!(encode(&s), want);
    assert_eq!(from_bytes::<demo::Scalars>(&want), Ok(s));
}

#[test]
fn composite_shapes_encode_structurally() {
    let c = demo::Composite {
        id: [7; 16],
        raw: [1, 2, 3, 4, 5],
        blob: Opaque::try_from(&[9u8][..]).expect("fits"),
        any_blob: Opaque::default(),
        label: name("ab"),
        text: XdrString::default(),
        r#type: name(""),
        grid: [1, 2, 3],
        names: [name("x"), name("")],
        ids: VarArray::new(vec![[1; 16]]).expect("fits"),
        colors: VarArray::new(vec![demo::Color::Green]).expect("fits"),
        labels: VarArray::default(),
        maybe: Some(5),
        scalars: None,
        clock: Clock(42),
    };
    let mut want = vec![7u8; 16];
    want.extend([1, 2, 3, 4, 5, 0, 0, 0]);
    want.extend([0, 0, 0, 1, 9, 0, 0, 0]);
    want.extend([0, 0, 0, 0]);
    want.extend([0, 0, 0, 2, b'a', b'b', 0, 0]);
    want.extend([0, 0, 0, 0]);
    want.extend([0, 0, 0, 0]);
    for v in [1u32, 2, 3] {
        want.extend(v.to_be_bytes());
    }
    want.extend([0, 0, 0, 1, b'x', 0, 0, 0, 0, 0, 0, 0]);
    want.extend([0, 0, 0, 1]);
    want.extend([1u8; 16]);
    want.extend([0, 0, 0, 1, 0, 0, 0, 1]);
    want.extend([0, 0, 0, 0]);
    want.extend([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5]);
    want.extend([0, 0, 0, 0]);
    want.extend(42u32.to_be_bytes());
    assert_eq!(encode(&c), want);
    assert_eq!(from_bytes::<demo::Composite>(&want), Ok(c.clone()));

    // The extern type's own errors travel like the runtime's, with the field path added.
    let custom = ErrorKind::Custom("clock_t -1: no time available".into());
    let mut refused = want.clone();
    let at = refused.len() - 4;
    refused[at..].copy_from_slice(&NO_CLOCK.to_be_bytes());
    let err = from_bytes::<demo::Composite>(&refused).unwrap_err();
    assert_eq!(
        (err.kind(), err.path().as_str()),
        (&custom, "composite.clock")
    );
    let err = to_bytes(&demo::Composite {
        clock: Clock(NO_CLOCK),
        ..c
    })
    .unwrap_err();
    assert_eq!(
        (err.kind(), err.path().as_str()),
        (&custom, "composite.clock")
    );
}

#[test]
fn random_values_round_trip() {
    fn check<T: Random + Encode + Decode + PartialEq + std::fmt::Debug>(seed: u64) {
        let mut g = Gen::new(seed);
        for _ in 0..200 {
            let v = T::random(&mut g);
            let bytes = encode(&v);
            assert_eq!(from_bytes::<T>(&bytes).as_ref(), Ok(&v));
        }
    }
    check::<demo::Color>(1);
    check::<demo::Scalars>(2);
    check::<demo::Composite>(3);
    check::<demo::Value>(5);
    check::<demo::Paint>(6);
    check::<demo::Partial>(7);
    check::<demo::Total>(14);
    check::<demo::Flag>(8);
    check::<demo::Entry>(9);
    check::<demo::Chain>(10);
    check::<demo::Tree>(11);
    check::<demo::Expr>(12);
    check::<other::Wrapper>(13);
}

#[test]
fn measure_round_trips_without_nan() {
    let m = demo::Measure {
        f: -0.5,
        dbl: f64::INFINITY,
    };
    assert_eq!(from_bytes::<demo::Measure>(&encode(&m)), Ok(m));
}

#[test]
fn enum_duplicates_are_aliases_and_unknown_values_fail() {
    assert_eq!(demo::Color::Vert, demo::Color::Green);
    assert_eq!(i32::from(demo::Color::Blue), -2);
    assert_eq!(demo::Color::try_from(-2), Ok(demo::Color::Blue));
    let err = from_bytes::<demo::Color>(&[0, 0, 0, 9]).expect_err("9 is no colour");
    assert_eq!(err.kind(), &ErrorKind::UnknownEnumValue(9));
    assert_eq!(err.path(), "color");
}

#[test]
fn unions_encode_discriminant_then_arm() {
    let v = demo::Value::Int(7);
    assert_eq!(v.discriminant(), 1);
    assert_eq!(encode(&v), [0, 0, 0, 1, 0, 0, 0, 7]);
    assert_eq!(encode(&demo::Value::Nothing), [0xff, 0xff, 0xff, 0xff]);
    let d = demo::Value::Default(9, Opaque::try_from(&[1u8, 2][..]).expect("fits"));
    let bytes = encode(&d);
    assert_eq!(bytes, [0, 0, 0, 9, 0, 0, 0, 2, 1, 2, 0, 0]);
    assert_eq!(from_bytes::<demo::Value>(&bytes), Ok(d));
    // A default arm carrying a case's discriminant would decode as that case.
    let bad = demo::Value::Default(1, Opaque::default());
    assert_eq!(
        to_bytes(&bad).map_err(|e| e.kind().clone()),
        Err(ErrorKind::UnknownDiscriminant(1))
    );
    assert_eq!(encode(&demo::Flag::Set(3)), [0, 0, 0, 1, 0, 0, 0, 3]);
    let err = from_bytes::<demo::Flag>(&[0, 0, 0, 0]).expect_err("false has no arm");
    assert_eq!(err.kind(), &ErrorKind::UnknownDiscriminant(0));
    assert_eq!(err.path(), "flag");
    let t = demo::Total::Default(demo::Color::Red, 1);
    assert_eq!(
        to_bytes(&t).map_err(|e| e.kind().clone()),
        Err(ErrorKind::UnknownDiscriminant(0))
    );
    let p = demo::Partial::Default(demo::Color::Blue);
    assert_eq!(from_bytes::<demo::Partial>(&encode(&p)), Ok(p));
}

#[test]
fn errors_name_the_field_and_bounds_are_checked_before_allocating() {
    // ids<8>: a count of 9 fails on the bound.
    let mut bytes = vec![0u8; 16 + 8 + 4 + 4 + 4 + 4 + 4 + 12 + 8];
    bytes.extend([0, 0, 0, 9]);
    let err = from_bytes::<demo::Composite>(&bytes).expect_err("over bound");
    assert_eq!(err.path(), "composite.ids");
    assert!(matches!(
        err.kind(),
        ErrorKind::LengthExceedsBound {
            length: 9,
            bound: 8
        }
    ));
    // colors<>: four billion elements claimed by a short message fail without allocating.
    let mut bytes = vec![0u8; 16 + 8 + 4 + 4 + 4 + 4 + 4 + 12 + 8 + 4];
    bytes.extend([0xff, 0xff, 0xff, 0xff]);
    let err = from_bytes::<demo::Composite>(&bytes).expect_err("too short");
    assert_eq!(err.path(), "composite.colors");
}

#[test]
fn fixed_arrays_fail_on_short_input_before_reading_elements() {
    // Composite up to `grid` (16 + 8 + 5 * 4 + 12 bytes), then one empty `names` element of
    // the two: the four bytes left cannot hold two strings of at least four bytes each.
    let mut bytes = vec![0u8; 16 + 8 + 5 * 4 + 12];
    bytes.extend([0, 0, 0, 0]);
    let err = from_bytes::<demo::Composite>(&bytes).expect_err("too short");
    assert_eq!(err.path(), "composite.names");
    assert_eq!(
        err.kind(),
        &ErrorKind::UnexpectedEof {
            needed: 8,
            remaining: 4
        }
    );
}

#[test]
fn error_paths_name_each_type_and_field_outermost_first() {
    // The spec: every field adds its name, every struct, union and enum its own.
    let err = from_bytes::<demo::Value>(&[0, 0, 0, 1, 0, 0]).expect_err("short arm");
    assert_eq!(err.path(), "value.i");
    let err = from_bytes::<demo::Value>(&[0, 0]).expect_err("short discriminant");
    assert_eq!(err.path(), "value.kind");
    let err = from_bytes::<demo::Value>(&[0, 0, 0, 9, 0, 0, 0, 5]).expect_err("over bound");
    assert_eq!(
        err.to_string(),
        "value.blob: length 5 exceeds bound 4",
        "a default arm's field"
    );
    // Encoding errors too.
    let bad = demo::Value::Default(1, Opaque::default());
    assert_eq!(to_bytes(&bad).expect_err("case value").path(), "value");
}

#[test]
fn million_element_lists_do_not_recurse() {
    let n = 1_000_000;
    let l = list(n);
    let bytes = encode(&l);
    assert_eq!(bytes.len(), n as usize * 12);
    let back = from_bytes::<demo::Entry>(&bytes).expect("decodes");
    assert!(back == l);
    let copy = back.clone();
    assert!(copy == l);
    let mut shorter = list(n - 1);
    assert!(shorter != l);
    shorter = list(n);
    assert!(shorter == l);
    // Dropping `l`, `back`, `copy` and `shorter` here must not overflow the stack either.
}

#[test]
fn lists_through_a_pointer_typedef_iterate_too() {
    let mut head: demo::Link = None;
    for x in 0..300_000 {
        head = Some(Box::new(demo::Chain { x, next: head }));
    }
    let chain = *head.expect("non-empty");
    let back = from_bytes::<demo::Chain>(&encode(&chain)).expect("decodes");
    assert!(back == chain);
}

#[test]
fn deep_non_list_recursion_hits_the_depth_limit() {
    // expr: Neg(Some(Neg(Some(...)))) 10,000 deep, written by hand.
    let mut bytes = Vec::new();
    for _ in 0..10_000 {
        bytes.extend([0, 0, 0, 1, 0, 0, 0, 1]);
    }
    bytes.extend([0, 0, 0, 0]);
    bytes.extend(1.5f64.to_be_bytes());
    let err = from_bytes::<demo::Expr>(&bytes).expect_err("too deep");
    assert!(matches!(err.kind(), ErrorKind::DepthLimit(_)), "{err}");
}
