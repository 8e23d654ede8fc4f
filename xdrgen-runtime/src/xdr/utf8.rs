//! UTF-8 validation of decoded strings, and the crate's only `unsafe` code.
//!
//! Most XDR strings are short ASCII names (domain names, typed-parameter fields). For them a
//! plain ASCII scan is several times cheaper than a general validator's set-up, but turning the
//! checked bytes into a `&str` through the safe `std::str::from_utf8` would scan them a second
//! time. So this module, and nothing else in the crate, converts checked bytes with
//! `from_utf8_unchecked`; every such call is next to the check that makes it sound.
#![allow(unsafe_code)]

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
