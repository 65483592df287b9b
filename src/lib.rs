//! scry: a tracing language for Linux compiled straight to eBPF.
//!
//! The pipeline is one straight line (see ARCHITECTURE.md):
//! `parser::parse` → `sema::check` → `codegen::lower` → [`artifact::Artifact`] →
//! `runtime::run`. Everything before the runtime is pure and runs without root.

pub mod artifact;
pub mod ast;
pub mod bpf;
pub mod codegen;
pub mod diag;
pub mod host;
pub mod lang;
pub mod lexer;
pub mod object;
pub mod output;
pub mod parser;
pub mod probe;
pub mod runtime;
pub mod sema;
