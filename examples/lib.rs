//! shared helpers for examples
