//! Generates this crate's bindings the way a downstream user would: its own `.x` file, and
//! libvirt's envelope and keepalive protocols read from where the user keeps them.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Our own protocol.
    xdrgen::Config::new().file("proto/kvstore.x").compile()?;

    // libvirt's, from $XDRGEN_LIBVIRT_DIR (or the shared checkout beside this workspace).
    println!("cargo:rerun-if-env-changed=XDRGEN_LIBVIRT_DIR");
    let dir = std::env::var_os("XDRGEN_LIBVIRT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../../shared/protocols/libvirt"));
    xdrgen::Config::new()
        .file(dir.join("virnetprotocol.x"))
        .file(dir.join("virkeepaliveprotocol.x"))
        .constant("VIR_UUID_BUFLEN", 16)
        .output_name("libvirt_envelope.rs")
        .compile()?;
    Ok(())
}
