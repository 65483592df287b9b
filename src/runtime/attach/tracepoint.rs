//! Classic (perf) tracepoints through libbpf.

use libbpf_rs::{Link, ProgramMut, TracepointCategory};

/// Attaches `prog` to `category:name`.
pub fn attach(prog: &ProgramMut<'_>, category: &str, name: &str) -> Result<Link, String> {
    prog.attach_tracepoint(TracepointCategory::Custom(category.to_string()), name)
        .map_err(|e| {
            let text = e.to_string();
            if text.contains("No such file") || text.contains("ENOENT") {
                format!("tracepoint {category}:{name} does not exist on this kernel")
            } else {
                text
            }
        })
}
