//! Encoding: the [`Encode`] trait, the [`Encoder`] buffer and [`to_bytes`].

use super::error::{check_bound, Error, ErrorKind};
use super::limits::Limits;
use super::small_bytes::copy_short;

/// A type with an XDR encoding.
///
/// Implemented here for the scalars, [`XdrString`](crate::xdr::XdrString),
/// [`Opaque`](crate::xdr::Opaque), and the shapes a typedef can name: `[T; N]` (a fixed array,
/// and for `[u8; N]` fixed-length opaque data), [`VarArray`](crate::xdr::VarArray), `Option<T>`
/// (optional data) and `Box<T>`; generated code implements it for every enum, struct and union,
/// so a typedef (a Rust `type` alias) has the codec of the shape it names. Inside structs and
/// unions generated code encodes these shapes itself with the `Encoder` helpers.
pub trait Encode {
    /// Exact number of bytes [`encode`](Encode::encode) appends.
    fn encoded_len(&self) -> usize;
    /// Appends the XDR encoding; fails when a value breaks a bound (field path in the error).
    fn encode(&self, out: &mut Encoder) -> Result<(), Error>;

    /// The encoded length of a fixed-length array `[Self; N]` (no length word): the sum of its
    /// elements'. `u8` overrides it, and [`encode_fixed_array`](Encode::encode_fixed_array),
    /// so that `[u8; N]` is fixed-length opaque data (`opaque x[N]`: the bytes and padding),
    /// not `N` four-byte words.
    #[inline]
    fn fixed_array_len(items: &[Self]) -> usize
    where
        Self: Sized,
    {
        items.iter().map(Encode::encoded_len).sum()
    }

    /// Appends a fixed-length array `[Self; N]`: each element, with no length word (see
    /// [`fixed_array_len`](Encode::fixed_array_len)).
    #[inline]
    fn encode_fixed_array(items: &[Self], out: &mut Encoder) -> Result<(), Error>
    where
        Self: Sized,
    {
        items.iter().try_for_each(|item| item.encode(out))
    }
}

/// Encodes a value into a new buffer allocated once, with the exact capacity from
/// [`Encode::encoded_len`].
///
/// # Examples
///
/// ```
/// assert_eq!(xdrgen_runtime::xdr::to_bytes(&-1i32).unwrap(), [0xff, 0xff, 0xff, 0xff]);
/// ```
pub fn to_bytes<T: Encode + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let len = value.encoded_len();
    let mut out = Encoder::with_capacity(len);
    value.encode(&mut out)?;
    // A mismatch is a bug in an `Encode` impl (generated or hand-written), not bad input.
    debug_assert_eq!(out.len(), len, "encoded_len disagrees with encode");
    Ok(out.into_bytes())
}

/// Like [`to_bytes`], but fails with [`ErrorKind::MessageTooLarge`] before encoding anything
/// when the encoding would be larger than `limits.max_message`.
pub fn to_bytes_with_limits<T: Encode + ?Sized>(
    value: &T,
    limits: Limits,
) -> Result<Vec<u8>, Error> {
    let len = value.encoded_len();
    if len > limits.max_message {
        return Err(Error::new(ErrorKind::MessageTooLarge {
            length: len,
            limit: limits.max_message,
        }));
    }
    to_bytes(value)
}

/// `n` rounded up to a multiple of four: the size of `n` bytes of opaque data or string on the
/// wire, padding included.
///
/// Meant for real buffer lengths (at most `isize::MAX`); larger values saturate instead of
/// overflowing.
///
/// # Examples
///
/// ```
/// use xdrgen_runtime::xdr::padded_len;
/// assert_eq!([padded_len(0), padded_len(1), padded_len(4), padded_len(5)], [0, 4, 4, 8]);
/// ```
#[inline]
pub const fn padded_len(n: usize) -> usize {
    n.saturating_add(3) & !3
}

/// Zero bytes for padding; sliced to the 0–3 bytes needed.
const ZEROS: [u8; 3] = [0; 3];

/// The longest data [`Encoder::put_var_opaque`] copies with fixed-size moves.
const SHORT: usize = 24;

/// The `put_*` methods of the scalars, for [`Encoder`] (which appends) and [`Words`] (which
/// writes its next bytes): the same names, so that generated code swaps one for the other.
/// Each type brings its own `put` of a value's big-endian bytes.
macro_rules! scalar_puts {
    ($verb:literal) => {
        #[doc = concat!($verb, " an `unsigned int`.")]
        #[inline]
        pub fn put_u32(&mut self, v: u32) {
            self.put(v.to_be_bytes());
        }

        #[doc = concat!($verb, " an `int`.")]
        #[inline]
        pub fn put_i32(&mut self, v: i32) {
            self.put(v.to_be_bytes());
        }

        #[doc = concat!($verb, " an `unsigned hyper`.")]
        #[inline]
        pub fn put_u64(&mut self, v: u64) {
            self.put(v.to_be_bytes());
        }

        #[doc = concat!($verb, " a `hyper`.")]
        #[inline]
        pub fn put_i64(&mut self, v: i64) {
            self.put(v.to_be_bytes());
        }

        #[doc = concat!($verb, " a `float` (IEEE 754 single precision, big-endian; NaN payloads kept).")]
        #[inline]
        pub fn put_f32(&mut self, v: f32) {
            self.put_u32(v.to_bits());
        }

        #[doc = concat!($verb, " a `double` (IEEE 754 double precision, big-endian; NaN payloads kept).")]
        #[inline]
        pub fn put_f64(&mut self, v: f64) {
            self.put_u64(v.to_bits());
        }

        #[doc = concat!($verb, " a `bool` as the word 0 or 1.")]
        #[inline]
        pub fn put_bool(&mut self, v: bool) {
            self.put_u32(u32::from(v));
        }
    };
}

/// A growable buffer that XDR values are appended to.
///
/// Every `put_*` appends big-endian four-byte units; bulk data is copied with one
/// `extend_from_slice`. The `put_*` methods that cannot fail return nothing; those that check a
/// bound return `Result`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    /// An empty encoder.
    #[inline]
    pub fn new() -> Self {
        Encoder { buf: Vec::new() }
    }

    /// An empty encoder with room for `n` bytes.
    #[inline]
    pub fn with_capacity(n: usize) -> Self {
        Encoder {
            buf: Vec::with_capacity(n),
        }
    }

    /// An encoder that appends to `buf`, keeping its contents; lets a transport write a header
    /// (or reserve a length prefix) and then the body into one buffer.
    #[inline]
    pub fn from_vec(buf: Vec<u8>) -> Self {
        Encoder { buf }
    }

    /// The bytes written (including any passed to [`from_vec`](Encoder::from_vec)).
    #[inline]
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// The bytes written so far.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Forgets the bytes written, keeping the buffer's capacity: one encoder (and one
    /// allocation) serves message after message.
    ///
    /// ```
    /// use xdrgen_runtime::xdr::{Encode, Encoder};
    ///
    /// let mut out = Encoder::with_capacity(64);
    /// for n in [1u32, 2] {
    ///     out.clear();
    ///     n.encode(&mut out)?;
    ///     assert_eq!(out.as_bytes(), [0, 0, 0, n as u8]);
    /// }
    /// # Ok::<(), xdrgen_runtime::xdr::Error>(())
    /// ```
    #[inline]
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Number of bytes written so far.
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing has been written.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Reserves room for at least `additional` more bytes.
    #[inline]
    pub fn reserve(&mut self, additional: usize) {
        self.buf.reserve(additional);
    }

    /// Runs `f` on this encoder and puts `name` on the path of any error it returns: how
    /// generated code names the struct or union being encoded (its fields name themselves
    /// inside `f`).
    #[inline]
    pub fn within(
        &mut self,
        name: &'static str,
        f: impl FnOnce(&mut Self) -> Result<(), Error>,
    ) -> Result<(), Error> {
        f(self).map_err(|e| e.at(name))
    }

    /// Appends a value's bytes.
    #[inline]
    fn put<const K: usize>(&mut self, bytes: [u8; K]) {
        self.buf.extend_from_slice(&bytes);
    }

    scalar_puts!("Appends");

    /// Appends fixed-length opaque data: the bytes, then zero padding to a multiple of four.
    #[inline]
    pub fn put_fixed_opaque(&mut self, bytes: &[u8]) {
        let pad = padded_len(bytes.len()) - bytes.len();
        self.buf.reserve(bytes.len() + pad);
        self.buf.extend_from_slice(bytes);
        self.buf.extend_from_slice(&ZEROS[..pad]);
    }

    /// Appends variable-length opaque data or a string: the length word, the bytes, then zero
    /// padding. Fails with [`ErrorKind::LengthExceedsBound`] (writing nothing) when
    /// `bytes.len() > bound`.
    #[inline]
    pub fn put_var_opaque(&mut self, bytes: &[u8], bound: u32) -> Result<(), Error> {
        check_bound(bytes.len(), bound)?;
        // check_bound proved len <= bound <= u32::MAX.
        let len = bytes.len() as u32;
        // Short data (names, mostly) with room to spare: a fixed-size block of zeros appended,
        // the length word and the data written over its start with fixed-size copies, the
        // unused tail cut off. A copy of a length known only at run time is a call to memcpy,
        // which cost more than the rest of encoding a name. (Assembling the block on the
        // stack and copying it in was slower in wall time despite fewer instructions: the
        // wide loads of the block waited on the narrower stores that had just filled it.)
        if bytes.len() <= SHORT && self.buf.capacity() - self.buf.len() >= 4 + SHORT {
            let start = self.buf.len();
            self.buf.extend_from_slice(&[0u8; 4 + SHORT]);
            if let Some((word, data)) = self.buf[start..].split_first_chunk_mut::<4>() {
                *word = len.to_be_bytes();
                copy_short(data, bytes);
            }
            self.buf.truncate(start + 4 + padded_len(bytes.len()));
            return Ok(());
        }
        self.put_var_opaque_long(bytes);
        Ok(())
    }

    /// The rest of [`put_var_opaque`](Encoder::put_var_opaque), bound already checked.
    #[inline(never)]
    fn put_var_opaque_long(&mut self, bytes: &[u8]) {
        self.buf.reserve(4 + padded_len(bytes.len()));
        self.put_u32(bytes.len() as u32);
        let (whole, tail) = bytes.split_at(bytes.len() & !3);
        self.buf.extend_from_slice(whole);
        // The last partial word goes out with its padding as one four-byte store: a
        // variable-length copy plus a variable-length zero fill cost two libc calls (memcpy,
        // memset).
        let last = match *tail {
            [a] => [a, 0, 0, 0],
            [a, b] => [a, b, 0, 0],
            [a, b, c] => [a, b, c, 0],
            // Empty: the length is a multiple of four, no padding.
            _ => return,
        };
        self.buf.extend_from_slice(&last);
    }

    /// Appends a run of fixed-size fields filled in a [`Words`]: one capacity check and one
    /// fixed-size copy for the whole run, instead of one per field.
    #[inline]
    pub fn put_words<const N: usize>(&mut self, words: &Words<N>) {
        debug_assert_eq!(
            words.at, N,
            "a Words<{N}> was filled with {} bytes",
            words.at
        );
        self.buf.extend_from_slice(&words.buf);
    }

    /// Appends the length word of a variable-length array. Fails with
    /// [`ErrorKind::LengthExceedsBound`] (writing nothing) when `len > bound`, which also covers
    /// lengths above `u32::MAX`.
    #[inline]
    pub fn put_len(&mut self, len: usize, bound: u32) -> Result<(), Error> {
        check_bound(len, bound)?;
        self.put_u32(len as u32);
        Ok(())
    }
}

/// A run of `N` bytes of fixed-size values (scalars, enums) being encoded on the stack, then
/// appended by [`Encoder::put_words`]: how generated code encodes consecutive scalar fields of
/// a struct, so that a fixed-size struct such as libvirt's 24-byte message header costs one
/// capacity check and one copy. The `put_*` methods write as [`Encoder`]'s of the same name.
///
/// `N` must be the total size of the values put (the generator computes it); a mismatch is a
/// bug in the caller: bytes past `N` are dropped, and debug builds assert.
///
/// # Examples
///
/// ```
/// use xdrgen_runtime::xdr::{Encoder, Words};
///
/// let mut run = Words::<12>::new();
/// run.put_u32(7);
/// run.put_i64(-2);
/// let mut out = Encoder::new();
/// out.put_words(&run);
/// assert_eq!(out.as_bytes(), [0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
/// ```
#[derive(Debug, Clone)]
pub struct Words<const N: usize> {
    buf: [u8; N],
    /// Bytes written so far.
    at: usize,
}

impl<const N: usize> Words<N> {
    /// An empty run.
    #[inline]
    pub fn new() -> Self {
        Words { buf: [0; N], at: 0 }
    }

    /// Writes `bytes` next. Offsets are constants once inlined into generated code, so the
    /// range check folds away.
    #[inline]
    fn put<const K: usize>(&mut self, bytes: [u8; K]) {
        if let Some(dst) = self.buf.get_mut(self.at..self.at + K) {
            dst.copy_from_slice(&bytes);
        }
        self.at += K;
    }

    scalar_puts!("Writes");
}

impl<const N: usize> Default for Words<N> {
    fn default() -> Self {
        Words::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: impl FnOnce(&mut Encoder)) -> Vec<u8> {
        let mut e = Encoder::new();
        f(&mut e);
        e.into_bytes()
    }

    // Expected bytes below are written out by hand from RFC 4506 section 4.

    #[test]
    fn within_names_the_type_on_errors_only() {
        let mut e = Encoder::new();
        e.within("point", |out| {
            out.put_u32(7);
            Ok(())
        })
        .unwrap();
        assert_eq!(e.as_bytes(), [0, 0, 0, 7]);
        let err = e
            .within("point", |out| out.put_len(3, 2).map_err(|e| e.at("ids")))
            .unwrap_err();
        assert_eq!(err.path(), "point.ids");
    }

    #[test]
    fn integers() {
        assert_eq!(enc(|e| e.put_i32(-1)), [0xff, 0xff, 0xff, 0xff]);
        assert_eq!(enc(|e| e.put_i32(1)), [0, 0, 0, 1]);
        assert_eq!(enc(|e| e.put_u32(0xdead_beef)), [0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(
            enc(|e| e.put_u64(0x0102_0304_0506_0708)),
            [1, 2, 3, 4, 5, 6, 7, 8]
        );
        assert_eq!(
            enc(|e| e.put_i64(-2)),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]
        );
        assert_eq!(enc(|e| e.put_i64(i64::MIN)), [0x80, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn floats_are_ieee_big_endian() {
        assert_eq!(enc(|e| e.put_f32(1.0)), [0x3f, 0x80, 0x00, 0x00]);
        assert_eq!(enc(|e| e.put_f32(-2.5)), [0xc0, 0x20, 0x00, 0x00]);
        assert_eq!(enc(|e| e.put_f64(1.0)), [0x3f, 0xf0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            enc(|e| e.put_f64(-0.1)),
            [0xbf, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a]
        );
        assert_eq!(enc(|e| e.put_f64(-0.0)), [0x80, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn booleans() {
        assert_eq!(enc(|e| e.put_bool(true)), [0, 0, 0, 1]);
        assert_eq!(enc(|e| e.put_bool(false)), [0, 0, 0, 0]);
    }

    #[test]
    fn fixed_opaque_is_padded_with_zeros() {
        assert_eq!(
            enc(|e| e.put_fixed_opaque(&[1, 2, 3, 4, 5])),
            [1, 2, 3, 4, 5, 0, 0, 0]
        );
        assert_eq!(enc(|e| e.put_fixed_opaque(&[9, 9, 9, 9])), [9, 9, 9, 9]);
        assert_eq!(enc(|e| e.put_fixed_opaque(&[])), [] as [u8; 0]);
    }

    #[test]
    fn var_opaque_has_length_word_and_padding() {
        let mut e = Encoder::new();
        e.put_var_opaque(&[0xaa, 0xbb, 0xcc], 10).unwrap();
        assert_eq!(e.as_bytes(), [0, 0, 0, 3, 0xaa, 0xbb, 0xcc, 0]);
        let mut e = Encoder::new();
        e.put_var_opaque(b"sillyprog", u32::MAX).unwrap();
        // RFC 4506 section 7's example string "sillyprog": length 9, 3 bytes of padding.
        assert_eq!(
            e.as_bytes(),
            [0, 0, 0, 9, b's', b'i', b'l', b'l', b'y', b'p', b'r', b'o', b'g', 0, 0, 0]
        );
        let mut e = Encoder::new();
        e.put_var_opaque(&[], 0).unwrap();
        assert_eq!(e.as_bytes(), [0, 0, 0, 0]);
    }

    #[test]
    fn var_opaque_pads_every_tail_length() {
        // Lengths 0..=9 cover a whole-word body with each partial last word (0-3 bytes).
        let expected: [&[u8]; 10] = [
            &[0, 0, 0, 0],
            &[0, 0, 0, 1, 1, 0, 0, 0],
            &[0, 0, 0, 2, 1, 2, 0, 0],
            &[0, 0, 0, 3, 1, 2, 3, 0],
            &[0, 0, 0, 4, 1, 2, 3, 4],
            &[0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0],
            &[0, 0, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0],
            &[0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 0],
            &[0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8],
            &[0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0],
        ];
        let data = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        for (n, want) in expected.iter().enumerate() {
            // Appending after a byte already written checks nothing depends on alignment.
            let mut e = Encoder::from_vec(vec![0xee]);
            e.put_var_opaque(&data[..n], 9).unwrap();
            assert_eq!(&e.as_bytes()[1..], *want, "length {n}");
        }
    }

    #[test]
    fn var_opaque_reads_alike_with_room_to_spare_or_without() {
        // Every length up to past the short path, into a buffer with and without the spare
        // capacity that path needs; the expected bytes written out from RFC 4506 4.10.
        let data: Vec<u8> = (1..=30).collect();
        for n in 0..=data.len() {
            let mut want = vec![0, 0, 0, n as u8];
            want.extend_from_slice(&data[..n]);
            want.resize(4 + n.div_ceil(4) * 4, 0);
            for spare in [0, 64] {
                let mut e = Encoder::from_vec(Vec::with_capacity(1 + 4 + 4 * n / 3 + spare));
                e.put_u32(0xeeee_eeee);
                e.put_var_opaque(&data[..n], 30).unwrap();
                e.put_u32(0xdddd_dddd);
                let got = e.into_bytes();
                assert_eq!(got[4..got.len() - 4], want[..], "length {n}, spare {spare}");
                assert_eq!(got[got.len() - 4..], [0xdd; 4]);
            }
        }
    }

    #[test]
    fn words_write_as_the_encoder_does() {
        let mut run = Words::<33>::new();
        run.put_u32(0xdead_beef);
        run.put_i32(-1);
        run.put_u64(0x0102_0304_0506_0708);
        run.put_i64(-2);
        run.put_f32(1.0);
        run.put_bool(true);
        let mut e = Encoder::from_vec(vec![9]);
        let mut run8 = Words::<8>::new();
        run8.put_f64(1.0);
        e.put_words(&run8);
        assert_eq!(e.as_bytes(), [9, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]);
        // 32 of 33 bytes written: a caller bug, which debug builds catch.
        let caught = std::panic::catch_unwind(move || {
            let mut e = Encoder::new();
            e.put_words(&run);
            e.into_bytes()
        });
        if cfg!(debug_assertions) {
            assert!(caught.is_err());
        } else {
            assert_eq!(
                caught.unwrap(),
                [
                    0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 0xff,
                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x3f, 0x80, 0, 0, 0, 0, 0, 1, 0
                ]
            );
        }
    }

    #[test]
    fn var_opaque_over_bound_writes_nothing() {
        let mut e = Encoder::new();
        let err = e.put_var_opaque(&[1, 2, 3], 2).unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::LengthExceedsBound {
                length: 3,
                bound: 2
            }
        );
        assert!(e.is_empty());
    }

    #[test]
    fn put_len_checks_bound() {
        let mut e = Encoder::new();
        e.put_len(7, 7).unwrap();
        assert_eq!(e.as_bytes(), [0, 0, 0, 7]);
        let err = e.put_len(8, 7).unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::LengthExceedsBound {
                length: 8,
                bound: 7
            }
        );
        assert_eq!(e.len(), 4);
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn put_len_rejects_lengths_above_u32() {
        let mut e = Encoder::new();
        let err = e.put_len(1 << 32, u32::MAX).unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::LengthExceedsBound {
                length: 1 << 32,
                bound: u32::MAX
            }
        );
    }

    #[test]
    fn padded_len_rounds_up() {
        assert_eq!(padded_len(0), 0);
        assert_eq!(padded_len(1), 4);
        assert_eq!(padded_len(3), 4);
        assert_eq!(padded_len(4), 4);
        assert_eq!(padded_len(9), 12);
        assert_eq!(
            padded_len(u32::MAX as usize),
            if cfg!(target_pointer_width = "64") {
                1 << 32
            } else {
                usize::MAX & !3
            }
        );
        // Saturates rather than overflowing.
        assert_eq!(padded_len(usize::MAX), usize::MAX & !3);
    }

    #[test]
    fn from_vec_appends() {
        let mut e = Encoder::from_vec(vec![7]);
        e.put_u32(1);
        assert_eq!(e.into_bytes(), [7, 0, 0, 0, 1]);
    }

    #[test]
    fn to_bytes_with_limits_rejects_before_encoding() {
        let err = to_bytes_with_limits(&1u64, Limits::new().with_max_message(7)).unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::MessageTooLarge {
                length: 8,
                limit: 7
            }
        );
        assert_eq!(
            to_bytes_with_limits(&1u64, Limits::new().with_max_message(8)).unwrap(),
            [0, 0, 0, 0, 0, 0, 0, 1]
        );
    }
}
