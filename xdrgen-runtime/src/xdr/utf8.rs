//! UTF-8 validation of decoded strings, the [`Utf8Bytes`] buffer behind
//! [`XdrString`](crate::xdr::XdrString), and the crate's only `unsafe` code.
//!
//! Most XDR strings are short ASCII names (domain names, typed-parameter fields). For them a
//! plain ASCII scan is several times cheaper than a general validator's set-up, but turning the
//! checked bytes into a `&str` through the safe `std::str::from_utf8` would scan them a second
//! time. And an `XdrString` decoded from a shared buffer is a [`Bytes`] slice that was
//! validated once, at decode: reading it as `&str` must not validate again.
//!
//! So this module, and nothing else in the crate, converts bytes to `&str` with
//! `from_utf8_unchecked`: once right after an ASCII check, and once in [`Utf8Bytes::as_str`],
//! whose field is private to this module and set only from a `&str` or a `String`.
#![allow(unsafe_code)]

use bytes::Bytes;

use super::decode::Decoder;
use super::error::Error;
use super::small_bytes::SmallBytes;

/// Strings shorter than this that are all ASCII skip the general validator.
const ASCII_FAST_PATH: usize = 64;

/// `bytes` as a `&str`, or `None` when they are not UTF-8.
///
/// Short ASCII input takes one ASCII scan; anything else goes to simdutf8, which validates as
/// std does and several times faster on long text (XML descriptions of megabytes made std's
/// validation as costly as the copy in the codec_vs_c bench).
#[inline]
pub(crate) fn validate(bytes: &[u8]) -> Option<&str> {
    if bytes.len() < ASCII_FAST_PATH && bytes.is_ascii() {
        // SAFETY: every byte is below 0x80 (checked just above), and a sequence of ASCII bytes
        // is valid UTF-8.
        return Some(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    simdutf8::basic::from_utf8(bytes).ok()
}

/// A [`Bytes`] buffer that holds UTF-8.
///
/// Invariant: the bytes are valid UTF-8. Every constructor takes them from a `&str` or a
/// `String` (whose own invariant that is), and nothing gives mutable access to them.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Utf8Bytes(SmallBytes);

impl Utf8Bytes {
    /// Takes the `String`'s buffer without a copy.
    pub(crate) fn from_string(s: String) -> Self {
        Utf8Bytes(SmallBytes::from(Bytes::from(s.into_bytes())))
    }

    /// Copies `s`.
    pub(crate) fn copy_from_str(s: &str) -> Self {
        Utf8Bytes(SmallBytes::copy_from_slice(s.as_bytes()))
    }

    /// Reads a string of at most `bound` bytes: the length, the bytes, their padding, then
    /// UTF-8 validation, all by [`Decoder::get_small_bytes`]: a short one is copied in place,
    /// a longer one sliced from the decoder's shared buffer (or copied when it has none).
    #[inline]
    pub(crate) fn decode(input: &mut Decoder<'_>, bound: u32) -> Result<Self, Error> {
        // Validated as UTF-8 before it is returned.
        input.get_small_bytes(bound, true).map(Utf8Bytes)
    }

    /// The text.
    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        // SAFETY: the bytes are UTF-8 (the type's invariant: every constructor above takes them
        // from a `str` or `String`, or from `Decoder::get_small_bytes` with `utf8`, which
        // validated exactly the bytes it returns), and `SmallBytes` never changes its bytes.
        unsafe { std::str::from_utf8_unchecked(self.0.as_slice()) }
    }

    /// The bytes.
    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// The same bytes in a buffer of their own.
    pub(crate) fn detach(&self) -> Self {
        Utf8Bytes(self.0.detach())
    }

    /// The bytes as a [`Bytes`] (still UTF-8, though the type no longer says so): the shared
    /// buffer, or a copy of bytes held in place.
    pub(crate) fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ascii_takes_the_fast_path_and_stays_exact() {
        assert_eq!(validate(b""), Some(""));
        assert_eq!(validate(b"instance-0000002a"), Some("instance-0000002a"));
        let longest_fast = [b'x'; ASCII_FAST_PATH - 1];
        assert_eq!(validate(&longest_fast).map(str::len), Some(63));
        // 0x7f is still ASCII; 0x80 is not, and alone it is not UTF-8.
        assert_eq!(validate(&[0x7f]), Some("\u{7f}"));
        assert_eq!(validate(&[0x80]), None);
    }

    #[test]
    fn every_non_ascii_byte_alone_is_rejected_at_every_length() {
        // Below, at and above the fast path's length limit, anywhere in the string.
        for len in [1, 2, 31, 63, 64, 65, 200] {
            for at in [0, len / 2, len - 1] {
                for b in 0x80..=0xffu8 {
                    let mut s = vec![b'a'; len];
                    s[at] = b;
                    assert_eq!(validate(&s), None, "len {len}, {b:#x} at {at}");
                }
            }
        }
    }

    #[test]
    fn short_multibyte_text_goes_to_the_validator() {
        assert_eq!(validate("é".as_bytes()), Some("é"));
        assert_eq!(validate("€x😀".as_bytes()), Some("€x😀"));
        // A cut sequence, an overlong encoding and an encoded surrogate.
        assert_eq!(validate(&[b'a', 0xe2, 0x82]), None);
        assert_eq!(validate(&[0xc0, 0xaf]), None);
        assert_eq!(validate(&[0xed, 0xa0, 0x80]), None);
    }
}
