//! The pure object model: [`module::Module`] (maps and programs as BPF instructions with
//! relocations and source maps), its ELF writer ([`elf`], with [`btf`]) and the
//! `--dump insns` listing ([`listing`]). No syscalls.

pub mod btf;
pub mod elf;
pub mod listing;
pub mod module;

pub use module::Module;
