//! Support for `tests/hostile_inputs.rs`: raw HTTP requests, the request table, hostile
//! signalling frames.

pub mod frames;
pub mod raw;
pub mod table;
