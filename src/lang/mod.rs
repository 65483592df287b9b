//! The vocabulary every stage shares, pure data: value types ([`ty`]), aggregations and
//! their bucket functions ([`agg`]), printf formats ([`format`]), values rendered in
//! userspace ([`render`]). Imports nothing else of the crate.

pub mod agg;
pub mod format;
pub mod gfp;
pub mod render;
pub mod time;
pub mod ty;
pub mod value;
