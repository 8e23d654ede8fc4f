//! ONC RPC against real C programs (needs the peers of `../shared/peers/oncrpc-peers.sh`, see
//! `xdrgen_tests::onc_peers`): rpcgen's C server and client of `onc_demo.x` (libtirpc) against
//! the generated Rust client and server, over TCP and UDP, both found through rpcbind; and the
//! generated rpcbind client (`tests/fixtures/rpcbind.x`, versions 2–4) against rpcbind itself.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use xdrgen_runtime::onc::{portmap, Client, Server};
use xdrgen_runtime::xdr::XdrString;
use xdrgen_tests::fixtures::onc_demo::{DemoV1Dispatcher, DemoV2Client, DemoV2Dispatcher};
use xdrgen_tests::fixtures::rpcbind::{
    RbMapping, RbPmapDump, RbPmapVersClient, RbRpcb, RbRpcbDump, RbVers3Client, RbVers4Client,
    RB_IPPROTO_TCP, RB_IPPROTO_UDP,
};
use xdrgen_tests::onc_demo::{exercise, DemoImpl};
use xdrgen_tests::onc_peers::{self, build_demo_peers, rpcinfo_p, run_c_client, CServer, RPCBIND};

/// `DEMO_PROG`'s number, from its procedure table.
const DEMO_PROG: u32 = DemoV2Client::INFO.number;

fn rpcbind_addr() -> SocketAddr {
    RPCBIND.parse().unwrap()
}

async fn pmap() -> RbPmapVersClient {
    RbPmapVersClient::new(Client::connect_tcp(rpcbind_addr()).await.unwrap())
}

/// PMAPPROC_DUMP as (program, version, protocol, port), the way `rpcinfo -p` shows it.
fn pmap_entries(dump: &RbPmapDump) -> BTreeSet<(u32, u32, String, u16)> {
    let mut out = BTreeSet::new();
    let mut next = dump.list.as_ref();
    while let Some(entry) = next {
        let m = &entry.map;
        let proto = match m.prot {
            RB_IPPROTO_TCP => "tcp".to_string(),
            RB_IPPROTO_UDP => "udp".to_string(),
            other => other.to_string(),
        };
        out.insert((m.prog, m.vers, proto, m.port as u16));
        next = entry.next.as_deref();
    }
    out
}

fn rpcinfo_entries() -> BTreeSet<(u32, u32, String, u16)> {
    rpcinfo_p().into_iter().collect()
}

async fn getport(pmap: &RbPmapVersClient, prot: u32) -> u16 {
    let mapping = RbMapping {
        prog: DEMO_PROG,
        vers: 2,
        prot,
        port: 0,
    };
    pmap.getport(&mapping).await.unwrap() as u16
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_calls_rpcgens_c_server_over_tcp_and_udp() {
    if !onc_peers::ensure() {
        return;
    }
    let peers = build_demo_peers().unwrap();
    let _lock = onc_peers::registration_lock().await;
    let server = CServer::start(&peers.server, DEMO_PROG).unwrap();
    let pmap = pmap().await;
    let tcp = getport(&pmap, RB_IPPROTO_TCP).await;
    let udp = getport(&pmap, RB_IPPROTO_UDP).await;
    assert!(
        tcp != 0 && udp != 0,
        "rpcbind has no ports for the C server"
    );

    let client = Client::connect_tcp(("127.0.0.1", tcp)).await.unwrap();
    exercise(&client, true).await.unwrap();
    let client = Client::connect_udp(([127, 0, 0, 1], udp).into())
        .await
        .unwrap();
    // libtirpc's UDP server does not see arguments cut short (see `exercise`).
    exercise(&client, false).await.unwrap();

    drop(server);
    // The C server registered through rpcbind's local socket, as its owner: so do we.
    let local = portmap::connect_local().await.unwrap();
    for vers in [1, 2] {
        local.unset(DEMO_PROG, vers).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpcgens_c_client_calls_our_server_found_through_rpcbind() {
    if !onc_peers::ensure() {
        return;
    }
    let peers = build_demo_peers().unwrap();
    let _lock = onc_peers::registration_lock().await;
    let imp = Arc::new(DemoImpl::default());
    let server = Server::builder()
        .program(DemoV1Dispatcher::from_arc(imp.clone()))
        .program(DemoV2Dispatcher::from_arc(imp.clone()))
        .build();
    let (tcp, udp) = onc_peers::serve_on_loopback(&server).await;
    let (tcp, udp) = (tcp.port(), udp.port());

    let rpcbind = portmap::connect_local().await.unwrap();
    let registration = server
        .register(&rpcbind, Some(tcp), Some(udp))
        .await
        .unwrap();

    // rpcinfo -p lists it, and our DUMP (version 2) lists what rpcinfo -p lists.
    let listed = rpcinfo_entries();
    for vers in [1, 2] {
        assert!(
            listed.contains(&(DEMO_PROG, vers, "tcp".into(), tcp)),
            "{listed:?}"
        );
        assert!(
            listed.contains(&(DEMO_PROG, vers, "udp".into(), udp)),
            "{listed:?}"
        );
    }
    let dump = pmap().await.dump().await.unwrap();
    assert_eq!(pmap_entries(&dump), listed);

    // rpcgen's client finds our server through rpcbind and checks every answer.
    for proto in ["tcp", "udp"] {
        let text = run_c_client(&peers.client, &["localhost", proto]).await;
        assert!(text.contains("ok version 3 mismatch 1..2"), "{text}");
    }
    // Its AUTH_SYS credentials reached the methods.
    let euid = String::from_utf8_lossy(&Command::new("id").arg("-u").output().unwrap().stdout)
        .trim()
        .parse::<u32>()
        .unwrap();
    assert_eq!(imp.uid.load(Ordering::SeqCst), euid);

    registration.unregister().await.unwrap();
    let listed = rpcinfo_entries();
    assert!(!listed.iter().any(|e| e.0 == DEMO_PROG), "{listed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpcbind_versions_3_and_4_set_getaddr_dump_unset() {
    if !onc_peers::ensure() {
        return;
    }
    let _lock = onc_peers::registration_lock().await;
    let conn = Client::connect_tcp(rpcbind_addr()).await.unwrap();
    let (v3, v4) = (
        RbVers3Client::new(conn.clone()),
        RbVers4Client::new(conn.clone()),
    );
    v3.null().await.unwrap();
    let s = |t: &str| XdrString::try_from(t).unwrap();
    // A made-up program at 127.0.0.1 port 0x1234 (universal address: h1.h2.h3.h4.p1.p2).
    let entry = RbRpcb {
        r_prog: 0x2000_0f0e,
        r_vers: 7,
        r_netid: s("tcp"),
        r_addr: s("127.0.0.1.18.52"),
        r_owner: s("xdrgen-tests"),
    };
    v4.unset(&entry).await.unwrap();
    assert!(v3.set(&entry).await.unwrap());
    let query = RbRpcb {
        r_addr: s(""),
        r_owner: s(""),
        ..entry.clone()
    };
    assert_eq!(
        v3.getaddr(&query).await.unwrap().as_str(),
        "127.0.0.1.18.52"
    );
    assert_eq!(
        v4.getversaddr(&query).await.unwrap().as_str(),
        "127.0.0.1.18.52"
    );
    let listed = |dump: &RbRpcbDump| {
        let mut out = Vec::new();
        let mut next = dump.list.as_ref();
        while let Some(e) = next {
            out.push(e.rpcb_map.clone());
            next = e.rpcb_next.as_deref();
        }
        out
    };
    let dump = v4.dump().await.unwrap();
    assert!(
        listed(&dump)
            .iter()
            .any(|e| e.r_prog == entry.r_prog && e.r_addr == entry.r_addr),
        "{dump:?}"
    );
    // Version 2's view: port 0x1234 on TCP, and rpcinfo -p agrees.
    assert!(rpcinfo_entries().contains(&(0x2000_0f0e, 7, "tcp".into(), 0x1234)));
    assert!(v4.unset(&query).await.unwrap());
    assert_eq!(v3.getaddr(&query).await.unwrap().as_str(), "");
    assert!(!rpcinfo_entries().iter().any(|e| e.0 == 0x2000_0f0e));
}
