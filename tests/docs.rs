//! docs/language.md lists every builtin, function and probe type the code knows.

use scry::sema::builtins::BUILTINS;
use scry::sema::functions::{FUNCTIONS, Kind};

fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/language.md")).unwrap()
}

#[test]
fn every_builtin_and_function_is_documented() {
    let doc = doc();
    for b in BUILTINS {
        assert!(
            doc.contains(&format!("| `{}` |", b.name)),
            "builtin {} undocumented",
            b.name
        );
    }
    for f in FUNCTIONS {
        let kind = match f.kind {
            Kind::Value => "value",
            Kind::Statement => "statement",
            Kind::Aggregation => "aggregation",
        };
        let row = format!("| `{}` | {kind} | {} |", f.signature, f.available);
        assert!(
            doc.contains(&row),
            "function {} undocumented (want a row starting `{row}`)",
            f.name,
        );
    }
}

#[test]
fn every_probe_type_is_documented() {
    let doc = doc();
    for p in scry::probe::registry::providers() {
        let kind = p.name();
        assert!(
            doc.contains(&format!("| `{kind}")),
            "probe {kind} undocumented"
        );
        for alias in p.aliases() {
            assert!(
                doc.contains(&format!("`{alias}`")),
                "alias {alias} undocumented"
            );
        }
    }
}

/// The `"E0123"` string literals in the source files under `dir`, recursively.
fn codes_in(dir: &std::path::Path, out: &mut std::collections::BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            codes_in(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, _) in text.match_indices("\"E0") {
                let code = &text[i + 1..];
                let digits = code[1..].bytes().take_while(u8::is_ascii_digit).count();
                if digits == 4 && code.as_bytes().get(5) == Some(&b'"') {
                    out.insert(code[..5].to_string());
                }
            }
        }
    }
}

#[test]
fn every_diagnostic_code_has_one_row_and_every_row_a_use() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let table = std::fs::read_to_string(root.join("docs/diagnostics.md")).unwrap();
    let mut rows = std::collections::BTreeMap::<String, usize>::new();
    for line in table.lines() {
        if let Some(code) = line
            .strip_prefix("| E")
            .and_then(|l| l.split(' ').next())
            .filter(|c| c.len() == 4 && c.bytes().all(|b| b.is_ascii_digit()))
        {
            *rows.entry(format!("E{code}")).or_default() += 1;
        }
    }
    let mut used = std::collections::BTreeSet::new();
    codes_in(&root.join("src"), &mut used);
    for code in &used {
        assert_eq!(
            rows.get(code),
            Some(&1),
            "{code} is used in src/ but has no single row in docs/diagnostics.md"
        );
    }
    for code in rows.keys() {
        assert!(
            used.contains(code),
            "{code} is in docs/diagnostics.md but no source file uses it"
        );
    }
}
