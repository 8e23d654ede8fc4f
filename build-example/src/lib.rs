//! A downstream crate built on xdrgen: the types and codecs of its own key-value protocol
//! (`proto/kvstore.x`) and of libvirt's message envelope, generated in `build.rs`.
//!
//! Its binaries use the generated libvirt bindings of the `protocols` crate:
//!
//! - `lvirt`, a few of virsh's commands on the generated client (`protocols::Connection`):
//!
//!   ```text
//!   cargo run -p build-example --bin lvirt -- -c 'test+unix:///default?socket=PATH' list --all
//!   ```
//!
//! - `lvirtd`, an in-memory hypervisor on the generated server (`RemoteServer` served by
//!   `RemoteDispatcher` on the runtime's `libvirt::server`), which an unmodified virsh drives.
//!   It starts as libvirtd's test driver (`test:///default`) does, with one running domain
//!   `test`, and serves lookups, info, state, XML, define/undefine, start/create, destroy,
//!   shutdown, suspend/resume, lifecycle events, keepalive, screenshots ([`png`]), and a
//!   storage pool `default-pool` whose in-memory volumes support upload and download (sparse
//!   too):
//!
//!   ```text
//!   cargo run -p build-example --bin lvirtd -- --socket PATH [--tcp ADDR]
//!   virsh -c 'test+unix:///default?socket=PATH' dominfo test
//!   virsh -c 'test+unix:///default?socket=PATH' event --loop --event lifecycle
//!   ```
//!
//!   `tests/lvirtd_vs_virsh.rs` runs virsh against it and against libvirtd's test driver and
//!   compares what virsh prints.

pub mod png;

include!(concat!(env!("OUT_DIR"), "/kvstore.rs"));
include!(concat!(env!("OUT_DIR"), "/libvirt_envelope.rs"));

#[cfg(test)]
mod tests {
    use super::kvstore::*;
    use super::virnetprotocol::*;
    use xdrgen_runtime::xdr::{self, ErrorKind};

    #[test]
    fn a_kv_entry_has_the_rfc_4506_wire_form() {
        let entry = KvEntry {
            key: "ab".try_into().unwrap(),
            value: vec![1, 2, 3, 4, 5].try_into().unwrap(),
            revision: 7,
        };
        let bytes = xdr::to_bytes(&entry).unwrap();
        #[rustfmt::skip]
        let expected = [
            0, 0, 0, 2, b'a', b'b', 0, 0,          // string<256>: length, bytes, padding
            0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0,    // opaque<65536>
            0, 0, 0, 0, 0, 0, 0, 7,                // unsigned hyper
        ];
        assert_eq!(bytes, expected);
        assert_eq!(xdr::from_bytes::<KvEntry>(&bytes).unwrap(), entry);
    }

    #[test]
    fn an_oversized_key_is_refused_before_allocating() {
        // status KV_OK, then a key length of 1000 > KV_KEY_MAX.
        let bytes = [0, 0, 0, 0, 0, 0, 0x03, 0xe8];
        let err = xdr::from_bytes::<KvGetResult>(&bytes).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::LengthExceedsBound {
                    length: 1000,
                    bound: 256
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn libvirt_header_encodes_as_six_words() {
        let header = VirNetMessageHeader {
            prog: 0x2000_8086,
            vers: 1,
            proc: 1,
            r#type: VirNetMessageType::Call,
            serial: 9,
            status: VirNetMessageStatus::Ok,
        };
        let bytes = xdr::to_bytes(&header).unwrap();
        assert_eq!(
            bytes,
            [0x20, 0, 0x80, 0x86, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0]
        );
    }
}
