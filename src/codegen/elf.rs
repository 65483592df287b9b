//! Writes a [`Module`](super::Module) as a relocatable BPF ELF object that libbpf loads.

use super::Module;

/// The object file bytes.
pub fn write(_module: &Module) -> Vec<u8> {
    todo!("elf writer")
}
