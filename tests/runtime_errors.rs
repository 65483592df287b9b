//! Runtime failures on the real kernel: a verifier rejection names the failing
//! instruction (which maps back to a source span), and a failed attach names the probe
//! and leaves nothing attached or loaded.

use scry::artifact::{Artifact, Manifest, ProbeAttach, ProgramInfo};
use scry::bpf::{Insn, Reg};
use scry::diag::Span;
use scry::object::elf;
use scry::object::module::{Module, Prog, ProgKind};
use scry::output::text::Text;
use scry::probe::{RunAt, Target};
use scry::runtime::{Error, RunOptions, run_with_output};

/// The artifact of a hand-written module with these attachments.
fn artifact(module: &Module, probes: Vec<ProbeAttach>) -> Artifact {
    Artifact {
        object: elf::write(module),
        manifest: Manifest {
            programs: module
                .progs
                .iter()
                .map(|p| ProgramInfo {
                    name: p.name.clone(),
                    source_map: p.source_map.clone(),
                    loops: vec![],
                    multi: false,
                })
                .collect(),
            probes,
            ..Manifest::default()
        },
    }
}

fn prog(name: &str, section: &str, kind: ProgKind, insns: Vec<Insn>) -> Prog {
    Prog {
        section: section.into(),
        name: name.into(),
        kind,
        insns,
        map_relocs: vec![],
        calls: vec![],
        func_addrs: vec![],
        source_map: vec![(0, Span::new(0, 5)), (2, Span::new(6, 20))],
    }
}

fn return_zero() -> Vec<Insn> {
    vec![Insn::mov64_imm(Reg::R0, 0), Insn::exit()]
}

#[test]
fn verifier_rejection_names_the_instruction() {
    // Passes an integer where a map is expected: the verifier refuses instruction 2.
    let insns = vec![
        Insn::mov64_imm(Reg::R1, 0),
        Insn::mov64_reg(Reg::R2, Reg::R10),
        Insn::call(scry::bpf::insn::helper::MAP_LOOKUP_ELEM),
        Insn::mov64_imm(Reg::R0, 0),
        Insn::exit(),
    ];
    let module = Module {
        maps: vec![],
        funcs: vec![],
        progs: vec![prog("bad_stack", "raw_tp", ProgKind::RawTracepoint, insns)],
    };
    let art = artifact(
        &module,
        vec![ProbeAttach {
            prog: 0,
            target: Target::TestRun(RunAt::Begin),
            display: "BEGIN".into(),
            internal: false,
            cookie: 0,
        }],
    );
    let (mut out, mut errs) = (Vec::new(), Vec::new());
    let err = run_with_output(
        &art,
        RunOptions::default(),
        &mut Text::new(&mut out, &mut errs),
    )
    .unwrap_err();
    let Error::Load { prog, insn, log } = err else {
        panic!("expected a load error, got {err}")
    };
    assert_eq!(prog, "bad_stack");
    assert_eq!(insn, Some(2), "log:\n{log}");
    assert!(log.contains("expected=map_ptr"), "{log}");
    assert_eq!(art.manifest.programs[0].span_of(2), Some(Span::new(6, 20)));
    assert!(out.is_empty(), "nothing runs after a failed load");
}

#[test]
fn failed_attach_names_the_probe_and_detaches_everything() {
    let module = Module {
        maps: vec![],
        funcs: vec![],
        progs: vec![
            prog(
                "attach_ok_tp",
                "tracepoint/syscalls/sys_enter_getpid",
                ProgKind::Tracepoint,
                return_zero(),
            ),
            prog(
                "attach_bad_tp",
                "tracepoint/syscalls/sys_enter_nope",
                ProgKind::Tracepoint,
                return_zero(),
            ),
        ],
    };
    let tp = |name: &str| Target::Tracepoint {
        category: "syscalls".into(),
        name: name.into(),
    };
    let art = artifact(
        &module,
        vec![
            ProbeAttach {
                prog: 0,
                target: tp("sys_enter_getpid"),
                display: "tracepoint:syscalls:sys_enter_getpid".into(),
                internal: false,
                cookie: 0,
            },
            ProbeAttach {
                prog: 1,
                target: tp("sys_enter_nope"),
                display: "tracepoint:syscalls:sys_enter_nope".into(),
                internal: false,
                cookie: 0,
            },
        ],
    );
    let (mut out, mut errs) = (Vec::new(), Vec::new());
    let err = run_with_output(
        &art,
        RunOptions::default(),
        &mut Text::new(&mut out, &mut errs),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Attach { .. }), "{text}");
    assert!(
        text.contains("tracepoint:syscalls:sys_enter_nope"),
        "{text}"
    );
    // Everything was dropped: no program of this object is still loaded.
    let listing = std::process::Command::new("bpftool")
        .args(["prog", "show"])
        .output()
        .expect("bpftool runs");
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        !listing.contains("attach_ok_tp"),
        "still loaded:\n{listing}"
    );
}
