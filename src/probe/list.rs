//! `-l [PATTERN]`: the probes this machine offers, in bpftrace's newest format. The
//! generic part lives here — splitting comma-separated patterns, expanding a wildcard
//! probe type (`*:…`, `k*:…`) to the kinds bpftrace lists for it, matching candidate
//! lines, sorting — and each provider lists its own points through
//! [`Provider::list`](super::Provider::list), so a new probe type plugs in by
//! implementing that one method (and [`Provider::list_scope`](super::Provider::list_scope)).
//!
//! In: the pattern text, `-v`, `-p`; the host's facts. Out: [`Listed`] probes, each a
//! full probe name and, with `-v`, its arguments as C declarations. Pure.

use std::ops::Range;

use super::{SpecError, has_wildcard, wildcard_match};
use crate::host::Host;

/// What one provider is asked to list.
#[derive(Clone, Copy, Debug)]
pub struct Query<'a> {
    /// What follows `KIND:` (`*` when nothing does), e.g. `syscalls:sys_enter_*`.
    pub rest: &'a str,
    /// `-v`: describe each probe's arguments.
    pub verbose: bool,
    /// `-p PID`: the process whose objects user-space probes are listed from.
    pub pid: Option<u32>,
}

impl Query<'_> {
    /// The search over `TARGET:NAME` lines (tracepoints, uprobes, raw tracepoints):
    /// `rest` when it names a target, else `*:REST` (any target), as bpftrace reads it.
    pub fn with_target(&self) -> String {
        if self.rest.contains(':') {
            self.rest.to_string()
        } else {
            format!("*:{}", self.rest)
        }
    }
}

/// One listed probe.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listed {
    /// The full probe name, usable as a spec (`tracepoint:sched:sched_switch`).
    pub name: String,
    /// With `-v`: its arguments (`const char * filename`), one per line.
    pub params: Vec<String>,
}

impl Listed {
    /// A probe without arguments shown.
    pub fn new(name: String) -> Listed {
        Listed {
            name,
            params: Vec::new(),
        }
    }
}

/// Which wildcard probe types include a kind (bpftrace's `show_in_kernel_list` and
/// `show_in_userspace_list`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Listed for `*:…` (tracepoints, kprobes, raw tracepoints, software, hardware).
    Kernel,
    /// Listed for `*:…` only with `-p`, or when the pattern names an existing file
    /// (uprobes, USDT).
    User,
    /// Listed only when the pattern names the kind (`kretprobe:`, `interval:`, `BEGIN:`).
    Named,
}

/// A lister for a kind that is not (yet) a [`super::Provider`].
pub type ListFn = fn(&Query, &dyn Host) -> Result<Vec<Listed>, SpecError>;

/// A probe kind as listing sees it.
#[derive(Clone, Copy)]
pub struct Kind {
    /// The canonical name listed probes start with.
    pub name: &'static str,
    /// Other spellings.
    pub aliases: &'static [&'static str],
    /// When wildcard kinds include it.
    pub scope: Scope,
    /// How it lists; `None`: it has nothing to list.
    pub list: Option<Lister>,
}

/// Who lists a kind's probes.
#[derive(Clone, Copy)]
pub enum Lister {
    /// An implemented provider.
    Provider(&'static dyn super::Provider),
    /// A function (kinds scry knows but does not implement yet).
    Fn(ListFn),
}

/// Why a pattern could not be listed: the error and the bytes of the pattern text
/// it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListError {
    /// Byte range of the offending comma-separated part.
    pub range: Range<usize>,
    /// What is wrong.
    pub error: SpecError,
}

/// Everything the comma-separated `patterns` match, pattern by pattern (each sorted by
/// kind, then by name, as bpftrace prints them). An empty pattern, or `*`, lists every
/// kind bpftrace lists for `*:*`; a pattern without `:` is a name in any such kind.
pub fn list(
    patterns: &str,
    kinds: &[Kind],
    verbose: bool,
    pid: Option<u32>,
    host: &dyn Host,
) -> Result<Vec<Listed>, ListError> {
    let mut out = Vec::new();
    let mut start = 0;
    for part in patterns.split(',') {
        let range = start..start + part.len();
        start += part.len() + 1;
        let trimmed = part.trim();
        let offset = range.start + (part.len() - part.trim_start().len());
        let span = offset..offset + trimmed.len();
        let value = match trimmed {
            "" | "*" => "*:*".to_string(),
            v if !v.contains(':') => format!("*:{v}"),
            v => v.to_string(),
        };
        let (kind, rest) = value.split_once(':').unwrap_or((&value, ""));
        // `:NAME` names no probe type: any, as `*:NAME`.
        let kind = if kind.is_empty() { "*" } else { kind };
        let rest = if rest.is_empty() { "*" } else { rest };
        // An unknown probe type is shown under its name when the pattern wrote one.
        let kind_span = if trimmed.contains(':') {
            span.start..span.start + kind.len()
        } else {
            span.clone()
        };
        let chosen = choose(kind, rest, kinds, pid).map_err(|error| ListError {
            range: kind_span,
            error,
        })?;
        let query = Query { rest, verbose, pid };
        for k in chosen {
            let mut found = match k.list {
                Some(Lister::Provider(p)) => p.list(&query, host),
                Some(Lister::Fn(f)) => f(&query, host),
                None => Ok(Vec::new()),
            }
            .map_err(|error| ListError {
                range: span.clone(),
                error,
            })?;
            found.sort();
            found.dedup_by(|a, b| a.name == b.name);
            out.extend(found);
        }
    }
    Ok(out)
}

/// The kinds a pattern's probe type selects, sorted by name.
fn choose<'k>(
    kind: &str,
    rest: &str,
    kinds: &'k [Kind],
    pid: Option<u32>,
) -> Result<Vec<&'k Kind>, SpecError> {
    let mut chosen: Vec<&Kind> = if has_wildcard(kind) {
        let target = rest.split(':').next().unwrap_or("");
        let user = pid.is_some()
            || (rest.contains(':')
                && !target.is_empty()
                && !has_wildcard(target)
                && std::path::Path::new(target).exists());
        kinds
            .iter()
            .filter(|k| k.scope == Scope::Kernel || (user && k.scope == Scope::User))
            .filter(|k| wildcard_match(kind, k.name))
            .collect()
    } else {
        let found = kinds
            .iter()
            .find(|k| k.name == kind || k.aliases.contains(&kind))
            // bpftrace's probe types are case-insensitive (`BEGIN`, `begin`).
            .or_else(|| kinds.iter().find(|k| k.name.eq_ignore_ascii_case(kind)));
        match found {
            Some(k) => vec![k],
            None => return Err(unknown_kind(kind, kinds)),
        }
    };
    chosen.sort_by_key(|k| k.name);
    Ok(chosen)
}

/// E0200 for a probe type no kind has, suggesting the closest name or alias.
pub fn unknown_kind(kind: &str, kinds: &[Kind]) -> SpecError {
    let names = kinds
        .iter()
        .flat_map(|k| std::iter::once(&k.name).chain(k.aliases.iter()))
        .copied();
    let closest = super::suggest::closest(kind, names);
    let help = match closest {
        Some(c) => {
            let canonical = kinds
                .iter()
                .find(|k| k.name == c || k.aliases.contains(&c))
                .map_or(c, |k| k.name);
            if canonical == c {
                format!("did you mean `{c}`?")
            } else {
                format!("did you mean `{c}` (`{canonical}`)?")
            }
        }
        None => {
            let all: Vec<String> = kinds
                .iter()
                .map(|k| match k.aliases {
                    [] => k.name.to_string(),
                    a => format!("{} ({})", k.name, a.join(", ")),
                })
                .collect();
            format!("known probe types: {}", all.join(", "))
        }
    };
    SpecError::new("E0200", format!("unknown probe type `{kind}`"), help)
        .labeled("no such probe type")
}

/// The `candidates` that `pattern` matches, except kernel functions' `.part.N` pieces
/// (they cannot be traced), as bpftrace leaves them out.
pub fn matching<I: IntoIterator<Item = String>>(pattern: &str, candidates: I) -> Vec<String> {
    candidates
        .into_iter()
        .filter(|c| !c.contains(".part.") && wildcard_match(pattern, c))
        .collect()
}

/// Lists `KIND:ITEM:` for each of `items` (and its alias) that `rest` matches, on
/// its part before any `:` (`software:cpu*`, or a spec with a period,
/// `software:cpu-clock:1000`): software and hardware events, interval and profile
/// units, as bpftrace lists them.
pub fn list_names(kind: &str, rest: &str, items: &[(&str, &str)]) -> Vec<Listed> {
    let first = rest.split(':').next().unwrap_or("*");
    let first = if first.is_empty() { "*" } else { first };
    items
        .iter()
        .flat_map(|(n, a)| [*n, *a])
        .filter(|n| !n.is_empty() && wildcard_match(first, n))
        .map(|n| Listed::new(format!("{kind}:{n}:")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake::Fake;

    fn fake_list(q: &Query, _: &dyn Host) -> Result<Vec<Listed>, SpecError> {
        Ok(
            matching(&q.with_target(), ["a:x".to_string(), "b:y".to_string()])
                .into_iter()
                .map(|m| Listed::new(format!("fk:{m}")))
                .collect(),
        )
    }

    fn user_list(q: &Query, _: &dyn Host) -> Result<Vec<Listed>, SpecError> {
        Ok(vec![Listed::new(format!("usr:{}", q.rest))])
    }

    const KINDS: &[Kind] = &[
        Kind {
            name: "usr",
            aliases: &["u"],
            scope: Scope::User,
            list: Some(Lister::Fn(user_list)),
        },
        Kind {
            name: "fk",
            aliases: &["f"],
            scope: Scope::Kernel,
            list: Some(Lister::Fn(fake_list)),
        },
        Kind {
            name: "named",
            aliases: &[],
            scope: Scope::Named,
            list: None,
        },
    ];

    fn names(p: &str, pid: Option<u32>) -> Vec<String> {
        list(p, KINDS, false, pid, &Fake)
            .unwrap()
            .into_iter()
            .map(|l| l.name)
            .collect()
    }

    #[test]
    fn kinds_patterns_and_scopes() {
        assert_eq!(names("", None), ["fk:a:x", "fk:b:y"]);
        assert_eq!(names("*", None), ["fk:a:x", "fk:b:y"]);
        assert_eq!(names("y", None), ["fk:b:y"]);
        assert_eq!(names(":y", None), ["fk:b:y"]);
        assert_eq!(names("f:a:*", None), ["fk:a:x"]);
        assert_eq!(names("*:*", Some(1)), ["fk:a:x", "fk:b:y", "usr:*"]);
        assert_eq!(names("u:bin:f", None), ["usr:bin:f"]);
        assert_eq!(names("named:", None), Vec::<String>::new());
        assert_eq!(names(" y , x", None), ["fk:b:y", "fk:a:x"]);
        let e = list("y, fq:*", KINDS, false, None, &Fake).unwrap_err();
        assert_eq!(e.range, 3..5);
        assert_eq!(e.error.code, "E0200");
        assert_eq!(e.error.help, "did you mean `fk`?");
    }

    #[test]
    fn names_with_aliases() {
        let items = [
            ("cpu-clock", "cpu"),
            ("page-faults", "faults"),
            ("dummy", ""),
        ];
        let got: Vec<String> = list_names("software", "cpu*", &items)
            .into_iter()
            .map(|l| l.name)
            .collect();
        assert_eq!(got, ["software:cpu-clock:", "software:cpu:"]);
        assert_eq!(list_names("software", "dummy:10", &items).len(), 1);
        assert_eq!(matching("*", ["f.part.0".to_string()]).len(), 0);
    }
}
