//! The `protocols` crate holds libvirt's strings as byte strings, so a libvirt client built on
//! it receives what a C daemon may send in a `char *`: here a domain name with a Latin-1 byte
//! and a 0xff, in a reply written by hand as libvirtd would write it.

use protocols::remote_protocol::{RemoteClient, RemoteDomainLookupByIdArgs};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use xdrgen_runtime::libvirt::{Client, Options};
use xdrgen_runtime::xdr::{from_bytes, ErrorKind, XdrString};

/// `caf\xe9-\xff`: "café" in Latin-1, a dash, and a byte that is never UTF-8.
const NAME: &[u8] = b"caf\xe9-\xff";

/// The REPLY payload of `remote_domain_lookup_by_id_ret`, by hand (RFC 4506): the name (length,
/// bytes, zero padding), the 16-byte UUID, the id.
fn reply_body() -> Vec<u8> {
    let mut body = vec![0, 0, 0, 6];
    body.extend_from_slice(NAME);
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&[0xab; 16]);
    body.extend_from_slice(&7i32.to_be_bytes());
    body
}

#[tokio::test]
async fn a_reply_with_a_non_utf8_domain_name_is_received() {
    let (ours, theirs) = tokio::io::duplex(1 << 16);
    let (r, w) = tokio::io::split(ours);
    let remote = RemoteClient::new(Client::new(r, w, Options::default()));

    let daemon = tokio::spawn(async move {
        let (mut r, mut w) = tokio::io::split(theirs);
        // The CALL: length word, then the 24-byte header (program, version, procedure, type,
        // serial, status) and the arguments.
        let len = r.read_u32().await.expect("a call") as usize;
        let mut call = vec![0u8; len - 4];
        r.read_exact(&mut call).await.expect("the whole call");
        let word = |i: usize| u32::from_be_bytes(call[i * 4..i * 4 + 4].try_into().unwrap());
        assert_eq!(word(2), 22, "REMOTE_PROC_DOMAIN_LOOKUP_BY_ID");
        let body = reply_body();
        let mut reply = Vec::new();
        reply.extend_from_slice(&((28 + body.len()) as u32).to_be_bytes());
        let (reply_type, status_ok) = (1, 0);
        for w in [word(0), word(1), word(2), reply_type, word(4), status_ok] {
            reply.extend_from_slice(&w.to_be_bytes());
        }
        reply.extend_from_slice(&body);
        w.write_all(&reply).await.expect("send the reply");
        // Keep the stream open until the client has read the reply.
        let _ = r.read_u8().await;
    });

    let ret = remote
        .domain_lookup_by_id(&RemoteDomainLookupByIdArgs { id: 7 })
        .await
        .expect("the reply decodes");
    assert_eq!(ret.dom.name.as_bytes(), NAME);
    assert_eq!(ret.dom.name.as_str().unwrap_err().valid_up_to(), 3);
    assert_eq!(ret.dom.name.to_str_lossy(), "caf\u{fffd}-\u{fffd}");
    assert_eq!((ret.dom.uuid, ret.dom.id), ([0xab; 16], 7));
    drop(remote);
    daemon.await.expect("the daemon task");
}

/// Why: the same name in UTF-8 mode (`XdrString`) fails to decode, and with it the whole reply.
#[test]
fn the_same_name_is_refused_as_utf8_text() {
    let err = from_bytes::<XdrString>(&reply_body()[..12]).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidUtf8);
}
