//! Generates libvirt's protocol bindings from its `.x` files.
//!
//! The files are libvirt's (LGPL) and are not part of this repository: they are read from
//! `$XDRGEN_LIBVIRT_DIR`, else from `../shared/protocols/libvirt` beside the workspace.

use std::path::PathBuf;

/// The protocol files, in dependency order (qemu and lxc use remote's types).
const FILES: &[&str] = &[
    "virnetprotocol.x",
    "virkeepaliveprotocol.x",
    "remote_protocol.x",
    "qemu_protocol.x",
    "lxc_protocol.x",
    "admin_protocol.x",
    "lock_protocol.x",
    "log_protocol.x",
    "lxc_monitor_protocol.x",
];

fn main() {
    println!("cargo:rerun-if-env-changed=XDRGEN_LIBVIRT_DIR");
    let dir = match std::env::var_os("XDRGEN_LIBVIRT_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/protocols/libvirt"),
    };
    if !dir.join("remote_protocol.x").is_file() {
        eprintln!(
            "error: libvirt's .x files are not in {}: set XDRGEN_LIBVIRT_DIR to the directory that holds remote_protocol.x",
            dir.display()
        );
        std::process::exit(1);
    }
    let mut config = xdrgen::Config::new();
    config
        .files(FILES.iter().map(|f| dir.join(f)))
        .constants(&xdrgen::presets::libvirt_constants())
        .output_name("libvirt.rs");
    if std::env::var_os("CARGO_FEATURE_RANDOM").is_some() {
        config.random_impls(None);
    }
    if let Err(e) = config.compile() {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
