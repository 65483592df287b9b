//! Architecture facts the probes need: `struct pt_regs` offsets and system call numbers.

pub mod x86_64;
