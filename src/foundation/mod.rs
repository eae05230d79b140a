//! The foundation: what every layer uses and that depends on nothing in ESH. Random
//! streams derived from (seed, replication, purpose, tick, entity), and exact maths that
//! gives the same bits on every machine. The model sits on this and on nothing above it.

pub(crate) mod exact;
pub(crate) mod streams;

pub(crate) use exact::{det_exp, det_ln, pow_int};
pub use streams::{Draw, Fast, Purpose, StreamKey, StreamPrefix, mix};
