//! Ring-buffer events: the callback only queues raw records; the event loop decodes
//! them (a u64 event id, then arguments at the offsets in `Manifest::events`) into
//! actions — printf text to the output, the exit request — and carries them out in
//! order, where maps and the output are within reach.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use libbpf_rs::{MapCore, RingBuffer, RingBufferBuilder};

use super::Error;
use super::actions;
use crate::artifact::{EventKind, Manifest};
use crate::diag::SourceLocation;
use crate::lang::agg::MapAction;
use crate::lang::format::{self, Piece, Value};
use crate::lang::render::{self, Facts};
use crate::lang::ty::Ty;
use crate::output::Output;

/// Records the ring-buffer callback received, not yet acted on: each a u32 length and
/// the bytes, back to back (one buffer, no allocation per record).
#[derive(Clone, Default)]
pub struct Queue(Rc<RefCell<Vec<u8>>>);

/// Carries out the map actions events ask for (`print(@m)`, `clear(@m)`, `zero(@m)`).
pub trait MapActions {
    /// Does `action` to user map `map`, printing through `out`.
    fn act(&mut self, map: usize, action: MapAction, out: &mut dyn Output) -> io::Result<()>;
}

/// A parsed printf: its pieces and argument layout.
type Printf = (Vec<Piece>, Vec<(Ty, u32)>);

/// What the records asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Keep running.
    Continue,
    /// An `exit()` arrived.
    Exit,
}

/// Turns records into actions.
pub struct Decoder {
    formats: Vec<Option<Printf>>,
    kinds: Vec<EventKind>,
    /// What rendering values in userspace needs to know of the machine.
    facts: Rc<dyn Facts>,
    /// Records that could not be decoded.
    malformed: u64,
    text: Vec<u8>,
    /// Per event: where its `errorf()`/`warnf()` call is (empty without a source).
    locations: Vec<SourceLocation>,
}

impl Decoder {
    /// Pre-parses every printf format of `meta`; `facts` render values such as
    /// `strerror()` and `ntop()`.
    pub fn new(meta: &Manifest, facts: Rc<dyn Facts>) -> Decoder {
        let formats = meta
            .events
            .iter()
            .map(|k| {
                let (format, args) = k.format()?;
                format::parse(format).ok().map(|p| (p, args.to_vec()))
            })
            .collect();
        Decoder {
            formats,
            kinds: meta.events.clone(),
            facts,
            malformed: 0,
            text: Vec::new(),
            locations: Vec::new(),
        }
    }

    /// Locates `errorf()`/`warnf()` calls in the program's `text`, called `file`
    /// (`stdin` for `-e`, as bpftrace names it).
    pub fn with_source(mut self, file: &str, text: &str) -> Decoder {
        self.locations = self
            .kinds
            .iter()
            .map(|k| match k {
                EventKind::Message { span, .. } => SourceLocation::of(file, text, *span),
                _ => SourceLocation::default(),
            })
            .collect();
        self
    }

    /// Records that were malformed (counted as lost).
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Acts on every queued record in order. While tracing (`stop_at_exit`) it stops at
    /// an `exit()`: later records of the batch are dropped, as bpftrace stops reading
    /// there too. The last drain, after END ran, shows everything (END's own output
    /// comes after an `exit()` that may have been seen only through its flag).
    pub fn drain(
        &mut self,
        queue: &Queue,
        out: &mut dyn Output,
        maps: &mut dyn MapActions,
        stop_at_exit: bool,
    ) -> io::Result<Flow> {
        let buf = std::mem::take(&mut *queue.0.borrow_mut());
        let mut at = 0;
        let mut flow = Flow::Continue;
        while at + 4 <= buf.len() {
            let len = u32::from_le_bytes(buf[at..at + 4].try_into().expect("4 bytes")) as usize;
            let rec = &buf[at + 4..(at + 4 + len).min(buf.len())];
            at += 4 + len;
            if self.record(rec, out, maps)? == Flow::Exit {
                flow = Flow::Exit;
                if stop_at_exit {
                    break;
                }
            }
        }
        // Keep the allocation for the next batch.
        let mut b = buf;
        b.clear();
        let mut q = queue.0.borrow_mut();
        if q.is_empty() {
            *q = b;
        }
        Ok(flow)
    }

    fn record(
        &mut self,
        data: &[u8],
        out: &mut dyn Output,
        maps: &mut dyn MapActions,
    ) -> io::Result<Flow> {
        let Some(id) = data
            .get(..8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
        else {
            self.malformed += 1;
            return Ok(Flow::Continue);
        };
        match self.kinds.get(id) {
            Some(EventKind::Exit) => return Ok(Flow::Exit),
            Some(EventKind::Process) => {
                let header = data.get(8..).unwrap_or(&[]);
                let process = crate::lang::render::Process::from_header(header);
                self.facts.remember_process(process);
            }
            Some(EventKind::Map { map, action }) => maps.act(*map, *action, out)?,
            Some(EventKind::Time { format }) => out.time(&wall_clock(format))?,
            Some(EventKind::Join { sep, len }) => {
                let word = |off: usize| {
                    let mut raw = [0u8; 8];
                    if let Some(b) = data.get(off..off + 8) {
                        raw.copy_from_slice(b);
                    }
                    u64::from_le_bytes(raw)
                };
                let count = word(8).min(crate::lang::agg::JOIN_ARGS as u64) as usize;
                let mut text = Vec::new();
                for i in 0..count {
                    let at = 16 + i * *len as usize;
                    let slot = data
                        .get(at..(at + *len as usize).min(data.len()))
                        .unwrap_or(&[]);
                    if i > 0 {
                        text.extend_from_slice(sep);
                    }
                    text.extend_from_slice(&format::string_text(slot));
                }
                out.join(&text)?;
            }
            Some(EventKind::Print { ty, at }) => {
                let bytes = data.get(*at as usize..).unwrap_or(&[]);
                out.value(&crate::lang::value::decode(ty, bytes, &*self.facts))?;
            }
            Some(
                kind @ (EventKind::Printf { .. }
                | EventKind::Message { .. }
                | EventKind::Cat { .. }
                | EventKind::System { .. }),
            ) => {
                let Some(Some((pieces, args))) = self.formats.get(id) else {
                    self.malformed += 1;
                    return Ok(Flow::Continue);
                };
                let values = arguments(pieces, args, data, &*self.facts);
                self.text.clear();
                format::render_into(pieces, &values, &mut self.text);
                match kind {
                    EventKind::Message { error, .. } => {
                        let at = self.locations.get(id).cloned().unwrap_or_default();
                        out.message(*error, &at, &self.text)?;
                    }
                    EventKind::Cat { .. } => match actions::cat(&self.text) {
                        Ok(bytes) => out.cat(&bytes)?,
                        Err(why) => out.action_failed(&why)?,
                    },
                    EventKind::System { .. } => {
                        // What the program printed before comes first; the command's
                        // standard error goes straight to scry's.
                        out.flush()?;
                        let result = actions::system(&self.text);
                        match result {
                            Ok(bytes) => out.syscall(&bytes)?,
                            Err((bytes, why)) => {
                                if !bytes.is_empty() {
                                    out.syscall(&bytes)?;
                                }
                                out.action_failed(&why)?;
                            }
                        }
                    }
                    _ => out.printf(&self.text)?,
                }
            }
            None => self.malformed += 1,
        }
        Ok(Flow::Continue)
    }
}

/// The arguments of a formatted event, decoded from its record: strings and buffers as
/// bytes, integers as their bits, and any other value a `%s` prints as its text.
fn arguments(
    pieces: &[Piece],
    args: &[(Ty, u32)],
    data: &[u8],
    facts: &dyn render::Facts,
) -> Vec<Value> {
    let kinds = format::arg_kinds(pieces);
    args.iter()
        .zip(kinds)
        .map(|((ty, off), kind)| {
            let at = data.get(*off as usize..).unwrap_or(&[]);
            match ty {
                Ty::Str { len } => Value::Str(at[..(*len as usize).min(at.len())].to_vec()),
                Ty::Buf { len } => Value::Buf(crate::lang::value::buffer(*len, at).to_vec()),
                Ty::Rendered(kind) => {
                    // NUL-terminated: the text is whole, never cut.
                    let mut text = render::text(kind, at, facts);
                    text.push(0);
                    Value::Str(text)
                }
                t if kind == format::ArgKind::Str => {
                    Value::Text(crate::lang::value::decode(t, at, facts).to_bytes())
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
        .collect()
}

/// A ring buffer on `map` whose records go to `queue`.
pub fn ring_buffer<'a>(map: &'a dyn MapCore, queue: &Queue) -> Result<RingBuffer<'a>, Error> {
    let q = queue.clone();
    let mut builder = RingBufferBuilder::new();
    builder
        .add(map, move |data: &[u8]| {
            let mut b = q.0.borrow_mut();
            b.extend_from_slice(&(data.len() as u32).to_le_bytes());
            b.extend_from_slice(data);
            0
        })
        .map_err(|e| Error::EventLoop(format!("ring buffer: {e}")))?;
    builder
        .build()
        .map_err(|e| Error::EventLoop(format!("ring buffer: {e}")))
}

/// The wall-clock time now in `strftime(3)`'s `format`, local time (`%f` is
/// microseconds).
fn wall_clock(format: &str) -> Vec<u8> {
    let (secs, nsec) = super::render::now();
    super::render::strftime(format, secs, nsec)
}
