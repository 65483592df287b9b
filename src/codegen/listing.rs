//! `--dump insns`: programs as verifier-syntax listings with source lines as comments.

use super::Module;

/// Renders every program of `module`; `source` is the program text the spans point into.
pub fn listing(_module: &Module, _source: &str) -> String {
    todo!("listing")
}
