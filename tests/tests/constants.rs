//! Constants and enum values of the fixtures: the generated Rust, rpcgen's C, and the values
//! worked out by hand from the `.x` text must all agree (decimal, hex, octal, negative, above
//! `i32::MAX`, named, `#define`d and chosen by `#ifndef`).

use std::path::PathBuf;

use xdrgen_tests::c_build::{c_values, tools_or_skip};
use xdrgen_tests::fixtures::{collections as co, preprocessor as pp, scalars as sc};
use xdrgen_tests::paths::c_fixture_paths;

/// (C expression, generated Rust value, value by hand).
fn table() -> Vec<(&'static str, i128, i128)> {
    vec![
        ("SC_DECIMAL", sc::SC_DECIMAL.into(), 42),
        ("SC_HEX", sc::SC_HEX.into(), 0x7f),
        ("SC_OCTAL", sc::SC_OCTAL.into(), 493),
        ("SC_NEGATIVE", sc::SC_NEGATIVE.into(), -17),
        ("SC_BIG", sc::SC_BIG.into(), 2_270_401_305),
        ("SC_ZERO", sc::SC_ZERO.into(), 0),
        ("SC_ALIAS", sc::SC_ALIAS.into(), 42),
        ("SC_BLUE", i32::from(sc::ScColour::Blue).into(), 2),
        ("SC_FLAG_HEX", i32::from(sc::ScFlags::Hex).into(), 16),
        ("SC_FLAG_OCTAL", i32::from(sc::ScFlags::Octal).into(), 8),
        ("SC_FLAG_NEG", i32::from(sc::ScFlags::Neg).into(), -2),
        ("SC_FLAG_CONST", i32::from(sc::ScFlags::Const).into(), 42),
        ("CO_HASH_LEN", co::CO_HASH_LEN.into(), 6),
        // A `#define` is gone after cpp, so C sees PP_WIDTH only through the sizes it set.
        ("sizeof(((pp_sized *)0)->tag)", pp::PP_WIDTH.into(), 4),
        ("PP_CHOSEN", pp::PP_CHOSEN.into(), 1),
        // Sizes that come from #define'd and named bounds.
        (
            "sizeof(((pp_sized *)0)->cells) / sizeof(int)",
            std::mem::size_of::<[i32; pp::PP_WIDTH as usize]>() as i128 / 4,
            4,
        ),
    ]
}

#[test]
fn generated_constants_match_hand_values() {
    for (name, rust, by_hand) in table() {
        assert_eq!(rust, by_hand, "{name}");
    }
}

#[test]
fn generated_constants_match_rpcgen() {
    if !tools_or_skip("constants") {
        return;
    }
    let rows = table();
    let exprs: Vec<&str> = rows.iter().map(|r| r.0).collect();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c-constants");
    let c = c_values(&dir, &c_fixture_paths(), &exprs).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.len(), rows.len());
    for ((name, rust, _), c) in rows.iter().zip(c) {
        assert_eq!(*rust, c, "{name}: Rust {rust}, C {c}");
    }
}
