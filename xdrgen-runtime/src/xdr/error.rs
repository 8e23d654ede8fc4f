//! The one error type of the codec: what went wrong ([`ErrorKind`]) and where (a field path).

use std::fmt;

/// An XDR encoding or decoding failure: an [`ErrorKind`] plus the path of the type and fields
/// being processed when it happened.
///
/// `Display` prints the path joined with `.`, then `: `, then the kind, for example
/// `remote_domain_get_xml_desc_ret.xml: length 9000000 exceeds bound 4194304`. Without a path
/// only the kind is printed.
///
/// The error is one pointer wide (its contents are boxed) so that `Result<u32, Error>` and
/// friends stay small on the hot, successful path; errors are rare and may pay for an allocation.
///
/// # Examples
///
/// ```
/// use xdrgen_runtime::xdr::{Error, ErrorKind};
///
/// let e = Error::new(ErrorKind::LengthExceedsBound { length: 9000000, bound: 4194304 })
///     .at("xml")
///     .at("remote_domain_get_xml_desc_ret");
/// assert_eq!(e.path(), "remote_domain_get_xml_desc_ret.xml");
/// assert_eq!(
///     e.to_string(),
///     "remote_domain_get_xml_desc_ret.xml: length 9000000 exceeds bound 4194304"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    kind: ErrorKind,
    /// Innermost element first: `at` is called from the inside out while the error travels up,
    /// so pushing keeps it O(1); rendering walks it backwards.
    path: Vec<&'static str>,
}

impl Error {
    /// An error of this kind with an empty path.
    #[cold]
    pub fn new(kind: ErrorKind) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                path: Vec::new(),
            }),
        }
    }

    /// An [`ErrorKind::Custom`] error with `message`: how a hand-written codec (for a type
    /// mapped with `Config::extern_type` / `--extern-type`) reports a value it cannot take.
    /// The generated code around it adds the field path, as for any other error.
    ///
    /// # Examples
    ///
    /// A C type `sockaddr_port` that a `.x` file uses but only C defines, held in Rust as a
    /// non-zero port number:
    ///
    /// ```
    /// use xdrgen_runtime::xdr::{from_bytes, Decode, Decoder, Encode, Encoder, Error, ErrorKind};
    ///
    /// #[derive(Debug, PartialEq)]
    /// struct Port(std::num::NonZeroU16);
    ///
    /// impl Encode for Port {
    ///     fn encoded_len(&self) -> usize {
    ///         4
    ///     }
    ///     fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
    ///         out.put_u32(u32::from(self.0.get()));
    ///         Ok(())
    ///     }
    /// }
    ///
    /// impl Decode for Port {
    ///     fn decode(input: &mut Decoder<'_>) -> Result<Self, Error> {
    ///         let word = input.get_u32()?;
    ///         u16::try_from(word)
    ///             .ok()
    ///             .and_then(std::num::NonZeroU16::new)
    ///             .map(Port)
    ///             .ok_or_else(|| Error::custom(format!("{word} is not a port number")))
    ///     }
    /// }
    ///
    /// let err = from_bytes::<Port>(&[0, 1, 0, 0]).unwrap_err();
    /// assert_eq!(err.kind(), &ErrorKind::Custom("65536 is not a port number".into()));
    /// assert_eq!(err.at("port").to_string(), "port: 65536 is not a port number");
    /// ```
    #[cold]
    pub fn custom(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Custom(message.into()))
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// Prepends a path element (a field or type name) and returns the error.
    ///
    /// Generated code calls `.map_err(|e| e.at("field"))` for each field and names each struct
    /// and union with [`Decoder::within`](crate::xdr::Decoder::within) /
    /// [`Encoder::within`](crate::xdr::Encoder::within) (an enum with `.at("type_name")`), so
    /// the finished path reads outermost first: `remote_domain_get_xml_desc_ret.xml`.
    #[cold]
    pub fn at(mut self, name: &'static str) -> Self {
        self.inner.path.push(name);
        self
    }

    /// The path, outermost element first, joined with `.`; empty when no element was added.
    pub fn path(&self) -> String {
        let mut out = String::new();
        for (i, name) in self.path_elements().enumerate() {
            if i > 0 {
                out.push('.');
            }
            out.push_str(name);
        }
        out
    }

    /// The path elements, outermost first.
    pub fn path_elements(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.inner.path.iter().rev().copied()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.inner.path.is_empty() {
            write!(f, "{}: ", self.path())?;
        }
        fmt::Display::fmt(&self.inner.kind, f)
    }
}

impl std::error::Error for Error {}

impl From<ErrorKind> for Error {
    #[cold]
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind)
    }
}

/// What went wrong while encoding or decoding.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// The input ended before a value was complete.
    #[error("unexpected end of input: needed {needed} bytes, {remaining} left")]
    UnexpectedEof {
        /// Bytes the value needed at this point.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A variable-length item is longer than the bound declared in the `.x` file.
    #[error("length {length} exceeds bound {bound}")]
    LengthExceedsBound {
        /// The actual or declared length.
        length: u64,
        /// The bound (`u32::MAX` for an unbounded `<>`).
        bound: u32,
    },
    /// The zero bytes that pad opaque data and strings to a multiple of four were not zero.
    #[error("padding bytes are not zero")]
    BadPadding,
    /// A boolean word other than 0 or 1.
    #[error("invalid boolean {0}")]
    InvalidBool(u32),
    /// An enum word that names no enumerator (the path gives the enum type).
    #[error("unknown enum value {0}")]
    UnknownEnumValue(i32),
    /// A union discriminant with no matching arm and no default arm.
    #[error("unknown union discriminant {0}")]
    UnknownDiscriminant(i64),
    /// A word that does not fit the Rust type of an XDR `char`, `short` or their unsigned forms.
    #[error("value {value} out of range for {ty}")]
    OutOfRange {
        /// The value read.
        value: i64,
        /// The Rust type it had to fit, e.g. `u8`.
        ty: &'static str,
    },
    /// String bytes that are not UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// Bytes left over after a complete value.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// The whole message is larger than [`Limits::max_message`](crate::xdr::Limits::max_message).
    #[error("message of {length} bytes exceeds limit {limit}")]
    MessageTooLarge {
        /// Size of the message.
        length: usize,
        /// The limit.
        limit: usize,
    },
    /// Recursive values nested deeper than [`Limits::max_depth`](crate::xdr::Limits::max_depth).
    #[error("nesting deeper than {0}")]
    DepthLimit(u32),
    /// A failure raised by hand-written code: an `Encode`/`Decode` impl for a type mapped with
    /// `--extern-type` (or any other user code) that refuses a value for its own reasons. Make
    /// one with [`Error::custom`].
    #[error("{0}")]
    Custom(String),
    /// Arrays of the value would take more memory than
    /// [`Limits::max_expansion`](crate::xdr::Limits::max_expansion) allows for this input.
    #[error(
        "arrays would need {needed} more bytes of memory, over the decoder's limit ({left} left)"
    )]
    MemoryLimit {
        /// Bytes the array being decoded needs.
        needed: usize,
        /// Bytes of the allowance left.
        left: usize,
    },
}

/// `Err(LengthExceedsBound)` when `len` is above `bound`; shared by encoders and constructors.
#[inline]
pub(crate) fn check_bound(len: usize, bound: u32) -> Result<(), Error> {
    // usize -> u64 is lossless on every supported target; comparing in u64 also catches
    // lengths above u32::MAX when the bound is u32::MAX.
    if len as u64 > u64::from(bound) {
        return Err(bound_error(len as u64, bound));
    }
    Ok(())
}

#[cold]
#[inline(never)]
pub(crate) fn bound_error(length: u64, bound: u32) -> Error {
    Error::new(ErrorKind::LengthExceedsBound { length, bound })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(kind: ErrorKind) -> String {
        Error::new(kind).to_string()
    }

    #[test]
    fn display_of_every_kind() {
        assert_eq!(
            shown(ErrorKind::UnexpectedEof {
                needed: 4,
                remaining: 2
            }),
            "unexpected end of input: needed 4 bytes, 2 left"
        );
        assert_eq!(
            shown(ErrorKind::LengthExceedsBound {
                length: 9000000,
                bound: 4194304
            }),
            "length 9000000 exceeds bound 4194304"
        );
        assert_eq!(shown(ErrorKind::BadPadding), "padding bytes are not zero");
        assert_eq!(shown(ErrorKind::InvalidBool(2)), "invalid boolean 2");
        assert_eq!(
            shown(ErrorKind::UnknownEnumValue(7)),
            "unknown enum value 7"
        );
        assert_eq!(
            shown(ErrorKind::UnknownDiscriminant(9)),
            "unknown union discriminant 9"
        );
        assert_eq!(
            shown(ErrorKind::OutOfRange {
                value: 300,
                ty: "u8"
            }),
            "value 300 out of range for u8"
        );
        assert_eq!(shown(ErrorKind::InvalidUtf8), "string is not valid UTF-8");
        assert_eq!(
            shown(ErrorKind::TrailingBytes(3)),
            "3 trailing bytes after the value"
        );
        assert_eq!(
            shown(ErrorKind::MessageTooLarge {
                length: 40000000,
                limit: 33554432
            }),
            "message of 40000000 bytes exceeds limit 33554432"
        );
        assert_eq!(shown(ErrorKind::DepthLimit(256)), "nesting deeper than 256");
        assert_eq!(
            shown(ErrorKind::Custom("no such port".into())),
            "no such port"
        );
    }

    #[test]
    fn path_is_outermost_first() {
        let e = Error::new(ErrorKind::UnexpectedEof {
            needed: 4,
            remaining: 2,
        })
        .at("model")
        .at("remote_node_get_info_ret");
        assert_eq!(e.path(), "remote_node_get_info_ret.model");
        assert_eq!(
            e.path_elements().collect::<Vec<_>>(),
            ["remote_node_get_info_ret", "model"]
        );
        assert_eq!(
            e.to_string(),
            "remote_node_get_info_ret.model: unexpected end of input: needed 4 bytes, 2 left"
        );
        assert_eq!(
            e.kind(),
            &ErrorKind::UnexpectedEof {
                needed: 4,
                remaining: 2
            }
        );
    }

    #[test]
    fn enum_error_names_type_through_path() {
        let e = Error::new(ErrorKind::UnknownEnumValue(7)).at("remote_auth_type");
        assert_eq!(e.to_string(), "remote_auth_type: unknown enum value 7");
    }

    #[test]
    fn check_bound_compares_without_truncation() {
        assert!(check_bound(5, 5).is_ok());
        assert_eq!(
            check_bound(6, 5).map_err(|e| e.kind().clone()),
            Err(ErrorKind::LengthExceedsBound {
                length: 6,
                bound: 5
            })
        );
        assert!(check_bound(u32::MAX as usize, u32::MAX).is_ok());
    }

    #[test]
    fn error_is_one_pointer_wide() {
        // The boxing is a performance decision: keep it from regressing silently.
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }
}
