//! Differential and property tests of xdrgen's generated codecs.
//!
//! - [`fixtures`]: Rust generated from our own `.x` files (`tests/fixtures/`).
//! - [`fixtures_bytes`]: one fixture again, with byte strings.
//! - [`fixtures_open`]: some fixtures again, with open enums.
//! - [`libvirt_v9`]: libvirt 9.0.0's types, for the differential test.
//! - [`registry`]: every type of the fixtures (both string modes, open enums) and of libvirt's protocol,
//!   with its checks.
//! - [`differential`]: values compared byte for byte against the C peer
//!   ([`c_build`], [`c_peer`]: rpcgen's routines over libtirpc in an echo driver).
//! - [`c_bench`]: the C side of the `codec_vs_c` benchmark (rpcgen's routines timed in C).
//! - [`properties`]: round trip, computed length, damaged and hostile input
//!   (with [`alloc_probe`] watching allocations).
//! - [`random_words`]: random words decoded as every type, under the allocator's watch.
//! - [`paths`]: where the fixtures and libvirt's `.x` files are.
//! - [`daemon`]: a private libvirtd (test driver) per test, for the client tests.
//! - [`onc_demo`]: `onc_demo.x`'s rules, served and checked through the generated ONC RPC code.
//! - [`onc_typedefs`]: `onc_typedefs.x`'s rules (typedef'd arrays, optional data and fixed
//!   opaque data as arguments and results), served and checked through the generated code.
//! - [`onc_peers`]: rpcbind, nfs-ganesha, rstatd and rusersd, and rpcgen's C peers of
//!   `onc_demo.x` and `onc_typedefs.x`, for the ONC RPC interop tests.
//! - [`client_suite`]: the generated libvirt client's tests against a daemon (libvirtd or
//!   lvirtd).
//! - [`landed`]: a read half that records where reads put their bytes (zero-copy checks).

pub mod alloc_probe;
pub mod c_bench;
pub mod c_build;
pub mod c_peer;
pub mod client_suite;
pub mod daemon;
pub mod differential;
pub mod driver;
pub mod generator_bench;
pub mod landed;
pub mod onc_demo;
pub mod onc_peers;
pub mod onc_typedefs;
pub mod paths;
pub mod properties;
pub mod random_words;
pub mod registry;

/// Code generated from `tests/fixtures/*.x` (one module per file), with `Random` impls.
pub mod fixtures {
    include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));
}

/// Code generated from [`paths::BYTES_FIXTURE`] in byte-string mode (every `string<N>` an
/// `XdrBytes<N>`), with `Random` impls.
pub mod fixtures_bytes {
    include!(concat!(env!("OUT_DIR"), "/fixtures_bytes.rs"));
}

/// Code generated from Debian's own `.x` files in `/usr/include/rpcsvc` (one module per file,
/// clients and servers included), when rpcsvc-proto is installed; see `build.rs`.
#[cfg(rpcsvc)]
pub mod rpcsvc {
    include!(concat!(env!("OUT_DIR"), "/rpcsvc.rs"));
}

/// libvirt 9.0.0's types (from [`paths::libvirt_v9_dir`]) with codecs and `Random` impls, as
/// `protocols` generates 11.3.0's (byte strings) but without procedure tables, clients or
/// servers: only what the differential test needs. Empty when the files are missing.
pub mod libvirt_v9 {
    include!(concat!(env!("OUT_DIR"), "/libvirt_v9.rs"));
}

/// Code generated from [`paths::OPEN_ENUM_FIXTURES`] with open enums (a value no member has
/// decodes to `Unknown(i32)`), with `Random` impls that also make such values.
pub mod fixtures_open {
    include!(concat!(env!("OUT_DIR"), "/fixtures_open.rs"));
}
