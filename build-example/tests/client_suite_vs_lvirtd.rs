//! The generated libvirt client's suite (`xdrgen_tests::client_suite`, which
//! `tests/tests/libvirt_daemon.rs` runs against a real libvirtd) against `lvirtd`: one
//! `#[test]` per suite function, each with a fresh lvirtd on a socket in a private directory.
//! The suite takes its expectations from virsh run against the same daemon, so virsh is
//! required: outside CI its absence skips the tests, under CI it fails them.

mod common;

use std::path::Path;

use common::Lvirtd;
use xdrgen_tests::client_suite::Daemon;

impl Daemon for Lvirtd {
    fn uri(&self) -> &str {
        &self.uri
    }
    fn socket(&self) -> &Path {
        &self.socket
    }
    fn dir(&self) -> &Path {
        &self.dir
    }
    fn signal(&self, name: &str) {
        Lvirtd::signal(self, name);
    }
}

xdrgen_tests::client_suite_tests!(Lvirtd::if_virsh());
