//! The vocabulary every stage shares, pure data: value types ([`ty`]), aggregations and
//! their bucket functions ([`agg`]), printf formats ([`format`]). Imports nothing else of
//! the crate.

pub mod agg;
pub mod format;
pub mod gfp;
pub mod time;
pub mod ty;
pub mod value;
