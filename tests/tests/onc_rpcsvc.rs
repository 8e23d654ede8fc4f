//! Clients generated from Debian's own `/usr/include/rpcsvc/rstat.x`, `rusers.x` and `mount.x`
//! (see `build.rs`; the files are read where rpcsvc-proto installs them, never copied here) call
//! the real `rpc.rstatd` and `rpc.rusersd` over UDP and nfs-ganesha's MOUNT server over TCP,
//! found through rpcbind; the answers are checked against what `/proc` and `who` say and the
//! export the peers configure. `RUSERSPROC_NAMES` and `MOUNTPROC_EXPORT` return typedefs (a
//! variable-length array, optional data). That every `.x` in `/usr/include/rpcsvc/` generates code
//! that compiles is shown by this crate building with them (`xdrgen_tests::rpcsvc`).
#![cfg(rpcsvc)]

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use xdrgen_runtime::onc::Client;
use xdrgen_tests::fixtures::rpcbind::{
    RbMapping, RbPmapVersClient, RB_IPPROTO_TCP, RB_IPPROTO_UDP,
};
use xdrgen_tests::onc_peers::{self, RPCBIND};
use xdrgen_tests::rpcsvc::mount_x::mount::MountversClient;
use xdrgen_tests::rpcsvc::rstat_x::rstat::RstatversTimeClient;
use xdrgen_tests::rpcsvc::rusers_x::rusers::Rusersvers3Client;

/// The UDP client of a program version, at the port rpcbind (version 2, over UDP) gives.
async fn udp_client(program: u32, version: u32) -> Client {
    let port = port(program, version, RB_IPPROTO_UDP).await;
    Client::connect_udp(([127, 0, 0, 1], port).into())
        .await
        .unwrap()
}

/// The port rpcbind (version 2, over UDP) gives for a program version and protocol.
async fn port(program: u32, version: u32, prot: u32) -> u16 {
    let rpcbind: SocketAddr = RPCBIND.parse().unwrap();
    let pmap = RbPmapVersClient::new(Client::connect_udp(rpcbind).await.unwrap());
    let mapping = RbMapping {
        prog: program,
        vers: version,
        prot,
        port: 0,
    };
    let port = pmap.getport(&mapping).await.unwrap();
    assert_ne!(
        port, 0,
        "rpcbind has no port for {program} version {version} protocol {prot}"
    );
    port as u16
}

/// `/proc/stat`'s `btime` and the first four numbers of its `cpu` line.
fn proc_stat() -> (u64, [u64; 4]) {
    let text = std::fs::read_to_string("/proc/stat").unwrap();
    let btime = text
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    let cpu: Vec<u64> = text
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .take(4)
        .map(|v| v.parse().unwrap())
        .collect();
    (btime, [cpu[0], cpu[1], cpu[2], cpu[3]])
}

#[tokio::test]
async fn rstatd_reports_this_hosts_boot_time_and_cpu_counters() {
    if !onc_peers::ensure() {
        return;
    }
    let info = RstatversTimeClient::INFO;
    let rstat = RstatversTimeClient::new(udp_client(info.number, info.version).await);
    let (_, before) = proc_stat();
    let stats = rstat.rstatproc_stats().await.unwrap();
    let (btime, after) = proc_stat();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();

    assert!(
        (i64::from(stats.boottime.tv_sec) - btime as i64).abs() <= 2,
        "boot time {} vs /proc/stat btime {btime}",
        stats.boottime.tv_sec
    );
    assert!(
        (i64::from(stats.curtime.tv_sec) - now as i64).abs() <= 5,
        "current time {} vs {now}",
        stats.curtime.tv_sec
    );
    // rpc.rstatd samples /proc/stat about once a second: its counters (user, nice, system,
    // idle, in clock ticks) lie between what /proc said a few seconds earlier and now.
    let slack = 5 * 100 * std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    for (i, (&got, (&lo, &hi))) in stats
        .cp_time
        .iter()
        .zip(before.iter().zip(&after))
        .enumerate()
    {
        let got = got as u32 as u64;
        assert!(
            got + slack >= lo && got <= hi,
            "cp_time[{i}] = {got}, /proc/stat says {lo}..{hi}"
        );
    }
    assert!(stats.cp_time.iter().any(|&t| t > 0), "{stats:?}");
    // RSTATPROC_HAVEDISK answers too.
    rstat.rstatproc_havedisk().await.unwrap();
}

#[tokio::test]
async fn rusersd_counts_the_users_who_lists() {
    if !onc_peers::ensure() {
        return;
    }
    let info = Rusersvers3Client::INFO;
    let rusers = Rusersvers3Client::new(udp_client(info.number, info.version).await);
    let n = rusers.rusersproc_num().await.unwrap();
    let who = std::process::Command::new("who").output().unwrap();
    let listed = String::from_utf8_lossy(&who.stdout).lines().count();
    assert_eq!(
        n as usize, listed,
        "RUSERSPROC_NUM {n}, `who` lists {listed}"
    );
    // `utmp_array`, a typedef of a variable-length array, as a result: one entry per user.
    let names = rusers.rusersproc_names().await.unwrap();
    assert_eq!(names.len(), n as usize, "{names:?}");
}

#[tokio::test]
async fn ganeshas_mount_v1_lists_its_export() {
    if !onc_peers::ensure() {
        return;
    }
    let info = MountversClient::INFO;
    let tcp = port(info.number, info.version, RB_IPPROTO_TCP).await;
    let mount = MountversClient::new(Client::connect_tcp(("127.0.0.1", tcp)).await.unwrap());
    // `exports`, a typedef of optional data (a linked list), as a result.
    let exports = mount.mountproc_export().await.unwrap();
    let mut dirs = Vec::new();
    let mut next = exports.as_deref();
    while let Some(node) = next {
        dirs.push(node.ex_dir.as_str().to_string());
        next = node.ex_next.as_deref();
    }
    assert!(dirs.iter().any(|d| d == "/mem"), "{dirs:?}");
}
