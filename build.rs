//! Generates the parser from src/parser/grammar.lalrpop into OUT_DIR, and compiles the
//! workload example's USDT probes (examples/workload_usdt*.c, with systemtap's
//! sys/sdt.h): objects linked into the examples only, and a shared library the workload
//! loads (its path in `SCRY_WORKLOAD_USDT_LIB`).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    lalrpop::Configuration::new()
        .use_cargo_dir_conventions()
        .process()
        .expect("lalrpop grammar compiles");
    println!("cargo:rerun-if-changed=src/parser/grammar.lalrpop");
    usdt_objects();
}

/// Compiles the workload's USDT probes with the system C compiler (`$CC`, else `cc`).
/// Without sys/sdt.h (Debian's systemtap-sdt-dev, which tools/deps.sh installs) the
/// workload is built without them and says so when asked to fire them.
fn usdt_objects() {
    println!("cargo::rustc-check-cfg=cfg(scry_workload_usdt)");
    println!("cargo:rerun-if-env-changed=CC");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let mut objects = Vec::new();
    for name in ["workload_usdt", "workload_usdt_guarded"] {
        let src = format!("examples/{name}.c");
        println!("cargo:rerun-if-changed={src}");
        let obj = out.join(format!("{name}.o"));
        let status = Command::new(&cc)
            .args(["-O2", "-fPIE", "-Wall", "-c", &src, "-o"])
            .arg(&obj)
            .status();
        match status {
            Ok(s) if s.success() => objects.push(obj),
            other => {
                println!(
                    "cargo:warning=the workload's USDT probes are not built ({src}: {other:?}); tools/deps.sh installs systemtap-sdt-dev"
                );
                return;
            }
        }
    }
    let src = "examples/workload_usdt_lib.c";
    println!("cargo:rerun-if-changed={src}");
    let lib = out.join("libscry_usdt.so");
    let status = Command::new(&cc)
        .args(["-O2", "-fPIC", "-shared", "-Wall", src, "-o"])
        .arg(&lib)
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        println!("cargo:warning=the workload's USDT library is not built ({src}: {status:?})");
        return;
    }
    for obj in objects {
        println!("cargo:rustc-link-arg-examples={}", obj.display());
    }
    println!("cargo:rustc-env=SCRY_WORKLOAD_USDT_LIB={}", lib.display());
    println!("cargo:rustc-cfg=scry_workload_usdt");
}
