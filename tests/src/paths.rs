//! Where the tests (and `build.rs`, which includes this file) find their `.x` inputs.

use std::path::PathBuf;

/// Our own fixtures, `tests/fixtures/*.x`.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Fixture files that rpcgen rejects (valid RFC text it does not support): the C side skips them.
pub const RPCGEN_REJECTS: &[&str] = &["rfc_only.x"];

/// The fixture (its strings plain and bounded, in typedefs, structs and arrays) that the tests
/// also generate in byte-string mode (`xdrgen::StringMode::Bytes`).
pub const BYTES_FIXTURE: &str = "collections.x";

/// The fixtures (enums alone, in arrays and optional data, and as union discriminants with and
/// without a `default:` arm) that the tests also generate with open enums
/// (`xdrgen::Config::open_enums`).
pub const OPEN_ENUM_FIXTURES: &[&str] = &["scalars.x", "unions.x"];

/// Every fixture file name, sorted.
pub fn fixture_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".x"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The fixtures rpcgen accepts, as paths.
pub fn c_fixture_paths() -> Vec<PathBuf> {
    fixture_files()
        .into_iter()
        .filter(|n| !RPCGEN_REJECTS.contains(&n.as_str()))
        .map(|n| fixtures_dir().join(n))
        .collect()
}

/// libvirt's `.x` files: `$XDRGEN_LIBVIRT_DIR`, else `../shared/protocols/libvirt` beside the
/// workspace (the same rule as the `protocols` crate's build script).
pub fn libvirt_dir() -> PathBuf {
    xdrgen::presets::libvirt_dir(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/protocols/libvirt"),
    )
}

/// libvirt 9.0.0's `.x` files (what Debian 12's test daemon speaks): `v9.0.0/` inside
/// [`libvirt_dir`].
pub fn libvirt_v9_dir() -> PathBuf {
    libvirt_dir().join("v9.0.0")
}

/// libvirt's protocol files in the order the `protocols` crate compiles them.
pub use xdrgen::presets::LIBVIRT_FILES;

/// Debian's `.x` files: `$XDRGEN_RPCSVC_DIR`, else `/usr/include/rpcsvc` (rpcsvc-proto).
pub fn rpcsvc_dir() -> PathBuf {
    std::env::var_os("XDRGEN_RPCSVC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/include/rpcsvc"))
}
