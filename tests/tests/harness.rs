//! The harness checked on hand-written codecs, independently of xdrgen's emitter: a correct
//! codec passes, and codecs with known bugs are caught (so the differential and property tests
//! can fail).

use std::path::PathBuf;

use xdrgen_runtime::random::{Gen, Random};
use xdrgen_runtime::xdr::{Decode, Decoder, Encode, Encoder, Error};
use xdrgen_tests::alloc_probe::{self, CountingAlloc};
use xdrgen_tests::c_build::{build_peer, tools_or_skip, PeerSpec};
use xdrgen_tests::c_peer::CPeer;
use xdrgen_tests::differential::{differential, Plan};
use xdrgen_tests::paths::c_fixture_paths;
use xdrgen_tests::properties::{properties, FirstWord};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const PLAN: Plan = Plan {
    values: 50,
    seed_base: 7,
    max_len: 4,
    max_depth: 4,
};

/// `struct co_point { int x; int y; }`, written by hand from RFC 4506.
#[derive(Debug, PartialEq)]
struct Point {
    x: i32,
    y: i32,
}
impl Encode for Point {
    fn encoded_len(&self) -> usize {
        8
    }
    fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
        out.put_i32(self.x);
        out.put_i32(self.y);
        Ok(())
    }
}
impl Decode for Point {
    fn decode(input: &mut Decoder<'_>) -> Result<Self, Error> {
        Ok(Point {
            x: input.get_i32()?,
            y: input.get_i32()?,
        })
    }
}
impl Random for Point {
    fn random(g: &mut Gen) -> Self {
        Point {
            x: i32::random(g),
            y: i32::random(g),
        }
    }
}

/// `union un_by_bool switch (bool present) { case TRUE: un_pair value; case FALSE: void; }`
/// with a bug: TRUE is sent as 2 (libtirpc reads it as TRUE and answers 1).
#[derive(Debug, PartialEq)]
struct SloppyBool(Option<Point>);
impl Encode for SloppyBool {
    fn encoded_len(&self) -> usize {
        4 + self.0.as_ref().map_or(0, Encode::encoded_len)
    }
    fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
        match &self.0 {
            Some(p) => {
                out.put_u32(2);
                p.encode(out)
            }
            None => {
                out.put_u32(0);
                Ok(())
            }
        }
    }
}
impl Decode for SloppyBool {
    fn decode(input: &mut Decoder<'_>) -> Result<Self, Error> {
        Ok(SloppyBool(if input.get_u32()? != 0 {
            Some(Point::decode(input)?)
        } else {
            None
        }))
    }
}
impl Random for SloppyBool {
    fn random(g: &mut Gen) -> Self {
        SloppyBool(g.gen_bool().then(|| Point::random(g)))
    }
}

/// `typedef int co_all_ints<>` with a bug: it reserves memory from the declared count before
/// checking it against the input.
#[derive(Debug, PartialEq)]
struct Greedy(Vec<i32>);
impl Encode for Greedy {
    fn encoded_len(&self) -> usize {
        4 + 4 * self.0.len()
    }
    fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
        out.put_len(self.0.len(), u32::MAX)?;
        self.0.iter().for_each(|v| out.put_i32(*v));
        Ok(())
    }
}
impl Decode for Greedy {
    fn decode(input: &mut Decoder<'_>) -> Result<Self, Error> {
        let n = input.get_u32()? as usize;
        let mut v = Vec::with_capacity(n.min(1 << 24)); // capped only so the test machine survives
        for _ in 0..n {
            v.push(input.get_i32()?);
        }
        Ok(Greedy(v))
    }
}
impl Random for Greedy {
    fn random(g: &mut Gen) -> Self {
        let n = g.len(u32::MAX);
        Greedy((0..n).map(|_| i32::random(g)).collect())
    }
}

fn peer(types: &[&str]) -> Option<CPeer> {
    if !tools_or_skip("harness") {
        return None;
    }
    let types: Vec<String> = types.iter().map(|s| s.to_string()).collect();
    let spec = PeerSpec {
        x_files: c_fixture_paths(),
        types: types.clone(),
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c-peer-harness");
    let exe = build_peer(&dir, &spec).unwrap_or_else(|e| panic!("{e}"));
    Some(CPeer::spawn(&exe, &types).expect("spawn the C driver"))
}

#[test]
fn differential_passes_a_correct_codec_and_catches_a_wrong_one() {
    let Some(mut c) = peer(&["co_point", "un_by_bool"]) else {
        return;
    };
    let stats = differential::<Point>(&mut c, 0, &PLAN).expect("hand-written co_point matches C");
    assert_eq!(stats.values, PLAN.values);
    assert_eq!(stats.bytes, 8 * PLAN.values);
    let err = differential::<SloppyBool>(&mut c, 1, &PLAN).expect_err("C answers 1, not 2");
    assert!(err.contains("re-encoded differently"), "{err}");
    // Wrong type for the bytes: a point sent as un_by_bool leaves bytes undecoded or fails.
    assert!(differential::<Point>(&mut c, 1, &PLAN).is_err());
}

#[test]
fn properties_pass_a_correct_codec_and_catch_wrong_ones() {
    assert!(alloc_probe::installed());
    let stats = properties::<Point>(&PLAN, FirstWord::Other, &[]).expect("co_point properties");
    assert_eq!(stats.values, PLAN.values);
    // The lenient bool decoder accepts a forged discriminant.
    let err =
        properties::<SloppyBool>(&PLAN, FirstWord::Other, &[(0, 2)]).expect_err("forged bool");
    // Either the forged TRUE (2) decodes, or the encoder itself already wrote it.
    assert!(
        err.contains("word 0x2 at byte 0 decoded") || err.contains("invalid word 0x2 at 0"),
        "{err}"
    );
    // The greedy decoder allocates from a forged length.
    let err = properties::<Greedy>(&PLAN, FirstWord::ArrayLength, &[]).expect_err("greedy alloc");
    assert!(err.contains("allocation"), "{err}");
}
