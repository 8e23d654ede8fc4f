//! The XDR codec (RFC 4506): traits, the encoder and decoder, bounded collections, errors and
//! limits.
//!
//! This module is self-contained: transports (libvirt packet framing, planned: ONC RPC
//! record marking) build on it and never the other way round.

mod bounded;
mod byte_string;
mod decode;
mod encode;
mod error;
mod limits;
mod scalars;
mod shapes;
mod small_bytes;
mod tuples;
mod utf8;

/// The shared, reference-counted byte buffer that decoded opaque data and strings live in.
pub use bytes::Bytes;

pub use bounded::{Opaque, VarArray, XdrString};
pub use byte_string::XdrBytes;
pub use decode::{
    from_bytes, from_bytes_with_limits, from_shared, from_shared_with_limits, Decode, Decoder,
};
pub use encode::{padded_len, to_bytes, to_bytes_with_limits, Encode, Encoder, Words};
pub use error::{Error, ErrorKind};
pub use limits::Limits;
