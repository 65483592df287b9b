//! Classic (perf) tracepoints through libbpf.

use libbpf_rs::{Link, ProgramMut, TracepointCategory, TracepointOpts};

/// Attaches `prog` to `category:name` with attach cookie `cookie`.
pub fn attach(
    prog: &ProgramMut<'_>,
    category: &str,
    name: &str,
    cookie: u64,
) -> Result<Link, String> {
    let opts = TracepointOpts {
        cookie,
        ..TracepointOpts::default()
    };
    prog.attach_tracepoint_with_opts(TracepointCategory::Custom(category.to_string()), name, opts)
        .map_err(|e| {
            let text = super::reason(&e);
            if text.contains("(ENOENT)") {
                format!("tracepoint {category}:{name} does not exist on this kernel: {text}")
            } else {
                format!("tracepoint {category}:{name}: {text}")
            }
        })
}
