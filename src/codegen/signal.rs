//! `signal(sig)` in the kernel: `bpf_send_signal(sig)` (helper 109, Linux 5.3+) to the
//! process of the task the probe interrupted. The helper's result is not checked: the
//! kernel refuses only kernel threads and tasks of other PID namespaces, which a probe
//! cannot do anything about.

use super::ir::{Arg, Op, Src};
use super::lower::Lowerer;
use crate::bpf::insn::helper;
use crate::sema::hir;

impl Lowerer<'_> {
    /// Sends signal `sig` (an integer expression) to the current task's process.
    pub(super) fn signal(&mut self, sig: &hir::Expr) {
        let arg = match self.int(sig) {
            Src::Imm(n) => Arg::Imm(n as i64),
            Src::V(v) => Arg::V(v),
        };
        self.ops.push(Op::Call {
            helper: helper::SEND_SIGNAL,
            args: vec![arg],
            ret: None,
        });
    }
}
