//! Lowering of the checked program to BPF instructions and map definitions.

pub mod btf;
pub mod elf;
pub mod listing;
pub mod module;

pub use module::{Meta, Module};
