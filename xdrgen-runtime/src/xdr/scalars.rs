//! [`Encode`]/[`Decode`] for Rust scalars, following RFC 4506 section 4.
//!
//! XDR `char`, `short` and their unsigned forms (rpcgen extensions) travel as one four-byte
//! word each, like `int`. Encoding sign-extends the signed ones as C does (`(char)-54` is
//! `ff ff ff ca`); decoding rejects words outside the Rust type's range rather than truncating
//! them silently as C does.

use super::decode::{Decode, Decoder};
use super::encode::{Encode, Encoder};
use super::error::{Error, ErrorKind};

/// Implements the traits for a type that maps one-to-one onto an `Encoder`/`Decoder` pair.
macro_rules! direct {
    ($($ty:ty, $len:expr, $put:ident, $get:ident;)*) => {$(
        impl Encode for $ty {
            #[inline]
            fn encoded_len(&self) -> usize {
                $len
            }
            #[inline]
            fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
                out.$put(*self);
                Ok(())
            }
        }
        impl Decode for $ty {
            #[inline]
            fn decode(input: &mut Decoder<'_>) -> Result<Self, Error> {
                input.$get()
            }
        }
    )*};
}

direct! {
    i32, 4, put_i32, get_i32;
    u32, 4, put_u32, get_u32;
    i64, 8, put_i64, get_i64;
    u64, 8, put_u64, get_u64;
    f32, 4, put_f32, get_f32;
    f64, 8, put_f64, get_f64;
    bool, 4, put_bool, get_bool;
}

/// Implements the traits for a narrow integer carried in one word: widened (sign-extended for
/// signed types) through `$wide` on encode, range-checked on decode.
macro_rules! narrow {
    ($($ty:ty, $wide:ty, $put:ident, $get:ident;)*) => {$(
        impl Encode for $ty {
            #[inline]
            fn encoded_len(&self) -> usize {
                4
            }
            #[inline]
            fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
                out.$put(<$wide>::from(*self));
                Ok(())
            }
        }
        impl Decode for $ty {
            #[inline]
            fn decode(input: &mut Decoder<'_>) -> Result<Self, Error> {
                let word = input.$get()?;
                <$ty>::try_from(word).map_err(|_| out_of_range(i64::from(word), stringify!($ty)))
            }
        }
    )*};
}

narrow! {
    i8, i32, put_i32, get_i32;
    i16, i32, put_i32, get_i32;
    u16, u32, put_u32, get_u32;
}

/// `unsigned char`: one word like the other narrow integers, but `[u8; N]` is fixed-length
/// opaque data (`opaque x[N]`), the shape Rust gives it; an `unsigned char x[N]` field is
/// encoded word by word by the generated code of its struct or union.
impl Encode for u8 {
    #[inline]
    fn encoded_len(&self) -> usize {
        4
    }
    #[inline]
    fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
        out.put_u32(u32::from(*self));
        Ok(())
    }
    #[inline]
    fn fixed_array_len(items: &[Self]) -> usize {
        super::encode::padded_len(items.len())
    }
    #[inline]
    fn encode_fixed_array(items: &[Self], out: &mut Encoder) -> Result<(), Error> {
        out.put_fixed_opaque(items);
        Ok(())
    }
}

impl Decode for u8 {
    #[inline]
    fn decode(input: &mut Decoder<'_>) -> Result<Self, Error> {
        let word = input.get_u32()?;
        u8::try_from(word).map_err(|_| out_of_range(i64::from(word), "u8"))
    }
    #[inline]
    fn decode_fixed_array<const N: usize>(input: &mut Decoder<'_>) -> Result<[Self; N], Error> {
        input.get_fixed_opaque()
    }
}

#[cold]
#[inline(never)]
fn out_of_range(value: i64, ty: &'static str) -> Error {
    Error::new(ErrorKind::OutOfRange { value, ty })
}

/// XDR `void`: no bytes. Lets procedures without arguments or results use the same
/// `T: Encode + Decode` code paths as the others.
impl Encode for () {
    #[inline]
    fn encoded_len(&self) -> usize {
        0
    }
    #[inline]
    fn encode(&self, _out: &mut Encoder) -> Result<(), Error> {
        Ok(())
    }
}

impl Decode for () {
    #[inline]
    fn decode(_input: &mut Decoder<'_>) -> Result<Self, Error> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{from_bytes, to_bytes};
    use super::*;

    // Expected bytes are written out by hand from RFC 4506 section 4.

    #[test]
    fn encodes_literal_bytes() {
        assert_eq!(to_bytes(&-1i32).unwrap(), [0xff, 0xff, 0xff, 0xff]);
        assert_eq!(to_bytes(&0x0102_0304u32).unwrap(), [1, 2, 3, 4]);
        assert_eq!(
            to_bytes(&-1i64).unwrap(),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(
            to_bytes(&0x1122_3344_5566_7788u64).unwrap(),
            [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]
        );
        assert_eq!(to_bytes(&1.5f32).unwrap(), [0x3f, 0xc0, 0, 0]);
        assert_eq!(
            to_bytes(&f64::INFINITY).unwrap(),
            [0x7f, 0xf0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(to_bytes(&true).unwrap(), [0, 0, 0, 1]);
        assert_eq!(to_bytes(&false).unwrap(), [0, 0, 0, 0]);
    }

    #[test]
    fn narrow_integers_take_one_word() {
        // C's xdr_char sign-extends: (char)-54 goes out as ff ff ff ca.
        assert_eq!(to_bytes(&-54i8).unwrap(), [0xff, 0xff, 0xff, 0xca]);
        assert_eq!(to_bytes(&0xcau8).unwrap(), [0, 0, 0, 0xca]);
        assert_eq!(to_bytes(&-2i16).unwrap(), [0xff, 0xff, 0xff, 0xfe]);
        assert_eq!(to_bytes(&0xbeefu16).unwrap(), [0, 0, 0xbe, 0xef]);
        assert_eq!((-54i8).encoded_len(), 4);
        assert_eq!(0u16.encoded_len(), 4);

        assert_eq!(from_bytes::<i8>(&[0xff, 0xff, 0xff, 0xca]).unwrap(), -54);
        assert_eq!(from_bytes::<u8>(&[0, 0, 0, 0xca]).unwrap(), 0xca);
        assert_eq!(from_bytes::<i16>(&[0xff, 0xff, 0x80, 0]).unwrap(), i16::MIN);
        assert_eq!(from_bytes::<u16>(&[0, 0, 0xff, 0xff]).unwrap(), u16::MAX);
    }

    #[test]
    fn narrow_integers_reject_out_of_range_words() {
        let kind = |r: Result<u8, Error>| r.unwrap_err().kind().clone();
        assert_eq!(
            kind(from_bytes::<u8>(&[0, 0, 1, 0])),
            ErrorKind::OutOfRange {
                value: 0x100,
                ty: "u8"
            }
        );
        assert_eq!(
            from_bytes::<i8>(&[0, 0, 0, 0x80]).unwrap_err().kind(),
            &ErrorKind::OutOfRange {
                value: 128,
                ty: "i8"
            }
        );
        assert_eq!(
            from_bytes::<i8>(&[0xff, 0xff, 0xff, 0x7f])
                .unwrap_err()
                .kind(),
            &ErrorKind::OutOfRange {
                value: -129,
                ty: "i8"
            }
        );
        assert_eq!(
            from_bytes::<u16>(&[0, 1, 0, 0]).unwrap_err().kind(),
            &ErrorKind::OutOfRange {
                value: 0x10000,
                ty: "u16"
            }
        );
        assert_eq!(
            from_bytes::<i16>(&[0, 0, 0x80, 0]).unwrap_err().kind(),
            &ErrorKind::OutOfRange {
                value: 0x8000,
                ty: "i16"
            }
        );
        assert_eq!(
            from_bytes::<u8>(&[0, 0, 1, 0]).unwrap_err().to_string(),
            "value 256 out of range for u8"
        );
    }

    #[test]
    fn bool_decode_is_strict() {
        assert_eq!(
            from_bytes::<bool>(&[0, 0, 0, 2]).unwrap_err().kind(),
            &ErrorKind::InvalidBool(2)
        );
    }

    #[test]
    fn unit_is_void() {
        assert_eq!(to_bytes(&()).unwrap(), [] as [u8; 0]);
        from_bytes::<()>(&[]).unwrap();
        assert_eq!(
            from_bytes::<()>(&[0]).unwrap_err().kind(),
            &ErrorKind::TrailingBytes(1)
        );
    }
}
