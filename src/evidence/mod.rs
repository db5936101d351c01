//! Producing side of the evidence record.

pub mod tsa;
