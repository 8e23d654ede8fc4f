//! Constants that well-known `.x` files use but leave to C headers.

use std::collections::BTreeMap;

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
