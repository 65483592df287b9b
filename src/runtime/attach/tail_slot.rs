//! Programs that are tail-called rather than attached: each goes into its dispatcher's
//! program array at its slot.

use std::os::fd::{AsFd, AsRawFd};

use libbpf_rs::{Map, MapCore, MapFlags, ProgramMut};

/// Puts `prog` into the program array `table` at slot `key`.
pub fn install(table: &Map<'_>, prog: &ProgramMut<'_>, key: u32) -> Result<(), String> {
    let fd = prog.as_fd().as_raw_fd() as u32;
    table
        .update(&key.to_le_bytes(), &fd.to_le_bytes(), MapFlags::ANY)
        .map_err(|e| {
            format!(
                "installing the program at slot {key}: {}",
                super::reason(&e)
            )
        })
}
