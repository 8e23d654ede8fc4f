//! build-example
