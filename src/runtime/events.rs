//! Ring-buffer events: decoding records (a u64 event id, then arguments at the offsets in
//! `Manifest::events`) into printf output and the exit request.

use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

use libbpf_rs::{MapCore, RingBuffer, RingBufferBuilder};

use super::Error;
use crate::artifact::{EventKind, Manifest};
use crate::lang::format::{self, Piece, Value};
use crate::lang::ty::Ty;

/// Decoded output waiting to be written, and the exit flag.
#[derive(Default)]
struct Inner {
    text: Vec<u8>,
    exit: bool,
    lost: u64,
}

/// A parsed printf: its pieces and argument layout.
type Printf = (Vec<Piece>, Vec<(Ty, u32)>);

/// Shared between the ring-buffer callback and the event loop.
pub struct State {
    inner: Rc<RefCell<Inner>>,
    formats: Rc<Vec<Option<Printf>>>,
    kinds: Rc<Vec<EventKind>>,
}

impl State {
    /// Pre-parses every printf format of `meta`.
    pub fn new(meta: &Manifest) -> State {
        let formats = meta
            .events
            .iter()
            .map(|k| match k {
                EventKind::Printf { format, args } => {
                    format::parse(format).ok().map(|p| (p, args.clone()))
                }
                EventKind::Exit => None,
            })
            .collect();
        State {
            inner: Rc::default(),
            formats: Rc::new(formats),
            kinds: Rc::new(meta.events.clone()),
        }
    }

    /// Handles one record.
    fn handle(&self, data: &[u8]) {
        let mut inner = self.inner.borrow_mut();
        let Some(id) = data
            .get(..8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as usize)
        else {
            inner.lost += 1;
            return;
        };
        match self.kinds.get(id) {
            Some(EventKind::Exit) => inner.exit = true,
            Some(EventKind::Printf { .. }) => {
                let Some(Some((pieces, args))) = self.formats.get(id) else {
                    return;
                };
                let values: Vec<Value> = args
                    .iter()
                    .map(|(ty, off)| {
                        let at = data.get(*off as usize..).unwrap_or(&[]);
                        match ty {
                            Ty::Str { len } => {
                                Value::Str(at[..(*len as usize).min(at.len())].to_vec())
                            }
                            t => {
                                let mut raw = [0u8; 8];
                                let n = (t.size() as usize).min(8).min(at.len());
                                raw[..n].copy_from_slice(&at[..n]);
                                Value::Int {
                                    bits: u64::from_le_bytes(raw),
                                    signed: t.is_signed(),
                                }
                            }
                        }
                    })
                    .collect();
                inner
                    .text
                    .extend_from_slice(format::render(pieces, &values).as_bytes());
            }
            None => inner.lost += 1,
        }
    }

    /// Writes pending output.
    pub fn flush_into(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let mut inner = self.inner.borrow_mut();
        if !inner.text.is_empty() {
            out.write_all(&inner.text)?;
            inner.text.clear();
            out.flush()?;
        }
        Ok(())
    }

    /// True once an `exit()` event arrived.
    pub fn exit_requested(&self) -> bool {
        self.inner.borrow().exit
    }

    /// Records that could not be decoded.
    pub fn lost(&self) -> u64 {
        self.inner.borrow().lost
    }

    fn clone_handle(&self) -> State {
        State {
            inner: self.inner.clone(),
            formats: self.formats.clone(),
            kinds: self.kinds.clone(),
        }
    }
}

/// A ring buffer on `map` feeding `state`.
pub fn ring_buffer<'a>(map: &'a dyn MapCore, state: &State) -> Result<RingBuffer<'a>, Error> {
    let handle = state.clone_handle();
    let mut builder = RingBufferBuilder::new();
    builder
        .add(map, move |data: &[u8]| {
            handle.handle(data);
            0
        })
        .map_err(|e| Error::Other(format!("ring buffer: {e}")))?;
    builder
        .build()
        .map_err(|e| Error::Other(format!("ring buffer: {e}")))
}
