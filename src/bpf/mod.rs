//! The eBPF instruction set as data: registers, opcodes, the 8-byte [`Insn`] encoding,
//! builders and a disassembler in the kernel verifier's syntax.
//!
//! Knows nothing of the scry language; codegen builds [`Insn`]s, the ELF writer encodes
//! them, `--dump insns` disassembles them.

pub mod abi;
pub mod disasm;
pub mod insn;

pub use insn::{Alu, Cond, Insn, Reg, Size};
