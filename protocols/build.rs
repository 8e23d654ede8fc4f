//! Generates libvirt's protocol bindings from its `.x` files.
//!
//! The files are libvirt's (LGPL) and are not part of this repository: they are read from
//! `$XDRGEN_LIBVIRT_DIR`, else from `../shared/protocols/libvirt` beside the workspace.

use std::path::Path;

use xdrgen::presets;

fn main() {
    println!("cargo:rerun-if-env-changed={}", presets::LIBVIRT_DIR_ENV);
    let dir = presets::libvirt_dir(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/protocols/libvirt"),
    );
    if !dir.join("remote_protocol.x").is_file() {
        eprintln!(
            "error: libvirt's .x files are not in {}: set {} to the directory that holds remote_protocol.x",
            dir.display(),
            presets::LIBVIRT_DIR_ENV
        );
        std::process::exit(1);
    }
    let mut config = xdrgen::Config::new();
    config
        .files(presets::LIBVIRT_FILES.iter().map(|f| dir.join(f)))
        .constants(&presets::libvirt_constants())
        // Byte strings: libvirtd is C, and a `char *` it sends (a domain name, a path, an
        // error message) may hold any byte. In UTF-8 mode one such byte fails the whole reply.
        .string_mode(xdrgen::StringMode::Bytes)
        .output_name("libvirt.rs");
    if std::env::var_os("CARGO_FEATURE_RANDOM").is_some() {
        config.random_impls(None);
    }
    if std::env::var_os("CARGO_FEATURE_CLIENT").is_some() {
        config.build_client(true);
    }
    if std::env::var_os("CARGO_FEATURE_SERVER").is_some() {
        config.build_server(true);
    }
    if let Err(e) = config.compile() {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
