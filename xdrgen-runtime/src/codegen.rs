//! Everything generated code names, in one place.
//!
//! Generated code refers to items as `::xdrgen_runtime::codegen::Item` (the crate path is
//! configurable), so the runtime can reorganise its modules without breaking generated files.
//! Hand-written code should use [`crate::xdr`] (and `random`) instead.

pub use crate::rpc::{Generate, ProcedureInfo, ProgramInfo};
pub use crate::xdr::*;

/// libvirt's RPC runtime (feature `libvirt`), which generated clients and servers call.
#[cfg(feature = "libvirt")]
pub use crate::libvirt;

/// Standard ONC RPC's runtime (feature `onc`), which generated clients and servers of RFC 5531
/// `program` blocks call.
#[cfg(feature = "onc")]
pub use crate::onc;

#[cfg(feature = "random")]
pub use crate::random::*;
