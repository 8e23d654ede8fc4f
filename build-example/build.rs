//! Generates this crate's bindings the way a downstream user would: its own `.x` file, and
//! libvirt's envelope and keepalive protocols read from where the user keeps them.

use xdrgen::presets;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Our own protocol.
    xdrgen::Config::new().file("proto/kvstore.x").compile()?;

    // libvirt's, from $XDRGEN_LIBVIRT_DIR (or the shared checkout beside this workspace).
    println!("cargo:rerun-if-env-changed={}", presets::LIBVIRT_DIR_ENV);
    let dir = presets::libvirt_dir("../../shared/protocols/libvirt");
    xdrgen::Config::new()
        .file(dir.join("virnetprotocol.x"))
        .file(dir.join("virkeepaliveprotocol.x"))
        .constant("VIR_UUID_BUFLEN", 16) // from libvirt's C headers
        .output_name("libvirt_envelope.rs")
        .compile()?;
    Ok(())
}
