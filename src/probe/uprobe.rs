//! User-space function probes: the spec (`uprobe:PATH:FUNC[+OFF]`, `uretprobe:…`).
//! The binary's functions it is matched against come from the host (`host::elf`).

/// Where in a binary to attach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A function name or a wildcard pattern over names, plus a byte offset into it.
    Func {
        /// Name or pattern.
        pattern: String,
        /// Bytes into the function (`func+0x10`).
        offset: u64,
    },
    /// A raw virtual address (`0x401000`).
    Addr(u64),
}

/// Parses the part after `uprobe:`: `PATH:FUNC`, `PATH:FUNC+OFF` or `PATH:0xADDR`.
pub fn parse(rest: &str) -> Result<(String, Target), String> {
    let (path, func) = rest
        .rsplit_once(':')
        .filter(|(p, f)| !p.is_empty() && !f.is_empty())
        .ok_or("expected `PATH:FUNCTION`")?;
    if let Some(hex) = func.strip_prefix("0x") {
        let addr = u64::from_str_radix(hex, 16).map_err(|_| format!("bad address `{func}`"))?;
        return Ok((path.to_string(), Target::Addr(addr)));
    }
    let (name, offset) = match func.split_once('+') {
        Some((name, off)) => {
            let off = match off.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16),
                None => off.parse(),
            }
            .map_err(|_| format!("bad offset `{off}`"))?;
            if super::has_wildcard(name) {
                return Err("an offset cannot follow a wildcard".into());
            }
            (name, off)
        }
        None => (func, 0),
    };
    Ok((
        path.to_string(),
        Target::Func {
            pattern: name.to_string(),
            offset,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(
            parse("/bin/bash:readline"),
            Ok((
                "/bin/bash".into(),
                Target::Func {
                    pattern: "readline".into(),
                    offset: 0
                }
            ))
        );
        assert_eq!(
            parse("libc:malloc+0x10"),
            Ok((
                "libc".into(),
                Target::Func {
                    pattern: "malloc".into(),
                    offset: 16
                }
            ))
        );
        assert_eq!(
            parse("./a.out:0x1000"),
            Ok(("./a.out".into(), Target::Addr(0x1000)))
        );
        assert!(parse("/bin/bash").is_err());
        assert!(parse("/bin/bash:f*+4").is_err());
    }
}
