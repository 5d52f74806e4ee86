//! soxspipe 0.19's bias-distribution QC: the pixel-flux histograms of the first raw frame
//! (its pixels the frame's own clip kept, static bad pixels left out) and of the master
//! (its good pixels), on the same 100 bins spanning ±5 RON of the raw frame's mean, with
//! the mean, median and RON of each (soxspipe's `bias_distribution_summary`).

use serde::Serialize;

use crate::algorithm::numerics::{
    TopCounts, middle_values_from, numpy_median_of_middle, numpy_sum_of,
};
use crate::algorithm::{Frame, FrameLevel, MasterBias, Samples, standard};

/// Bins of the histograms.
const BINS: usize = 100;
/// Half width of the histograms in RON of the raw frame.
const HALF_WIDTH_RON: f64 = 5.0;
/// Half width when the raw frame has no usable RON and every value is the same, e-.
const FLAT_HALF_WIDTH: f64 = 0.5;

/// The two distributions and the table of the QC plot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BiasDistribution {
    /// `BINS + 1` increasing edges, e-; every bin holds `edge[i] <= v < edge[i + 1]`, the
    /// last also its upper edge (numpy's `histogram`).
    pub edges: Vec<f64>,
    pub raw_counts: Vec<u64>,
    pub master_counts: Vec<u64>,
    pub raw_mean: f64,
    pub raw_median: f64,
    /// The first frame's clipped standard deviation, e-.
    pub raw_ron: f64,
    pub master_mean: f64,
    pub master_median: f64,
    pub master_ron: f64,
    /// The RAW RON QC (absent for a single frame).
    pub raw_ron_qc: Option<f64>,
}

/// The distributions of the first raw frame (`frame`, its clip `level`) and of `master`;
/// `bad` is the static bad-pixel map. `None` when either has no pixel to show.
pub fn bias_distribution(
    frame: &Frame,
    level: &FrameLevel,
    bad: Option<&[bool]>,
    master: &MasterBias,
    raw_ron_qc: Option<f64>,
) -> Option<BiasDistribution> {
    // The first frame's noise values (`frame − level`, float32, as the stack computes
    // them) at the pixels its clip kept and no static bad pixel covers, in pixel order;
    // the master's good, finite pixels as written. Read where they are, a few times,
    // rather than copied out: two frame-sized copies cost more in fresh pages.
    let (low, high) = level.bounds.kept_range();
    let kept = move |p: usize, e: f32| low <= e && e <= high && !bad.is_some_and(|b| b[p]);
    let noise = move |e: f32| (f64::from(e) - level.level) as f32;
    let good = || {
        standard(&master.qual)
            .iter()
            .zip(standard(&master.flux))
            .filter(|(q, v)| **q == 0 && v.is_finite())
            .map(|(_, &v)| v)
    };
    let summary = Summary {
        level: level.level,
        ron: level.noise,
        master,
        raw_ron_qc,
    };
    match &frame.samples {
        Samples::Electrons(data) => {
            let data = standard(data);
            let raw = || {
                data.iter()
                    .enumerate()
                    .filter(move |&(p, &e)| kept(p, e))
                    .map(move |(_, &e)| noise(e))
            };
            summary.of(raw, good)
        }
        Samples::Adu { adu, table, .. } => {
            let adu = standard(adu);
            let raw = || {
                adu.iter()
                    .enumerate()
                    .map(|(p, &a)| (p, table[usize::from(a)]))
                    .filter(move |&(p, e)| kept(p, e))
                    .map(move |(_, e)| noise(e))
            };
            summary.of(raw, good)
        }
    }
}

/// What the distributions are measured against.
struct Summary<'a> {
    /// The first frame's clipped mean and standard deviation, e-.
    level: f64,
    ron: f64,
    master: &'a MasterBias,
    raw_ron_qc: Option<f64>,
}

impl Summary<'_> {
    /// The distributions of the first frame's noise values `noise()` and of the master's
    /// good pixels `good()`.
    fn of<R, G>(
        &self,
        noise: impl Fn() -> R + Sync,
        good: impl Fn() -> G + Sync,
    ) -> Option<BiasDistribution>
    where
        R: Iterator<Item = f32>,
        G: Iterator<Item = f32>,
    {
        let level = self.level;
        // The raw frame as the stack saw it (its noise frame, float32) put back on its level.
        let raw = || noise().map(|v| f64::from(v) + level);
        let (raw_stats, master_stats) = rayon::join(
            || {
                // The sum's pass counts the values for the median too. Adding the level
                // keeps the noise values' order, so their middle pair is the raw sample's.
                let mut top = TopCounts::new();
                let sum = numpy_sum_of(
                    noise()
                        .inspect(|&v| top.add(v))
                        .map(|v| f64::from(v) + level),
                );
                let (lower, upper, count) = middle_values_from(top, &noise)?;
                let (lower, upper) = (f64::from(lower) + level, f64::from(upper) + level);
                let median = if count % 2 == 1 {
                    upper
                } else {
                    (lower + upper) / 2.0
                };
                Some((sum / count as f64, median))
            },
            || {
                let mut top = TopCounts::new();
                let sum = f64::from(numpy_sum_of(good().inspect(|&v| top.add(v))));
                let (lower, upper, count) = middle_values_from(top, &good)?;
                let mean = f64::from((sum / count as f64) as f32);
                let median = numpy_median_of_middle(lower, upper, count);
                Some((mean, f64::from(median)))
            },
        );
        let ((raw_mean, raw_median), (master_mean, master_median)) = (raw_stats?, master_stats?);
        let edges = edges(raw(), good(), raw_mean, self.ron);
        let (raw_counts, master_counts) = rayon::join(
            || histogram(raw(), &edges),
            || histogram(good().map(f64::from), &edges),
        );
        Some(BiasDistribution {
            edges,
            raw_counts,
            master_counts,
            raw_mean,
            raw_median,
            raw_ron: self.ron,
            master_mean,
            master_median,
            master_ron: self.master.master_ron,
            raw_ron_qc: self.raw_ron_qc,
        })
    }
}

/// soxspipe's bin edges: `np.linspace` over the raw mean ± 5 RON, or over the range of
/// both samples when the RON is unusable.
fn edges(
    raw: impl Iterator<Item = f64>,
    master: impl Iterator<Item = f32>,
    centre: f64,
    ron: f64,
) -> Vec<f64> {
    let (low, high) = if ron.is_finite() && ron > 0.0 {
        (centre - HALF_WIDTH_RON * ron, centre + HALF_WIDTH_RON * ron)
    } else {
        let all = raw.chain(master.map(f64::from));
        let (low, high) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
        if low == high {
            (low - FLAT_HALF_WIDTH, high + FLAT_HALF_WIDTH)
        } else {
            (low, high)
        }
    };
    let step = (high - low) / BINS as f64;
    let mut edges: Vec<f64> = (0..=BINS).map(|i| i as f64 * step + low).collect();
    edges[BINS] = high;
    edges
}

/// numpy's `histogram` on given edges: half-open bins, the last closed; values outside
/// the edges are not counted.
fn histogram(values: impl Iterator<Item = f64>, edges: &[f64]) -> Vec<u64> {
    let bins = edges.len() - 1;
    let (first, last) = (edges[0], edges[bins]);
    let scale = bins as f64 / (last - first);
    let mut counts = vec![0u64; bins];
    for v in values.filter(|v| (first..=last).contains(v)) {
        // The bin the value's position suggests, corrected against the edges themselves.
        let mut i = (((v - first) * scale) as usize).min(bins - 1);
        if v < edges[i] {
            i -= 1;
        } else if i + 1 < bins && v >= edges[i + 1] {
            i += 1;
        }
        counts[i] += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_bins_are_half_open_and_the_last_closed() {
        let edges = [0.0, 1.0, 2.0, 3.0];
        let counts = histogram([0.0, 0.5, 1.0, 2.999, 3.0, 3.5, -0.1].into_iter(), &edges);
        assert_eq!(counts, [2, 1, 2]);
    }

    #[test]
    fn edges_span_five_ron_about_the_mean_or_the_data() {
        let one = |v: f64| std::iter::once(v);
        let e = edges(one(10.0), std::iter::once(10.0), 10.0, 2.0);
        assert_eq!((e.len(), e[0], e[100]), (101, 0.0, 20.0));
        assert_eq!(e[50], 10.0);
        let flat = edges(one(7.0), std::iter::once(7.0), 7.0, f64::NAN);
        assert_eq!((flat[0], flat[100]), (6.5, 7.5));
    }
}
