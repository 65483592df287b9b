//! The USDT provider against the fake host: specs, argument specs, wildcards, `-p`,
//! listing and every error.

use super::*;
use crate::host::KernelFeature;
use crate::host::fake::{Fake, USDT_APP, USDT_COUNTER};
use crate::probe::registry;

/// The fake machine with a `-p` process that maps the fake app and a library without
/// USDT probes.
struct WithPid(Option<Vec<String>>);

impl Host for WithPid {
    fn check(&self, f: KernelFeature) -> Result<(), String> {
        Fake.check(f)
    }
    fn tracepoint_format(&self, c: &str, n: &str) -> Option<crate::host::TracepointFormat> {
        Fake.tracepoint_format(c, n)
    }
    fn tracepoints(&self) -> Vec<(String, String)> {
        Fake.tracepoints()
    }
    fn usdt_probes(&self, path: &str) -> Result<UsdtBinary, String> {
        match path {
            "/lib/libplain.so" => Ok(UsdtBinary {
                path: path.into(),
                probes: Vec::new(),
            }),
            _ => Fake.usdt_probes(path),
        }
    }
    fn binary_symbol(&self, path: &str, name: &str) -> Result<Option<(u64, u64)>, String> {
        Fake.binary_symbol(path, name)
    }
    fn traced_pid(&self) -> Option<u32> {
        Some(42)
    }
    fn mapped_objects(&self, pid: u32) -> Result<Vec<String>, String> {
        self.0
            .clone()
            .ok_or_else(|| format!("cannot read /proc/{pid}/maps: No such file or directory"))
    }
}

fn mapping() -> WithPid {
    WithPid(Some(vec![
        USDT_APP.into(),
        "/lib/libplain.so".into(),
        "/lib/gone.so".into(),
    ]))
}

fn displays(points: &[Point]) -> Vec<String> {
    points.iter().map(|p| p.display.clone()).collect()
}

#[test]
fn specs() {
    let spec = |b: Option<&str>, p: &str, n: &str| Spec {
        binary: b.map(String::from),
        provider: p.into(),
        name: n.into(),
    };
    assert_eq!(
        parse("/bin/app:prov:name", false),
        Ok(spec(Some("/bin/app"), "prov", "name"))
    );
    assert_eq!(parse("app:name", false), Ok(spec(Some("app"), "*", "name")));
    assert_eq!(
        parse("app::name", false),
        Ok(spec(Some("app"), "*", "name"))
    );
    assert_eq!(parse("*:p:n", false), Ok(spec(None, "p", "n")));
    assert_eq!(parse(":p:n", true), Ok(spec(None, "p", "n")));
    assert_eq!(parse("name", true), Ok(spec(None, "*", "name")));
    assert!(parse("name", false).is_err());
    assert!(parse("a:b:c:d", false).is_err());
    assert!(parse("app:p:", false).is_err());
}

#[test]
fn argument_specs() {
    let sym = |n: &str| (n == "counter").then_some(0x4040);
    let arg = |s: &str| parse_arg(s, 0x1000, &sym);
    let ok = |size, signed, loc| Ok(UsdtArg { size, signed, loc });
    let reg = |off, shift| UsdtLoc::Reg { off, shift };
    assert_eq!(arg("-4@%eax"), ok(4, true, reg(80, 0)));
    assert_eq!(arg("8@%rdi"), ok(8, false, reg(112, 0)));
    assert_eq!(arg("1@%al"), ok(1, false, reg(80, 0)));
    assert_eq!(arg("-1@%ah"), ok(1, true, reg(80, 8)));
    assert_eq!(arg("-2@%r10w"), ok(2, true, reg(56, 0)));
    assert_eq!(arg("-4@$5"), ok(4, true, UsdtLoc::Const(5)));
    assert_eq!(arg("8@$-16"), ok(8, false, UsdtLoc::Const(-16)));
    assert_eq!(arg("2@$0x10"), ok(2, false, UsdtLoc::Const(16)));
    let mem = |base, index, disp| UsdtLoc::Mem { base, index, disp };
    assert_eq!(arg("8@-16(%rbp)"), ok(8, false, mem(Some(32), None, -16)));
    assert_eq!(arg("-4@(%rsp)"), ok(4, true, mem(Some(152), None, 0)));
    assert_eq!(
        arg("4@8(%rax,%rdx,4)"),
        ok(4, false, mem(Some(80), Some((96, 4)), 8))
    );
    assert_eq!(
        arg("-4@-72(%rsp,%rax,4)"),
        ok(4, true, mem(Some(152), Some((80, 4)), -72))
    );
    assert_eq!(
        arg("8@(,%rcx,8)"),
        ok(8, false, mem(None, Some((88, 8)), 0))
    );
    assert_eq!(
        arg("1@(%rax,%rbx)"),
        ok(1, false, mem(Some(80), Some((40, 1)), 0))
    );
    // A global through %rip: its distance from the probe's instruction.
    assert_eq!(
        arg("8@counter(%rip)"),
        ok(8, false, mem(Some(128), None, 0x3040))
    );
    assert_eq!(
        arg("-4@counter+8(%rip)"),
        ok(4, true, mem(Some(128), None, 0x3048))
    );
    assert_eq!(
        arg("8@0x20(%rip)"),
        ok(8, false, mem(Some(128), None, 0x20))
    );
    assert_eq!(arg("4@0x601040"), ok(4, false, mem(None, None, 0x601040)));
    // No size: eight unsigned bytes.
    assert_eq!(arg("%rsi"), ok(8, false, reg(104, 0)));
    for bad in [
        "3@%eax",
        "-16@%eax",
        "x@%eax",
        "4@%xmm0",
        "4@$x",
        "4@8(%eax)",
        "4@8(%rax,%rdx,3)",
        "4@8(%rax",
        "4@nosuch(%rip)",
        "4@sym(%rax)",
        "4@(%rax,%rbx,4,5)",
        "4@rax",
        "",
    ] {
        assert!(arg(bad).is_err(), "{bad}");
    }
}

#[test]
fn expands_to_every_site_with_its_arguments() {
    let points = registry::resolve("usdt:app:app:*", &Fake).unwrap();
    assert_eq!(
        displays(&points),
        [
            "usdt:/opt/fake/app:app:ready",
            "usdt:/opt/fake/app:app:request",
            "usdt:/opt/fake/app:app:request",
            "usdt:/opt/fake/app:app:start",
        ]
    );
    let target = |p: &Point| match &p.target {
        Target::Uprobe {
            path,
            offset,
            ret,
            ref_ctr,
        } => (path.clone(), *offset, *ret, *ref_ctr),
        t => panic!("{t:?}"),
    };
    assert_eq!(
        target(&points[0]),
        (USDT_APP.into(), 0x11b0, false, Some(0x3010))
    );
    assert_eq!(target(&points[1]).1, 0x1150);
    assert_eq!(target(&points[2]).1, 0x1190);
    assert_eq!(target(&points[3]).3, None);
    // Each site reads its own arguments.
    let c = &points[2].context;
    assert!(c.args_complete && c.fields.is_none() && c.func.is_none());
    assert_eq!(c.space, AddrSpace::User);
    assert_eq!(
        c.args,
        [
            Access::Usdt(UsdtArg {
                size: 8,
                signed: false,
                loc: UsdtLoc::Reg { off: 80, shift: 0 }
            }),
            Access::Usdt(UsdtArg {
                size: 4,
                signed: true,
                loc: UsdtLoc::Const(6)
            }),
        ]
    );
    assert_eq!(c.args[1].arg_ty(), crate::lang::ty::Ty::I64);
    assert_eq!(c.args[0].arg_ty(), crate::lang::ty::Ty::U64);
    assert!(points[3].context.args.len() == 2 && points[0].context.args.is_empty());
    // The alias, a name without provider, and the symbol of a %rip argument.
    let q = registry::resolve("U:/opt/fake/app:query", &Fake).unwrap();
    assert_eq!(displays(&q), ["usdt:/opt/fake/app:lib:query"]);
    assert_eq!(
        q[0].context.args[2],
        Access::Usdt(UsdtArg {
            size: 8,
            signed: false,
            loc: UsdtLoc::Mem {
                base: Some(128),
                index: None,
                disp: (USDT_COUNTER - 0x11d0) as i64
            }
        })
    );
    assert!(q[0].context.args[1].reads_memory() && !q[0].context.args[0].reads_memory());
    // An argument scry cannot read is kept, as unreadable, so the others still work.
    let odd = registry::resolve("usdt:app:lib:odd", &Fake).unwrap();
    assert_eq!(odd[0].context.args[0], Access::Usdt(UNREADABLE));
    assert_eq!(odd[0].context.args.len(), 2);
    // Wildcards over providers and names.
    let all = registry::resolve("usdt:app:*:*e*", &Fake).unwrap();
    assert_eq!(all.len(), 4);
}

#[test]
fn every_object_of_the_process() {
    let host = mapping();
    let points = registry::resolve("usdt:*:lib:*", &host).unwrap();
    assert_eq!(
        displays(&points),
        ["usdt:/opt/fake/app:lib:odd", "usdt:/opt/fake/app:lib:query"]
    );
    // With -p the binary may be left out, or be a wildcard over the objects.
    assert_eq!(registry::resolve("usdt:start", &host).unwrap().len(), 1);
    assert_eq!(
        registry::resolve("usdt::app:request", &host).unwrap().len(),
        2
    );
    assert_eq!(
        registry::resolve("usdt:/opt/*:ready", &host).unwrap().len(),
        1
    );
    let e = registry::resolve("usdt:/lib/*:ready", &host).unwrap_err();
    assert_eq!(e.code, "E0201");
    assert!(e.message.contains("none has USDT probes"), "{}", e.message);
    let e = registry::resolve("usdt:*:nope", &WithPid(None)).unwrap_err();
    assert_eq!(e.code, "E0214");
    assert!(e.message.contains("process 42"), "{}", e.message);
}

#[test]
fn errors() {
    let code = |spec: &str| registry::resolve(spec, &Fake).unwrap_err();
    let e = code("usdt:*:app:start");
    assert_eq!(e.code, "E0211");
    assert!(e.help.contains("-p PID"), "{}", e.help);
    assert_eq!(code("usdt::app:start").code, "E0211");
    assert_eq!(code("usdt:start").code, "E0202");
    assert_eq!(code("usdt:/no/such:p:n").code, "E0206");
    let e = code("usdt:app:app:strat");
    assert_eq!(e.code, "E0201");
    assert!(e.help.contains("`app:start`"), "{}", e.help);
    assert!(
        e.help.contains("scry -l 'usdt:/opt/fake/app:*'"),
        "{}",
        e.help
    );
    let e = code("usdt:app:reqest");
    assert!(
        e.help.starts_with("did you mean `app:request`?"),
        "{}",
        e.help
    );
    let e = registry::resolve("usdt:/lib/libplain.so:p:n", &mapping()).unwrap_err();
    assert_eq!(e.code, "E0212");
}

#[test]
fn a_kernel_without_uprobes() {
    struct NoUprobes;
    impl Host for NoUprobes {
        fn check(&self, f: KernelFeature) -> Result<(), String> {
            Err(format!("{f:?} missing"))
        }
        fn tracepoint_format(&self, _: &str, _: &str) -> Option<crate::host::TracepointFormat> {
            None
        }
        fn tracepoints(&self) -> Vec<(String, String)> {
            Vec::new()
        }
    }
    let e = registry::resolve("usdt:app:app:start", &NoUprobes).unwrap_err();
    assert_eq!(e.code, "E0204");
    assert!(e.message.contains("Uprobes missing"), "{}", e.message);
}

#[test]
fn listing() {
    assert_eq!(
        list("usdt:app:*", &Fake).unwrap(),
        [
            "usdt:/opt/fake/app:app:ready",
            "usdt:/opt/fake/app:app:request",
            "usdt:/opt/fake/app:app:start",
            "usdt:/opt/fake/app:lib:odd",
            "usdt:/opt/fake/app:lib:query",
        ]
    );
    assert_eq!(list("usdt:app", &Fake).unwrap().len(), 5);
    assert_eq!(
        list("usdt:app:lib:q*", &Fake).unwrap(),
        ["usdt:/opt/fake/app:lib:query"]
    );
    assert_eq!(list("usdt:*", &mapping()).unwrap().len(), 5);
    assert_eq!(list("usdt:*:app:*", &mapping()).unwrap().len(), 3);
    assert_eq!(list("usdt:*", &Fake).unwrap_err().code, "E0211");
    assert_eq!(list("usdt:app:x:y:z", &Fake).unwrap_err().code, "E0202");
    // A pattern that matches nothing lists nothing.
    assert_eq!(list("usdt:app:none", &Fake).unwrap(), Vec::<String>::new());
}

#[test]
fn distances() {
    assert_eq!(edit_distance("", ""), 0);
    assert_eq!(edit_distance("start", "strat"), 2);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(edit_distance("a", ""), 1);
}
