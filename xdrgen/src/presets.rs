//! Constants that well-known `.x` files use but leave to C headers.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The environment variable that names the directory holding libvirt's `.x` files. They are
/// libvirt's (LGPL) and are read from there, never copied into a crate.
pub const LIBVIRT_DIR_ENV: &str = "XDRGEN_LIBVIRT_DIR";

/// libvirt's protocol files, each after the files whose types it uses (`qemu_protocol.x` and
/// `lxc_protocol.x` use `remote_protocol.x`'s): the unit the `protocols` crate and the CLI's
/// default input compile.
pub const LIBVIRT_FILES: &[&str] = &[
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

/// The directory of libvirt's `.x` files: `$XDRGEN_LIBVIRT_DIR` when set, else `fallback`.
pub fn libvirt_dir(fallback: impl Into<PathBuf>) -> PathBuf {
    std::env::var_os(LIBVIRT_DIR_ENV).map_or_else(|| fallback.into(), PathBuf::from)
}

/// The constants libvirt's `.x` files (11.3.0 and 9.0.0) use outside comments without defining
/// them, with the values of libvirt's public C headers. `xdrgen check --libvirt` adds them.
///
/// ```
/// let c = xdrgen::presets::libvirt_constants();
/// assert_eq!(c["VIR_UUID_BUFLEN"], 16);
/// ```
pub fn libvirt_constants() -> BTreeMap<String, i128> {
    [
        // include/libvirt/libvirt-host.h: `#define VIR_UUID_BUFLEN (16)`.
        ("VIR_UUID_BUFLEN", 16),
        // include/libvirt/libvirt-host.h: `#define VIR_SECURITY_MODEL_BUFLEN (256 + 1)`.
        ("VIR_SECURITY_MODEL_BUFLEN", 257),
        // include/libvirt/libvirt-host.h: `#define VIR_SECURITY_LABEL_BUFLEN (4096 + 1)`.
        ("VIR_SECURITY_LABEL_BUFLEN", 4097),
        // include/libvirt/libvirt-host.h: `#define VIR_SECURITY_DOI_BUFLEN (256 + 1)`.
        ("VIR_SECURITY_DOI_BUFLEN", 257),
        // include/libvirt/libvirt-common.h: `enum virTypedParameterType` (1 to 6).
        ("VIR_TYPED_PARAM_INT", 1),
        ("VIR_TYPED_PARAM_UINT", 2),
        ("VIR_TYPED_PARAM_LLONG", 3),
        ("VIR_TYPED_PARAM_ULLONG", 4),
        ("VIR_TYPED_PARAM_DOUBLE", 5),
        ("VIR_TYPED_PARAM_BOOLEAN", 6),
        // include/libvirt/libvirt-common.h: `VIR_TYPED_PARAM_STRING = 7`.
        ("VIR_TYPED_PARAM_STRING", 7),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}
