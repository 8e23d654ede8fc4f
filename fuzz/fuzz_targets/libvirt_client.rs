//! The libvirt client's packet reader: the input is what a server sends while the client has a
//! call, a read stream and an event subscription open (replies, errors, events, stream data,
//! holes, keepalive, garbage). The client must route or drop each packet, or close the
//! connection with an error, never panic or hang.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use protocols::remote_protocol::{
    RemoteDomainGetInfoRet, RemoteDomainScreenshotRet, RemoteEvent, REMOTE_PROGRAM_INFO,
};
use tokio::io::AsyncWriteExt;
use xdrgen_runtime::libvirt::{Client, Options};

fuzz_target!(|data: &[u8]| {
    xdrgen_fuzz::runtime().block_on(async {
        let (ours, theirs) = tokio::io::duplex(1 << 20);
        let (r, w) = tokio::io::split(ours);
        let options = Options {
            max_packet: 1 << 20,
            ..Options::default()
        };
        let client = Client::new(r, w, options);
        let mut events = client.events::<RemoteEvent>(4);
        let (_server_reads, mut server_writes) = tokio::io::split(theirs);
        // Serial 1: a call (domain-get-info, 16); serial 2: a read stream (screenshot, 211).
        let call = client.call::<(), RemoteDomainGetInfoRet>(&REMOTE_PROGRAM_INFO, 16, &());
        let stream = async {
            let (_, mut s) = client
                .call_read_stream::<(), RemoteDomainScreenshotRet>(&REMOTE_PROGRAM_INFO, 211, &())
                .await?;
            while let Some(chunk) = s.next_chunk().await {
                chunk?;
            }
            Ok::<(), xdrgen_runtime::libvirt::Error>(())
        };
        let feed = async {
            let _ = server_writes.write_all(data).await;
            let _ = server_writes.shutdown().await;
        };
        let drain = async { while events.recv().await.is_some() {} };
        let all = async { tokio::join!(call, stream, feed, drain) };
        // The results do not matter: only that every wait ends.
        let (_call, _stream, (), ()) = tokio::time::timeout(Duration::from_secs(10), all)
            .await
            .expect("the input's end closes the connection and ends every wait");
    });
});
