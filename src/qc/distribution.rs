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
    let good = GoodPixels::of(master);
    raw_sample(
        frame,
        (level, bad, table),
        WithMaster {
            good: &good,
            master,
            raw_ron_qc,
        },
    )
}

/// The first raw frame's side of the plot, measured before the master exists: a
/// streamed set stacked once then need not keep the frame until the end. `None` when the
/// frame's RON is unusable (its bins then span the master's pixels too) or no pixel is
/// left.
pub fn raw_side(
    frame: &Frame,
    level: &FrameLevel,
    bad: Option<&[bool]>,
    table: Option<&ElectronTable>,
) -> Option<RawSide> {
    raw_sample(frame, (level, bad, table), Alone)
}

/// The distributions of a first raw frame measured before ([`raw_side`]) and of `master`.
pub fn bias_distribution_with(
    raw: &RawSide,
    master: &MasterBias,
    raw_ron_qc: Option<f64>,
) -> Option<BiasDistribution> {
    let good = GoodPixels::of(master);
    let first = master_first(&|p| good.of_range(p), good.pixels());
    finish(raw.clone(), first, &good, master, raw_ron_qc)
}

/// What the first raw frame's pixels give the plot.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSide {
    edges: Vec<f64>,
    counts: Vec<u64>,
    mean: f64,
    median: f64,
    /// The frame's clipped standard deviation, e-.
    ron: f64,
}

/// The master's good, finite pixels as written, read where they are.
struct GoodPixels<'a> {
    qual: &'a [u8],
    flux: &'a [f32],
}

impl<'a> GoodPixels<'a> {
    fn of(master: &'a MasterBias) -> GoodPixels<'a> {
        GoodPixels {
            qual: standard(&master.qual),
            flux: standard(&master.flux),
        }
    }

    fn pixels(&self) -> usize {
        self.flux.len()
    }

    fn of_range(&self, pixels: Range<usize>) -> impl Iterator<Item = f32> + 'a {
        let (qual, flux) = (self.qual, self.flux);
        qual[pixels.clone()]
            .iter()
            .zip(&flux[pixels])
            .filter(|(q, v)| **q == 0 && v.is_finite())
            .map(|(_, &v)| v)
    }
}

/// The first raw frame's sample: its noise values (`frame − level`, float32, as the
/// stack computes them) at the pixels its clip kept and no static bad pixel covers, in
/// pixel order, read where they are (a few times, rather than copied out: a frame-sized
/// copy costs more in fresh pages), and counted by value when the frame is 16-bit.
struct Sample {
    pixels: usize,
    /// The frame's clipped mean and standard deviation, e-.
    level: f64,
    ron: f64,
}

impl Sample {
    /// A noise value put back on the frame's level: the raw frame as the stack saw it.
    fn on_level(&self) -> impl Fn(f32) -> f64 + Sync + Copy + use<> {
        let level = self.level;
        move |v: f32| f64::from(v) + level
    }
}

/// What is measured of a raw [`Sample`]: `noise(pixels)` gives its values over a range
/// of pixels, `counted` the values with how many pixels hold each (16-bit frames).
trait MeasureRaw {
    type Out;
    fn measure<R: Iterator<Item = f32>>(
        self,
        noise: &(impl Fn(Range<usize>) -> R + Sync),
        counted: Option<Vec<(f32, u64)>>,
        sample: Sample,
    ) -> Self::Out;
}

/// `measure` of the first frame's sample ([`Sample`]).
fn raw_sample<M: MeasureRaw>(
    frame: &Frame,
    (level, bad, table): (&FrameLevel, Option<&[bool]>, Option<&ElectronTable>),
    measure: M,
) -> M::Out {
    let (low, high) = level.bounds.kept_range();
    let kept = move |e: f32| low <= e && e <= high;
    let noise = move |e: f32| (f64::from(e) - level.level) as f32;
    let not_bad = move |p: usize| !bad.is_some_and(|b| b[p]);
    let sample = |pixels| Sample {
        pixels,
        level: level.level,
        ron: level.noise,
    };
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
            measure.measure(&raw, counted, sample(data.len()))
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
            measure.measure(&raw, Some(counted), sample(adu.len()))
        }
    }
}

/// The raw side alone, on the bins its own mean and RON give.
struct Alone;

impl MeasureRaw for Alone {
    type Out = Option<RawSide>;

    fn measure<R: Iterator<Item = f32>>(
        self,
        noise: &(impl Fn(Range<usize>) -> R + Sync),
        counted: Option<Vec<(f32, u64)>>,
        sample: Sample,
    ) -> Option<RawSide> {
        if !usable(sample.ron) {
            return None;
        }
        let first = raw_first(noise, &counted, &sample);
        let mean = raw_mean(&first)?;
        let edges = edges_about(mean, sample.ron);
        raw_rest(noise, counted, first, sample, edges)
    }
}

/// Both sides, the master's read beside the raw frame's.
struct WithMaster<'a> {
    good: &'a GoodPixels<'a>,
    master: &'a MasterBias,
    raw_ron_qc: Option<f64>,
}

impl MeasureRaw for WithMaster<'_> {
    type Out = Option<BiasDistribution>;

    /// Each sample is read twice: for its sum (in numpy's order) and the first pass of
    /// its median, then for the median's second pass and the histogram together, in
    /// pieces on all cores.
    fn measure<R: Iterator<Item = f32>>(
        self,
        noise: &(impl Fn(Range<usize>) -> R + Sync),
        counted: Option<Vec<(f32, u64)>>,
        sample: Sample,
    ) -> Option<BiasDistribution> {
        let WithMaster {
            good,
            master,
            raw_ron_qc,
        } = self;
        let good_range = |pixels| good.of_range(pixels);
        if usable(sample.ron) {
            // The bins follow from the raw sample alone.
            let (raw, first) = rayon::join(
                || Alone.measure(noise, counted, sample),
                || master_first(&good_range, good.pixels()),
            );
            return finish(raw?, first, good, master, raw_ron_qc);
        }
        let (raw_first_pass, first) = rayon::join(
            || raw_first(noise, &counted, &sample),
            || master_first(&good_range, good.pixels()),
        );
        if raw_first_pass.count == 0 {
            // No raw pixel: nothing to show, and no range for the bins.
            return None;
        }
        let on_level = sample.on_level();
        let edges = edges_spanning(
            noise(0..sample.pixels).map(on_level),
            good_range(0..good.pixels()),
        );
        let raw = raw_rest(noise, counted, raw_first_pass, sample, edges)?;
        finish(raw, first, good, master, raw_ron_qc)
    }
}

/// Whether a RON sets the bins (±5 RON about the raw mean).
fn usable(ron: f64) -> bool {
    ron.is_finite() && ron > 0.0
}

/// The first pass over the raw sample: the sum of its values on the level (in numpy's
/// order), their count, and the first pass of their median unless they are counted.
struct RawFirst {
    sum: f64,
    count: usize,
    top: Option<TopCounts>,
}

fn raw_first<R: Iterator<Item = f32>>(
    noise: &impl Fn(Range<usize>) -> R,
    counted: &Option<Vec<(f32, u64)>>,
    sample: &Sample,
) -> RawFirst {
    let (all, on_level) = (0..sample.pixels, sample.on_level());
    match counted {
        // The values are counted already: the sum alone.
        Some(counted) => RawFirst {
            sum: numpy_sum_of(noise(all).map(on_level)),
            count: counted.iter().map(|&(_, c)| c).sum::<u64>() as usize,
            top: None,
        },
        None => {
            let mut top = TopCounts::new();
            let sum = numpy_sum_of(noise(all).inspect(|&v| top.add(v)).map(on_level));
            RawFirst {
                sum,
                count: top.count(),
                top: Some(top),
            }
        }
    }
}

/// The raw sample's mean; `None` when it is empty.
fn raw_mean(first: &RawFirst) -> Option<f64> {
    (first.count > 0).then(|| first.sum / first.count as f64)
}

/// The raw side on `edges`: the median's second pass and the histogram.
fn raw_rest<R: Iterator<Item = f32>>(
    noise: &(impl Fn(Range<usize>) -> R + Sync),
    counted: Option<Vec<(f32, u64)>>,
    first: RawFirst,
    sample: Sample,
    edges: Vec<f64>,
) -> Option<RawSide> {
    let mean = raw_mean(&first)?;
    let on_level = sample.on_level();
    let ((lower, upper, count), counts) = match (counted, first.top) {
        (Some(counted), _) => (
            counted_middle(&counted)?,
            histogram(counted.iter().map(|&(v, c)| (on_level(v), c)), &edges),
        ),
        (None, top) => middle_and_histogram(&top?, sample.pixels, noise, on_level, &edges)?,
    };
    // Adding the level keeps the noise values' order, so their middle pair is the raw
    // sample's.
    let (lower, upper) = (on_level(lower), on_level(upper));
    let median = if count % 2 == 1 {
        upper
    } else {
        (lower + upper) / 2.0
    };
    Some(RawSide {
        edges,
        counts,
        mean,
        median,
        ron: sample.ron,
    })
}

/// The first pass over the master's good pixels: their float32 sum in numpy's order and
/// the first pass of their median.
fn master_first<G: Iterator<Item = f32>>(
    good: &impl Fn(Range<usize>) -> G,
    pixels: usize,
) -> (f64, TopCounts) {
    let mut top = TopCounts::new();
    let sum = f64::from(numpy_sum_of(good(0..pixels).inspect(|&v| top.add(v))));
    (sum, top)
}

/// The master's side on the raw side's bins, and both together.
fn finish(
    raw: RawSide,
    (master_sum, master_top): (f64, TopCounts),
    good: &GoodPixels<'_>,
    master: &MasterBias,
    raw_ron_qc: Option<f64>,
) -> Option<BiasDistribution> {
    let good_range = |pixels| good.of_range(pixels);
    let ((lower, upper, count), master_counts) = middle_and_histogram(
        &master_top,
        good.pixels(),
        &good_range,
        f64::from,
        &raw.edges,
    )?;
    let master_mean = f64::from((master_sum / count as f64) as f32);
    let master_median = numpy_median_of_middle(lower, upper, count);
    Some(BiasDistribution {
        edges: raw.edges,
        raw_counts: raw.counts,
        master_counts,
        raw_mean: raw.mean,
        raw_median: raw.median,
        raw_ron: raw.ron,
        master_mean,
        master_median: f64::from(master_median),
        master_ron: master.master_ron(),
        raw_ron_qc,
    })
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

/// soxspipe's bin edges: `np.linspace` over the raw mean ± 5 RON.
fn edges_about(centre: f64, ron: f64) -> Vec<f64> {
    linspace(centre - HALF_WIDTH_RON * ron, centre + HALF_WIDTH_RON * ron)
}

/// soxspipe's bin edges when the RON is unusable: over the range of both samples (or
/// about their one value).
fn edges_spanning(raw: impl Iterator<Item = f64>, master: impl Iterator<Item = f32>) -> Vec<f64> {
    let all = raw.chain(master.map(f64::from));
    let (low, high) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    if low == high {
        linspace(low - FLAT_HALF_WIDTH, high + FLAT_HALF_WIDTH)
    } else {
        linspace(low, high)
    }
}

/// `np.linspace(low, high, BINS + 1)`.
fn linspace(low: f64, high: f64) -> Vec<f64> {
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

    /// Five 40 × 30 frames of bias with noise (ADU, and the same as electrons), their
    /// levels and a master of them.
    fn stacked(electrons: bool) -> (Vec<std::sync::Arc<Frame>>, Vec<FrameLevel>, MasterBias) {
        use crate::algorithm::image;
        let (rows, cols) = (30, 40);
        let table = crate::algorithm::electron_table(1.4);
        let frames: Vec<_> = (0..5)
            .map(|k| {
                let adu: Vec<u16> = (0..rows * cols)
                    .map(|p| 1000 + ((p * 7919 + k * 104_729) % 23) as u16)
                    .collect();
                let samples = if electrons {
                    let values = adu.iter().map(|&a| table[usize::from(a)]).collect();
                    Samples::Electrons(image(rows, cols, values))
                } else {
                    Samples::adu(image(rows, cols, adu), table.clone())
                };
                std::sync::Arc::new(Frame {
                    name: format!("b{k}.fits"),
                    samples,
                    non_finite: 0,
                })
            })
            .collect();
        let version = crate::params::RecipeVersion::Soxspipe019;
        let (levels, master) = crate::algorithm::testing::stacked(&frames, version);
        (frames, levels, master)
    }

    #[test]
    fn the_raw_side_measured_first_gives_the_plot_measured_at_once() {
        let table = crate::algorithm::electron_table(1.4);
        let bad: Vec<bool> = (0..30 * 40).map(|p| p % 17 == 0).collect();
        for electrons in [false, true] {
            let (frames, levels, master) = stacked(electrons);
            for bad in [None, Some(&bad[..])] {
                let at_once = bias_distribution(
                    &frames[0],
                    &levels[0],
                    bad,
                    &master,
                    (Some(3.5), Some(&table)),
                );
                let raw = raw_side(&frames[0], &levels[0], bad, Some(&table)).unwrap();
                let later = bias_distribution_with(&raw, &master, Some(3.5));
                assert!(at_once.is_some());
                assert_eq!(later, at_once, "electrons: {electrons}");
            }
            // A frame whose RON says nothing: its bins span the master too, so its side
            // cannot be measured first; the plot measured at once still is.
            let flat = FrameLevel {
                noise: f64::NAN,
                ..levels[0].clone()
            };
            assert_eq!(raw_side(&frames[0], &flat, None, Some(&table)), None);
            let at_once = bias_distribution(&frames[0], &flat, None, &master, (None, None));
            let edges = at_once.map(|d| d.edges).unwrap_or_default();
            assert_eq!(edges.len(), BINS + 1);
            assert!(edges[0] < edges[BINS]);
        }
    }

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
        let e = edges_about(10.0, 2.0);
        assert_eq!((e.len(), e[0], e[100]), (101, 0.0, 20.0));
        assert_eq!(e[50], 10.0);
        let flat = edges_spanning(std::iter::once(7.0), std::iter::once(7.0));
        assert_eq!((flat[0], flat[100]), (6.5, 7.5));
        let wide = edges_spanning([3.0, 9.0].into_iter(), std::iter::once(1.0));
        assert_eq!((wide[0], wide[100]), (1.0, 9.0));
    }
}
