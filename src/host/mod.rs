//! Compile-time facts about this machine: which tracepoints exist and their layout, the
//! functions of ELF binaries, kernel features. Sema and the probe providers ask through
//! the [`Host`] trait, so everything they do is testable without root; [`system::System`]
//! answers for the real machine.

pub mod elf;
pub mod fake;
pub mod system;
pub mod tracepoint;

pub use elf::{Binary, Func};
pub use tracepoint::{TpField, TracepointFormat};

/// What sema may ask of the kernel.
pub trait Host {
    /// Layout of tracepoint `category:name`; `None` if there is no such tracepoint.
    fn tracepoint_format(&self, category: &str, name: &str) -> Option<TracepointFormat>;
    /// Every tracepoint as `(category, name)`, sorted. Only called to expand wildcards.
    fn tracepoints(&self) -> Vec<(String, String)>;
    /// The function symbols of the binary `path` (a path, a command found in `$PATH`,
    /// or a library name such as `libc`); an error says why it cannot be read.
    fn binary(&self, path: &str) -> Result<Binary, String> {
        Err(format!("cannot read `{path}`: no binaries in this catalog"))
    }
}
