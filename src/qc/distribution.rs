//! soxspipe 0.19's bias-distribution QC: the pixel-flux histograms of the first raw frame
//! (its pixels the frame's own clip kept, static bad pixels left out) and of the master
//! (its good pixels), on the same 100 bins spanning ±5 RON of the raw frame's mean, with
//! the mean, median and RON of each (soxspipe's `bias_distribution_summary`).

use serde::Serialize;

use crate::algorithm::numerics::{
    MiddlePass, TopCounts, counted_middle, numpy_median_of_middle, numpy_sum_of, pieces,
};
use std::ops::Range;

use rayon::prelude::*;

use super::bins::{Bins, KeyBins};

use crate::algorithm::{
    AduHistogram, ElectronTable, Frame, FrameLevel, MasterBias, Samples, standard,
};

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
/// `bad` is the static bad-pixel map. `None` when either has no pixel to show. `table`,
/// the set's ADU-to-electrons table, lets a 16-bit frame kept as electrons be counted by
/// value, as one kept as ADU is.
pub fn bias_distribution(
    frame: &Frame,
    level: &FrameLevel,
    bad: Option<&[bool]>,
    master: &MasterBias,
    (raw_ron_qc, table): (Option<f64>, Option<&ElectronTable>),
) -> Option<BiasDistribution> {
    // The first frame's noise values (`frame − level`, float32, as the stack computes
    // them) at the pixels its clip kept and no static bad pixel covers, in pixel order;
    // the master's good, finite pixels as written. Read where they are, a few times,
    // rather than copied out: two frame-sized copies cost more in fresh pages.
    let (low, high) = level.bounds.kept_range();
    let kept = move |e: f32| low <= e && e <= high;
    let noise = move |e: f32| (f64::from(e) - level.level) as f32;
    let flux = standard(&master.flux);
    let qual = standard(&master.qual);
    let good = |pixels: Range<usize>| {
        qual[pixels.clone()]
            .iter()
            .zip(&flux[pixels])
            .filter(|(q, v)| **q == 0 && v.is_finite())
            .map(|(_, &v)| v)
    };
    let summary = Summary {
        level: level.level,
        ron: level.noise,
        master,
        raw_ron_qc,
        pixels: flux.len(),
    };
    let not_bad = move |p: usize| !bad.is_some_and(|b| b[p]);
    match &frame.samples {
        Samples::Electrons(data) => {
            let data = standard(data);
            let raw = |pixels: Range<usize>| {
                let start = pixels.start;
                data[pixels]
                    .iter()
                    .enumerate()
                    .filter(move |&(i, &e)| kept(e) && not_bad(start + i))
                    .map(move |(_, &e)| noise(e))
            };
            let counted = table.and_then(|table| {
                counted_electrons(data, table, |p, e| kept(e) && not_bad(p), noise)
            });
            summary.of(&raw, counted, &good)
        }
        Samples::Adu {
            adu,
            table,
            histogram,
        } => {
            let histogram = histogram.counted(adu);
            let adu = standard(adu);
            let raw = |pixels: Range<usize>| {
                let start = pixels.start;
                adu[pixels]
                    .iter()
                    .enumerate()
                    .map(|(i, &a)| (i, table[usize::from(a)]))
                    .filter(move |&(i, e)| kept(e) && not_bad(start + i))
                    .map(move |(_, e)| noise(e))
            };
            let counted = counted_noise(adu, table, histogram, bad, |e| kept(e).then(|| noise(e)));
            summary.of(&raw, Some(counted), &good)
        }
    }
}

/// A 16-bit frame's noise values, each with how many pixels hold it, in increasing
/// order: `noise` of each ADU value's electrons (`None` for values the clip rejected),
/// counted off the frame's histogram less its bad pixels. The same multiset as the
/// pixels give, without a pass over them (but for the bad ones).
fn counted_noise(
    adu: &[u16],
    table: &[f32],
    histogram: &AduHistogram,
    bad: Option<&[bool]>,
    noise: impl Fn(f32) -> Option<f32>,
) -> Vec<(f32, u64)> {
    let mut bad_counts = std::collections::HashMap::<u16, u64>::new();
    for (&a, _) in bad
        .into_iter()
        .flat_map(|b| adu.iter().zip(b).filter(|(_, b)| **b))
    {
        *bad_counts.entry(a).or_default() += 1;
    }
    let mut counted: Vec<(f32, u64)> = histogram
        .counts()
        .filter_map(|(a, count)| {
            let count = u64::from(count) - bad_counts.get(&(a as u16)).copied().unwrap_or(0);
            let v = noise(table[a])?;
            (count > 0).then_some((v, count))
        })
        .collect();
    counted.sort_by(|x, y| x.0.total_cmp(&y.0));
    counted
}

/// [`counted_noise`] of a 16-bit frame kept as electrons: the `noise` of the pixels
/// `taken(pixel, electrons)`, counted by ADU value on all cores (each pixel's ADU found
/// back through `table`). `None` when a pixel taken is not one of the table's values:
/// the frame was not 16-bit, and its values are not few.
fn counted_electrons(
    data: &[f32],
    table: &ElectronTable,
    taken: impl Fn(usize, f32) -> bool + Sync,
    noise: impl Fn(f32) -> f32,
) -> Option<Vec<(f32, u64)>> {
    let counts = pieces(data.len())
        .into_par_iter()
        .try_fold(
            || vec![0u32; 1 << 16],
            |mut counts, piece| {
                for (p, &e) in piece.clone().zip(&data[piece]) {
                    if taken(p, e) {
                        counts[usize::from(table.adu_of(e)?)] += 1;
                    }
                }
                Some(counts)
            },
        )
        .try_reduce(
            || vec![0u32; 1 << 16],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
                Some(a)
            },
        )?;
    let mut counted: Vec<(f32, u64)> = counts
        .iter()
        .zip(table.iter())
        .filter(|(c, _)| **c > 0)
        .map(|(&c, &e)| (noise(e), u64::from(c)))
        .collect();
    counted.sort_by(|x, y| x.0.total_cmp(&y.0));
    Some(counted)
}

/// What the distributions are measured against.
struct Summary<'a> {
    /// The first frame's clipped mean and standard deviation, e-.
    level: f64,
    ron: f64,
    master: &'a MasterBias,
    raw_ron_qc: Option<f64>,
    /// Pixels of each image.
    pixels: usize,
}

impl Summary<'_> {
    /// The distributions of the first frame's noise values `noise(pixels)` and of the
    /// master's good pixels `good(pixels)`, each read over a range of pixels; `counted`
    /// holds the noise values counted by value when the frame is 16-bit. Each sample is
    /// read twice: for its sum (in numpy's order, which sets the bins) and the first pass
    /// of its median, then for the median's second pass and the histogram together, in
    /// pieces on all cores.
    fn of<R, G>(
        &self,
        noise: &(impl Fn(Range<usize>) -> R + Sync),
        counted: Option<Vec<(f32, u64)>>,
        good: &(impl Fn(Range<usize>) -> G + Sync),
    ) -> Option<BiasDistribution>
    where
        R: Iterator<Item = f32>,
        G: Iterator<Item = f32>,
    {
        let level = self.level;
        let all = 0..self.pixels;
        // The raw frame as the stack saw it (its noise frame, float32) put back on its level.
        let on_level = move |v: f32| f64::from(v) + level;
        let (raw_first, master_first) = rayon::join(
            || match &counted {
                // The values are counted already: the sum alone.
                Some(counted) => {
                    let sum = numpy_sum_of(noise(all.clone()).map(on_level));
                    let count = counted.iter().map(|&(_, c)| c).sum::<u64>() as usize;
                    (sum, count, None)
                }
                None => {
                    let mut top = TopCounts::new();
                    let sum =
                        numpy_sum_of(noise(all.clone()).inspect(|&v| top.add(v)).map(on_level));
                    (sum, top.count(), Some(top))
                }
            },
            || {
                let mut top = TopCounts::new();
                let sum = f64::from(numpy_sum_of(good(all.clone()).inspect(|&v| top.add(v))));
                (sum, top)
            },
        );
        let (raw_sum, raw_count, raw_top) = raw_first;
        let (master_sum, master_top) = master_first;
        if raw_count == 0 {
            return None;
        }
        let raw_mean = raw_sum / raw_count as f64;
        let edges = edges(
            noise(all.clone()).map(on_level),
            good(all.clone()),
            raw_mean,
            self.ron,
        );
        let (raw_rest, master_rest) = rayon::join(
            || match (&counted, raw_top) {
                (Some(counted), _) => Some((
                    counted_middle(counted)?,
                    histogram(counted.iter().map(|&(v, c)| (on_level(v), c)), &edges),
                )),
                (None, top) => middle_and_histogram(&top?, self.pixels, noise, on_level, &edges),
            },
            || middle_and_histogram(&master_top, self.pixels, good, f64::from, &edges),
        );
        let ((lower, upper, count), raw_counts) = raw_rest?;
        let ((master_lower, master_upper, master_count), master_counts) = master_rest?;
        // Adding the level keeps the noise values' order, so their middle pair is the raw
        // sample's.
        let (lower, upper) = (on_level(lower), on_level(upper));
        let raw_median = if count % 2 == 1 {
            upper
        } else {
            (lower + upper) / 2.0
        };
        let master_mean = f64::from((master_sum / master_count as f64) as f32);
        let master_median = numpy_median_of_middle(master_lower, master_upper, master_count);
        Some(BiasDistribution {
            edges,
            raw_counts,
            master_counts,
            raw_mean,
            raw_median,
            raw_ron: self.ron,
            master_mean,
            master_median: f64::from(master_median),
            master_ron: self.master.master_ron,
            raw_ron_qc: self.raw_ron_qc,
        })
    }
}

/// The second pass over a sample `values(pixels)`, in pieces on all cores: its middle
/// pair (after `top`, the first pass) and its histogram on `edges` of each value's
/// `position`. `None` when the sample is empty.
fn middle_and_histogram<I: Iterator<Item = f32>>(
    top: &TopCounts,
    pixels: usize,
    values: &(impl Fn(Range<usize>) -> I + Sync),
    position: impl Fn(f32) -> f64 + Sync,
    edges: &[f64],
) -> Option<((f32, f32, usize), Vec<u64>)> {
    let pass = MiddlePass::after(top)?;
    let bins = KeyBins::new(edges, position);
    let empty = || (pass.empty(), vec![0u64; bins.count()]);
    let (pass, counts) = pieces(pixels)
        .into_par_iter()
        .fold(empty, |(mut pass, mut counts), piece| {
            for v in values(piece) {
                pass.add(v);
                if let Some(bin) = bins.of(v) {
                    counts[bin] += 1;
                }
            }
            (pass, counts)
        })
        .reduce(empty, |(pass, mut counts), (other, more)| {
            counts.iter_mut().zip(more).for_each(|(a, b)| *a += b);
            (pass.merged(other), counts)
        });
    Some((pass.middle(), counts))
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

/// numpy's `histogram` on given edges of values given with their counts: half-open
/// bins, the last closed; values outside the edges are not counted.
fn histogram(values: impl Iterator<Item = (f64, u64)>, edges: &[f64]) -> Vec<u64> {
    let bins = Bins::new(edges);
    let mut counts = vec![0u64; bins.count()];
    for (v, count) in values {
        if let Some(bin) = bins.of(v) {
            counts[bin] += count;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_bins_are_half_open_and_the_last_closed() {
        let edges = [0.0, 1.0, 2.0, 3.0];
        let values = [0.0, 0.5, 1.0, 2.999, 3.0, 3.5, -0.1];
        let counts = histogram(values.into_iter().map(|v| (v, 1)), &edges);
        assert_eq!(counts, [2, 1, 2]);
    }

    /// Asserts that `counted`, spelled out, is the values `pixels` yields, sorted; returns
    /// them.
    fn counted_as(counted: &[(f32, u64)], pixels: impl Iterator<Item = f32>) -> Vec<f32> {
        let mut pixels: Vec<f32> = pixels.collect();
        pixels.sort_by(f32::total_cmp);
        let spelled: Vec<f32> = counted
            .iter()
            .flat_map(|&(v, c)| std::iter::repeat_n(v, c as usize))
            .collect();
        assert_eq!(spelled, pixels);
        pixels
    }

    #[test]
    fn counted_noise_is_the_kept_pixels_multiset() {
        let adu: Vec<u16> = (0..5000u32)
            .map(|i| (1000 + i * 7919 % 41) as u16)
            .collect();
        let table = crate::algorithm::electron_table(1.3);
        let histogram = AduHistogram::of(&adu);
        let bad: Vec<bool> = (0..adu.len()).map(|p| p % 13 == 0).collect();
        let noise = |e: f32| (e < 1325.0).then(|| (f64::from(e) - 1310.5) as f32);
        let counted = counted_noise(&adu, &table, &histogram, Some(&bad), noise);
        let pixels = counted_as(
            &counted,
            adu.iter()
                .zip(&bad)
                .filter(|(_, b)| !**b)
                .filter_map(|(&a, _)| noise(table[usize::from(a)])),
        );
        let n = pixels.len();
        assert_eq!(
            counted_middle(&counted),
            Some((pixels[(n - 1) / 2], pixels[n / 2], n))
        );
    }

    #[test]
    fn counted_electrons_are_the_taken_pixels_multiset_or_nothing() {
        let table = crate::algorithm::electron_table(1.3);
        // More than one piece of pixels, so that the pieces' counts are added up.
        let piece = pieces(1 << 21)[0].len();
        let data: Vec<f32> = (0..piece as u32 + 5000)
            .map(|i| table[(1000 + i * 7919 % 41) as usize])
            .collect();
        let taken = |p: usize, e: f32| !p.is_multiple_of(13) && e < 1325.0;
        let noise = |e: f32| (f64::from(e) - 1310.5) as f32;
        let counted = counted_electrons(&data, &table, taken, noise).expect("all table values");
        counted_as(
            &counted,
            data.iter()
                .enumerate()
                .filter(|&(p, &e)| taken(p, e))
                .map(|(_, &e)| noise(e)),
        );
        // One value between two ADU's electrons, where it is taken: not countable.
        let mut off = data.clone();
        off[piece + 7] += 0.1;
        assert_eq!(counted_electrons(&off, &table, taken, noise), None);
        off[piece + 7] = 1.0e9;
        assert_eq!(
            counted_electrons(&off, &table, taken, noise).map(|c| c.len()),
            Some(counted.len())
        );
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
