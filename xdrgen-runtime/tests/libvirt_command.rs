//! The command transport (how libvirt tunnels through ssh) with real processes: a command that
//! fails ends the connection with its exit status, and closing or dropping the connection kills
//! a command that is still running.
#![cfg(feature = "libvirt")]

use std::path::{Path, PathBuf};
use std::time::Duration;

use xdrgen_runtime::libvirt::transport::connect;
use xdrgen_runtime::libvirt::uri::Transport;
use xdrgen_runtime::libvirt::{Error, Options};
use xdrgen_runtime::rpc::{ProcedureInfo, ProgramInfo};

static PROCS: [ProcedureInfo; 1] = [ProcedureInfo::new(1, "C_PROC_ECHO", "echo")];
static PROG: ProgramInfo = ProgramInfo {
    name: "C_PROGRAM",
    number: 0x4355,
    version: 1,
    procedures: &PROCS,
};

fn sh(script: &str) -> Transport {
    Transport::Command {
        program: "sh".into(),
        args: vec!["-c".into(), script.into()],
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xdrgen-cmd-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The pid a script wrote, once it has.
async fn pid_in(file: &Path) -> u32 {
    for _ in 0..500 {
        if let Ok(text) = std::fs::read_to_string(file) {
            if let Ok(pid) = text.trim().parse() {
                return pid;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the command never wrote its pid");
}

/// Waits until process `pid` is gone (killed and reaped).
async fn gone_within(pid: u32, within: Duration) {
    let proc = PathBuf::from(format!("/proc/{pid}"));
    tokio::time::timeout(within, async {
        while proc.exists() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("process {pid} is still there"));
}

#[tokio::test]
async fn a_command_that_fails_ends_the_connection_with_its_exit_status() {
    let client = connect(&sh("exit 3"), Options::default()).await.unwrap();
    let got = client.call::<u32, u32>(&PROG, 1, &1).await;
    let e = got.expect_err("no server");
    assert!(matches!(e, Error::Closed(Some(_))), "{e:?}");
    assert!(
        e.to_string().contains("the command `sh` exit status: 3"),
        "{e}"
    );
}

#[tokio::test]
async fn a_command_that_exits_cleanly_ends_the_connection_without_blame() {
    let client = connect(&sh("exit 0"), Options::default()).await.unwrap();
    let e = client.call::<u32, u32>(&PROG, 1, &1).await.unwrap_err();
    // The end of its output or a broken pipe, whichever the connection saw first.
    assert!(matches!(e, Error::Closed(Some(_))), "{e:?}");
    assert!(!e.to_string().contains("exit status"), "{e}");
}

#[tokio::test]
async fn closing_the_connection_kills_the_command() {
    let dir = scratch("close");
    let pidfile = dir.join("pid");
    let script = format!("echo $$ > '{}'; exec sleep 600", pidfile.display());
    let client = connect(&sh(&script), Options::default()).await.unwrap();
    let pid = pid_in(&pidfile).await;
    client.close();
    gone_within(pid, Duration::from_secs(5)).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn dropping_the_last_handle_kills_the_command() {
    let dir = scratch("drop");
    let pidfile = dir.join("pid");
    let script = format!("echo $$ > '{}'; exec sleep 600", pidfile.display());
    let client = connect(&sh(&script), Options::default()).await.unwrap();
    let pid = pid_in(&pidfile).await;
    drop(client);
    gone_within(pid, Duration::from_secs(5)).await;
    let _ = std::fs::remove_dir_all(&dir);
}
