//! The `xdrgen` command line.

fn main() {}
