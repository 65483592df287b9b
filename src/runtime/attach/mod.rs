//! Attaching programs, one file per probe type. Each returns the link that keeps the
//! program attached; dropping it detaches.

pub mod begin_end;
pub mod interval;
pub mod raw_syscalls;
pub mod tracepoint;
pub mod uprobe;
