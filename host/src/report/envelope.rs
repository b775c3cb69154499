//! Min/max envelopes: a recording of any length squeezed into one value
//! range per pixel column, one sample at a time.
//!
//! Why min/max rather than a mean or every n-th sample: the bench exists to
//! catch a 1 ms burst in a day of silence. A mean dilutes it into the floor
//! and striding skips it; the column's maximum keeps it at full height, so a
//! single-sample burst still draws as a spike in its column. Memory is a few
//! numbers per column, whatever the recording's length.

/// One pixel column: the extremes of its finite samples and whether any
/// sample in it was lost (NaN).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Column {
    pub min: f32,
    pub max: f32,
    /// Finite samples seen.
    pub samples: u32,
    /// NaN samples seen: samples the shield or the link lost.
    pub lost: u32,
}

impl Column {
    const EMPTY: Column = Column {
        min: f32::INFINITY,
        max: f32::NEG_INFINITY,
        samples: 0,
        lost: 0,
    };

    /// True when the column holds no measured value: drawn as a gap.
    pub fn is_gap(&self) -> bool {
        self.samples == 0
    }
}

/// The envelope of one channel over `[start_t, end_t)` in `columns` columns.
#[derive(Debug, Clone)]
pub struct Envelope {
    start_t: f64,
    /// Columns per second.
    scale: f64,
    columns: Vec<Column>,
}

impl Envelope {
    /// An empty envelope; `end_t` at or before `start_t` is widened to one
    /// second so a zero-length run still maps somewhere.
    pub fn new(start_t: f64, end_t: f64, columns: usize) -> Self {
        let columns = columns.max(1);
        let span = if end_t > start_t && (end_t - start_t).is_finite() {
            end_t - start_t
        } else {
            1.0
        };
        Envelope {
            start_t,
            scale: columns as f64 / span,
            columns: vec![Column::EMPTY; columns],
        }
    }

    /// The column run time `t` falls in; None outside the envelope's span.
    /// A sample exactly at the end goes into the last column, so the final
    /// sample of a run is never dropped by rounding.
    pub fn column_of(&self, t: f64) -> Option<usize> {
        let x = (t - self.start_t) * self.scale;
        // NaN (a NaN time, or an infinite span) and negative: outside.
        if x.is_nan() || x < 0.0 {
            return None;
        }
        let i = x as usize;
        let n = self.columns.len();
        if i < n {
            Some(i)
        } else if x <= n as f64 {
            Some(n - 1)
        } else {
            None
        }
    }

    /// Add one sample at run time `t`. NaN counts as lost; samples outside
    /// the span are ignored.
    pub fn push(&mut self, t: f64, value: f64) {
        if let Some(i) = self.column_of(t) {
            self.push_at(i, value);
        }
    }

    /// Add one sample to column `i` (already computed, so a frame of many
    /// channels maps its time once). Out-of-range `i` is ignored.
    pub fn push_at(&mut self, i: usize, value: f64) {
        let Some(c) = self.columns.get_mut(i) else {
            return;
        };
        if value.is_finite() {
            let v = value as f32;
            c.min = c.min.min(v);
            c.max = c.max.max(v);
            c.samples = c.samples.saturating_add(1);
        } else {
            c.lost = c.lost.saturating_add(1);
        }
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The lowest and highest measured value over the whole envelope; None
    /// when nothing was measured.
    pub fn range(&self) -> Option<(f32, f32)> {
        let mut measured = self.columns.iter().filter(|c| !c.is_gap());
        let first = measured.next()?;
        Some(measured.fold((first.min, first.max), |(lo, hi), c| {
            (lo.min(c.min), hi.max(c.max))
        }))
    }

    /// Samples lost (NaN) over the whole envelope.
    pub fn lost(&self) -> u64 {
        self.columns.iter().map(|c| u64::from(c.lost)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_sample_burst_in_a_day_survives() {
        // 24 h at 1 kS/s into 1200 columns: 72 000 samples per column. One
        // sample 50 dB above the floor must come out as its column's max.
        let rate = 1000.0;
        let frames: u64 = 24 * 3600 * 1000;
        let burst_at: u64 = 13 * 3600 * 1000 + 4321;
        let mut env = Envelope::new(0.0, frames as f64 / rate, 1200);
        for i in 0..frames {
            let floor = -90.0 + (i % 7) as f64 * 0.1;
            let v = if i == burst_at { -40.0 } else { floor };
            env.push(i as f64 / rate, v);
        }
        let col = env.column_of(burst_at as f64 / rate).unwrap();
        let spikes: Vec<usize> = env
            .columns()
            .iter()
            .enumerate()
            .filter(|(_, c)| c.max > -80.0)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(spikes, vec![col]);
        assert_eq!(env.columns()[col].max, -40.0);
        assert!(env.columns().iter().all(|c| c.samples == 72_000));
        assert_eq!(env.range(), Some((-90.0, -40.0)));
    }

    #[test]
    fn lost_samples_make_gaps_only_where_nothing_was_measured() {
        let mut env = Envelope::new(0.0, 10.0, 10);
        for i in 0..1000 {
            let t = i as f64 / 100.0;
            // Second 3 wholly lost, half of second 6 lost.
            let lost = (3.0..4.0).contains(&t) || (6.0..6.5).contains(&t);
            env.push(t, if lost { f64::NAN } else { 1.0 });
        }
        let gaps: Vec<bool> = env.columns().iter().map(Column::is_gap).collect();
        assert_eq!(gaps.iter().filter(|g| **g).count(), 1);
        assert!(gaps[3]);
        assert_eq!(env.columns()[6].lost, 50);
        assert!(!env.columns()[6].is_gap());
        assert_eq!(env.lost(), 150);
    }

    #[test]
    fn edges_and_bad_times_do_not_panic() {
        let mut env = Envelope::new(0.0, 0.0, 0);
        env.push(f64::NAN, 1.0);
        env.push(-1.0, 1.0);
        env.push(1e300, 1.0);
        env.push(1.0, 2.0); // exactly at the end: the last column
        env.push_at(99, 1.0);
        assert_eq!(env.columns().len(), 1);
        assert_eq!(env.columns()[0].max, 2.0);
        assert_eq!(Envelope::new(5.0, 5.0, 3).range(), None);
    }
}
