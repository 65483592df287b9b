//! `interval:UNIT:N` (also `i:`, and the newer `interval:Ns` form): fires on one CPU every
//! period. Units: `s`, `ms`, `us`, `hz`.

/// Parses what follows `interval:` into a period in nanoseconds.
pub fn parse(rest: &str) -> Result<u64, String> {
    let (unit, count) = match rest.split_once(':') {
        Some((unit, count)) => (unit, count),
        None => {
            // `interval:100ms` form.
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            (&rest[digits..], &rest[..digits])
        }
    };
    let n: u64 = count
        .parse()
        .map_err(|_| format!("`{count}` is not a positive integer period"))?;
    if n == 0 {
        return Err("the period must be greater than zero".into());
    }
    let ns = match unit {
        "s" => n.checked_mul(1_000_000_000),
        "ms" => n.checked_mul(1_000_000),
        "us" => n.checked_mul(1_000),
        "ns" => Some(n),
        "hz" => (n <= 1_000_000_000).then(|| 1_000_000_000 / n),
        _ => {
            return Err(format!(
                "unknown interval unit `{unit}`; use s, ms, us or hz"
            ));
        }
    };
    ns.ok_or_else(|| "the period is too large".into())
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn units() {
        assert_eq!(parse("s:1"), Ok(1_000_000_000));
        assert_eq!(parse("ms:250"), Ok(250_000_000));
        assert_eq!(parse("us:10"), Ok(10_000));
        assert_eq!(parse("hz:100"), Ok(10_000_000));
        assert_eq!(parse("100ms"), Ok(100_000_000));
        assert!(parse("s:0").is_err());
        assert!(parse("m:1").is_err());
        assert!(parse("s:x").is_err());
    }
}
