//! Open enums (`Config::open_enums`): a word no member has decodes to `Unknown(i32)` and
//! re-encodes unchanged, alone, in a struct and as a union discriminant; the closed build of the
//! same fixture refuses it. Random values of every open type are also checked against C in
//! `differential.rs` and for every property in `roundtrip.rs`.

use xdrgen_runtime::xdr::{from_bytes, to_bytes, ErrorKind};
use xdrgen_tests::fixtures::unions as closed;
use xdrgen_tests::fixtures_open::{scalars as sc, unions as un};

fn word(v: i32) -> [u8; 4] {
    v.to_be_bytes()
}

#[test]
fn an_unknown_enum_value_round_trips() {
    for v in [6, 7, 8, 10, -1, i32::MIN, i32::MAX] {
        let kind: un::UnKind = from_bytes(&word(v)).expect("any word decodes");
        assert_eq!(kind, un::UnKind::Unknown(v));
        assert_eq!(i32::from(kind), v);
        assert_eq!(to_bytes(&kind).unwrap(), word(v));
        // The closed build of the same file refuses it.
        let err = from_bytes::<closed::UnKind>(&word(v)).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::UnknownEnumValue(v));
    }
    // A member's value is the member, from the wire and from `From<i32>`.
    assert_eq!(from_bytes::<un::UnKind>(&word(9)), Ok(un::UnKind::Extra));
    assert_eq!(un::UnKind::from(9), un::UnKind::Extra);
    assert_eq!(un::UnKind::from(77), un::UnKind::Unknown(77));
}

#[test]
fn unknown_values_round_trip_in_fields_and_one_member_enums() {
    let lonely: sc::ScLonely = from_bytes(&word(5)).expect("decodes");
    assert_eq!(lonely, sc::ScLonely::Unknown(5));
    assert_eq!(to_bytes(&lonely).unwrap(), word(5));
    // sc_aliased.d is an sc_colour through a typedef, its last field.
    let mut bytes = vec![0; 4 + 8 + 4];
    bytes.extend(word(-3));
    bytes.extend(word(0));
    let aliased: sc::ScAliased = from_bytes(&bytes).expect("decodes");
    assert_eq!(aliased.d, sc::ScColour::Unknown(-3));
    assert_eq!(to_bytes(&aliased).unwrap(), bytes);
}

#[test]
fn a_union_over_an_open_enum_takes_unknown_values_only_with_a_default_arm() {
    // un_value has `default: void;`: the unknown discriminant lands there and comes back.
    let value: un::UnValue = from_bytes(&word(42)).expect("default arm");
    assert_eq!(value, un::UnValue::Default(un::UnKind::Unknown(42)));
    assert_eq!(to_bytes(&value).unwrap(), word(42));
    // un_containers names every member and has no default: 42 is still refused.
    let err = from_bytes::<un::UnContainers>(&word(42)).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::UnknownDiscriminant(42));
    // A default value may not hold a case's discriminant: it would decode as that case.
    let err = to_bytes(&un::UnValue::Default(un::UnKind::Number)).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::UnknownDiscriminant(1));
}
