//! `strftime(3)` formats as `time(fmt)` takes them: which conversions exist, checked when
//! the program is compiled (the formatting itself happens in the runtime, with libc).
//! bpftrace's extension `%f` (microseconds, zero-padded to six digits) is accepted too.

/// The conversions of glibc's `strftime` (after `%`, optionally behind `E` or `O`).
const CONVERSIONS: &str = "aAbBcCdDeFgGhHIjklmMnOprRsStTuUVwWxXyYzZ%+";

/// The default format of `time()`.
pub const DEFAULT: &str = "%H:%M:%S\n";

/// The byte offset and character of the first conversion `strftime` does not know, if
/// any (a `%` at the very end is one too).
pub fn unknown_conversion(fmt: &str) -> Option<(usize, char)> {
    let mut chars = fmt.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '%' {
            continue;
        }
        // Flags and a width, as glibc allows: `%-d`, `%_5H`, `%010s`.
        let mut next = chars.next();
        while let Some((_, f)) = next
            && (matches!(f, '_' | '-' | '0' | '^' | '#') || f.is_ascii_digit())
        {
            next = chars.next();
        }
        if let Some((_, 'E' | 'O')) = next {
            next = chars.next();
        }
        match next {
            Some((_, k)) if CONVERSIONS.contains(k) || k == 'f' => {}
            Some((_, k)) => return Some((i, k)),
            None => return Some((i, '%')),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_are_checked() {
        assert_eq!(unknown_conversion(DEFAULT), None);
        assert_eq!(unknown_conversion("%Y-%m-%d %H:%M:%S.%f %%"), None);
        assert_eq!(unknown_conversion("%-d %_5H %Ey %Od"), None);
        assert_eq!(unknown_conversion("at %Q"), Some((3, 'Q')));
        assert_eq!(unknown_conversion("100%"), Some((3, '%')));
        assert_eq!(unknown_conversion("no conversions"), None);
    }
}
