//! `onc_typedefs.x`'s behaviour, written once for every peer: [`TdImpl`] serves it (the
//! generated `TdV1Server` trait), `onc_typedefs_server.c` implements the same rules in C for
//! rpcgen's dispatch function, and [`exercise`] calls every procedure through the generated
//! client and checks the answers, whichever of the two serves them. The C client
//! (`onc_typedefs_client.c`) checks the same values from the other side.
//!
//! Every argument and result is a typedef that Rust holds as a generic shape: `TdInts` a
//! `VarArray<i32, 16>`, `TdKey` a `[u8; 8]` (fixed opaque data), `TdPair` a `[TdPoint; 2]`,
//! `TdMaybe` an `Option<TdPoint>`, `TdHypers` an `[i64; 3]` and `TdKeys` a
//! `VarArray<[u8; 8], 4>`.
//!
//! The rules: `SORT` returns its numbers in ascending order; `FLIP` the key's bytes reversed;
//! `MIDPOINT` the midpoint of the pair, each coordinate's sum halved towards zero, or none for
//! two equal points; `MIRROR` the point and its negation (wrapping), or two origins for none;
//! `SPLIT` each hyper as the key of its eight big-endian bytes. A list of more than 16 numbers
//! does not decode: `GARBAGE_ARGS`.

use xdrgen_runtime::onc::{CallError, Context, Error, Refusal};
use xdrgen_runtime::xdr::VarArray;

use crate::fixtures::onc_typedefs::*;

/// Serves `TD_PROG` version 1 by the rules above.
#[derive(Debug, Default)]
pub struct TdImpl;

impl TdV1Server for TdImpl {
    async fn td_sort(&self, _cx: &Context, arg: TdInts) -> Result<TdInts, CallError> {
        Ok(sort(&arg))
    }

    async fn td_flip(&self, _cx: &Context, arg: TdKey) -> Result<TdKey, CallError> {
        Ok(flip(arg))
    }

    async fn td_midpoint(&self, _cx: &Context, arg: TdPair) -> Result<TdMaybe, CallError> {
        Ok(midpoint(&arg))
    }

    async fn td_mirror(&self, _cx: &Context, arg: TdMaybe) -> Result<TdPair, CallError> {
        Ok(mirror(&arg))
    }

    async fn td_split(&self, _cx: &Context, arg: TdHypers) -> Result<TdKeys, CallError> {
        split(&arg).ok_or(CallError::SystemErr)
    }
}

/// `SORT`'s rule.
pub fn sort(numbers: &TdInts) -> TdInts {
    let mut v = numbers.as_slice().to_vec();
    v.sort_unstable();
    VarArray::new(v).expect("as many numbers as came in")
}

/// `FLIP`'s rule.
pub fn flip(mut key: TdKey) -> TdKey {
    key.reverse();
    key
}

/// `MIDPOINT`'s rule.
pub fn midpoint([a, b]: &TdPair) -> TdMaybe {
    let half = |p: i32, q: i32| ((i64::from(p) + i64::from(q)) / 2) as i32;
    (a != b).then(|| TdPoint {
        x: half(a.x, b.x),
        y: half(a.y, b.y),
    })
}

/// `MIRROR`'s rule.
pub fn mirror(p: &TdMaybe) -> TdPair {
    let origin = TdPoint { x: 0, y: 0 };
    match p {
        Some(p) => [
            p.clone(),
            TdPoint {
                x: p.x.wrapping_neg(),
                y: p.y.wrapping_neg(),
            },
        ],
        None => [origin.clone(), origin],
    }
}

/// `SPLIT`'s rule.
pub fn split(hypers: &TdHypers) -> Option<TdKeys> {
    VarArray::new(hypers.iter().map(|h| h.to_be_bytes()).collect()).ok()
}

/// What a failed check says.
fn check<T: std::fmt::Debug + PartialEq>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

/// Calls every procedure and checks the answers by the rules above (with values written out
/// here, and the same ones the C client checks), then sends 17 numbers to `SORT` and expects
/// `GARBAGE_ARGS`; the first mismatch is the error.
pub async fn exercise(client: &xdrgen_runtime::onc::Client) -> Result<(), String> {
    let e = |e: Error| e.to_string();
    let td = TdV1Client::new(client.clone());
    td.td_null().await.map_err(e)?;
    let numbers = VarArray::new(vec![5, -3, 9, 0, -3, i32::MAX, i32::MIN]).unwrap();
    check(
        "sort",
        td.td_sort(&numbers).await.map_err(e)?.as_slice(),
        &[i32::MIN, -3, -3, 0, 5, 9, i32::MAX],
    )?;
    check(
        "sort empty",
        td.td_sort(&VarArray::default()).await.map_err(e)?.len(),
        0,
    )?;
    check(
        "flip",
        td.td_flip(b"abcdefg\xff").await.map_err(e)?,
        *b"\xffgfedcba",
    )?;
    let pair = [TdPoint { x: -4, y: 10 }, TdPoint { x: 8, y: 3 }];
    check(
        "midpoint",
        td.td_midpoint(&pair).await.map_err(e)?,
        Some(TdPoint { x: 2, y: 6 }),
    )?;
    let same = [TdPoint { x: 1, y: 1 }, TdPoint { x: 1, y: 1 }];
    check(
        "midpoint none",
        td.td_midpoint(&same).await.map_err(e)?,
        None,
    )?;
    check(
        "mirror",
        td.td_mirror(&Some(TdPoint { x: 3, y: -7 }))
            .await
            .map_err(e)?,
        [TdPoint { x: 3, y: -7 }, TdPoint { x: -3, y: 7 }],
    )?;
    check(
        "mirror none",
        td.td_mirror(&None).await.map_err(e)?,
        [TdPoint { x: 0, y: 0 }, TdPoint { x: 0, y: 0 }],
    )?;
    let keys = td
        .td_split(&[0x0102_0304_0506_0708, -1, 0])
        .await
        .map_err(e)?;
    check(
        "split",
        keys.as_slice(),
        &[[1, 2, 3, 4, 5, 6, 7, 8], [0xff; 8], [0; 8]],
    )?;
    // The bound of a typedef'd array is checked by the server: 17 numbers (sent unbounded).
    let many: VarArray<i32> = VarArray::new(vec![0; TD_INTS_MAX as usize + 1]).unwrap();
    match client
        .call::<_, ()>(TdV1Client::INFO, 1, &many)
        .await
        .map_err(|e| e.refusal())
    {
        Err(Some(Refusal::GarbageArgs)) => Ok(()),
        other => Err(format!("17 numbers: got {other:?}, want GARBAGE_ARGS")),
    }
}
