//! The object scry writes loads through libbpf on the real kernel: BTF-defined maps with
//! the right types and sizes, relocated map loads, every program type scry emits.

use libbpf_rs::MapCore;
use scry::codegen;
use scry::diag::Span;
use scry::lang::agg::ValueKind;
use scry::lang::ty::Ty;
use scry::probe::{Cpus, RunAt, Sample, Target};
use scry::sema::hir::{self, Builtin, ExprKind, MapOp, StmtKind};

fn e(kind: ExprKind, ty: Ty) -> hir::Expr {
    hir::Expr {
        kind,
        ty,
        span: Span::default(),
    }
}

fn stmt(kind: StmtKind) -> hir::Stmt {
    hir::Stmt {
        kind,
        span: Span::default(),
    }
}

fn program() -> hir::Program {
    let comm = e(ExprKind::Builtin(Builtin::Comm), Ty::Str { len: 16 });
    let pid = e(
        ExprKind::Builtin(Builtin::Pid),
        Ty::Int {
            bits: 32,
            signed: false,
        },
    );
    let body = vec![
        stmt(StmtKind::MapUpdate {
            map: 0,
            keys: vec![comm.clone()],
            op: MapOp::Count,
        }),
        stmt(StmtKind::MapUpdate {
            map: 1,
            keys: vec![],
            op: MapOp::Sum(pid.clone()),
        }),
        stmt(StmtKind::MapUpdate {
            map: 2,
            keys: vec![pid.clone(), comm.clone()],
            op: MapOp::Assign(pid.clone()),
        }),
        stmt(StmtKind::Printf {
            event: 0,
            args: vec![pid.clone(), comm.clone()],
        }),
        stmt(StmtKind::Exit(None)),
    ];
    let probe = |target: Target, tag: &'static str| hir::Probe {
        points: vec![hir::PointInfo {
            target: target.clone(),
            display: "test".into(),
            func: None,
        }],
        target,
        tag,
        display: "test".into(),
        predicate: None,
        body: body.clone(),
        vars: vec![],
        span: Span::default(),
        multi_link: false,
    };
    hir::Program {
        probes: vec![
            probe(Target::TestRun(RunAt::Begin), "begin"),
            probe(
                Target::Tracepoint {
                    category: "syscalls".into(),
                    name: "sys_enter_getpid".into(),
                },
                "tp",
            ),
            probe(
                Target::PerfEvent {
                    type_: 1,
                    config: 0,
                    sample: Sample::Period(1_000_000),
                    cpus: Cpus::First,
                    follow_pid: false,
                },
                "interval",
            ),
        ],
        maps: vec![
            hir::Map {
                name: "@".into(),
                keys: vec![Ty::Str { len: 16 }],
                value: ValueKind::Count,
                span: Span::default(),
            },
            hir::Map {
                name: "@s".into(),
                keys: vec![],
                value: ValueKind::Sum { signed: false },
                span: Span::default(),
            },
            hir::Map {
                name: "@last".into(),
                keys: vec![Ty::U64, Ty::Str { len: 16 }],
                value: ValueKind::Scalar(Ty::U64),
                span: Span::default(),
            },
        ],
        printfs: vec![(
            scry::sema::hir::Render::Printf("%d %s\n".into()),
            vec![Ty::U64, Ty::Str { len: 16 }],
        )],
        tables: vec![],
        max_map_keys: 4096,
        possible_cpus: 1,
        filter_pid: None,
        notes: Vec::new(),
        warnings: Vec::new(),
    }
}

#[test]
fn object_loads_with_maps_of_the_right_shape() {
    let bytes = codegen::lower(&program())
        .expect("lowers")
        .artifact()
        .object;
    let mut builder = libbpf_rs::ObjectBuilder::default();
    let open = builder
        .open_memory(&bytes)
        .expect("libbpf opens the object");
    let obj = match open.load() {
        Ok(o) => o,
        Err(e) => panic!("load failed: {e}"),
    };
    let shapes: Vec<(String, u32, u32)> = obj
        .maps()
        .map(|m| {
            (
                m.name().to_string_lossy().into_owned(),
                m.key_size(),
                m.value_size(),
            )
        })
        .collect();
    assert_eq!(
        shapes,
        [
            ("m0_".to_string(), 16, 8),
            ("m1_s".to_string(), 8, 8),
            ("m2_last".to_string(), 24, 8),
            ("events".to_string(), 0, 0),
            ("lost".to_string(), 4, 8),
            ("exit_flag".to_string(), 4, 8),
            ("update_errors".to_string(), 4, 8),
        ]
    );
    let types: Vec<_> = obj.maps().map(|m| m.map_type()).collect();
    use libbpf_rs::MapType;
    assert_eq!(
        types,
        [
            MapType::PercpuHash,
            MapType::PercpuHash,
            MapType::Hash,
            MapType::RingBuf,
            MapType::PercpuArray,
            MapType::Array,
            MapType::PercpuArray
        ]
    );
    assert_eq!(obj.progs().count(), 3);
}

/// A program calling a subprogram: IR with `CallFunc`/`Param`/`Return(value)`, register
/// allocation per function, the subprogram in `.text` with a call relocation, loaded and
/// run by the kernel. `f(x, y) = x * 2 + y` called as `f(20, 1) + f(0, 100)` = 141.
#[test]
fn subprograms_are_called_and_return_values() {
    use scry::bpf::Alu;
    use scry::codegen::ir::{Op, Src, VReg};
    use scry::codegen::regalloc;
    use scry::object::module::{Func, Module, Prog, ProgKind};
    let v = VReg;
    let f = vec![
        Op::Param {
            dst: v(1),
            index: 0,
        },
        Op::Param {
            dst: v(2),
            index: 1,
        },
        Op::Alu {
            op: Alu::Mul,
            dst: v(1),
            src: Src::Imm(2),
            signed: false,
        },
        Op::Alu {
            op: Alu::Add,
            dst: v(1),
            src: Src::V(v(2)),
            signed: false,
        },
        Op::Return(Src::V(v(1))),
    ];
    let main = vec![
        Op::CallFunc {
            func: 0,
            args: vec![
                scry::codegen::ir::Arg::Imm(20),
                scry::codegen::ir::Arg::Imm(1),
            ],
            ret: Some(v(1)),
        },
        Op::CallFunc {
            func: 0,
            args: vec![
                scry::codegen::ir::Arg::Imm(0),
                scry::codegen::ir::Arg::Imm(100),
            ],
            ret: Some(v(2)),
        },
        Op::Alu {
            op: Alu::Add,
            dst: v(1),
            src: Src::V(v(2)),
            signed: false,
        },
        Op::Return(Src::V(v(1))),
    ];
    let ef = regalloc::emit(&f, 0);
    let em = regalloc::emit(&main, 0);
    assert_eq!(em.calls.len(), 2);
    let module = Module {
        maps: vec![],
        funcs: vec![Func {
            name: "twice_plus".into(),
            params: 2,
            insns: ef.insns,
            map_relocs: ef.map_relocs,
            calls: ef.calls,
            func_addrs: ef.func_addrs,
        }],
        progs: vec![Prog {
            section: "raw_tp".into(),
            name: "calls_func".into(),
            kind: ProgKind::RawTracepoint,
            insns: em.insns,
            map_relocs: em.map_relocs,
            calls: em.calls,
            func_addrs: em.func_addrs,
            source_map: vec![],
        }],
    };
    let bytes = scry::object::elf::write(&module);
    let mut builder = libbpf_rs::ObjectBuilder::default();
    let open = builder
        .open_memory(&bytes)
        .expect("libbpf opens the object");
    let obj = open.load().unwrap_or_else(|e| panic!("load failed: {e}"));
    let prog = obj.progs_mut().next().expect("one entry program");
    assert_eq!(prog.name().to_string_lossy(), "calls_func");
    let mut ctx = [0u8; 8];
    let out = prog
        .test_run(libbpf_rs::ProgramInput {
            context_in: Some(&mut ctx),
            ..Default::default()
        })
        .expect("test run");
    assert_eq!(out.return_value, 141);
}
