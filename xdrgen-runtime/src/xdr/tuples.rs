//! Several values in a row: how RFC 5531 (and rpcgen `-N`) sends the arguments of a procedure
//! that takes more than one. A tuple encodes as its elements one after the other, with nothing
//! between them, so `(a, b)` is what a struct of two fields would be on the wire. References
//! encode as what they point to, so a client can send `(&a, &b)` without cloning.
//!
//! ```
//! use xdrgen_runtime::xdr::{from_bytes, to_bytes};
//!
//! let bytes = to_bytes(&(&1u32, &-1i32))?;
//! assert_eq!(bytes, [0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]);
//! assert_eq!(from_bytes::<(u32, i32)>(&bytes)?, (1, -1));
//! # Ok::<(), xdrgen_runtime::xdr::Error>(())
//! ```

use super::{Decode, Decoder, Encode, Encoder, Error};

impl<T: Encode + ?Sized> Encode for &T {
    #[inline]
    fn encoded_len(&self) -> usize {
        (**self).encoded_len()
    }

    #[inline]
    fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
        (**self).encode(out)
    }
}

macro_rules! tuple {
    ($($name:ident $idx:tt),+) => {
        impl<$($name: Encode),+> Encode for ($($name,)+) {
            #[inline]
            fn encoded_len(&self) -> usize {
                0 $(+ self.$idx.encoded_len())+
            }

            #[inline]
            fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
                $(self.$idx.encode(out)?;)+
                Ok(())
            }
        }

        impl<$($name: Decode),+> Decode for ($($name,)+) {
            #[inline]
            fn decode(input: &mut Decoder<'_>) -> Result<Self, Error> {
                Ok(($($name::decode(input)?,)+))
            }
        }
    };
}

tuple!(A 0);
tuple!(A 0, B 1);
tuple!(A 0, B 1, C 2);
tuple!(A 0, B 1, C 2, D 3);
tuple!(A 0, B 1, C 2, D 3, E 4);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
