//! Standard ONC RPC (RFC 5531, feature `onc`): `rpc_msg` ([`msg`]), credentials ([`auth`])
//! and record marking ([`record`]).
//!
//! # Wire rules
//!
//! Every message is an `rpc_msg` header (xid, CALL or REPLY) followed by the procedure's
//! arguments or results. Over TCP each message is one record of one or more fragments
//! (RFC 1831 record marking), its length checked against a maximum before any of it is read;
//! over UDP each message is one datagram.

pub mod auth;
mod error;
pub mod msg;
pub mod record;

pub use auth::{AuthSys, Credentials, OpaqueAuth};
pub use error::{Error, Refusal};
pub use record::RecordCodec;
