//! [`XdrBytes`]: an XDR `string<N>` held as the bytes the peer sent.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::ops::Deref;
use std::str::Utf8Error;

use bytes::Bytes;

use super::decode::{Decode, Decoder};
use super::encode::{padded_len, Encode, Encoder};
use super::error::{check_bound, Error};
use super::small_bytes::SmallBytes;
use super::utf8;
// Only the docs name ErrorKind outside the tests.
#[cfg(any(doc, test))]
use super::error::ErrorKind;

/// An XDR `string<N>` in byte-string mode: at most `N` bytes, whatever they are.
///
/// XDR strings are bytes, and a C peer (rpcgen + libtirpc) sends whatever its `char *` holds: a
/// Latin-1 file name, a byte in a domain name. [`XdrString`](crate::xdr::XdrString) refuses
/// such a string and with it the whole message; `XdrBytes` takes it, and re-encodes it byte for
/// byte. Text is checked when it is read: [`as_str`](XdrBytes::as_str) returns a `Result`,
/// [`to_str_lossy`](XdrBytes::to_str_lossy) replaces what is not UTF-8, `Display` is lossy and
/// `Debug` escapes the bytes that are not UTF-8 (`"caf\xe9"`).
///
/// Up to 23 bytes (most names) are held in the value itself: no allocation, no reference
/// count. Longer strings are held, like [`Opaque`](crate::xdr::Opaque), in a [`Bytes`]: decoded
/// by [`from_shared`](crate::xdr::from_shared), such a string is a slice of the packet (no copy,
/// no validation), and it keeps that packet's buffer alive until it is dropped or
/// [`detach`](XdrBytes::detach)ed.
///
/// # Examples
///
/// ```
/// use xdrgen_runtime::xdr::{from_bytes, to_bytes, XdrBytes};
///
/// // "café" in Latin-1, as a C peer might send it.
/// let wire = [0, 0, 0, 4, b'c', b'a', b'f', 0xe9];
/// let name: XdrBytes<16> = from_bytes(&wire)?;
/// assert_eq!(name.as_bytes(), b"caf\xe9");
/// assert!(name.as_str().is_err());
/// assert_eq!(name.to_str_lossy(), "caf\u{fffd}");
/// assert_eq!(format!("{name:?}"), r#""caf\xe9""#);
/// assert_eq!(to_bytes(&name)?, wire);
///
/// let vm = XdrBytes::<16>::try_from("vm1")?;
/// assert_eq!(vm.as_str(), Ok("vm1"));
/// # Ok::<(), xdrgen_runtime::xdr::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct XdrBytes<const N: u32 = { u32::MAX }>(SmallBytes);

impl<const N: u32> XdrBytes<N> {
    /// The bound `N`.
    pub const BOUND: u32 = N;

    /// Wraps `bytes` (a `Vec<u8>`, [`Bytes`] or `&'static [u8]`, taken without a copy); fails
    /// with [`ErrorKind::LengthExceedsBound`] when there are more than `N`.
    pub fn new(bytes: impl Into<Bytes>) -> Result<Self, Error> {
        let bytes = bytes.into();
        check_bound(bytes.len(), N)?;
        Ok(XdrBytes(SmallBytes::from(bytes)))
    }

    /// The bytes, as sent.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// The text, or where it stops being UTF-8.
    pub fn as_str(&self) -> Result<&str, Utf8Error> {
        match utf8::validate(&self.0) {
            Some(s) => Ok(s),
            // Only std's error says where the bad byte is; this runs on invalid input only.
            None => std::str::from_utf8(&self.0),
        }
    }

    /// The text, with each run of bytes that is not UTF-8 replaced by U+FFFD (borrowed when
    /// it is all UTF-8).
    pub fn to_str_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// The same bytes in a buffer of their own, so that keeping them does not keep the rest of
    /// the packet they were decoded from.
    pub fn detach(&self) -> Self {
        XdrBytes(self.0.detach())
    }

    /// Unwraps the [`Bytes`].
    pub fn into_inner(self) -> Bytes {
        self.0.into_bytes()
    }
}

impl<const N: u32> fmt::Display for XdrBytes<N> {
    /// The text, lossily: bytes that are not UTF-8 show as U+FFFD.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_str_lossy(), f)
    }
}

impl<const N: u32> fmt::Debug for XdrBytes<N> {
    /// A quoted string as `str`'s `Debug` writes it, with each byte that is not part of UTF-8
    /// text written as `\xNN`, so nothing the peer sent is hidden.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                // `'` needs no escape inside double quotes, as in str's Debug.
                if c == '\'' {
                    f.write_char(c)?;
                } else {
                    write!(f, "{}", c.escape_debug())?;
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        f.write_char('"')
    }
}

impl<const N: u32> Deref for XdrBytes<N> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl<const N: u32> AsRef<[u8]> for XdrBytes<N> {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl<const N: u32> TryFrom<&str> for XdrBytes<N> {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Error> {
        Self::try_from(s.as_bytes())
    }
}

impl<const N: u32> TryFrom<String> for XdrBytes<N> {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Self::new(s.into_bytes())
    }
}

impl<const N: u32> TryFrom<&[u8]> for XdrBytes<N> {
    type Error = Error;
    fn try_from(bytes: &[u8]) -> Result<Self, Error> {
        // Check before copying so an oversized input is not duplicated first.
        check_bound(bytes.len(), N)?;
        Ok(XdrBytes(SmallBytes::copy_from_slice(bytes)))
    }
}

impl<const N: u32> TryFrom<Vec<u8>> for XdrBytes<N> {
    type Error = Error;
    fn try_from(bytes: Vec<u8>) -> Result<Self, Error> {
        Self::new(bytes)
    }
}

impl<const N: u32> TryFrom<Bytes> for XdrBytes<N> {
    type Error = Error;
    fn try_from(bytes: Bytes) -> Result<Self, Error> {
        Self::new(bytes)
    }
}

impl<const N: u32> From<XdrBytes<N>> for Bytes {
    fn from(s: XdrBytes<N>) -> Bytes {
        s.0.into_bytes()
    }
}

impl<const N: u32> PartialEq<str> for XdrBytes<N> {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl<const N: u32> PartialEq<&str> for XdrBytes<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl<const N: u32> PartialEq<[u8]> for XdrBytes<N> {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl<const N: u32> Encode for XdrBytes<N> {
    #[inline]
    fn encoded_len(&self) -> usize {
        4 + padded_len(self.0.len())
    }
    #[inline]
    fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
        out.put_var_opaque(&self.0, N)
    }
}

impl<const N: u32> Decode for XdrBytes<N> {
    /// The length, the bytes and their zero padding, as for `opaque<N>`: no UTF-8 check.
    #[inline]
    fn decode(input: &mut Decoder<'_>) -> Result<Self, Error> {
        input.get_small_bytes(N, false).map(XdrBytes)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{from_bytes, from_shared, to_bytes};
    use super::*;

    #[test]
    fn every_byte_value_but_nul_round_trips() {
        let all: Vec<u8> = (1..=255).collect();
        let s = XdrBytes::<255>::try_from(&all[..]).unwrap();
        let wire = to_bytes(&s).unwrap();
        // Length 255, the bytes, one zero byte of padding (RFC 4506 4.11).
        assert_eq!(wire[..4], [0, 0, 0, 255]);
        assert_eq!(wire[4..259], all[..]);
        assert_eq!(wire[259..], [0]);
        let back: XdrBytes<255> = from_bytes(&wire).unwrap();
        assert_eq!(back.as_bytes(), &all[..]);
        assert!(back.as_str().is_err());
    }

    #[test]
    fn bounds_and_padding_are_checked_as_for_strings() {
        assert_eq!(
            XdrBytes::<2>::try_from("abc").unwrap_err().kind(),
            &ErrorKind::LengthExceedsBound {
                length: 3,
                bound: 2
            }
        );
        assert_eq!(
            from_bytes::<XdrBytes<2>>(&[0, 0, 0, 3, 1, 2, 3, 0])
                .unwrap_err()
                .kind(),
            &ErrorKind::LengthExceedsBound {
                length: 3,
                bound: 2
            }
        );
        assert_eq!(
            from_bytes::<XdrBytes>(&[0, 0, 0, 1, 0xff, 0, 1, 0])
                .unwrap_err()
                .kind(),
            &ErrorKind::BadPadding
        );
    }

    #[test]
    fn text_access() {
        let s = XdrBytes::<16>::try_from("h\u{e9}!").unwrap();
        assert_eq!(s.as_str(), Ok("h\u{e9}!"));
        assert!(matches!(s.to_str_lossy(), Cow::Borrowed("h\u{e9}!")));
        let bad = XdrBytes::<16>::new(&b"ab\xffcd"[..]).unwrap();
        assert_eq!(bad.as_str().unwrap_err().valid_up_to(), 2);
        assert_eq!(bad.to_str_lossy(), "ab\u{fffd}cd");
        assert_eq!(bad.to_string(), "ab\u{fffd}cd");
        assert!(bad == b"ab\xffcd"[..]);
        assert!(s == "h\u{e9}!");
    }

    #[test]
    fn debug_escapes_what_is_not_text() {
        let s = XdrBytes::<32>::new(&b"a\"b'\n\xc3\xa9\xff\x80z"[..]).unwrap();
        assert_eq!(format!("{s:?}"), r#""a\"b'\né\xff\x80z""#);
        assert_eq!(format!("{:?}", XdrBytes::<4>::default()), r#""""#);
    }

    #[test]
    fn decoded_from_a_shared_buffer_it_is_a_slice_unless_short() {
        let mut wire = vec![0, 0, 0, 24];
        wire.extend(0xe0..0xf8u8);
        let body = Bytes::from(wire);
        let s: XdrBytes<32> = from_shared(&body).unwrap();
        assert_eq!(s.as_ptr(), body[4..].as_ptr());
        let own = s.detach();
        assert_eq!(own, s);
        assert_ne!(own.as_ptr(), body[4..].as_ptr());
        assert_eq!(s.into_inner(), body.slice(4..));
        // 23 bytes and fewer are copied into the value, and read back the same.
        for len in [0u8, 1, 2, 3, 4, 5, 22, 23] {
            let mut wire = vec![0, 0, 0, len];
            wire.extend(0xe0..0xe0 + len);
            wire.resize(4 + padded_len(usize::from(len)), 0);
            // Something after it, so the decoder reads a whole inline buffer's worth at once.
            wire.extend([0xaa; 24]);
            let body = Bytes::from(wire);
            let mut d = Decoder::shared(&body, crate::xdr::Limits::default()).unwrap();
            let s = XdrBytes::<32>::decode(&mut d).unwrap();
            assert_eq!(s.as_bytes(), &body[4..4 + usize::from(len)]);
            assert_ne!(s.as_ptr(), body[4..].as_ptr());
            assert_eq!(d.remaining(), 24, "len {len}");
        }
    }
}
