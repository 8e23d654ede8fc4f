//! Differential and property tests of xdrgen's generated codecs.
//!
//! - [`c_build`] and [`c_peer`]: the C side, rpcgen's routines over libtirpc in an echo driver.
//! - [`paths`]: where the fixtures and libvirt's `.x` files are.

pub mod c_build;
pub mod c_peer;
pub mod paths;
