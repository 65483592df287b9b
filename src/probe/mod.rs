//! Pure descriptions of probe types: spec parsing, wildcard expansion, context layout.
//!
//! Knowledge of the running kernel (which tracepoints exist, their field layout) comes in
//! through the [`Catalog`] trait, so everything here and in sema is testable without root;
//! `runtime::tracefs` implements it for the real machine.

pub mod arch;
pub mod interval;
pub mod uprobe;

/// A probe spec split into its provider and arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spec {
    /// `BEGIN` / `begin`.
    Begin,
    /// `END` / `end`.
    End,
    /// `tracepoint:CAT:NAME`, either part may hold `*` / `?` wildcards.
    Tracepoint {
        /// Category pattern.
        category: String,
        /// Name pattern.
        name: String,
    },
    /// `uprobe:PATH:FUNC` / `uretprobe:PATH:FUNC`.
    Uprobe {
        /// Binary as written.
        path: String,
        /// Function (pattern) or address.
        target: uprobe::Target,
        /// Fires on return.
        ret: bool,
    },
    /// `interval:...` with its period.
    Interval {
        /// Period in nanoseconds.
        period_ns: u64,
    },
}

/// Probe types scry knows of but cannot attach yet, with the alternative to suggest.
const NOT_YET: &[(&str, &str)] = &[
    ("kprobe", "kprobes need CONFIG_KPROBES; use a tracepoint"),
    ("kretprobe", "kprobes need CONFIG_KPROBES; use a tracepoint"),
    ("usdt", "USDT probes are not implemented yet"),
    (
        "profile",
        "use `interval:` for periodic sampling on one CPU",
    ),
    ("software", "software events are not implemented yet"),
    ("hardware", "this machine has no hardware PMU events"),
    ("rawtracepoint", "use `tracepoint:`"),
    ("fentry", "use a tracepoint"),
    ("fexit", "use a tracepoint"),
    ("kfunc", "use a tracepoint"),
    ("kretfunc", "use a tracepoint"),
    ("watchpoint", "watchpoints are not implemented yet"),
];

/// Why a spec was rejected: message plus a help line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    /// Stable diagnostic code.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

fn err(code: &'static str, message: String, help: impl Into<String>) -> SpecError {
    SpecError {
        code,
        message,
        help: help.into(),
    }
}

/// Splits a spec such as `t:syscalls:sys_enter_read` into a [`Spec`].
pub fn parse_spec(text: &str) -> Result<Spec, SpecError> {
    if text == "BEGIN" || text == "begin" {
        return Ok(Spec::Begin);
    }
    if text == "END" || text == "end" {
        return Ok(Spec::End);
    }
    let (kind, rest) = text.split_once(':').unwrap_or((text, ""));
    match kind {
        "tracepoint" | "t" => {
            // ply writes `tracepoint:cat/name`.
            let (category, name) = rest
                .split_once(':')
                .or_else(|| rest.split_once('/'))
                .filter(|(c, n)| !c.is_empty() && !n.is_empty() && !n.contains(':'))
                .ok_or_else(|| {
                    err(
                        "E0202",
                        format!("malformed tracepoint `{text}`"),
                        "write `tracepoint:CATEGORY:NAME`, e.g. `tracepoint:syscalls:sys_enter_openat`",
                    )
                })?;
            Ok(Spec::Tracepoint {
                category: category.into(),
                name: name.into(),
            })
        }
        "uprobe" | "u" | "uretprobe" | "ur" => {
            let (path, target) = uprobe::parse(rest).map_err(|m| {
                err(
                    "E0202",
                    format!("malformed uprobe `{text}`: {m}"),
                    "write `uprobe:PATH:FUNCTION`, e.g. `uprobe:/bin/bash:readline`",
                )
            })?;
            Ok(Spec::Uprobe {
                path,
                target,
                ret: kind.starts_with("ur"),
            })
        }
        "interval" | "i" => interval::parse(rest)
            .map(|period_ns| Spec::Interval { period_ns })
            .map_err(|m| {
                err(
                    "E0203",
                    format!("invalid interval `{text}`: {m}"),
                    "e.g. `interval:s:1` or `interval:ms:100`",
                )
            }),
        _ => {
            let short = match kind {
                "k" => "kprobe",
                "kr" => "kretprobe",
                "u" => "uprobe",
                "ur" => "uretprobe",
                "U" => "usdt",
                "p" => "profile",
                "s" => "software",
                "h" => "hardware",
                "rawtracepoint" | "rt" => "rawtracepoint",
                "f" => "fentry",
                "fr" => "fexit",
                "w" => "watchpoint",
                other => other,
            };
            match NOT_YET.iter().find(|(k, _)| *k == short) {
                Some((k, why)) => Err(err(
                    "E0204",
                    format!("`{k}` probes are not supported on this system"),
                    *why,
                )),
                None => Err(err(
                    "E0200",
                    format!("unknown probe type `{kind}`"),
                    "known probe types: BEGIN, END, tracepoint (t), uprobe (u), uretprobe (ur), interval (i)",
                )),
            }
        }
    }
}

/// Shell-style wildcard match with `*` and `?`.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// True if `s` contains wildcard characters.
pub fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(parse_spec("BEGIN"), Ok(Spec::Begin));
        assert_eq!(parse_spec("end"), Ok(Spec::End));
        assert_eq!(
            parse_spec("t:syscalls:sys_enter_read"),
            Ok(Spec::Tracepoint {
                category: "syscalls".into(),
                name: "sys_enter_read".into()
            })
        );
        assert_eq!(
            parse_spec("tracepoint:sched/sched_switch"),
            Ok(Spec::Tracepoint {
                category: "sched".into(),
                name: "sched_switch".into()
            })
        );
        assert_eq!(
            parse_spec("interval:s:2"),
            Ok(Spec::Interval {
                period_ns: 2_000_000_000
            })
        );
        assert_eq!(parse_spec("tracepoint:x").unwrap_err().code, "E0202");
        assert_eq!(parse_spec("kprobe:do_sys_open").unwrap_err().code, "E0204");
        assert_eq!(parse_spec("bogus:x").unwrap_err().code, "E0200");
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("sys_enter_*", "sys_enter_read"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("s?s_*_read", "sys_enter_read"));
        assert!(!wildcard_match("sys_exit_*", "sys_enter_read"));
        assert!(wildcard_match("*read*", "sys_enter_pread64"));
        assert!(!wildcard_match("a*b", "acbc"));
    }
}
