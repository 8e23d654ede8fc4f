//! The generated libvirt client against a real libvirtd (Debian's, with the in-memory test
//! driver; a private daemon per test): the suite of `xdrgen_tests::client_suite`, one
//! `#[test]` per suite function. `build-example/tests/client_suite_vs_lvirtd.rs` runs the same
//! suite against `lvirtd`.

xdrgen_tests::client_suite_tests!(xdrgen_tests::daemon::TestDaemon::start());
