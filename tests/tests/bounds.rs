//! libvirt's large bounds, at the limit and one past it, against rpcgen + libtirpc: a value at
//! its bound encodes byte-identically with C, and one element past it is refused by both sides.
//! The bounds are written here as numbers read from `remote_protocol.x`, not taken from the
//! generated constants.

use std::path::PathBuf;

use protocols::remote_protocol::{
    RemoteConnectListAllDomainsRet, RemoteDomainBlockPeekRet, RemoteDomainGetXmlDescRet,
    RemoteNodeGetCellsFreeMemoryRet, RemoteNonnullDomain,
};
use xdrgen_runtime::xdr::{self, Decode, Encode, ErrorKind};
use xdrgen_tests::c_build::{build_peer, tools_or_skip, PeerSpec};
use xdrgen_tests::c_peer::{CPeer, Echo};
use xdrgen_tests::paths::{libvirt_dir, LIBVIRT_FILES};

const TYPES: &[&str] = &[
    "remote_domain_get_xml_desc_ret",
    "remote_domain_block_peek_ret",
    "remote_connect_list_all_domains_ret",
    "remote_node_get_cells_free_memory_ret",
];

fn peer() -> Option<CPeer> {
    if !tools_or_skip("bounds") {
        return None;
    }
    let types: Vec<String> = TYPES.iter().map(|s| s.to_string()).collect();
    let dir = libvirt_dir();
    let spec = PeerSpec {
        x_files: LIBVIRT_FILES.iter().map(|f| dir.join(f)).collect(),
        types: types.clone(),
    };
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c-peer-bounds");
    let exe = build_peer(&work, &spec).unwrap_or_else(|e| panic!("{e}"));
    Some(CPeer::spawn(&exe, &types).expect("spawn the C driver"))
}

/// At the bound: Rust's bytes equal C's re-encoding, and decode back to the value.
fn same_as_c<T: Encode + Decode + PartialEq + std::fmt::Debug>(
    c: &mut CPeer,
    name: &str,
    value: &T,
) {
    let bytes = xdr::to_bytes(value).unwrap();
    match c.echo_named(name, &bytes).unwrap() {
        Echo::Ok {
            consumed,
            bytes: c_bytes,
        } => {
            assert_eq!(
                consumed as usize,
                bytes.len(),
                "{name}: C read a different length"
            );
            assert!(c_bytes == bytes, "{name}: C's bytes differ from ours");
            assert_eq!(&xdr::from_bytes::<T>(&c_bytes).unwrap(), value);
        }
        other => panic!("{name}: C refused a value at its bound: {other:?}"),
    }
}

/// Past the bound: C's decoder fails, and ours fails naming the field and the bound.
fn both_refuse<T: Decode + std::fmt::Debug>(
    c: &mut CPeer,
    name: &str,
    bytes: &[u8],
    field: &str,
    length: u64,
    bound: u32,
) {
    assert!(
        matches!(
            c.echo_named(name, bytes).unwrap(),
            Echo::DecodeFailed { .. }
        ),
        "{name}: C accepted a length past the bound"
    );
    let err = xdr::from_bytes::<T>(bytes).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::LengthExceedsBound { length, bound },
        "{name}: {err}"
    );
    assert_eq!(err.path(), format!("{name}.{field}"));
}

/// A length word, then `len` bytes of `fill` padded to a multiple of 4.
fn counted(len: u32, fill: u8) -> Vec<u8> {
    let mut bytes = len.to_be_bytes().to_vec();
    bytes.resize(4 + len as usize, fill);
    bytes.resize(4 + (len as usize).div_ceil(4) * 4, 0);
    bytes
}

#[test]
fn strings_and_opaque_data_at_and_past_4_mib() {
    let Some(mut c) = peer() else { return };
    const REMOTE_STRING_MAX: u32 = 4_194_304;
    const BLOCK_PEEK_MAX: u32 = 4_194_304;

    let xml = "x".repeat(REMOTE_STRING_MAX as usize);
    let at = RemoteDomainGetXmlDescRet {
        xml: xml.try_into().unwrap(),
    };
    same_as_c(&mut c, "remote_domain_get_xml_desc_ret", &at);
    // Our side cannot even build a value past the bound.
    assert!(xdr::XdrString::<4_194_304>::new("x".repeat(REMOTE_STRING_MAX as usize + 1)).is_err());
    both_refuse::<RemoteDomainGetXmlDescRet>(
        &mut c,
        "remote_domain_get_xml_desc_ret",
        &counted(REMOTE_STRING_MAX + 1, b'x'),
        "xml",
        u64::from(REMOTE_STRING_MAX) + 1,
        REMOTE_STRING_MAX,
    );

    let at = RemoteDomainBlockPeekRet {
        buffer: vec![0xa5; BLOCK_PEEK_MAX as usize].try_into().unwrap(),
    };
    same_as_c(&mut c, "remote_domain_block_peek_ret", &at);
    both_refuse::<RemoteDomainBlockPeekRet>(
        &mut c,
        "remote_domain_block_peek_ret",
        &counted(BLOCK_PEEK_MAX + 1, 0xa5),
        "buffer",
        u64::from(BLOCK_PEEK_MAX) + 1,
        BLOCK_PEEK_MAX,
    );
}

#[test]
fn arrays_at_and_past_their_bound() {
    let Some(mut c) = peer() else { return };
    const REMOTE_DOMAIN_LIST_MAX: u32 = 16_384;
    const REMOTE_NODE_MAX_CELLS: u32 = 1_024;

    let domain = |i: u32| RemoteNonnullDomain {
        name: format!("vm{i}").try_into().unwrap(),
        uuid: [i as u8; 16],
        id: i as i32,
    };
    let domains: Vec<_> = (0..REMOTE_DOMAIN_LIST_MAX).map(domain).collect();
    let at = RemoteConnectListAllDomainsRet {
        domains: domains.try_into().unwrap(),
        ret: 7,
    };
    same_as_c(&mut c, "remote_connect_list_all_domains_ret", &at);

    // One more domain than the bound: the count word says 16385, then 16385 encoded domains.
    let mut bytes = (REMOTE_DOMAIN_LIST_MAX + 1).to_be_bytes().to_vec();
    for i in 0..=REMOTE_DOMAIN_LIST_MAX {
        bytes.extend(xdr::to_bytes(&domain(i)).unwrap());
    }
    bytes.extend(7u32.to_be_bytes());
    both_refuse::<RemoteConnectListAllDomainsRet>(
        &mut c,
        "remote_connect_list_all_domains_ret",
        &bytes,
        "domains",
        u64::from(REMOTE_DOMAIN_LIST_MAX) + 1,
        REMOTE_DOMAIN_LIST_MAX,
    );

    let cells: Vec<u64> = (0..u64::from(REMOTE_NODE_MAX_CELLS))
        .map(|i| i << 33)
        .collect();
    let at = RemoteNodeGetCellsFreeMemoryRet {
        cells: cells.try_into().unwrap(),
    };
    same_as_c(&mut c, "remote_node_get_cells_free_memory_ret", &at);
    let mut bytes = (REMOTE_NODE_MAX_CELLS + 1).to_be_bytes().to_vec();
    bytes.resize(4 + 8 * (REMOTE_NODE_MAX_CELLS as usize + 1), 0);
    both_refuse::<RemoteNodeGetCellsFreeMemoryRet>(
        &mut c,
        "remote_node_get_cells_free_memory_ret",
        &bytes,
        "cells",
        u64::from(REMOTE_NODE_MAX_CELLS) + 1,
        REMOTE_NODE_MAX_CELLS,
    );
}
