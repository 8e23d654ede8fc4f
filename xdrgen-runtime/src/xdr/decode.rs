//! Decoding: the [`Decode`] trait, the [`Decoder`] cursor and [`from_bytes`].
//!
//! Every read checks the bytes that remain before touching them, and every length read from
//! the wire is checked against its `.x` bound *and* against the bytes that remain before
//! anything is allocated, and the arrays of a decoded value may take at most
//! [`Limits::max_expansion`] bytes of memory per input byte, so hostile input costs memory in
//! proportion to its own size.

use bytes::Bytes;

use super::bounded::VarArray;
use super::encode::padded_len;
use super::error::{bound_error, Error, ErrorKind};
use super::limits::Limits;
use super::small_bytes::{self, SmallBytes};
use super::utf8;

/// A type with an XDR decoding.
///
/// Implemented for the same types as [`Encode`](crate::xdr::Encode): the scalars, strings,
/// opaque data, `[T; N]`, [`VarArray`], `Option<T>` and `Box<T>` here, every enum, struct and
/// union by generated code.
pub trait Decode: Sized {
    /// Reads one value from the decoder.
    fn decode(input: &mut Decoder<'_>) -> Result<Self, Error>;

    /// Reads a fixed-length array `[Self; N]`: `N` elements, no length word, checked against
    /// the bytes left and the memory allowance first ([`Decoder::get_array`]). `u8` overrides
    /// it to read fixed-length opaque data, as it overrides
    /// [`Encode::encode_fixed_array`](crate::xdr::Encode::encode_fixed_array).
    #[inline]
    fn decode_fixed_array<const N: usize>(input: &mut Decoder<'_>) -> Result<[Self; N], Error> {
        input.get_array(0, Self::decode)
    }
}

/// Decodes one value that must fill `bytes` exactly, with the default [`Limits`].
///
/// Fails with [`ErrorKind::TrailingBytes`] when bytes are left over and with
/// [`ErrorKind::MessageTooLarge`] when `bytes` is larger than 32 MiB.
///
/// # Examples
///
/// ```
/// use xdrgen_runtime::xdr::{from_bytes, ErrorKind};
///
/// assert_eq!(from_bytes::<i32>(&[0xff, 0xff, 0xff, 0xfe]).unwrap(), -2);
/// let err = from_bytes::<i32>(&[0, 0, 0, 1, 0]).unwrap_err();
/// assert_eq!(err.kind(), &ErrorKind::TrailingBytes(1));
/// ```
pub fn from_bytes<T: Decode>(bytes: &[u8]) -> Result<T, Error> {
    from_bytes_with_limits(bytes, Limits::default())
}

/// Like [`from_bytes`] with explicit limits.
#[inline]
pub fn from_bytes_with_limits<T: Decode>(bytes: &[u8], limits: Limits) -> Result<T, Error> {
    let mut input = Decoder::with_limits(bytes, limits)?;
    let value = T::decode(&mut input)?;
    input.finish()?;
    Ok(value)
}

/// Decodes one value that must fill `body` exactly, with the default [`Limits`], sharing
/// `body`'s buffer: opaque data decoded as [`Bytes`] is a slice of `body` (a reference count,
/// no copy). Otherwise the same as [`from_bytes`], and it decodes the same values.
///
/// This is how the libvirt client decodes replies and the server decodes arguments: a packet's
/// body is already a [`Bytes`] view of the receive buffer.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use xdrgen_runtime::xdr::{from_shared, Opaque};
///
/// let body = Bytes::from_static(&[0, 0, 0, 3, 7, 8, 9, 0]);
/// let data: Opaque<8> = from_shared(&body)?;
/// assert_eq!(data.as_slice(), [7, 8, 9]);
/// # Ok::<(), xdrgen_runtime::xdr::Error>(())
/// ```
#[inline]
pub fn from_shared<T: Decode>(body: &Bytes) -> Result<T, Error> {
    from_shared_with_limits(body, Limits::default())
}

/// Like [`from_shared`] with explicit limits.
#[inline]
pub fn from_shared_with_limits<T: Decode>(body: &Bytes, limits: Limits) -> Result<T, Error> {
    let mut input = Decoder::shared(body, limits)?;
    let value = T::decode(&mut input)?;
    input.finish()?;
    Ok(value)
}

/// A cursor over XDR bytes being decoded.
///
/// Borrowed reads (`get_var_opaque_ref`, `get_str_ref`) return slices of the input without
/// copying; owned reads copy exactly once, except [`get_opaque_bytes`](Decoder::get_opaque_bytes)
/// on a decoder made by [`shared`](Decoder::shared), which copies nothing.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    /// The bytes not read yet.
    rest: &'a [u8],
    /// The buffer `rest` is the tail of, when the input is a [`Bytes`]: owned reads then slice
    /// it instead of copying.
    owner: Option<&'a Bytes>,
    /// Length of the whole input, to report positions.
    total: usize,
    depth: u32,
    limits: Limits,
    /// Bytes of memory arrays may still reserve (see [`Limits::max_expansion`]).
    memory_left: usize,
}

#[cold]
#[inline(never)]
fn eof(needed: usize, remaining: usize) -> Error {
    Error::new(ErrorKind::UnexpectedEof { needed, remaining })
}

#[cold]
#[inline(never)]
fn kind_error(kind: ErrorKind) -> Error {
    Error::new(kind)
}

/// Whether the padding after `len <= INLINE` bytes of data at the start of `words` is zero:
/// one load and mask of the last word, not a loop over up to three bytes.
#[inline(always)]
fn padding_is_zero(words: &[u8; small_bytes::INLINE + 1], len: usize) -> bool {
    let pad = padded_len(len) - len;
    // The word holding the padding (any word when there is none: the mask is then empty).
    let end = padded_len(len).clamp(4, small_bytes::INLINE + 1);
    let mut word = [0u8; 4];
    word.copy_from_slice(&words[end - 4..end]);
    // The padding is the last `pad` bytes of that word: its high bytes, read little-endian.
    let mask = (u64::from(u32::MAX) << (32 - 8 * pad)) as u32;
    u32::from_le_bytes(word) & mask == 0
}

impl<'a> Decoder<'a> {
    /// A decoder over `bytes` with the default depth limit.
    ///
    /// It does not check the message size (this constructor cannot fail); use
    /// [`with_limits`](Decoder::with_limits) or [`from_bytes`] for that.
    #[inline]
    pub fn new(bytes: &'a [u8]) -> Self {
        Decoder::unchecked(bytes, Limits::default())
    }

    /// A decoder with these limits, without the message size check.
    #[inline]
    fn unchecked(bytes: &'a [u8], limits: Limits) -> Self {
        let memory_left = limits
            .max_expansion
            .saturating_mul(bytes.len())
            .saturating_add(Limits::EXPANSION_SLACK);
        Decoder {
            rest: bytes,
            owner: None,
            total: bytes.len(),
            depth: 0,
            limits,
            memory_left,
        }
    }

    /// A decoder over `bytes` with these limits; fails with [`ErrorKind::MessageTooLarge`] up
    /// front when `bytes` is longer than `limits.max_message`.
    ///
    /// Inlined: a small message's whole decode (the 24-byte libvirt header) is a few
    /// instructions, and an out-of-line constructor was about a quarter of it (issue 13).
    #[inline]
    pub fn with_limits(bytes: &'a [u8], limits: Limits) -> Result<Self, Error> {
        if bytes.len() > limits.max_message {
            return Err(kind_error(ErrorKind::MessageTooLarge {
                length: bytes.len(),
                limit: limits.max_message,
            }));
        }
        Ok(Decoder::unchecked(bytes, limits))
    }

    /// A decoder over `body` with these limits that shares `body`'s buffer: see
    /// [`get_opaque_bytes`](Decoder::get_opaque_bytes). Fails like
    /// [`with_limits`](Decoder::with_limits) when `body` is too large.
    #[inline]
    pub fn shared(body: &'a Bytes, limits: Limits) -> Result<Self, Error> {
        let mut d = Decoder::with_limits(body, limits)?;
        d.owner = Some(body);
        Ok(d)
    }

    /// Whether owned reads share the input's buffer (the decoder was made by
    /// [`shared`](Decoder::shared)).
    pub fn is_shared(&self) -> bool {
        self.owner.is_some()
    }

    /// `data`, a slice just taken from the input, as [`Bytes`]: a slice of the shared buffer
    /// (no copy) when there is one, else a copy.
    #[inline]
    pub(crate) fn share(&self, data: &'a [u8]) -> Bytes {
        match self.owner {
            Some(owner) => owner.slice_ref(data),
            None => Bytes::copy_from_slice(data),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Bytes not read yet.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Bytes read so far (the offset of the next read).
    #[inline]
    pub fn position(&self) -> usize {
        self.total - self.rest.len()
    }

    /// The bytes not read yet, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// `Err(TrailingBytes)` unless every byte has been read.
    #[inline]
    pub fn finish(&self) -> Result<(), Error> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(kind_error(ErrorKind::TrailingBytes(self.rest.len())))
        }
    }

    /// Takes the next `K` bytes as an array.
    #[inline]
    fn take_array<const K: usize>(&mut self) -> Result<[u8; K], Error> {
        match self.rest.split_first_chunk::<K>() {
            Some((head, tail)) => {
                self.rest = tail;
                Ok(*head)
            }
            None => Err(eof(K, self.rest.len())),
        }
    }

    /// Takes `len` bytes of data followed by their zero padding; both are checked before
    /// anything is consumed.
    #[inline]
    fn take_padded(&mut self, len: usize) -> Result<&'a [u8], Error> {
        let padded = padded_len(len);
        // `len > remaining` matters only where padded_len saturated (a 32-bit usize).
        if padded > self.rest.len() || len > self.rest.len() {
            return Err(eof(padded, self.rest.len()));
        }
        let (chunk, tail) = self.rest.split_at(padded);
        let (data, padding) = chunk.split_at(len);
        if padding.iter().any(|&b| b != 0) {
            return Err(kind_error(ErrorKind::BadPadding));
        }
        self.rest = tail;
        Ok(data)
    }

    /// Reads an `unsigned int`.
    #[inline]
    pub fn get_u32(&mut self) -> Result<u32, Error> {
        self.take_array().map(u32::from_be_bytes)
    }

    /// Reads an `int`.
    #[inline]
    pub fn get_i32(&mut self) -> Result<i32, Error> {
        self.take_array().map(i32::from_be_bytes)
    }

    /// Reads an `unsigned hyper`.
    #[inline]
    pub fn get_u64(&mut self) -> Result<u64, Error> {
        self.take_array().map(u64::from_be_bytes)
    }

    /// Reads a `hyper`.
    #[inline]
    pub fn get_i64(&mut self) -> Result<i64, Error> {
        self.take_array().map(i64::from_be_bytes)
    }

    /// Reads a `float`.
    #[inline]
    pub fn get_f32(&mut self) -> Result<f32, Error> {
        self.get_u32().map(f32::from_bits)
    }

    /// Reads a `double`.
    #[inline]
    pub fn get_f64(&mut self) -> Result<f64, Error> {
        self.get_u64().map(f64::from_bits)
    }

    /// Reads a `bool`: the word 0 or 1, anything else is [`ErrorKind::InvalidBool`].
    #[inline]
    pub fn get_bool(&mut self) -> Result<bool, Error> {
        match self.get_u32()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(kind_error(ErrorKind::InvalidBool(other))),
        }
    }

    /// Reads fixed-length opaque data of `N` bytes and checks its padding bytes are zero
    /// ([`ErrorKind::BadPadding`]).
    #[inline]
    pub fn get_fixed_opaque<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let data = self.take_padded(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(data);
        Ok(out)
    }

    /// Reads fixed-length opaque data of `len` bytes (a size known only at run time) as a
    /// borrowed slice, checking the padding.
    #[inline]
    pub fn get_fixed_opaque_ref(&mut self, len: usize) -> Result<&'a [u8], Error> {
        self.take_padded(len)
    }

    /// Reads variable-length opaque data: the length word, checked against `bound`
    /// ([`ErrorKind::LengthExceedsBound`]) and against the bytes left
    /// ([`ErrorKind::UnexpectedEof`]) before the one allocation; the padding must be zero.
    #[inline]
    pub fn get_var_opaque(&mut self, bound: u32) -> Result<Vec<u8>, Error> {
        self.get_var_opaque_ref(bound).map(<[u8]>::to_vec)
    }

    /// Borrowed form of [`get_var_opaque`](Decoder::get_var_opaque): no copy.
    #[inline]
    pub fn get_var_opaque_ref(&mut self, bound: u32) -> Result<&'a [u8], Error> {
        let len = self.get_u32()?;
        if len > bound {
            return Err(bound_error(u64::from(len), bound));
        }
        self.take_padded(len as usize)
    }

    /// Reads variable-length opaque data as [`Bytes`], checked as
    /// [`get_var_opaque`](Decoder::get_var_opaque) checks it: a slice of the input's buffer (a
    /// reference count, no copy) on a [`shared`](Decoder::shared) decoder, a copy otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    /// use xdrgen_runtime::xdr::{Decoder, Limits};
    ///
    /// let body = Bytes::from(vec![0, 0, 0, 2, 0xaa, 0xbb, 0, 0]);
    /// let mut input = Decoder::shared(&body, Limits::default())?;
    /// let data = input.get_opaque_bytes(16)?;
    /// assert_eq!(data, [0xaa, 0xbb][..]);
    /// assert_eq!(data.as_ptr(), body[4..].as_ptr()); // the same memory
    /// # Ok::<(), xdrgen_runtime::xdr::Error>(())
    /// ```
    #[inline]
    pub fn get_opaque_bytes(&mut self, bound: u32) -> Result<Bytes, Error> {
        let data = self.get_var_opaque_ref(bound)?;
        Ok(self.share(data))
    }

    /// Reads variable-length opaque data, checked as [`get_var_opaque`](Decoder::get_var_opaque)
    /// checks it, as [`SmallBytes`]: up to [`small_bytes::INLINE`] bytes are copied in place,
    /// longer data as [`get_opaque_bytes`](Decoder::get_opaque_bytes) reads it. With `utf8`,
    /// the bytes must also be UTF-8 ([`ErrorKind::InvalidUtf8`]).
    #[inline(always)]
    pub(crate) fn get_small_bytes(&mut self, bound: u32, utf8: bool) -> Result<SmallBytes, Error> {
        let len = self.get_u32()?;
        if len > bound {
            return Err(bound_error(u64::from(len), bound));
        }
        let len = len as usize;
        // Short, with a whole inline buffer's worth of input left: one fixed-size read.
        if len <= small_bytes::INLINE {
            if let Some((words, _)) = self.rest.split_first_chunk::<{ small_bytes::INLINE + 1 }>() {
                let padded = padded_len(len);
                if !padding_is_zero(words, len) {
                    return Err(kind_error(ErrorKind::BadPadding));
                }
                if utf8 && utf8::validate(&words[..len]).is_none() {
                    return Err(kind_error(ErrorKind::InvalidUtf8));
                }
                self.rest = &self.rest[padded..];
                return Ok(SmallBytes::inline(*words, len));
            }
        }
        self.get_small_bytes_rest(len, utf8)
    }

    /// The rest of [`get_small_bytes`](Decoder::get_small_bytes) after its length word, where
    /// the fixed-size read does not apply: long data, or short data near the end of the input.
    /// Out of line, so that the common case inlines into the generated decoders.
    #[inline(never)]
    fn get_small_bytes_rest(&mut self, len: usize, utf8: bool) -> Result<SmallBytes, Error> {
        let data = self.take_padded(len)?;
        if utf8 && utf8::validate(data).is_none() {
            return Err(kind_error(ErrorKind::InvalidUtf8));
        }
        Ok(if len <= small_bytes::INLINE {
            SmallBytes::copy_from_slice(data)
        } else {
            SmallBytes::Shared(self.share(data))
        })
    }

    /// Reads a string as [`Bytes`] holding UTF-8: checked and validated as
    /// [`get_str_ref`](Decoder::get_str_ref), then shared or copied as
    /// [`get_opaque_bytes`](Decoder::get_opaque_bytes).
    #[inline]
    pub fn get_str_bytes(&mut self, bound: u32) -> Result<Bytes, Error> {
        let text = self.get_str_ref(bound)?;
        Ok(self.share(text.as_bytes()))
    }

    /// Reads a string as a borrowed `&str`: like
    /// [`get_var_opaque_ref`](Decoder::get_var_opaque_ref), then UTF-8 validation
    /// ([`ErrorKind::InvalidUtf8`]).
    #[inline]
    pub fn get_str_ref(&mut self, bound: u32) -> Result<&'a str, Error> {
        let bytes = self.get_var_opaque_ref(bound)?;
        utf8::validate(bytes).ok_or_else(|| kind_error(ErrorKind::InvalidUtf8))
    }

    /// Reads the length word of a variable-length array and checks it: `len <= bound`
    /// ([`ErrorKind::LengthExceedsBound`]) and `len * min_element_size <= remaining`
    /// ([`ErrorKind::UnexpectedEof`]), so the caller may `Vec::with_capacity(len)` safely.
    ///
    /// `min_element_size` is the size of the smallest encoding of one element (4 for `int`,
    /// 8 for `hyper`, 4 for a string or struct). A value of 0 is treated as 1, so a count can
    /// never exceed the bytes left and loops over elements stay bounded by the input size.
    #[inline]
    pub fn get_len(&mut self, bound: u32, min_element_size: usize) -> Result<usize, Error> {
        let len = self.get_u32()?;
        if len > bound {
            return Err(bound_error(u64::from(len), bound));
        }
        let len = len as usize;
        self.check_room(len, min_element_size.max(1))?;
        Ok(len)
    }

    /// Takes `count` Rust values of `T` from the memory allowance, or fails with
    /// [`ErrorKind::MemoryLimit`] before anything is reserved.
    #[inline]
    fn reserve_memory<T>(&mut self, count: usize) -> Result<(), Error> {
        let needed = count.saturating_mul(std::mem::size_of::<T>());
        if needed > self.memory_left {
            return Err(kind_error(ErrorKind::MemoryLimit {
                needed,
                left: self.memory_left,
            }));
        }
        self.memory_left -= needed;
        Ok(())
    }

    /// `Err(UnexpectedEof)` unless `count` elements of `min_element_size` bytes each fit in
    /// the bytes left.
    #[inline]
    fn check_room(&self, count: usize, min_element_size: usize) -> Result<(), Error> {
        let needed = count.saturating_mul(min_element_size);
        if needed > self.rest.len() {
            return Err(eof(needed, self.rest.len()));
        }
        Ok(())
    }

    /// Reads a fixed-length array (`T x[N]`): `N` elements, each read by `f`.
    ///
    /// `min_element_size` is the size of the smallest encoding of one element (see
    /// [`get_len`](Decoder::get_len); 0 is allowed here). When the bytes left cannot hold `N`
    /// such elements it fails with [`ErrorKind::UnexpectedEof`] before reading or allocating
    /// anything.
    ///
    /// # Examples
    ///
    /// ```
    /// use xdrgen_runtime::xdr::Decoder;
    ///
    /// let mut input = Decoder::new(&[0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe]);
    /// let pair: [i32; 2] = input.get_array(4, Decoder::get_i32).unwrap();
    /// assert_eq!(pair, [1, -2]);
    /// ```
    pub fn get_array<T, const N: usize>(
        &mut self,
        min_element_size: usize,
        mut f: impl FnMut(&mut Self) -> Result<T, Error>,
    ) -> Result<[T; N], Error> {
        self.check_room(N, min_element_size)?;
        self.reserve_memory::<T>(N)?;
        // Elements that may be empty prove nothing about N: let the vector grow as they come.
        let mut items = Vec::with_capacity(if min_element_size == 0 { 0 } else { N });
        for _ in 0..N {
            items.push(f(self)?);
        }
        // Exactly N elements were pushed, so this never fails; an error is still better than
        // a panic path.
        <[T; N]>::try_from(items).map_err(|items| eof(N, items.len()))
    }

    /// Reads a variable-length array (`T x<N>`): the count, checked as by
    /// [`get_len`](Decoder::get_len) against `N` and the bytes left, then each element with
    /// `f`.
    ///
    /// # Examples
    ///
    /// ```
    /// use xdrgen_runtime::xdr::{Decoder, VarArray};
    ///
    /// let mut input = Decoder::new(&[0, 0, 0, 1, 0, 0, 0, 7]);
    /// let ids: VarArray<u32, 8> = input.get_var_array(4, Decoder::get_u32).unwrap();
    /// assert_eq!(ids.as_slice(), [7]);
    /// ```
    pub fn get_var_array<T, const N: u32>(
        &mut self,
        min_element_size: usize,
        mut f: impl FnMut(&mut Self) -> Result<T, Error>,
    ) -> Result<VarArray<T, N>, Error> {
        let len = self.get_len(N, min_element_size)?;
        self.reserve_memory::<T>(len)?;
        let mut items = Vec::with_capacity(len);
        for _ in 0..len {
            items.push(f(self)?);
        }
        VarArray::new(items)
    }

    /// Reads optional data (`T *x`): the `bool` that says whether a value follows, then the
    /// value with `f`.
    #[inline]
    pub fn get_optional<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<Option<T>, Error> {
        if self.get_bool()? {
            f(self).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Runs `f` on this decoder and puts `name` on the path of any error it returns: how
    /// generated code names the struct or union being decoded (its fields name themselves
    /// inside `f`).
    ///
    /// # Examples
    ///
    /// ```
    /// use xdrgen_runtime::xdr::Decoder;
    ///
    /// let mut input = Decoder::new(&[0, 0]);
    /// let err = input
    ///     .within("point", |input| input.get_i32().map_err(|e| e.at("x")))
    ///     .unwrap_err();
    /// assert_eq!(err.path(), "point.x");
    /// ```
    #[inline]
    pub fn within<T>(
        &mut self,
        name: &'static str,
        f: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        f(self).map_err(|e| e.at(name))
    }

    /// Enters one level of a recursive type: fails with [`ErrorKind::DepthLimit`] when
    /// `limits.max_depth` levels are already entered. Pair every successful `enter` with
    /// [`leave`](Decoder::leave).
    #[inline]
    pub fn enter(&mut self) -> Result<(), Error> {
        if self.depth >= self.limits.max_depth {
            return Err(kind_error(ErrorKind::DepthLimit(self.limits.max_depth)));
        }
        self.depth += 1;
        Ok(())
    }

    /// Leaves one level entered with [`enter`](Decoder::enter).
    #[inline]
    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Runs `f` one level deeper, as [`enter`](Decoder::enter) then
    /// [`leave`](Decoder::leave), leaving the level whether `f` succeeds or fails.
    ///
    /// ```
    /// use xdrgen_runtime::xdr::Decoder;
    ///
    /// let mut input = Decoder::new(&[0, 0, 0, 1]);
    /// assert_eq!(input.nested(|d| { assert_eq!(d.depth(), 1); d.get_u32() }).unwrap(), 1);
    /// assert!(input.nested(Decoder::get_u32).is_err());
    /// assert_eq!(input.depth(), 0);
    /// ```
    #[inline]
    pub fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, Error>) -> Result<T, Error> {
        self.enter()?;
        let result = f(self);
        self.leave();
        result
    }

    /// How many levels are entered now.
    pub fn depth(&self) -> u32 {
        self.depth
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind<T: std::fmt::Debug>(r: Result<T, Error>) -> ErrorKind {
        r.unwrap_err().kind().clone()
    }

    #[test]
    fn reads_scalars_from_literal_bytes() {
        let bytes = [
            0xff, 0xff, 0xff, 0xff, // int -1
            0xde, 0xad, 0xbe, 0xef, // unsigned int
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, // hyper -2
            1, 2, 3, 4, 5, 6, 7, 8, // unsigned hyper
            0x3f, 0x80, 0, 0, // float 1.0
            0xbf, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a, // double -0.1
            0, 0, 0, 1, // TRUE
            0, 0, 0, 0, // FALSE
        ];
        let mut d = Decoder::new(&bytes);
        assert_eq!(d.get_i32().unwrap(), -1);
        assert_eq!(d.get_u32().unwrap(), 0xdead_beef);
        assert_eq!(d.get_i64().unwrap(), -2);
        assert_eq!(d.get_u64().unwrap(), 0x0102_0304_0506_0708);
        assert_eq!(d.get_f32().unwrap(), 1.0);
        assert_eq!(d.get_f64().unwrap(), -0.1);
        assert!(d.get_bool().unwrap());
        assert!(!d.get_bool().unwrap());
        assert_eq!(d.position(), bytes.len());
        assert_eq!(d.remaining(), 0);
        d.finish().unwrap();
    }

    #[test]
    fn short_reads_report_needed_and_remaining() {
        let mut d = Decoder::new(&[0, 0]);
        assert_eq!(
            kind(d.get_u32()),
            ErrorKind::UnexpectedEof {
                needed: 4,
                remaining: 2
            }
        );
        // A failed read consumes nothing.
        assert_eq!(d.remaining(), 2);
        let mut d = Decoder::new(&[0; 7]);
        assert_eq!(
            kind(d.get_u64()),
            ErrorKind::UnexpectedEof {
                needed: 8,
                remaining: 7
            }
        );
    }

    #[test]
    fn bool_must_be_zero_or_one() {
        assert_eq!(
            kind(Decoder::new(&[0, 0, 0, 2]).get_bool()),
            ErrorKind::InvalidBool(2)
        );
        assert_eq!(
            kind(Decoder::new(&[0xff, 0xff, 0xff, 0xff]).get_bool()),
            ErrorKind::InvalidBool(u32::MAX)
        );
    }

    #[test]
    fn fixed_opaque_checks_padding() {
        let mut d = Decoder::new(&[1, 2, 3, 4, 5, 0, 0, 0]);
        assert_eq!(d.get_fixed_opaque::<5>().unwrap(), [1, 2, 3, 4, 5]);
        assert_eq!(d.remaining(), 0);
        let mut d = Decoder::new(&[1, 2, 3, 4, 5, 0, 1, 0]);
        assert_eq!(kind(d.get_fixed_opaque::<5>()), ErrorKind::BadPadding);
        let mut d = Decoder::new(&[1, 2, 3, 4, 5, 0, 0]);
        assert_eq!(
            kind(d.get_fixed_opaque::<5>()),
            ErrorKind::UnexpectedEof {
                needed: 8,
                remaining: 7
            }
        );
        let mut d = Decoder::new(&[7, 0, 0, 0]);
        assert_eq!(d.get_fixed_opaque_ref(1).unwrap(), [7]);
    }

    #[test]
    fn var_opaque_reads_length_data_padding() {
        let bytes = [0, 0, 0, 3, 0xaa, 0xbb, 0xcc, 0, 0xff];
        let mut d = Decoder::new(&bytes);
        assert_eq!(d.get_var_opaque(3).unwrap(), [0xaa, 0xbb, 0xcc]);
        assert_eq!(d.remaining(), 1);
        let mut d = Decoder::new(&bytes);
        assert_eq!(d.get_var_opaque_ref(u32::MAX).unwrap(), [0xaa, 0xbb, 0xcc]);
    }

    #[test]
    fn var_opaque_over_bound() {
        let mut d = Decoder::new(&[0, 0, 0, 3, 0xaa, 0xbb, 0xcc, 0]);
        assert_eq!(
            kind(d.get_var_opaque(2)),
            ErrorKind::LengthExceedsBound {
                length: 3,
                bound: 2
            }
        );
    }

    #[test]
    fn var_opaque_bad_padding() {
        let mut d = Decoder::new(&[0, 0, 0, 1, 0xaa, 0, 0, 1]);
        assert_eq!(kind(d.get_var_opaque(8)), ErrorKind::BadPadding);
    }

    #[test]
    fn huge_length_fails_before_allocating() {
        // Length 0xffffffff with 4 bytes behind it: rejected from the length alone.
        let mut d = Decoder::new(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]);
        let err = kind(d.get_var_opaque(u32::MAX));
        match err {
            ErrorKind::UnexpectedEof { needed, remaining } => {
                assert_eq!(remaining, 4);
                assert!(needed >= 0xffff_ffff);
            }
            other => panic!("expected UnexpectedEof, got {other:?}"),
        }
    }

    #[test]
    fn get_len_checks_bound_and_remaining() {
        let mut d = Decoder::new(&[0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(d.get_len(2, 4).unwrap(), 2);
        assert_eq!(d.remaining(), 8);
        let mut d = Decoder::new(&[0, 0, 0, 3, 0, 0, 0, 1]);
        assert_eq!(
            kind(d.get_len(2, 4)),
            ErrorKind::LengthExceedsBound {
                length: 3,
                bound: 2
            }
        );
        // Ten ints fit the bound of 100 but need 40 bytes; only 8 are left.
        let mut d = Decoder::new(&[0, 0, 0, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(
            kind(d.get_len(100, 4)),
            ErrorKind::UnexpectedEof {
                needed: 40,
                remaining: 8
            }
        );
        // A zero element size still cannot claim more elements than bytes left.
        let mut d = Decoder::new(&[0xff, 0xff, 0xff, 0xff, 0]);
        assert_eq!(
            kind(d.get_len(u32::MAX, 0)),
            ErrorKind::UnexpectedEof {
                needed: 0xffff_ffff,
                remaining: 1
            }
        );
    }

    #[test]
    fn get_array_checks_room_before_reading() {
        let mut d = Decoder::new(&[0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe, 9]);
        let items: [i32; 2] = d.get_array(4, Decoder::get_i32).unwrap();
        assert_eq!(items, [1, -2]);
        assert_eq!(d.remaining(), 1);
        // Three elements of at least 8 bytes cannot fit in 12 bytes: nothing is read.
        let mut calls = 0;
        let mut d = Decoder::new(&[0; 12]);
        let r: Result<[u64; 3], Error> = d.get_array(8, |d| {
            calls += 1;
            d.get_u64()
        });
        assert_eq!(
            kind(r),
            ErrorKind::UnexpectedEof {
                needed: 24,
                remaining: 12
            }
        );
        assert_eq!((calls, d.remaining()), (0, 12));
        // Elements that may encode to nothing need no room.
        let mut d = Decoder::new(&[]);
        let units: [(); 1000] = d.get_array(0, |_| Ok(())).unwrap();
        assert_eq!(units.len(), 1000);
    }

    #[test]
    fn get_array_passes_element_errors_on() {
        let mut d = Decoder::new(&[0, 0, 0, 1, 0, 0, 0, 2]);
        let r: Result<[bool; 2], Error> = d.get_array(4, Decoder::get_bool);
        assert_eq!(kind(r), ErrorKind::InvalidBool(2));
    }

    #[test]
    fn get_var_array_checks_bound_and_room() {
        let mut d = Decoder::new(&[0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 8]);
        let items: VarArray<u32, 2> = d.get_var_array(4, Decoder::get_u32).unwrap();
        assert_eq!(items.as_slice(), [7, 8]);
        let mut d = Decoder::new(&[0, 0, 0, 3, 0, 0, 0, 7, 0, 0, 0, 8, 0, 0, 0, 9]);
        let r: Result<VarArray<u32, 2>, Error> = d.get_var_array(4, Decoder::get_u32);
        assert_eq!(
            kind(r),
            ErrorKind::LengthExceedsBound {
                length: 3,
                bound: 2
            }
        );
        let mut d = Decoder::new(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1]);
        let r: Result<VarArray<u32>, Error> = d.get_var_array(4, Decoder::get_u32);
        assert!(matches!(
            kind(r),
            ErrorKind::UnexpectedEof { remaining: 4, .. }
        ));
    }

    #[test]
    fn get_optional_reads_flag_then_value() {
        let mut d = Decoder::new(&[0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0]);
        assert_eq!(d.get_optional(Decoder::get_i32).unwrap(), Some(5));
        assert_eq!(d.get_optional(Decoder::get_i32).unwrap(), None);
        d.finish().unwrap();
        let mut d = Decoder::new(&[0, 0, 0, 2]);
        assert_eq!(
            kind(d.get_optional(Decoder::get_i32)),
            ErrorKind::InvalidBool(2)
        );
    }

    #[test]
    fn within_names_the_type_on_errors_only() {
        let mut d = Decoder::new(&[0, 0, 0, 5, 0, 0]);
        assert_eq!(d.within("point", Decoder::get_i32).unwrap(), 5);
        let err = d
            .within("line", |d| d.within("point", Decoder::get_i32))
            .unwrap_err();
        assert_eq!(err.path(), "line.point");
    }

    #[test]
    fn str_ref_validates_utf8() {
        let mut d = Decoder::new(&[0, 0, 0, 2, 0xc3, 0xa9, 0, 0]);
        assert_eq!(d.get_str_ref(10).unwrap(), "\u{e9}");
        let mut d = Decoder::new(&[0, 0, 0, 2, 0xc3, 0x28, 0, 0]);
        assert_eq!(kind(d.get_str_ref(10)), ErrorKind::InvalidUtf8);
    }

    /// `text` as an XDR string: length word, bytes, zero padding.
    fn xdr_string(text: &[u8]) -> Vec<u8> {
        let mut v = (text.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(text);
        v.resize(4 + padded_len(text.len()), 0);
        v
    }

    #[test]
    fn long_str_ref_validates_utf8_everywhere() {
        // Long enough (300 bytes) for the vectorised validator's wide path, not only its tail.
        let ascii = vec![b'a'; 300];
        let bytes = xdr_string(&ascii);
        assert_eq!(Decoder::new(&bytes).get_str_ref(1000).unwrap().len(), 300);

        // Two-, three- and four-byte characters across the whole string are valid.
        let text = "é€😀x".repeat(30);
        let bytes = xdr_string(text.as_bytes());
        assert_eq!(Decoder::new(&bytes).get_str_ref(1000).unwrap(), text);

        // One bad byte anywhere: first, in a middle chunk, last.
        for at in [0, 1, 63, 64, 65, 150, 299] {
            let mut bad = ascii.clone();
            bad[at] = 0xff;
            let bytes = xdr_string(&bad);
            assert_eq!(
                kind(Decoder::new(&bytes).get_str_ref(1000)),
                ErrorKind::InvalidUtf8,
                "0xff at {at}"
            );
        }
        // A multi-byte character cut off by the end of the string.
        let mut cut = ascii.clone();
        cut.extend_from_slice(&[0xe2, 0x82]);
        let bytes = xdr_string(&cut);
        assert_eq!(
            kind(Decoder::new(&bytes).get_str_ref(1000)),
            ErrorKind::InvalidUtf8
        );
        // An encoded surrogate (ED A0 80) is not UTF-8.
        let mut surrogate = ascii;
        surrogate.splice(100..100, [0xed, 0xa0, 0x80]);
        let bytes = xdr_string(&surrogate);
        assert_eq!(
            kind(Decoder::new(&bytes).get_str_ref(1000)),
            ErrorKind::InvalidUtf8
        );
    }

    #[test]
    fn short_strings_fail_in_place_as_long_ones_do() {
        // Each case once with at least 24 bytes after the length (read in one piece) and once
        // with nothing after the string (read piece by piece).
        let cases: [(&[u8], u32, bool, Option<ErrorKind>); 6] = [
            (&[0, 0, 0, 3, b'a', b'b', b'c', 0], 8, true, None),
            (
                &[0, 0, 0, 3, b'a', b'b', b'c', 1],
                8,
                false,
                Some(ErrorKind::BadPadding),
            ),
            (
                &[0, 0, 0, 1, b'a', 0, 1, 0],
                8,
                false,
                Some(ErrorKind::BadPadding),
            ),
            (
                &[0, 0, 0, 2, 0xc3, b'l', 0, 0],
                8,
                true,
                Some(ErrorKind::InvalidUtf8),
            ),
            (&[0, 0, 0, 2, 0xc3, b'l', 0, 0], 8, false, None),
            (
                &[
                    0, 0, 0, 9, b'a', b'b', b'c', b'd', b'e', b'f', b'g', b'h', b'i', 0, 0, 0,
                ],
                8,
                false,
                Some(ErrorKind::LengthExceedsBound {
                    length: 9,
                    bound: 8,
                }),
            ),
        ];
        for (wire, bound, utf8, expected) in cases {
            let mut long = wire.to_vec();
            long.extend([0x55; 24]);
            for input in [wire, &long[..]] {
                let body = Bytes::copy_from_slice(input);
                for mut d in [
                    Decoder::new(input),
                    Decoder::shared(&body, Limits::default()).unwrap(),
                ] {
                    let got = d.get_small_bytes(bound, utf8);
                    match &expected {
                        None => {
                            let len = wire[3] as usize;
                            assert_eq!(got.unwrap().as_slice(), &wire[4..4 + len]);
                            assert_eq!(d.remaining(), input.len() - wire.len());
                        }
                        Some(kind) => {
                            assert_eq!(got.unwrap_err().kind(), kind, "{wire:?}");
                        }
                    }
                }
            }
        }
        // Cut short: a length of 3 with two bytes behind it.
        assert!(matches!(
            kind(Decoder::new(&[0, 0, 0, 3, b'a', b'b']).get_small_bytes(8, false)),
            ErrorKind::UnexpectedEof {
                needed: 4,
                remaining: 2
            }
        ));
    }

    #[test]
    fn short_strings_of_every_length_read_alike_on_both_paths() {
        // Each wire form once with at least 24 bytes after the length (read in one piece) and
        // once alone (read piece by piece); the expected outcome follows from the bytes alone.
        let check = |wire: &[u8], bound: u32, utf8: bool, expected: Option<ErrorKind>| {
            let len = wire[3] as usize;
            let mut long = wire.to_vec();
            long.extend([0xff; 24]);
            for input in [wire, &long[..]] {
                let mut d = Decoder::new(input);
                match (d.get_small_bytes(bound, utf8), &expected) {
                    (Ok(got), None) => {
                        assert_eq!(got.as_slice(), &wire[4..4 + len], "{input:?}");
                        assert_eq!(d.remaining(), input.len() - wire.len());
                    }
                    (Err(e), Some(kind)) => assert_eq!(e.kind(), kind, "{input:?}"),
                    (got, _) => panic!("{input:?} {utf8}: {got:?}, expected {expected:?}"),
                }
            }
        };
        for len in 0..=small_bytes::INLINE {
            let padded = len.div_ceil(4) * 4;
            let mut wire = vec![0, 0, 0, len as u8];
            wire.extend((0..len).map(|i| b'a' + i as u8));
            wire.resize(4 + padded, 0);
            for utf8 in [false, true] {
                check(&wire, 23, utf8, None);
                check(&wire, len as u32, utf8, None);
                if len > 0 {
                    let over = ErrorKind::LengthExceedsBound {
                        length: len as u64,
                        bound: len as u32 - 1,
                    };
                    check(&wire, len as u32 - 1, utf8, Some(over));
                }
                for at in len..padded {
                    let mut bad = wire.clone();
                    bad[4 + at] = 0x20;
                    check(&bad, 23, utf8, Some(ErrorKind::BadPadding));
                }
                for at in 0..len {
                    // 0xff is never UTF-8; a two-byte "é" is.
                    let mut invalid = wire.clone();
                    invalid[4 + at] = 0xff;
                    check(&invalid, 23, utf8, utf8.then_some(ErrorKind::InvalidUtf8));
                    if at + 1 < len {
                        let mut accented = wire.clone();
                        accented[4 + at..4 + at + 2].copy_from_slice("é".as_bytes());
                        check(&accented, 23, utf8, None);
                    }
                }
            }
        }
    }

    #[test]
    fn shared_opaque_is_a_slice_of_the_input() {
        let body = Bytes::from(vec![
            0, 0, 0, 3, 0xaa, 0xbb, 0xcc, 0, 0, 0, 0, 0, 9, 9, 9, 9,
        ]);
        let mut d = Decoder::shared(&body, Limits::default()).unwrap();
        assert!(d.is_shared());
        let first = d.get_opaque_bytes(8).unwrap();
        assert_eq!(first, [0xaa, 0xbb, 0xcc][..]);
        assert_eq!(first.as_ptr(), body[4..].as_ptr());
        // An empty one, then the read goes on where it left off.
        assert!(d.get_opaque_bytes(8).unwrap().is_empty());
        assert_eq!(d.get_u32().unwrap(), 0x0909_0909);
        d.finish().unwrap();
    }

    #[test]
    fn unshared_opaque_is_a_copy() {
        let input = [0, 0, 0, 2, 1, 2, 0, 0];
        let mut d = Decoder::new(&input);
        assert!(!d.is_shared());
        let data = d.get_opaque_bytes(8).unwrap();
        assert_eq!(data, [1, 2][..]);
        assert_ne!(data.as_ptr(), input[4..].as_ptr());
    }

    #[test]
    fn shared_reads_fail_as_unshared_ones_do() {
        let cases: [(&[u8], u32, ErrorKind); 3] = [
            (
                &[0, 0, 0, 3, 1, 2, 3, 0],
                2,
                ErrorKind::LengthExceedsBound {
                    length: 3,
                    bound: 2,
                },
            ),
            (&[0, 0, 0, 1, 1, 0, 0, 1], 8, ErrorKind::BadPadding),
            (
                &[0, 0, 0, 5, 1, 2, 3, 4],
                8,
                ErrorKind::UnexpectedEof {
                    needed: 8,
                    remaining: 4,
                },
            ),
        ];
        for (input, bound, expected) in cases {
            let body = Bytes::copy_from_slice(input);
            let mut shared = Decoder::shared(&body, Limits::default()).unwrap();
            assert_eq!(kind(shared.get_opaque_bytes(bound)), expected);
            assert_eq!(kind(Decoder::new(input).get_opaque_bytes(bound)), expected);
        }
        let limits = Limits::new().with_max_message(4);
        let body = Bytes::from_static(&[0; 8]);
        assert_eq!(
            kind(Decoder::shared(&body, limits)),
            ErrorKind::MessageTooLarge {
                length: 8,
                limit: 4
            }
        );
    }

    #[test]
    fn from_shared_checks_trailing_bytes() {
        let body = Bytes::from_static(&[0, 0, 0, 7]);
        assert_eq!(from_shared::<u32>(&body).unwrap(), 7);
        let body = Bytes::from_static(&[0, 0, 0, 7, 0]);
        assert_eq!(kind(from_shared::<u32>(&body)), ErrorKind::TrailingBytes(1));
    }

    #[test]
    fn depth_limit() {
        let limits = Limits::new().with_max_depth(2);
        let mut d = Decoder::with_limits(&[], limits).unwrap();
        d.enter().unwrap();
        d.enter().unwrap();
        assert_eq!(kind(d.enter()), ErrorKind::DepthLimit(2));
        d.leave();
        assert_eq!(d.depth(), 1);
        d.enter().unwrap();
        d.leave();
        d.leave();
        d.leave(); // extra leave does not underflow
        assert_eq!(d.depth(), 0);
    }

    #[test]
    fn message_size_limit() {
        let limits = Limits::new().with_max_message(8);
        assert!(Decoder::with_limits(&[0; 8], limits).is_ok());
        assert_eq!(
            kind(Decoder::with_limits(&[0; 12], limits)),
            ErrorKind::MessageTooLarge {
                length: 12,
                limit: 8
            }
        );
    }

    #[test]
    fn finish_reports_trailing_bytes() {
        let mut d = Decoder::new(&[0, 0, 0, 1, 9, 9, 9]);
        d.get_u32().unwrap();
        assert_eq!(kind(d.finish()), ErrorKind::TrailingBytes(3));
        assert_eq!(d.rest(), [9, 9, 9]);
    }
}
