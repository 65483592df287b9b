//! Tracepoints: spec parsing and the `format` file layout.

/// One field of a tracepoint's context record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TpField {
    /// Field name, e.g. `filename`.
    pub name: String,
    /// C type as written in the format file, e.g. `const char *`, `__data_loc char[]`.
    pub c_type: String,
    /// Byte offset in the context.
    pub offset: u32,
    /// Byte size.
    pub size: u32,
    /// Signedness flag from the format file.
    pub signed: bool,
    /// The declaration as the format file writes it (`const char * filename`), which
    /// `-lv` shows.
    pub decl: String,
}

/// The fields of a tracepoint (common fields excluded).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TracepointFormat {
    /// Fields in format-file order.
    pub fields: Vec<TpField>,
}

/// Parses a tracefs `format` file; `common_*` fields are left out.
pub fn parse_format(text: &str) -> Option<TracepointFormat> {
    let mut fields = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("field:") else {
            continue;
        };
        let mut decl = None;
        let mut offset = None;
        let mut size = None;
        let mut signed = false;
        for part in rest.split(';').map(str::trim) {
            if let Some(v) = part.strip_prefix("offset:") {
                offset = v.parse().ok();
            } else if let Some(v) = part.strip_prefix("size:") {
                size = v.parse().ok();
            } else if let Some(v) = part.strip_prefix("signed:") {
                signed = v == "1";
            } else if decl.is_none() && !part.is_empty() {
                decl = Some(part);
            }
        }
        let decl = decl?;
        // `const char * filename`, `char comm[16]`, `__data_loc char[] name`.
        let (head, array) = match decl.strip_suffix(']').and_then(|d| d.rfind('[')) {
            Some(open) => (&decl[..open], &decl[open..]),
            None => (decl, ""),
        };
        let head = head.trim_end();
        let name_start = head.rfind(|c: char| !(c.is_alphanumeric() || c == '_'))? + 1;
        let name = head[name_start..].to_string();
        let c_type = format!("{}{}", head[..name_start].trim(), array);
        if name.starts_with("common_") {
            continue;
        }
        fields.push(TpField {
            name,
            c_type,
            offset: offset?,
            size: size?,
            signed,
            decl: decl.to_string(),
        });
    }
    Some(TracepointFormat { fields })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENAT: &str = "name: sys_enter_openat
ID: 640
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:char comm[16];\toffset:32;\tsize:16;\tsigned:0;
\tfield:__data_loc char[] name;\toffset:48;\tsize:4;\tsigned:0;

print fmt: \"dfd: 0x%08lx\"
";

    #[test]
    fn parses_fields() {
        let f = parse_format(OPENAT).unwrap();
        let names: Vec<_> = f
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.c_type.as_str(), f.offset, f.size))
            .collect();
        assert_eq!(
            names,
            [
                ("__syscall_nr", "int", 8, 4),
                ("dfd", "int", 16, 8),
                ("filename", "const char *", 24, 8),
                ("comm", "char[16]", 32, 16),
                ("name", "__data_loc char[]", 48, 4),
            ]
        );
        assert!(f.fields[0].signed);
        assert_eq!(f.fields[2].decl, "const char * filename");
        assert_eq!(f.fields[4].decl, "__data_loc char[] name");
    }
}
