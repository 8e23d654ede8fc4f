//! The C peer on its own, before any generated Rust is involved: bytes written by hand from
//! RFC 4506 go through rpcgen's routines and must come back unchanged.

use std::path::PathBuf;

use xdrgen_tests::c_build::{build_peer, tools_or_skip, PeerSpec};
use xdrgen_tests::c_peer::{CPeer, Echo};
use xdrgen_tests::paths::c_fixture_paths;

const TYPES: &[&str] = &[
    "co_point",
    "sc_all",
    "un_value",
    "un_by_uint",
    "li_node",
    "co_bytes",
];

fn peer() -> Option<CPeer> {
    if !tools_or_skip("c_peer") {
        return None;
    }
    let types: Vec<String> = TYPES.iter().map(|s| s.to_string()).collect();
    let spec = PeerSpec {
        x_files: c_fixture_paths(),
        types: types.clone(),
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c-peer-handwritten");
    let exe = build_peer(&dir, &spec).unwrap_or_else(|e| panic!("{e}"));
    Some(CPeer::spawn(&exe, &types).expect("spawn the C driver"))
}

/// Concatenates big-endian words.
fn words(ws: &[u32]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_be_bytes()).collect()
}

fn ok(echo: Echo) -> (u32, Vec<u8>) {
    match echo {
        Echo::Ok { consumed, bytes } => (consumed, bytes),
        other => panic!("expected the C side to decode and encode, got {other:?}"),
    }
}

#[test]
fn handwritten_values_echo_unchanged() {
    let Some(mut c) = peer() else { return };

    // struct co_point { int x; int y; } = { 1, -2 }
    let point = words(&[1, 0xffff_fffe]);
    assert_eq!(ok(c.echo_named("co_point", &point).unwrap()), (8, point));

    // struct sc_all, one field per builtin, each value chosen to show its wire form.
    let all = words(&[
        0xffff_ffff, // int -1
        0x0102_0304, // unsigned int
        5,           // unsigned
        0xffff_ffff,
        0xffff_fffe, // hyper -2
        0x0102_0304,
        0x0506_0708, // unsigned hyper
        0x3f80_0000, // float 1.0
        0xc000_0000,
        0,           // double -2.0
        1,           // bool TRUE
        0xffff_ffca, // char -54, sign-extended
        0x0000_00ca, // unsigned char 0xca
        0xffff_fffe, // short -2
        0x0000_ffff, // unsigned short 65535
        7,           // long
        0xffff_ffff, // unsigned long
        2,           // sc_colour SC_BLUE
        0xffff_fffe, // sc_flags SC_FLAG_NEG = -2
    ]);
    assert_eq!(ok(c.echo_named("sc_all", &all).unwrap()), (76, all));

    // union un_value, arm UN_WORD: string "hi" padded to 4 bytes.
    let word = [words(&[2, 2]), b"hi\0\0".to_vec()].concat();
    assert_eq!(ok(c.echo_named("un_value", &word).unwrap()), (12, word));

    // union un_value, the void default arm (UN_EXTRA = 9 is not listed).
    let extra = words(&[9]);
    assert_eq!(ok(c.echo_named("un_value", &extra).unwrap()), (4, extra));

    // struct co_bytes: fixed opaque 4 and 5 (padded), bounded/unbounded opaque and strings,
    // a 6-byte hash, and typedef'd blobs and strings, all given short values.
    let bytes = [
        b"abcd".to_vec(),
        b"vwxyz\0\0\0".to_vec(),
        words(&[1]),
        b"Q\0\0\0".to_vec(),
        words(&[0]),
        words(&[3]),
        b"abc\0".to_vec(),
        words(&[0]),
        b"123456\0\0".to_vec(),
        words(&[5]),
        b"12345\0\0\0".to_vec(),
        words(&[0, 0, 0]),
    ]
    .concat();
    let n = bytes.len() as u32;
    assert_eq!(ok(c.echo_named("co_bytes", &bytes).unwrap()), (n, bytes));
}

#[test]
fn c_side_reports_failures_and_leftovers() {
    let Some(mut c) = peer() else { return };
    // Truncated: the second int is missing.
    assert!(matches!(
        c.echo_named("co_point", &words(&[1])).unwrap(),
        Echo::DecodeFailed { .. }
    ));
    // Trailing bytes: decoding succeeds and reports what it consumed.
    let (consumed, bytes) = ok(c.echo_named("co_point", &words(&[1, 2, 3])).unwrap());
    assert_eq!((consumed, bytes), (8, words(&[1, 2])));
    // A discriminant with no arm and no default.
    assert!(matches!(
        c.echo_named("un_by_uint", &words(&[4])).unwrap(),
        Echo::DecodeFailed { .. }
    ));
    // libtirpc is lenient where xdrgen is strict: bool 2 decodes as TRUE.
    let mut all = vec![0u32; 19];
    all[10] = 2; // the bool word
    let (_, back) = ok(c.echo_named("sc_all", &words(&all)).unwrap());
    all[10] = 1;
    assert_eq!(back, words(&all));
    assert_eq!(c.echo(999, &[]).unwrap(), Echo::UnknownType);
}

#[test]
fn c_side_handles_a_million_element_list() {
    let Some(mut c) = peer() else { return };
    let n = 1_000_000u32;
    let mut ws = Vec::with_capacity(2 * n as usize);
    for i in 0..n {
        ws.push(i);
        ws.push(u32::from(i + 1 < n)); // "next" present except on the last node
    }
    let list = words(&ws);
    let (consumed, back) = ok(c.echo_named("li_node", &list).unwrap());
    assert_eq!(consumed as usize, list.len());
    assert!(back == list, "the C side changed a long list");
}

#[test]
fn libvirt_files_build_with_stub_headers() {
    if !tools_or_skip("c_peer") {
        return;
    }
    let dir = xdrgen_tests::paths::libvirt_dir();
    let spec = PeerSpec {
        x_files: xdrgen_tests::paths::LIBVIRT_FILES
            .iter()
            .map(|f| dir.join(f))
            .collect(),
        types: vec!["virNetMessageHeader".into(), "remote_nonnull_domain".into()],
    };
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c-peer-libvirt-smoke");
    let exe = build_peer(&work, &spec).unwrap_or_else(|e| panic!("{e}"));
    let mut c = CPeer::spawn(&exe, &spec.types).expect("spawn the C driver");
    // program, version, procedure, type REPLY, serial, status ERROR
    let header = words(&[0x2000_8086, 1, 7, 1, 42, 1]);
    assert_eq!(
        ok(c.echo_named("virNetMessageHeader", &header).unwrap()),
        (24, header)
    );
    // remote_nonnull_domain { name "vm", uuid[VIR_UUID_BUFLEN = 16], id -1 }
    let dom = [
        words(&[2]),
        b"vm\0\0".to_vec(),
        (0u8..16).collect(),
        words(&[u32::MAX]),
    ]
    .concat();
    assert_eq!(
        ok(c.echo_named("remote_nonnull_domain", &dom).unwrap()),
        (28, dom)
    );
}
