//! What class-validator would report for a body that does not fit its Rust type: the findings
//! of a lenient reading ([`lenient`](super::lenient)).
//!
//! class-validator checks every property of whatever object arrived; serde stops at the first
//! field of the wrong type. For a body serde refused, this module reads it again leniently:
//! each field of the wrong type (or missing) is recorded and replaced by a stand-in value of
//! the right type, so the DTO can be built and its `validator` rules run. Each field is read
//! twice, with low stand-ins (`""`, the type's minimum) and high ones (a long string, the
//! maximum), so that a rule a wrong-typed value would fail in class-validator (`maxLength`,
//! `min`, `isUUID`…) fails on at least one of them. This runs only for refused bodies.

use serde_json::Value;

/// Length of the long stand-in string: longer than any `maxLength` a message could satisfy.
pub(super) const LONG_STAND_IN: usize = 100_001;

/// Which stand-ins replace wrong-typed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StandIn {
    Low,
    High,
}

/// The JSON type a field wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expected {
    String,
    Integer,
    Number,
    Boolean,
    Array,
    Object,
}

/// A field whose value did not fit.
#[derive(Debug, Clone)]
pub(super) struct Mismatch {
    /// Dot-separated serde names from the body's root.
    pub(super) path: String,
    pub(super) expected: Expected,
    /// `None` when the field was missing or `null`.
    pub(super) value: Option<Value>,
}

/// One lenient reading of a body.
pub(super) struct Reading<T> {
    /// The DTO, built with stand-ins.
    pub(super) value: T,
    /// The top-level fields in declaration order (serde names); empty if `T` is not a struct.
    pub(super) fields: &'static [&'static str],
    pub(super) mismatches: Vec<Mismatch>,
}
