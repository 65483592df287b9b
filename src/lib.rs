//! scry: a tracing language for Linux compiled straight to eBPF.
//!
//! The pipeline is one straight line (see ARCHITECTURE.md):
//! `parser::parse` → `sema::check` → `codegen::lower` → `codegen::elf::write` →
//! `runtime::run`. Everything before the runtime is pure and runs without root.

pub mod ast;
pub mod bpf;
pub mod codegen;
pub mod diag;
pub mod format;
pub mod lexer;
pub mod parser;
pub mod provider;
pub mod runtime;
pub mod sema;
pub mod types;
