//! Pure descriptions of probe types: spec parsing, wildcard expansion, context layout.
//!
//! Knowledge of the running kernel (which tracepoints exist, their field layout) comes in
//! through the [`Catalog`] trait, so everything here and in sema is testable without root;
//! `runtime::tracefs` implements it for the real machine.

pub mod tracepoint;

pub use tracepoint::{TpField, TracepointFormat};

/// What sema may ask of the kernel.
pub trait Catalog {
    /// Layout of tracepoint `category:name`; `None` if there is no such tracepoint.
    fn tracepoint_format(&self, category: &str, name: &str) -> Option<TracepointFormat>;
    /// Every tracepoint as `(category, name)`, sorted. Only called to expand wildcards.
    fn tracepoints(&self) -> Vec<(String, String)>;
}
