//! [`SmallBytes`]: the buffer behind [`XdrBytes`](crate::xdr::XdrBytes) and
//! [`XdrString`](crate::xdr::XdrString): short contents in place, longer ones in [`Bytes`].
//!
//! Most decoded strings are short names (a domain name, a typed parameter's field). A [`Bytes`]
//! slice of the packet costs an atomic reference-count increment when decoded and a decrement
//! when dropped, each through a vtable; on the codec_vs_c bench those two were over half of
//! decoding a 1000-domain list. Copying up to [`INLINE`] bytes into the value itself costs less
//! than either, needs no allocation, and a kept name no longer pins its whole receive buffer.
//! The type stays as large as a [`Bytes`] (32 bytes): the inline form fits beside the niche of
//! the `Bytes` vtable pointer.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::Bytes;

/// The most bytes held in place.
pub(crate) const INLINE: usize = 23;

/// Bytes held in place when there are at most [`INLINE`] of them (as decoded), else a [`Bytes`].
///
/// Equality, ordering and hashing are those of the byte slice, whichever form holds it.
#[derive(Clone)]
pub(crate) enum SmallBytes {
    /// At most [`INLINE`] bytes.
    Inline(Inline),
    /// Any length (values built from a `Bytes` keep it, whatever its length).
    Shared(Bytes),
}

/// `bytes[..len]`, with `len = bytes[INLINE] <= INLINE`; the bytes between are unspecified (a
/// decoded value has the next bytes of its message there).
///
/// The length is the last byte so that a decoded value is built as three whole words computed
/// in registers, the length merged into the third: a store of the data then a one-byte store
/// of the length made the next 8-byte load of that word wait for both (a failed store
/// forward), which cost a quarter of decoding a list of names (issue 13).
#[derive(Clone, Copy)]
#[repr(C, align(8))]
pub(crate) struct Inline {
    bytes: [u8; INLINE + 1],
}

const _: () = assert!(std::mem::size_of::<SmallBytes>() == std::mem::size_of::<Bytes>());

/// Copies `src` (at most `dst.len()` bytes, and `dst` at least 8 long) to the start of
/// `dst` with at most three fixed-size copies that may overlap, leaving the rest of `dst` as
/// it is. For up to 24 bytes this replaces a call to `memcpy` (the copy of a length known
/// only at run time), which costs more than encoding or decoding the rest of a short name.
///
/// Always inlined: out of line, the call costs what it saves (measured with callgrind).
#[inline(always)]
pub(crate) fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    if n >= 8 {
        dst[..8].copy_from_slice(&src[..8]);
        if n > 16 {
            dst[8..16].copy_from_slice(&src[8..16]);
        }
        dst[n - 8..n].copy_from_slice(&src[n - 8..]);
    } else if n >= 4 {
        dst[..4].copy_from_slice(&src[..4]);
        dst[n - 4..n].copy_from_slice(&src[n - 4..]);
    } else if n > 0 {
        dst[0] = src[0];
        dst[n / 2] = src[n / 2];
        dst[n - 1] = src[n - 1];
    }
}

impl SmallBytes {
    /// Nothing.
    pub(crate) const EMPTY: SmallBytes = SmallBytes::Inline(Inline {
        bytes: [0; INLINE + 1],
    });

    /// The first `len` of `words`, in place; `len <= INLINE`, which is not checked here: a
    /// longer `len` only makes [`as_slice`](SmallBytes::as_slice) return all of them.
    ///
    /// Three word moves, not a copy of `len` bytes (that would be a call to `memcpy` per
    /// name), and no separate store of the length (see [`Inline`]).
    #[inline]
    pub(crate) fn inline(words: [u8; INLINE + 1], len: usize) -> SmallBytes {
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&words[8 * i..8 * i + 8]);
            u64::from_le_bytes(w)
        };
        let len = len.min(INLINE) as u64;
        // Byte 23 of the value is the top byte of the third little-endian word.
        let last = (word(2) & !(0xff << 56)) | (len << 56);
        let mut bytes = [0u8; INLINE + 1];
        bytes[..8].copy_from_slice(&word(0).to_le_bytes());
        bytes[8..16].copy_from_slice(&word(1).to_le_bytes());
        bytes[16..].copy_from_slice(&last.to_le_bytes());
        SmallBytes::Inline(Inline { bytes })
    }

    /// A copy of `bytes`: in place when short enough, else in a new [`Bytes`].
    pub(crate) fn copy_from_slice(bytes: &[u8]) -> SmallBytes {
        if bytes.len() <= INLINE {
            let mut data = [0u8; INLINE + 1];
            copy_short(&mut data[..INLINE], bytes);
            data[INLINE] = bytes.len() as u8;
            SmallBytes::Inline(Inline { bytes: data })
        } else {
            SmallBytes::Shared(Bytes::copy_from_slice(bytes))
        }
    }

    /// The bytes.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            SmallBytes::Inline(inline) => &inline.bytes[..usize::from(inline.bytes[INLINE])],
            SmallBytes::Shared(bytes) => bytes,
        }
    }

    /// The bytes as a [`Bytes`]: the one held, or a copy of the inline ones.
    pub(crate) fn into_bytes(self) -> Bytes {
        match self {
            SmallBytes::Inline(_) => Bytes::copy_from_slice(self.as_slice()),
            SmallBytes::Shared(bytes) => bytes,
        }
    }

    /// The same bytes in a buffer of their own (nothing shared with the input they came from).
    pub(crate) fn detach(&self) -> SmallBytes {
        SmallBytes::copy_from_slice(self.as_slice())
    }
}

impl From<Bytes> for SmallBytes {
    fn from(bytes: Bytes) -> Self {
        SmallBytes::Shared(bytes)
    }
}

impl Default for SmallBytes {
    fn default() -> Self {
        SmallBytes::EMPTY
    }
}

impl Deref for SmallBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for SmallBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

impl PartialEq for SmallBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for SmallBytes {}

impl PartialOrd for SmallBytes {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SmallBytes {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl Hash for SmallBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // As `Bytes` and `[u8]` hash, so the inline and shared forms of equal bytes agree.
        self.as_slice().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_bytes_are_held_in_place_and_long_ones_shared() {
        for len in [0, 1, 3, 4, 5, 20, 22, 23] {
            let bytes: Vec<u8> = (1..=len as u8).collect();
            let mut words = [0xee; INLINE + 1];
            words[..len].copy_from_slice(&bytes);
            let small = SmallBytes::inline(words, len);
            assert!(matches!(small, SmallBytes::Inline(_)));
            assert_eq!(small.as_slice(), &bytes[..], "len {len}");
            assert_eq!(small, SmallBytes::from(Bytes::from(bytes.clone())));
            assert_eq!(SmallBytes::copy_from_slice(&bytes), small);
        }
        let long = [7u8; 24];
        let copy = SmallBytes::copy_from_slice(&long);
        assert!(matches!(copy, SmallBytes::Shared(_)));
        assert_eq!(copy.into_bytes(), &long[..]);
    }

    #[test]
    fn copy_short_copies_every_length_and_nothing_else() {
        let src: Vec<u8> = (1..=24).collect();
        for n in 0..=24 {
            let mut dst = [0xee; 24];
            copy_short(&mut dst, &src[..n]);
            assert_eq!(dst[..n], src[..n], "length {n}");
            assert!(dst[n..].iter().all(|&b| b == 0xee), "length {n}");
        }
    }

    #[test]
    fn equal_bytes_hash_and_order_alike_in_either_form() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |b: &SmallBytes| {
            let mut h = DefaultHasher::new();
            b.hash(&mut h);
            h.finish()
        };
        let inline = SmallBytes::copy_from_slice(b"vm1");
        let shared = SmallBytes::from(Bytes::from_static(b"vm1"));
        assert_eq!(hash(&inline), hash(&shared));
        assert_eq!(inline.cmp(&shared), Ordering::Equal);
        assert!(SmallBytes::copy_from_slice(b"a") < SmallBytes::from(Bytes::from_static(b"b")));
        assert_eq!(SmallBytes::default().as_slice(), b"");
    }
}
