//! Resource limits a decoder enforces on untrusted input.

/// Limits applied while decoding untrusted bytes.
///
/// Bounds from the `.x` file are always enforced; these limits add what the wire format itself
/// cannot express: how deep recursive types may nest and how large a whole message may be.
///
/// # Examples
///
/// ```
/// use xdrgen_runtime::xdr::{from_bytes_with_limits, ErrorKind, Limits};
///
/// let limits = Limits::default().with_max_message(4);
/// let err = from_bytes_with_limits::<u64>(&[0; 8], limits).unwrap_err();
/// assert_eq!(err.kind(), &ErrorKind::MessageTooLarge { length: 8, limit: 4 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// How many nested [`Decoder::enter`](crate::xdr::Decoder::enter) calls are allowed
    /// (default [`Limits::DEFAULT_MAX_DEPTH`]); guards recursion through optional data.
    pub max_depth: u32,
    /// Largest whole message in bytes (default [`Limits::DEFAULT_MAX_MESSAGE`], 32 MiB, the
    /// size of libvirt's largest packet).
    pub max_message: usize,
    /// How many bytes of memory the arrays of a decoded value may take per byte of input
    /// (default [`Limits::DEFAULT_MAX_EXPANSION`]), plus [`Limits::EXPANSION_SLACK`].
    ///
    /// A count is already checked against the bytes left, but one element's Rust value can be
    /// far larger than its smallest encoding (an absent `T *x` is 4 bytes on the wire and
    /// `size_of::<Option<T>>()` in memory), so without this a small message could make the
    /// decoder reserve gigabytes.
    pub max_expansion: usize,
}

impl Limits {
    /// Default nesting limit.
    pub const DEFAULT_MAX_DEPTH: u32 = 256;
    /// Default message size limit: 32 MiB.
    pub const DEFAULT_MAX_MESSAGE: usize = 32 * 1024 * 1024;
    /// Default memory allowance per input byte: 16 (libvirt's types need at most about 6).
    pub const DEFAULT_MAX_EXPANSION: usize = 16;
    /// Memory every decoder may use for arrays whatever the input size: 1 MiB.
    pub const EXPANSION_SLACK: usize = 1 << 20;

    /// The default limits (same as `Limits::default()`), usable in `const` context.
    pub const fn new() -> Self {
        Limits {
            max_depth: Self::DEFAULT_MAX_DEPTH,
            max_message: Self::DEFAULT_MAX_MESSAGE,
            max_expansion: Self::DEFAULT_MAX_EXPANSION,
        }
    }

    /// Returns these limits with another nesting limit.
    pub const fn with_max_depth(mut self, max_depth: u32) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// Returns these limits with another memory allowance per input byte.
    pub const fn with_max_expansion(mut self, max_expansion: usize) -> Self {
        self.max_expansion = max_expansion;
        self
    }

    /// Returns these limits with another message size limit.
    pub const fn with_max_message(mut self, max_message: usize) -> Self {
        self.max_message = max_message;
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let l = Limits::default();
        assert_eq!(l.max_depth, 256);
        assert_eq!(l.max_message, 33554432);
        assert_eq!(l.max_expansion, 16);
        assert_eq!(l, Limits::new());
    }

    #[test]
    fn setters() {
        let l = Limits::new()
            .with_max_depth(3)
            .with_max_message(10)
            .with_max_expansion(2);
        assert_eq!(
            l,
            Limits {
                max_depth: 3,
                max_message: 10,
                max_expansion: 2,
            }
        );
    }
}
