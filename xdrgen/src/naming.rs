//! Every conversion of a `.x` name into a Rust name happens here.
