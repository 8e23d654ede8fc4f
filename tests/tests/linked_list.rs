//! A million-element `li_node` list (tests/fixtures/lists.x) encodes, decodes, compares, clones,
//! prints with `{:?}` and drops on a normal test-thread stack, and its bytes match rpcgen's.

use std::path::PathBuf;

use xdrgen_runtime::xdr::{self, Encode};
use xdrgen_tests::c_build::{build_peer, tools_or_skip, PeerSpec};
use xdrgen_tests::c_peer::{CPeer, Echo};
use xdrgen_tests::fixtures::lists::LiNode;
use xdrgen_tests::paths::c_fixture_paths;

const N: u32 = 1_000_000;

/// The list 0, 1, ..., n-1, built from the tail so nothing recurses.
fn list(n: u32) -> LiNode {
    let mut head: Option<Box<LiNode>> = None;
    for value in (1..n as i32).rev() {
        head = Some(Box::new(LiNode { value, next: head }));
    }
    LiNode {
        value: 0,
        next: head,
    }
}

/// RFC 4506 by hand: each node is its value then the "next present" bool.
fn expected_bytes(n: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 * n as usize);
    for i in 0..n {
        out.extend_from_slice(&i.to_be_bytes());
        out.extend_from_slice(&u32::from(i + 1 < n).to_be_bytes());
    }
    out
}

#[test]
fn million_element_list_round_trips_without_stack_overflow() {
    let original = list(N);
    let expected = expected_bytes(N);
    assert_eq!(original.encoded_len(), expected.len());
    let bytes = xdr::to_bytes(&original).expect("encode");
    assert!(bytes == expected, "encoding differs from RFC 4506");

    let decoded: LiNode = xdr::from_bytes(&bytes).expect("decode");
    assert!(decoded == original, "decoded list differs");
    let copy = decoded.clone();
    assert!(copy == original, "cloned list differs");
    // A list that differs only in its last element compares unequal.
    let mut other = list(N);
    let mut tail = &mut other;
    while let Some(next) = tail.next.as_deref_mut() {
        tail = next;
    }
    tail.value = -1;
    assert!(
        other != original,
        "lists differing at the end compare equal"
    );
    drop((decoded, copy, other));
}

#[test]
fn million_element_list_prints_without_stack_overflow() {
    let original = list(N);
    let text = format!("{original:?}");
    assert!(
        text.starts_with("[LiNode { value: 0 }, LiNode { value: 1 }, "),
        "{}",
        &text[..80]
    );
    assert!(text.ends_with(&format!("LiNode {{ value: {} }}]", N - 1)));
    assert_eq!(text.matches("LiNode").count(), N as usize);
    // Through the optional typedef too, and pretty-printed.
    let head: xdrgen_tests::fixtures::lists::LiList = Some(list(3));
    assert_eq!(
        format!("{head:?}"),
        "Some([LiNode { value: 0 }, LiNode { value: 1 }, LiNode { value: 2 }])"
    );
    assert_eq!(
        format!("{:#?}", list(1)),
        "[\n    LiNode {\n        value: 0,\n    },\n]"
    );
}

#[test]
fn million_element_list_matches_rpcgen() {
    if !tools_or_skip("linked_list") {
        return;
    }
    let types = vec!["li_node".to_string()];
    let spec = PeerSpec {
        x_files: c_fixture_paths(),
        types: types.clone(),
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c-peer-linked-list");
    let exe = build_peer(&dir, &spec).unwrap_or_else(|e| panic!("{e}"));
    let mut c = CPeer::spawn(&exe, &types).expect("spawn the C driver");
    let original = list(N);
    let ours = xdr::to_bytes(&original).expect("encode");
    match c.echo(0, &ours).expect("talk to the C driver") {
        Echo::Ok { consumed, bytes } => {
            assert_eq!(consumed as usize, ours.len(), "C left bytes undecoded");
            assert!(bytes == ours, "C re-encoded the list differently");
            let back: LiNode = xdr::from_bytes(&bytes).expect("decode C's bytes");
            assert!(back == original);
        }
        other => panic!("C could not take the list: {other:?}"),
    }
}
