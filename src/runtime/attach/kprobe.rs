//! Kprobes and kretprobes on kernel functions, through libbpf (the kprobe PMU, or
//! tracefs's `kprobe_events` on old kernels); many functions sharing one program go
//! through one `kprobe_multi` link where the kernel has them (fprobe, Linux 5.18+).
//! A kernel built without kprobes fails here, before libbpf is asked, with what is
//! missing and what to use instead.

use std::ptr::NonNull;

use libbpf_rs::{AsRawLibbpf, KprobeMultiOpts, Link, ProgramMut};

/// The kprobe PMU: present when the kernel has `CONFIG_KPROBES`.
const KPROBE_PMU: &str = "/sys/bus/event_source/devices/kprobe";

/// Why kprobes cannot attach here, if they cannot.
fn missing() -> Option<String> {
    (!std::path::Path::new(KPROBE_PMU).exists()).then(|| {
        format!(
            "this kernel has no kprobes (it was built without CONFIG_KPROBES: {KPROBE_PMU} does not exist); \
             instead use a tracepoint (`tracepoint:CATEGORY:NAME`), a raw tracepoint (`rawtracepoint:EVENT`), \
             or for syscalls `tracepoint:syscalls:sys_enter_NAME`"
        )
    })
}

/// Attaches `prog` to kernel function `func` (`module:func` for a module's) at
/// `offset`, on return when `ret`, with attach cookie `cookie`.
pub fn attach(
    prog: &ProgramMut<'_>,
    func: &str,
    offset: u64,
    ret: bool,
    cookie: u64,
) -> Result<Link, String> {
    if let Some(why) = missing() {
        return Err(why);
    }
    let name = std::ffi::CString::new(func).map_err(|_| format!("bad function name `{func}`"))?;
    let opts = libbpf_sys::bpf_kprobe_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_kprobe_opts>() as _,
        offset: offset as _,
        retprobe: ret,
        bpf_cookie: cookie,
        ..Default::default()
    };
    // SAFETY: a loaded program, a NUL-terminated name and options of their declared
    // size, all alive for the call; libbpf returns a link or an error pointer.
    let link = unsafe {
        libbpf_sys::bpf_program__attach_kprobe_opts(
            prog.as_libbpf_object().as_ptr(),
            name.as_ptr(),
            &opts,
        )
    };
    // libbpf returns NULL and sets errno on failure (libbpf 1.0 semantics).
    let Some(link) = NonNull::new(link) else {
        return Err(format!(
            "kprobe on {func}: {}",
            super::os_reason(&std::io::Error::last_os_error().to_string())
        ));
    };
    // SAFETY: a valid link libbpf just created; the Link owns it from here.
    Ok(unsafe { Link::from_ptr(link) })
}

/// Attaches `prog` to every `(function, cookie)` of `funcs` through one `kprobe_multi`
/// link.
pub fn attach_multi(
    prog: &ProgramMut<'_>,
    funcs: &[(String, u64)],
    ret: bool,
) -> Result<Link, String> {
    if let Some(why) = missing() {
        return Err(why);
    }
    prog.attach_kprobe_multi_with_opts(KprobeMultiOpts {
        symbols: funcs.iter().map(|(f, _)| f.clone()).collect(),
        cookies: funcs.iter().map(|&(_, c)| c).collect(),
        retprobe: ret,
        ..Default::default()
    })
    .map_err(|e| {
        format!(
            "kprobe_multi on {} functions: {}",
            funcs.len(),
            super::reason(&e)
        )
    })
}
