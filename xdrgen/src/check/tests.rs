//! Unit tests of the checker's rules, on small hand-built or parsed sources.
