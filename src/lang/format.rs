//! printf-style format strings: parsing (sema checks argument counts and kinds) and
//! rendering with C semantics for flags, width and precision (the runtime prints events).
//! Values are 64-bit; integer conversions take C's length modifiers: none is `int`,
//! `h` `short`, `hh` `char`, `l`/`ll`/`z`/`j`/`t` 64 bits (as bpftrace prints them; any
//! other run of `hlLjzt` is `int`, as bpftrace's newest treats it). As in bpftrace, a `%`
//! that does not start a conversion is text (`100%`, `%q`); the floating-point
//! conversions are errors. `%s` prints any value as `print()` does.

use std::fmt;

/// What a conversion consumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// `%d %i %u %x %X %o %p %gr`: an integer, bool or pointer.
    Int,
    /// `%s`: any value (strings as they are, others as `print()` shows them).
    Str,
    /// `%c`: an integer, bool or pointer, printed as the character of its low byte.
    Char,
    /// `%r`, `%rx`, `%rh`: a buffer from `buf()`.
    Buf,
}

/// One conversion specification.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Spec {
    /// `-`
    pub left: bool,
    /// `0`
    pub zero: bool,
    /// `+`
    pub plus: bool,
    /// ` `
    pub space: bool,
    /// `#`
    pub alt: bool,
    /// Minimum field width.
    pub width: Option<usize>,
    /// Precision.
    pub precision: Option<usize>,
    /// Bits of the integer the conversion prints (`%d` 32, `%hd` 16, `%hhd` 8, `%ld` 64).
    pub bits: u32,
    /// Conversion character.
    pub conv: char,
}

impl Spec {
    /// What this conversion consumes.
    pub fn kind(&self) -> ArgKind {
        match self.conv {
            's' => ArgKind::Str,
            'c' => ArgKind::Char,
            'r' | 'R' | 'H' => ArgKind::Buf,
            // 'G': `%gr`, GFP flags.
            _ => ArgKind::Int,
        }
    }
}

/// A literal run or a conversion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Text printed as is (`%%` already reduced to `%`).
    Lit(String),
    /// A conversion.
    Conv(Spec),
}

/// A malformed format, with the byte offset of the bad conversion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    /// Byte offset of the `%`.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)
    }
}

/// The largest field width or precision a conversion may have (what printf pads to
/// is built in memory for every event).
pub const MAX_WIDTH: usize = 4096;

/// Parses a printf format into literal text and conversions.
pub fn parse(fmt: &str) -> Result<Vec<Piece>, FormatError> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut chars = fmt.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c != '%' {
            lit.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => spec.left = true,
                '0' => spec.zero = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '#' => spec.alt = true,
                _ => break,
            }
            chars.next();
        }
        let number = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
            let mut n: Option<usize> = None;
            while let Some(&(_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
                n = Some(
                    n.unwrap_or(0)
                        .saturating_mul(10)
                        .saturating_add(d as usize - '0' as usize),
                );
                chars.next();
            }
            n
        };
        spec.width = number(&mut chars);
        if chars.peek().map(|&(_, c)| c) == Some('.') {
            chars.next();
            spec.precision = Some(number(&mut chars).unwrap_or(0));
        }
        let mut length = String::new();
        while let Some(&(_, m)) = chars
            .peek()
            .filter(|(_, m)| matches!(m, 'l' | 'h' | 'L' | 'z' | 'j' | 't'))
        {
            length.push(m);
            chars.next();
        }
        spec.bits = match length.as_str() {
            "h" => 16,
            "hh" => 8,
            "l" | "ll" | "z" | "j" | "t" => 64,
            // bpftrace converts to `int` for no modifier and any other run.
            _ => 32,
        };
        let err = |message: String| FormatError {
            offset: at,
            message,
        };
        let Some(&(pos, conv)) = chars.peek() else {
            // A `%` that starts no conversion is text, as in bpftrace (`100%`).
            lit.push_str(&fmt[at..]);
            break;
        };
        match conv {
            '%' => {
                chars.next();
                lit.push('%');
                continue;
            }
            'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 'a' | 'A' | 'n'
                if !(conv == 'g' && fmt[pos + 1..].starts_with('r')) =>
            {
                return Err(err(format!(
                    "`%{conv}` is not supported (scry and bpftrace print no floating-point values)"
                )));
            }
            'r' | 'g' | 'd' | 'i' | 'u' | 'x' | 'X' | 'o' | 'p' | 's' | 'c' => {
                // A width or precision that large would only make a huge line of
                // padding (and could exhaust memory).
                let too_big = |n: Option<usize>| n.is_some_and(|n| n > MAX_WIDTH);
                if too_big(spec.width) || too_big(spec.precision) {
                    return Err(err(format!(
                        "a width or precision above {MAX_WIDTH} in `%{conv}`"
                    )));
                }
            }
            _ => {
                // Not a conversion: the text so far is printed as it is.
                lit.push_str(&fmt[at..pos]);
                continue;
            }
        }
        chars.next();
        if !lit.is_empty() {
            pieces.push(Piece::Lit(std::mem::take(&mut lit)));
        }
        spec.conv = match conv {
            // `%r` escapes non-printable bytes, `%rx` every byte, `%rh` prints hex
            // pairs separated by spaces.
            'r' => match chars.peek().map(|&(_, c)| c) {
                Some('x') => {
                    chars.next();
                    'R'
                }
                Some('h') => {
                    chars.next();
                    'H'
                }
                _ => 'r',
            },
            // `%gr`: GFP flags by name.
            'g' => {
                chars.next();
                'G'
            }
            c => c,
        };
        pieces.push(Piece::Conv(spec));
    }
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    Ok(pieces)
}

/// The argument kinds the conversions of `pieces` consume, in order.
pub fn arg_kinds(pieces: &[Piece]) -> Vec<ArgKind> {
    pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Conv(s) => Some(s.kind()),
            Piece::Lit(_) => None,
        })
        .collect()
}

/// An argument value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A 64-bit integer, printed as signed for `%d`/`%i` when `signed`.
    Int {
        /// Raw bits.
        bits: u64,
        /// Declared signedness (affects `%d` only through the bits: `%d` is always signed).
        signed: bool,
    },
    /// String bytes (up to the first NUL).
    Str(Vec<u8>),
    /// A buffer's bytes (all of them: NULs included).
    Buf(Vec<u8>),
    /// What `%s` prints for a value that is not a string: its text as `print()` shows
    /// it (`-3`, `(1, two)`, `0x7ffd…`, `true`).
    Text(Vec<u8>),
}

/// Renders `pieces` with `args` (one per conversion; missing ones print as empty).
/// Strings are bytes and print as they are.
pub fn render(pieces: &[Piece], args: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    render_into(pieces, args, &mut out);
    out
}

/// [`render`], appending to `out` (a buffer the caller reuses from event to event).
pub fn render_into(pieces: &[Piece], args: &[Value], out: &mut Vec<u8>) {
    use std::io::Write;
    let mut args = args.iter();
    for p in pieces {
        match p {
            Piece::Lit(s) => out.extend_from_slice(s.as_bytes()),
            Piece::Conv(spec) => {
                let Some(arg) = args.next() else { continue };
                if let (Value::Str(b), 's') = (arg, spec.conv) {
                    string(spec, &string_text(b), out);
                } else if let (Value::Int { bits, .. }, 'c') = (arg, spec.conv) {
                    // The low byte as it is (C's `%c`), padded to the width.
                    string(spec, &[*bits as u8], out);
                } else if let Value::Text(t) = arg {
                    string(spec, t, out);
                } else if let Value::Buf(b) = arg {
                    out.extend_from_slice(escape_buffer(b, spec.conv).as_bytes());
                } else if let (Value::Int { bits, .. }, true) = (arg, plain(spec)) {
                    // The common `%d`, `%u`, `%x` of a full-width integer: written
                    // straight into the output, as `convert` would write it.
                    let _ = match (spec.conv, spec.bits) {
                        ('d' | 'i', 64) => write!(out, "{}", *bits as i64),
                        ('d' | 'i', _) => write!(out, "{}", *bits as i32),
                        ('u', 64) => write!(out, "{bits}"),
                        ('u', _) => write!(out, "{}", *bits as u32),
                        (_, 64) => write!(out, "{bits:x}"),
                        _ => write!(out, "{:x}", *bits as u32),
                    };
                } else {
                    out.extend_from_slice(convert(spec, arg).as_bytes());
                }
            }
        }
    }
}

/// A conversion with nothing but its letter and an `int` or `long` length: `%d`, `%lu`,
/// `%x`, … (no flags, width or precision).
fn plain(spec: &Spec) -> bool {
    matches!(spec.conv, 'd' | 'i' | 'u' | 'x')
        && matches!(spec.bits, 32 | 64)
        && spec.width.is_none()
        && spec.precision.is_none()
        && !(spec.left || spec.zero || spec.plus || spec.space || spec.alt)
}

/// The text of a string buffer: its bytes up to the NUL. A buffer without a NUL holds a
/// string `str()` cut at `max_strlen` (its last byte is a marker, not text): its other
/// bytes and bpftrace's truncation trailer `..`.
pub fn string_text(b: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match b.iter().position(|&c| c == 0) {
        Some(end) => std::borrow::Cow::Borrowed(&b[..end]),
        None if b.is_empty() => std::borrow::Cow::Borrowed(b),
        None => {
            let mut t = b[..b.len() - 1].to_vec();
            t.extend_from_slice(b"..");
            std::borrow::Cow::Owned(t)
        }
    }
}

/// A buffer as `%r` (`r`: printable ASCII as is, others `\xNN`), `%rx` (`R`: every byte
/// `\xNN`) or `%rh` (`H`: hex pairs separated by spaces) prints it.
pub fn escape_buffer(b: &[u8], mode: char) -> String {
    let mut out = String::new();
    for (i, &c) in b.iter().enumerate() {
        match mode {
            'H' => {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(&format!("{c:02x}"));
            }
            'r' if (32..=126).contains(&c) => out.push(c as char),
            _ => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out
}

/// `%s`: the text (a string's bytes up to the NUL), cut to the precision, padded to the
/// width (C counts bytes).
fn string(spec: &Spec, whole: &[u8], out: &mut Vec<u8>) {
    let end = whole.len();
    let text = &whole[..spec.precision.map_or(end, |p| p.min(end))];
    let fill = spec.width.unwrap_or(0).saturating_sub(text.len());
    if !spec.left {
        out.resize(out.len() + fill, b' ');
    }
    out.extend_from_slice(text);
    if spec.left {
        out.resize(out.len() + fill, b' ');
    }
}

fn convert(spec: &Spec, arg: &Value) -> String {
    let raw = match arg {
        Value::Int { bits, .. } => *bits,
        Value::Str(_) | Value::Buf(_) | Value::Text(_) => 0,
    };
    // The value as the C type of the conversion: `%d` of 5000000000 is an `int`.
    let width = if spec.conv == 'p' {
        64
    } else {
        spec.bits.clamp(8, 64)
    };
    let shift = 64 - width;
    let bits = (raw << shift) >> shift;
    let signed = ((raw << shift) as i64) >> shift;
    let (sign, mut digits) = match spec.conv {
        'd' | 'i' => {
            let v = signed;
            let sign = if v < 0 {
                "-"
            } else if spec.plus {
                "+"
            } else if spec.space {
                " "
            } else {
                ""
            };
            (sign, v.unsigned_abs().to_string())
        }
        'u' => ("", bits.to_string()),
        'x' => ("", format!("{bits:x}")),
        'X' => ("", format!("{bits:X}")),
        'o' => ("", format!("{bits:o}")),
        // glibc prints a null pointer as `(nil)`.
        'p' if bits == 0 => return pad(spec, "(nil)", false),
        'p' => ("", format!("0x{bits:x}")),
        'c' => unreachable!("render() prints %c as a byte"),
        'G' => return pad(spec, &super::gfp::names(raw), false),
        's' => {
            let text = match arg {
                Value::Str(b) => String::from_utf8_lossy(&string_text(b)).into_owned(),
                Value::Text(t) => String::from_utf8_lossy(t).into_owned(),
                Value::Int { bits, signed: true } => (*bits as i64).to_string(),
                Value::Int { bits, .. } => bits.to_string(),
                Value::Buf(b) => escape_buffer(b, 'r'),
            };
            let text: String = match spec.precision {
                Some(p) => text.chars().take(p).collect(),
                None => text,
            };
            return pad(spec, &text, false);
        }
        _ => unreachable!("parse() admits only known conversions"),
    };
    if let Some(p) = spec.precision {
        if digits.len() < p {
            digits = "0".repeat(p - digits.len()) + &digits;
        }
        if p == 0 && bits == 0 {
            digits.clear();
        }
    }
    let prefix = match (spec.alt, spec.conv) {
        (true, 'x') if bits != 0 => "0x",
        (true, 'X') if bits != 0 => "0X",
        (true, 'o') if !digits.starts_with('0') => "0",
        _ => "",
    };
    let body = format!("{sign}{prefix}{digits}");
    let zero = spec.zero && !spec.left && spec.precision.is_none();
    if zero && spec.width.is_some_and(|w| w > body.len()) {
        let fill = "0".repeat(spec.width.unwrap_or(0) - body.len());
        return format!("{sign}{prefix}{fill}{digits}");
    }
    pad(spec, &body, false)
}

fn pad(spec: &Spec, body: &str, _numeric: bool) -> String {
    let len = body.chars().count();
    match spec.width {
        Some(w) if w > len => {
            let fill = " ".repeat(w - len);
            if spec.left {
                format!("{body}{fill}")
            } else {
                format!("{fill}{body}")
            }
        }
        _ => body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(v: i64) -> Value {
        Value::Int {
            bits: v as u64,
            signed: true,
        }
    }

    fn show(fmt: &str, args: &[Value]) -> String {
        String::from_utf8(render(&parse(fmt).expect("valid format"), args)).expect("UTF-8")
    }

    #[test]
    fn c_semantics() {
        assert_eq!(
            show(
                "%d|%5d|%-5d|%05d|%+d",
                &[int(-3), int(42), int(42), int(42), int(7)]
            ),
            "-3|   42|42   |00042|+7"
        );
        assert_eq!(
            show(
                "%x %X %#x %o %u",
                &[int(255), int(255), int(255), int(8), int(-1)]
            ),
            "ff FF 0xff 10 4294967295"
        );
        // Length modifiers convert like C: int by default, h short, hh char, l 64 bits.
        assert_eq!(
            show(
                "%d %u %x %hd %hhx %ld %llu %lx %p",
                &[
                    int(5_000_000_000),
                    int(-1),
                    int(-1),
                    int(70000),
                    int(0x1ff),
                    int(5_000_000_000),
                    int(-1),
                    int(-1),
                    int(0)
                ]
            ),
            "705032704 4294967295 ffffffff 4464 ff 5000000000 18446744073709551615 ffffffffffffffff (nil)"
        );
        assert_eq!(
            show(
                "%s|%6s|%-6s|%.2s",
                &[
                    Value::Str(b"abc\0zz".to_vec()),
                    Value::Str(b"ab\0".to_vec()),
                    Value::Str(b"ab\0".to_vec()),
                    Value::Str(b"abc\0".to_vec())
                ]
            ),
            "abc|    ab|ab    |ab"
        );
        assert_eq!(show("%c%c 100%%", &[int(72), int(105)]), "Hi 100%");
        assert_eq!(show("%ld %llu %lx", &[int(1), int(2), int(16)]), "1 2 10");
        assert_eq!(show("%.3d|%p", &[int(5), int(4096)]), "005|0x1000");
    }

    #[test]
    fn truncated_strings_get_a_trailer() {
        assert_eq!(string_text(b"abc\0"), &b"abc"[..]);
        assert_eq!(string_text(b"abcd"), &b"abc.."[..]);
        assert_eq!(string_text(b""), &b""[..]);
        let s = Value::Str(b"abc\xff".to_vec());
        assert_eq!(
            show("<%s|%-7s|%.2s>", &[s.clone(), s.clone(), s]),
            "<abc..|abc..  |ab>"
        );
    }

    #[test]
    fn any_value_as_text_and_gfp_flags() {
        assert_eq!(
            show(
                "%s|%5s|%-4s|%.2s",
                &[
                    Value::Text(b"(1, two)".to_vec()),
                    Value::Text(b"-3".to_vec()),
                    Value::Text(b"7".to_vec()),
                    Value::Text(b"true".to_vec())
                ]
            ),
            "(1, two)|   -3|7   |tr"
        );
        assert_eq!(
            show("%gr|%20gr|", &[int(0xcc0), int(1)]),
            "GFP_KERNEL|             GFP_DMA|"
        );
        // Odd length modifiers are `int`s; `%c` is the byte as it is.
        assert_eq!(
            show("%Lx %hhhd %jx", &[int(-1), int(300), int(-1)]),
            "ffffffff 300 ffffffffffffffff"
        );
        let out = render(&parse("%c|%-2c|").unwrap(), &[int(0xe9), int(0x41)]);
        assert_eq!(out, b"\xe9|A |");
    }

    #[test]
    fn buffers() {
        let b = Value::Buf(vec![0, b'A', 0x7f, b' ']);
        assert_eq!(
            show("%r|%rx|%rh", &[b.clone(), b.clone(), b]),
            "\\x00A\\x7f |\\x00\\x41\\x7f\\x20|00 41 7f 20"
        );
        assert_eq!(arg_kinds(&parse("%r %rx %rh").unwrap()), [ArgKind::Buf; 3]);
    }

    #[test]
    fn strings_are_bytes() {
        let out = render(
            &parse("[%s|%-4s|%3s]").unwrap(),
            &[
                Value::Str(vec![b'a', 0xff, 0, b'z']),
                Value::Str(vec![0xfe, 0]),
                Value::Str(b"x\0".to_vec()),
            ],
        );
        assert_eq!(out, b"[a\xff|\xfe   |  x]");
    }

    #[test]
    fn kinds_and_errors() {
        let p = parse("%d %s %c %%").unwrap();
        assert_eq!(arg_kinds(&p), [ArgKind::Int, ArgKind::Str, ArgKind::Char]);
        // As bpftrace: a `%` that starts no conversion is text; floats are errors.
        assert_eq!(show("abc %q %5z 100%", &[]), "abc %q %5z 100%");
        assert_eq!(parse("abc %f").unwrap_err().offset, 4);
        assert!(parse("%e %g %a %n").is_err());
        assert_eq!(
            arg_kinds(&parse("%gr %c %s").unwrap()),
            [ArgKind::Int, ArgKind::Char, ArgKind::Str]
        );
    }
}
