//! The pest parser generated from `grammar.pest` (kept private: its `Rule` enum is an
//! implementation detail; users see the AST and diagnostics).
#![allow(missing_docs)]

use pest_derive::Parser;

/// The `.x` grammar.
#[derive(Parser)]
#[grammar = "parse/grammar.pest"]
pub(crate) struct XdrParser;
