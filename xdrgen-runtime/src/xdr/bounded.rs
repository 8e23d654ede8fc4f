//! Collections that carry their `.x` bound in the type: [`XdrString`], [`Opaque`], [`VarArray`].
//!
//! The only way to build one is through a checked constructor (`new`, `TryFrom`, `push`), so a
//! value always meets its bound; mutable access never changes the length. `N = u32::MAX` stands
//! for an unbounded `<>`, which the wire format still limits to `u32::MAX` elements.

use std::fmt;
use std::ops::{Deref, DerefMut};

use bytes::Bytes;

use super::utf8::Utf8Bytes;

use super::decode::{Decode, Decoder};
use super::encode::{padded_len, Encode, Encoder};
use super::error::{check_bound, Error};
// Only the docs name ErrorKind outside the tests.
#[cfg(any(doc, test))]
use super::error::ErrorKind;

/// An XDR `string<N>`: UTF-8 text of at most `N` bytes.
///
/// Decoding rejects bytes that are not UTF-8 ([`ErrorKind::InvalidUtf8`]); a peer that may send
/// other bytes (a C peer's Latin-1 path) needs byte-string mode and
/// [`XdrBytes`](crate::xdr::XdrBytes).
///
/// The text is validated once, when decoded, and is immutable. Up to 23 bytes (most names) are
/// held in the value itself: no allocation, no reference count. Longer text is held in a
/// [`Bytes`] buffer: decoded by [`from_shared`](crate::xdr::from_shared) it is a slice of the
/// packet (no allocation; cloning it is a reference count), and it keeps that packet's buffer
/// alive until it is dropped or [`detach`](XdrString::detach)ed.
///
/// # Examples
///
/// ```
/// use xdrgen_runtime::xdr::{to_bytes, XdrString};
///
/// let name = XdrString::<8>::try_from("vm1").unwrap();
/// assert_eq!(to_bytes(&name).unwrap(), [0, 0, 0, 3, b'v', b'm', b'1', 0]);
/// assert!(XdrString::<2>::try_from("vm1").is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct XdrString<const N: u32 = { u32::MAX }>(Utf8Bytes);

/// An XDR `opaque<N>`: at most `N` bytes, held in a shared [`Bytes`] buffer.
///
/// Decoded by [`from_shared`](crate::xdr::from_shared) (as the libvirt client and server
/// decode), it is a slice of the received packet: no copy, whatever its size. Cloning it is a
/// reference count. The bytes are immutable; build a new value to change them.
///
/// A small value sliced from a packet keeps the whole packet's buffer alive while it lives;
/// [`detach`](Opaque::detach) copies it out when it is kept long.
///
/// # Examples
///
/// ```
/// use xdrgen_runtime::xdr::{to_bytes, Opaque};
///
/// let cookie = Opaque::<8>::new(vec![1, 2, 3])?;
/// assert_eq!(to_bytes(&cookie)?, [0, 0, 0, 3, 1, 2, 3, 0]);
/// assert_eq!(cookie.as_slice(), [1, 2, 3]);
/// assert!(Opaque::<2>::new(vec![1, 2, 3]).is_err());
/// # Ok::<(), xdrgen_runtime::xdr::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Opaque<const N: u32 = { u32::MAX }>(Bytes);

/// An XDR variable-length array `T<N>`: at most `N` elements.
///
/// It has no `Encode`/`Decode` impls, as its elements may be encoded in several ways (`char`
/// as a word, optional data with a flag): generated code writes the length with
/// [`Encoder::put_len`] and the elements itself, and reads the whole array with
/// [`Decoder::get_var_array`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarArray<T, const N: u32 = { u32::MAX }>(Vec<T>);

impl<const N: u32> XdrString<N> {
    /// The bound `N`.
    pub const BOUND: u32 = N;

    /// Wraps `s` (its buffer, without a copy); fails with [`ErrorKind::LengthExceedsBound`]
    /// when it is longer than `N` bytes.
    pub fn new(s: String) -> Result<Self, Error> {
        check_bound(s.len(), N)?;
        Ok(XdrString(Utf8Bytes::from_string(s)))
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The text as bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The same text in a buffer of its own, so that keeping it does not keep the rest of the
    /// packet it was decoded from.
    pub fn detach(&self) -> Self {
        XdrString(self.0.detach())
    }

    /// The text as a `String` (a copy).
    pub fn into_string(self) -> String {
        self.as_str().to_owned()
    }

    /// The text's bytes as the shared buffer they are held in.
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }
}

impl<const N: u32> Opaque<N> {
    /// The bound `N`.
    pub const BOUND: u32 = N;

    /// Wraps `bytes` (a `Vec<u8>` or [`Bytes`], taken without a copy); fails with
    /// [`ErrorKind::LengthExceedsBound`] when there are more than `N`.
    pub fn new(bytes: impl Into<Bytes>) -> Result<Self, Error> {
        let bytes = bytes.into();
        check_bound(bytes.len(), N)?;
        Ok(Opaque(bytes))
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// The bytes as the shared buffer they are held in.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The same bytes in a buffer of their own, so that keeping them does not keep the rest of
    /// the packet they were decoded from.
    pub fn detach(&self) -> Self {
        Opaque(Bytes::copy_from_slice(&self.0))
    }

    /// Unwraps the [`Bytes`].
    pub fn into_inner(self) -> Bytes {
        self.0
    }

    /// The bytes as a `Vec` (without a copy when nothing else shares them).
    pub fn into_vec(self) -> Vec<u8> {
        self.0.into()
    }
}

impl<T, const N: u32> VarArray<T, N> {
    /// The bound `N`.
    pub const BOUND: u32 = N;

    /// Wraps `items`; fails with [`ErrorKind::LengthExceedsBound`] when there are more than
    /// `N`.
    pub fn new(items: Vec<T>) -> Result<Self, Error> {
        check_bound(items.len(), N)?;
        Ok(VarArray(items))
    }

    /// Appends an element; fails with [`ErrorKind::LengthExceedsBound`] (leaving the array
    /// unchanged) when the array already holds `N`.
    pub fn push(&mut self, item: T) -> Result<(), Error> {
        check_bound(self.0.len() + 1, N)?;
        self.0.push(item);
        Ok(())
    }

    /// The elements.
    pub fn as_slice(&self) -> &[T] {
        &self.0
    }

    /// The elements, mutably (the length cannot change through a slice).
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.0
    }

    /// Unwraps the `Vec`.
    pub fn into_inner(self) -> Vec<T> {
        self.0
    }
}

impl<T, const N: u32> Default for VarArray<T, N> {
    fn default() -> Self {
        VarArray(Vec::new())
    }
}

// Debug shows the contents only, so generated structs print like plain Rust data.
impl<const N: u32> fmt::Debug for XdrString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: u32> fmt::Debug for Opaque<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A list of numbers, as `Vec<u8>` prints (Bytes would print b"…").
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

impl<T: fmt::Debug, const N: u32> fmt::Debug for VarArray<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<const N: u32> fmt::Display for XdrString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl<const N: u32> Deref for XdrString<N> {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: u32> Deref for Opaque<N> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl<T, const N: u32> Deref for VarArray<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T, const N: u32> DerefMut for VarArray<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

impl<const N: u32> AsRef<str> for XdrString<N> {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: u32> AsRef<[u8]> for XdrString<N> {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl<const N: u32> AsRef<[u8]> for Opaque<N> {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl<T, const N: u32> AsRef<[T]> for VarArray<T, N> {
    fn as_ref(&self) -> &[T] {
        &self.0
    }
}

impl<const N: u32> TryFrom<String> for XdrString<N> {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Self::new(s)
    }
}

impl<const N: u32> TryFrom<&str> for XdrString<N> {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Error> {
        // Check before copying so an oversized input is not duplicated first.
        check_bound(s.len(), N)?;
        Ok(XdrString(Utf8Bytes::copy_from_str(s)))
    }
}

impl<const N: u32> TryFrom<Vec<u8>> for Opaque<N> {
    type Error = Error;
    fn try_from(bytes: Vec<u8>) -> Result<Self, Error> {
        Self::new(bytes)
    }
}

impl<const N: u32> TryFrom<Bytes> for Opaque<N> {
    type Error = Error;
    fn try_from(bytes: Bytes) -> Result<Self, Error> {
        Self::new(bytes)
    }
}

impl<const N: u32> TryFrom<&[u8]> for Opaque<N> {
    type Error = Error;
    fn try_from(bytes: &[u8]) -> Result<Self, Error> {
        check_bound(bytes.len(), N)?;
        Ok(Opaque(Bytes::copy_from_slice(bytes)))
    }
}

impl<T, const N: u32> TryFrom<Vec<T>> for VarArray<T, N> {
    type Error = Error;
    fn try_from(items: Vec<T>) -> Result<Self, Error> {
        Self::new(items)
    }
}

impl<T: Clone, const N: u32> TryFrom<&[T]> for VarArray<T, N> {
    type Error = Error;
    fn try_from(items: &[T]) -> Result<Self, Error> {
        check_bound(items.len(), N)?;
        Ok(VarArray(items.to_vec()))
    }
}

impl<const N: u32> From<XdrString<N>> for String {
    fn from(s: XdrString<N>) -> String {
        s.into_string()
    }
}

impl<const N: u32> From<Opaque<N>> for Vec<u8> {
    fn from(o: Opaque<N>) -> Vec<u8> {
        o.into_vec()
    }
}

impl<const N: u32> From<Opaque<N>> for Bytes {
    fn from(o: Opaque<N>) -> Bytes {
        o.0
    }
}

impl<T, const N: u32> From<VarArray<T, N>> for Vec<T> {
    fn from(a: VarArray<T, N>) -> Vec<T> {
        a.0
    }
}

impl<T, const N: u32> IntoIterator for VarArray<T, N> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, T, const N: u32> IntoIterator for &'a VarArray<T, N> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'a, T, const N: u32> IntoIterator for &'a mut VarArray<T, N> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter_mut()
    }
}

impl<const N: u32> Encode for XdrString<N> {
    #[inline]
    fn encoded_len(&self) -> usize {
        4 + padded_len(self.as_bytes().len())
    }
    #[inline]
    fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
        out.put_var_opaque(self.as_bytes(), N)
    }
}

impl<const N: u32> Decode for XdrString<N> {
    #[inline]
    fn decode(input: &mut Decoder<'_>) -> Result<Self, Error> {
        // Validated in place, then a slice of the shared buffer, or one copy without one.
        Utf8Bytes::decode(input, N).map(XdrString)
    }
}

impl<const N: u32> Encode for Opaque<N> {
    #[inline]
    fn encoded_len(&self) -> usize {
        4 + padded_len(self.0.len())
    }
    #[inline]
    fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
        out.put_var_opaque(&self.0, N)
    }
}

impl<const N: u32> Decode for Opaque<N> {
    #[inline]
    fn decode(input: &mut Decoder<'_>) -> Result<Self, Error> {
        // A slice of the input's buffer when it is shared, else one copy.
        input.get_opaque_bytes(N).map(Opaque)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{from_bytes, to_bytes};
    use super::*;

    fn bound_kind(length: u64, bound: u32) -> ErrorKind {
        ErrorKind::LengthExceedsBound { length, bound }
    }

    // Expected bytes are written out by hand from RFC 4506 sections 4.10 and 4.11.

    #[test]
    fn string_encoding() {
        let s = XdrString::<16>::try_from("hello").unwrap();
        assert_eq!(
            to_bytes(&s).unwrap(),
            [0, 0, 0, 5, b'h', b'e', b'l', b'l', b'o', 0, 0, 0]
        );
        assert_eq!(s.encoded_len(), 12);
        let empty = XdrString::<16>::default();
        assert_eq!(to_bytes(&empty).unwrap(), [0, 0, 0, 0]);
        assert_eq!(empty.encoded_len(), 4);
        // Byte length, not char count: "é" is two bytes.
        let e = XdrString::<2>::try_from("\u{e9}").unwrap();
        assert_eq!(to_bytes(&e).unwrap(), [0, 0, 0, 2, 0xc3, 0xa9, 0, 0]);
    }

    #[test]
    fn string_at_bound_and_over() {
        let at = XdrString::<4>::try_from("abcd").unwrap();
        assert_eq!(to_bytes(&at).unwrap(), [0, 0, 0, 4, b'a', b'b', b'c', b'd']);
        assert_eq!(
            XdrString::<4>::try_from("abcde").unwrap_err().kind(),
            &bound_kind(5, 4)
        );
        assert_eq!(
            XdrString::<1>::new("\u{e9}".to_owned()).unwrap_err().kind(),
            &bound_kind(2, 1)
        );
    }

    #[test]
    fn string_decoding() {
        let s: XdrString<8> = from_bytes(&[0, 0, 0, 3, b'v', b'm', b'1', 0]).unwrap();
        assert_eq!(s.as_str(), "vm1");
        assert_eq!(
            from_bytes::<XdrString<2>>(&[0, 0, 0, 3, b'v', b'm', b'1', 0])
                .unwrap_err()
                .kind(),
            &bound_kind(3, 2)
        );
        assert_eq!(
            from_bytes::<XdrString>(&[0, 0, 0, 1, 0xff, 0, 0, 0])
                .unwrap_err()
                .kind(),
            &ErrorKind::InvalidUtf8
        );
        assert_eq!(
            from_bytes::<XdrString>(&[0, 0, 0, 1, b'a', 0, 0, 9])
                .unwrap_err()
                .kind(),
            &ErrorKind::BadPadding
        );
    }

    #[test]
    fn string_decoded_from_a_shared_buffer_is_a_validated_slice_of_it() {
        let text = "h\u{e9}llo, a name longer than 23 bytes";
        let mut wire = (text.len() as u32).to_be_bytes().to_vec();
        wire.extend_from_slice(text.as_bytes());
        wire.resize(4 + padded_len(text.len()), 0);
        let body = Bytes::from(wire);
        let s: XdrString<64> = super::super::from_shared(&body).unwrap();
        assert_eq!(s.as_str(), text);
        assert_eq!(s.as_ptr(), body[4..].as_ptr());
        let own = s.detach();
        assert_eq!(own, s);
        assert_ne!(own.as_ptr(), body[4..].as_ptr());
        assert_eq!(s.clone().into_string(), text);
        assert_eq!(s.into_bytes(), body.slice(4..4 + text.len()));
        // A short one is copied into the value, validated the same way.
        let body = Bytes::from(vec![0, 0, 0, 5, b'h', 0xc3, 0xa9, b'l', b'o', 0, 0, 0]);
        let s: XdrString<8> = super::super::from_shared(&body).unwrap();
        assert_eq!(s.as_str(), "h\u{e9}lo");
        assert_ne!(s.as_ptr(), body[4..].as_ptr());
        assert_eq!(s.into_bytes(), body.slice(4..9));
        // Not UTF-8 (0xc3 then 'l'): refused from a shared buffer as from a slice.
        let body = Bytes::from(vec![0, 0, 0, 3, 0xc3, b'l', b'o', 0]);
        assert_eq!(
            super::super::from_shared::<XdrString>(&body)
                .unwrap_err()
                .kind(),
            &ErrorKind::InvalidUtf8
        );
        let mut d = Decoder::shared(&body, super::super::Limits::default()).unwrap();
        assert_eq!(
            d.get_str_bytes(8).unwrap_err().kind(),
            &ErrorKind::InvalidUtf8
        );
        let body = Bytes::from(vec![0, 0, 0, 2, b'o', b'k', 0, 0]);
        let mut d = Decoder::shared(&body, super::super::Limits::default()).unwrap();
        let text = d.get_str_bytes(8).unwrap();
        assert_eq!((&text[..], text.as_ptr()), (&b"ok"[..], body[4..].as_ptr()));
    }

    #[test]
    fn opaque_encoding_and_decoding() {
        let o = Opaque::<8>::try_from(&[1u8, 2, 3, 4, 5][..]).unwrap();
        assert_eq!(to_bytes(&o).unwrap(), [0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0]);
        assert_eq!(o.encoded_len(), 12);
        let back: Opaque<8> = from_bytes(&[0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0]).unwrap();
        assert_eq!(back, o);
        assert_eq!(
            Opaque::<4>::new(vec![0; 5]).unwrap_err().kind(),
            &bound_kind(5, 4)
        );
        let four = Opaque::<4>::new(vec![1, 2, 3, 4]).unwrap();
        assert_eq!(to_bytes(&four).unwrap(), [0, 0, 0, 4, 1, 2, 3, 4]);
        assert_eq!(four.clone().into_vec(), [1, 2, 3, 4]);
        assert_eq!(Bytes::from(four), Bytes::from_static(&[1, 2, 3, 4]));
    }

    #[test]
    fn opaque_decoded_from_a_shared_buffer_is_a_slice_of_it() {
        let body = Bytes::from(vec![0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0]);
        let o: Opaque<8> = super::super::from_shared(&body).unwrap();
        assert_eq!(o.as_slice(), [1, 2, 3, 4, 5]);
        assert_eq!(o.as_ptr(), body[4..].as_ptr());
        // detach copies it out; the value stays equal.
        let own = o.detach();
        assert_eq!(own, o);
        assert_ne!(own.as_ptr(), body[4..].as_ptr());
        // From a plain slice it is a copy.
        let copied: Opaque<8> = from_bytes(&body).unwrap();
        assert_eq!(copied, o);
        assert_ne!(copied.as_ptr(), body[4..].as_ptr());
        // A shared value over its bound fails like any other.
        assert_eq!(
            super::super::from_shared::<Opaque<4>>(&body)
                .unwrap_err()
                .kind(),
            &bound_kind(5, 4)
        );
        assert_eq!(
            Opaque::<4>::try_from(body.slice(4..9)).unwrap_err().kind(),
            &bound_kind(5, 4)
        );
    }

    #[test]
    fn var_array_bounds() {
        let mut a = VarArray::<u32, 2>::new(vec![1]).unwrap();
        a.push(2).unwrap();
        assert_eq!(a.push(3).unwrap_err().kind(), &bound_kind(3, 2));
        assert_eq!(a.as_slice(), [1, 2]);
        assert_eq!(
            VarArray::<u32, 2>::new(vec![1, 2, 3]).unwrap_err().kind(),
            &bound_kind(3, 2)
        );
        assert_eq!(
            VarArray::<u32, 1>::try_from(&[1u32, 2][..])
                .unwrap_err()
                .kind(),
            &bound_kind(2, 1)
        );
        let sum: u32 = (&a).into_iter().sum();
        assert_eq!(sum, 3);
        for x in &mut a {
            *x += 1;
        }
        assert_eq!(a.into_inner(), [2, 3]);
        assert_eq!(VarArray::<u32, 0>::default().len(), 0);
        assert!(VarArray::<u32, 0>::new(vec![7]).is_err());
    }

    #[test]
    fn bounds_are_exposed() {
        assert_eq!(XdrString::<5>::BOUND, 5);
        assert_eq!(<XdrString>::BOUND, u32::MAX);
        assert_eq!(<Opaque>::BOUND, u32::MAX);
        assert_eq!(VarArray::<u8, 9>::BOUND, 9);
    }

    #[test]
    fn debug_is_transparent() {
        let s = XdrString::<8>::try_from("a\"b").unwrap();
        assert_eq!(format!("{s:?}"), r#""a\"b""#);
        assert_eq!(format!("{s}"), "a\"b");
        let o = Opaque::<8>::new(vec![1, 2]).unwrap();
        assert_eq!(format!("{o:?}"), "[1, 2]");
        let a = VarArray::<i32, 8>::new(vec![-1]).unwrap();
        assert_eq!(format!("{a:?}"), "[-1]");
    }
}
