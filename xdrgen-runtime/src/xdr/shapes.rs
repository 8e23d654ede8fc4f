//! [`Encode`]/[`Decode`] for the generic shapes a typedef can name, so that `from_bytes` and
//! `to_bytes` work on every generated type, typedefs (Rust `type` aliases) included:
//!
//! - `[T; N]`: a fixed-length array, each element with no length word (RFC 4506 4.12), and
//!   for `[u8; N]` fixed-length opaque data (4.9), through the per-element hooks
//!   [`Encode::encode_fixed_array`] and [`Decode::decode_fixed_array`];
//! - [`VarArray<T, N>`]: a variable-length array, the length word then the elements (4.13);
//! - `Option<T>`: optional data, a `bool` then the value when it is present (4.19);
//! - `Box<T>`: the value itself (how a recursive typedef holds its target).
//!
//! Generated structs and unions encode these shapes inline rather than through these impls,
//! with the same bytes.

use super::bounded::VarArray;
use super::decode::{Decode, Decoder};
use super::encode::{Encode, Encoder};
use super::error::Error;

impl<T: Encode, const N: usize> Encode for [T; N] {
    #[inline]
    fn encoded_len(&self) -> usize {
        T::fixed_array_len(self)
    }
    #[inline]
    fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
        T::encode_fixed_array(self, out)
    }
}

impl<T: Decode, const N: usize> Decode for [T; N] {
    #[inline]
    fn decode(input: &mut Decoder<'_>) -> Result<Self, Error> {
        T::decode_fixed_array(input)
    }
}

impl<T: Encode, const N: u32> Encode for VarArray<T, N> {
    #[inline]
    fn encoded_len(&self) -> usize {
        4 + self.iter().map(Encode::encoded_len).sum::<usize>()
    }
    #[inline]
    fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
        out.put_len(self.len(), N)?;
        self.iter().try_for_each(|item| item.encode(out))
    }
}

impl<T: Decode, const N: u32> Decode for VarArray<T, N> {
    #[inline]
    fn decode(input: &mut Decoder<'_>) -> Result<Self, Error> {
        // The count is checked against N, the bytes left (one byte per element at least) and
        // the memory allowance before anything is reserved.
        input.get_var_array(0, T::decode)
    }
}

impl<T: Encode> Encode for Option<T> {
    #[inline]
    fn encoded_len(&self) -> usize {
        4 + self.as_ref().map_or(0, Encode::encoded_len)
    }
    #[inline]
    fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
        out.put_bool(self.is_some());
        match self {
            Some(value) => value.encode(out),
            None => Ok(()),
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    #[inline]
    fn decode(input: &mut Decoder<'_>) -> Result<Self, Error> {
        input.get_optional(T::decode)
    }
}

impl<T: Encode + ?Sized> Encode for Box<T> {
    #[inline]
    fn encoded_len(&self) -> usize {
        (**self).encoded_len()
    }
    #[inline]
    fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
        (**self).encode(out)
    }
}

impl<T: Decode> Decode for Box<T> {
    #[inline]
    fn decode(input: &mut Decoder<'_>) -> Result<Self, Error> {
        T::decode(input).map(Box::new)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{from_bytes, to_bytes, ErrorKind};
    use super::*;

    // Expected bytes are written out by hand from RFC 4506 sections 4.9, 4.12, 4.13 and 4.19.

    #[test]
    fn u8_arrays_are_fixed_opaque_and_other_arrays_are_elements() {
        assert_eq!(to_bytes(&[1u8, 2, 3]).unwrap(), [1, 2, 3, 0]);
        assert_eq!(from_bytes::<[u8; 3]>(&[1, 2, 3, 0]), Ok([1, 2, 3]));
        assert_eq!(
            from_bytes::<[u8; 3]>(&[1, 2, 3, 9]).unwrap_err().kind(),
            &ErrorKind::BadPadding
        );
        assert_eq!(
            to_bytes(&[1i32, -1]).unwrap(),
            [0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(
            from_bytes::<[i32; 2]>(&[0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]),
            Ok([1, -1])
        );
        // An array of fixed opaque (a typedef of a typedef): each element padded.
        let uuids = [[7u8; 2], [8u8; 2]];
        assert_eq!(to_bytes(&uuids).unwrap(), [7, 7, 0, 0, 8, 8, 0, 0]);
        assert_eq!(
            from_bytes::<[[u8; 2]; 2]>(&[7, 7, 0, 0, 8, 8, 0, 0]),
            Ok(uuids)
        );
        assert_eq!(uuids.encoded_len(), 8);
    }

    #[test]
    fn var_arrays_carry_their_length_and_bound() {
        let ids = VarArray::<u32, 2>::new(vec![5, 6]).unwrap();
        let bytes = [0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 6];
        assert_eq!(to_bytes(&ids).unwrap(), bytes);
        assert_eq!(from_bytes::<VarArray<u32, 2>>(&bytes), Ok(ids));
        let err = from_bytes::<VarArray<u32, 1>>(&bytes).unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::LengthExceedsBound {
                length: 2,
                bound: 1
            }
        );
        // A forged count larger than the input fails before anything is reserved.
        let err = from_bytes::<VarArray<u64>>(&[0xff, 0xff, 0xff, 0xf0]).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::UnexpectedEof { .. }),
            "{err}"
        );
    }

    #[test]
    fn optional_data_is_a_bool_then_the_value() {
        assert_eq!(
            to_bytes(&Some(Box::new(9i32))).unwrap(),
            [0, 0, 0, 1, 0, 0, 0, 9]
        );
        assert_eq!(to_bytes(&None::<i32>).unwrap(), [0, 0, 0, 0]);
        assert_eq!(
            from_bytes::<Option<Box<i32>>>(&[0, 0, 0, 1, 0, 0, 0, 9]),
            Ok(Some(Box::new(9)))
        );
        assert_eq!(from_bytes::<Option<i32>>(&[0, 0, 0, 0]), Ok(None));
        assert_eq!(
            from_bytes::<Option<i32>>(&[0, 0, 0, 2]).unwrap_err().kind(),
            &ErrorKind::InvalidBool(2)
        );
    }
}
