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
