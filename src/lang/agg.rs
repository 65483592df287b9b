//! Aggregations as the language knows them: what a map's value holds, how values merge,
//! and the histogram bucket functions (the reference that BPF code and output agree on).

use super::ty::Ty;

/// What a user map's value holds and how to merge and print it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// `count()`: u64 per CPU, summed.
    Count,
    /// `sum(x)`: 64-bit per CPU, summed.
    Sum {
        /// Print as signed.
        signed: bool,
    },
    /// Plain assignment `@x = v`: one value (not per CPU).
    Scalar(Ty),
    /// `avg(x)`: `{sum, count}` per CPU; printed as the truncated signed mean.
    Avg,
    /// `stats(x)`: `{sum, count}` per CPU; printed as count, average and total.
    Stats,
    /// `min(x)`: `{value, set}` per CPU; the smallest set value, signed.
    Min,
    /// `max(x)`: `{value, set}` per CPU; the largest set value, signed.
    Max,
    /// `hist(x)`: a per-CPU u64 count per power-of-two bucket; the bucket index
    /// ([`hist_bucket`]) is the last key element (or the array index when unkeyed).
    Hist,
    /// `lhist(x, min, max, step)`: like [`ValueKind::Hist`] with linear buckets
    /// ([`Lhist::bucket`]).
    Lhist(Lhist),
}

/// Number of `hist()` buckets: negative, zero, then one per power of two up to 2^63.
pub const HIST_BUCKETS: u32 = 66;

/// The `hist()` bucket of `v`: 0 for negatives, 1 for zero, `2 + log2(v)` otherwise.
pub fn hist_bucket(v: i64) -> u32 {
    match v {
        ..0 => 0,
        0 => 1,
        _ => 2 + 63 - v.leading_zeros(),
    }
}

/// Parameters of a linear histogram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lhist {
    /// Lowest bucketed value.
    pub min: i64,
    /// Values at or above it go to the last bucket.
    pub max: i64,
    /// Bucket width (> 0).
    pub step: i64,
}

impl Lhist {
    /// Buckets: below `min`, one per step (the last one cut at `max`), then `max` and up.
    pub fn buckets(&self) -> u32 {
        ((self.max - self.min + self.step - 1) / self.step) as u32 + 2
    }

    /// The bucket of `v`.
    pub fn bucket(&self, v: i64) -> u32 {
        if v < self.min {
            0
        } else if v >= self.max {
            self.buckets() - 1
        } else {
            ((v - self.min) / self.step) as u32 + 1
        }
    }
}

impl ValueKind {
    /// True when an unkeyed map of these values is a per-CPU array (one slot, or one per
    /// bucket) rather than a hash with one key: a probe cannot remove its entry, only
    /// zero its own CPU's slot.
    pub fn unkeyed_is_array(&self) -> bool {
        !matches!(self, ValueKind::Scalar(_) | ValueKind::Sum { .. })
    }

    /// True for the histogram kinds, whose last key element is the bucket.
    pub fn is_hist(&self) -> bool {
        matches!(self, ValueKind::Hist | ValueKind::Lhist(_))
    }

    /// The integer type a read of one entry gives in the kernel (`(int64)@c`, `@c > 10`),
    /// combined over the CPUs (count/sum added, min/max over the CPUs that set one, avg
    /// the truncated total / count): `None` for a plain value (read as its own type) and
    /// for the kinds bpftrace cannot read either (`stats`, `hist`, `lhist`).
    pub fn read_ty(&self) -> Option<Ty> {
        match self {
            ValueKind::Count | ValueKind::Sum { signed: false } => Some(Ty::U64),
            ValueKind::Sum { signed: true } | ValueKind::Min | ValueKind::Max | ValueKind::Avg => {
                Some(Ty::I64)
            }
            ValueKind::Scalar(_) | ValueKind::Stats | ValueKind::Hist | ValueKind::Lhist(_) => None,
        }
    }

    /// Number of buckets of a histogram kind.
    pub fn hist_buckets(&self) -> Option<u32> {
        match self {
            ValueKind::Hist => Some(HIST_BUCKETS),
            ValueKind::Lhist(l) => Some(l.buckets()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_functions() {
        assert_eq!(hist_bucket(-1), 0);
        assert_eq!(hist_bucket(0), 1);
        assert_eq!(hist_bucket(1), 2);
        assert_eq!(hist_bucket(3), 3);
        assert_eq!(hist_bucket(4), 4);
        assert_eq!(hist_bucket(i64::MAX), 64);
        let l = Lhist {
            min: -10,
            max: 10,
            step: 3,
        };
        assert_eq!(l.buckets(), 9);
        assert_eq!(l.bucket(-11), 0);
        assert_eq!(l.bucket(-10), 1);
        assert_eq!(l.bucket(9), 7);
        assert_eq!(l.bucket(10), 8);
    }
}

/// What a map action statement asks the runtime to do with a map, in order with the
/// other output of the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapAction {
    /// `print(@m[, top[, div]])`: print the map now, as at exit; only the `top` entries
    /// that print last (all when 0), values divided by `div`.
    Print {
        /// How many entries (0: all).
        top: u64,
        /// The divisor of the values (1: as they are).
        div: u64,
    },
    /// `clear(@m)`: remove every entry.
    Clear,
    /// `zero(@m)`: set every value to zero, keeping the keys.
    Zero,
}

/// Most strings `join()` prints (bpftrace's limit too).
pub const JOIN_ARGS: u32 = 16;
