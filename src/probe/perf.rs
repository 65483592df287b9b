//! What the perf-event probe types share: `PERF_TYPE_*` numbers, rates written as
//! `UNIT:N` (`s`, `ms`, `us`, `hz`), and named events with default periods.

use super::SpecError;

/// `PERF_TYPE_HARDWARE`
pub const TYPE_HARDWARE: u32 = 0;
/// `PERF_TYPE_SOFTWARE`
pub const TYPE_SOFTWARE: u32 = 1;
/// `PERF_COUNT_SW_CPU_CLOCK`
pub const SW_CPU_CLOCK: u64 = 0;

/// The units `interval:` and `profile:` take, as `-l` lists them (no aliases).
pub const UNITS: &[(&str, &str)] = &[("hz", ""), ("ms", ""), ("s", ""), ("us", "")];

/// A rate: a period in nanoseconds or a frequency in hertz.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rate {
    /// Every N nanoseconds.
    PeriodNs(u64),
    /// N times a second.
    Hz(u64),
}

/// Parses `UNIT:N` or `Nunit` (`s:1`, `ms:100`, `us:10`, `hz:99`, `100ms`).
pub fn parse_rate(rest: &str) -> Result<Rate, String> {
    let (unit, count) = match rest.split_once(':') {
        Some((unit, count)) => (unit, count),
        None => {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            (&rest[digits..], &rest[..digits])
        }
    };
    let n: u64 = count
        .parse()
        .map_err(|_| format!("`{count}` is not a positive integer"))?;
    if n == 0 {
        return Err("the rate must be greater than zero".into());
    }
    let ns = |mul: u64| {
        n.checked_mul(mul)
            .map(Rate::PeriodNs)
            .ok_or_else(|| "the period is too large".to_string())
    };
    match unit {
        "s" => ns(1_000_000_000),
        "ms" => ns(1_000_000),
        "us" => ns(1_000),
        "ns" => ns(1),
        "hz" if n <= 1_000_000_000 => Ok(Rate::Hz(n)),
        "hz" => Err("at most 1000000000 hz".into()),
        _ => Err(format!("unknown unit `{unit}`; use s, ms, us or hz")),
    }
}

/// A named perf event: name, alias, `config`, default period.
pub type Event = (&'static str, &'static str, u64, u64);

/// Parses `EVENT[:PERIOD]` against `events` (as `software:` and `hardware:` take them).
pub fn parse_event(
    kind: &str,
    text: &str,
    rest: &str,
    events: &[Event],
) -> Result<(&'static str, u64, u64), SpecError> {
    let (name, period) = match rest.split_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (rest, None),
    };
    let Some(&(full, _, config, default)) = events
        .iter()
        .find(|(n, a, _, _)| *n == name || (!a.is_empty() && *a == name))
    else {
        let names: Vec<String> = events
            .iter()
            .map(|(n, a, _, _)| {
                if a.is_empty() {
                    n.to_string()
                } else {
                    format!("{n} ({a})")
                }
            })
            .collect();
        return Err(SpecError::new(
            "E0208",
            format!("unknown {kind} event `{name}` in `{text}`"),
            format!("{kind} events are: {}", names.join(", ")),
        ));
    };
    let period = match period {
        // `software:cpu-clock:` as `-l` lists it: the default period.
        None | Some("") => default,
        Some(p) => match p.parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(SpecError::new(
                    "E0203",
                    format!("invalid period `{p}` in `{text}`"),
                    format!("write a positive count, e.g. `{kind}:{full}:{default}`"),
                ));
            }
        },
    };
    Ok((full, config, period))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("s:1"), Ok(Rate::PeriodNs(1_000_000_000)));
        assert_eq!(parse_rate("ms:250"), Ok(Rate::PeriodNs(250_000_000)));
        assert_eq!(parse_rate("us:10"), Ok(Rate::PeriodNs(10_000)));
        assert_eq!(parse_rate("hz:99"), Ok(Rate::Hz(99)));
        assert_eq!(parse_rate("100ms"), Ok(Rate::PeriodNs(100_000_000)));
        assert!(parse_rate("s:0").is_err());
        assert!(parse_rate("hz:0").is_err());
        assert!(parse_rate("m:1").is_err());
        assert!(parse_rate("s:x").is_err());
        assert!(parse_rate("s:99999999999999999").is_err());
    }

    #[test]
    fn events() {
        const EV: &[Event] = &[("page-faults", "faults", 2, 100), ("dummy", "", 9, 1)];
        assert_eq!(
            parse_event("software", "t", "faults", EV),
            Ok(("page-faults", 2, 100))
        );
        assert_eq!(
            parse_event("software", "t", "dummy:7", EV),
            Ok(("dummy", 9, 7))
        );
        let e = parse_event("software", "t", "nope", EV).unwrap_err();
        assert_eq!(e.code, "E0208");
        assert!(e.help.contains("page-faults (faults), dummy"), "{}", e.help);
        assert_eq!(
            parse_event("software", "t", "dummy:0", EV)
                .unwrap_err()
                .code,
            "E0203"
        );
    }
}
