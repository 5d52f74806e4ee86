//! Data the result views draw, derived from a master on the worker thread so that drawing
//! stays proportional to the screen, not to the image.

use mbias::algorithm::{MasterBias, standard};
use ndarray::Array2;
use rayon::prelude::*;

use super::defects::{self, Defect};

/// The longest side of the preview grid: enough for any terminal, small to redraw.
const PREVIEW_CELLS: usize = 256;

/// A profile runs along the columns (x, one value per column) or along the rows (y).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    Columns,
    Rows,
}

/// Block means of the master, for the image preview.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub cols: usize,
    pub rows: usize,
    /// The master's size in pixels (the blocks at the right and top edges may be
    /// partial): the shape the image is drawn with.
    pub width: usize,
    pub height: usize,
    /// Row-major block means of the good pixels (NaN where a block has none); row 0 is
    /// the master's first row (FITS row 1).
    pub values: Vec<f32>,
    /// The fraction of each block's pixels that are bad (0 for none): a single bad
    /// pixel can show at every scale.
    pub bad: Vec<f32>,
    /// The display limits each stretch takes (low, high).
    pub limits: StretchLimits,
}

/// The display limits of the image by each rule.
#[derive(Debug, Clone, PartialEq)]
pub struct StretchLimits {
    /// The percentiles of the block means (or of a sample of the pixels), for any limits
    /// the user chooses.
    pub quantiles: Quantiles,
    /// The lowest and highest good pixel.
    pub min_max: (f32, f32),
    /// IRAF's zscale of a sample of the good pixels.
    pub zscale: (f32, f32),
}

/// A sample's value at every tenth of a percent, 0 to 100 %.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantiles(Vec<f32>);

/// Tenths of a percent in a whole sample.
const PER_MILLE: usize = 1000;

impl Quantiles {
    /// The quantiles of `sorted` (ascending, finite); zeros for an empty one.
    pub fn of_sorted(sorted: &[f32]) -> Quantiles {
        let last = sorted.len().saturating_sub(1);
        Quantiles(
            (0..=PER_MILLE)
                .map(|i| sorted.get(last * i / PER_MILLE).copied().unwrap_or(0.0))
                .collect(),
        )
    }

    /// The value at `tenths` of a percent (0 to 1000).
    pub fn at(&self, tenths: u16) -> f32 {
        self.0
            .get(usize::from(tenths).min(PER_MILLE))
            .copied()
            .unwrap_or(0.0)
    }
}

/// Which limits the image is stretched between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Limits {
    #[default]
    ZScale,
    /// Between two percentiles, in tenths of a percent (`T` types them; 1–99 % first).
    Percentile {
        low: u16,
        high: u16,
    },
    MinMax,
}

/// How values between the limits become grey levels (ds9's scales).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transfer {
    #[default]
    Linear,
    Log,
    Asinh,
}

impl Limits {
    /// The 1st and 99th percentiles.
    pub const PERCENTILE: Limits = Limits::Percentile { low: 10, high: 990 };

    pub fn next(self) -> Limits {
        match self {
            Limits::ZScale => Limits::PERCENTILE,
            Limits::Percentile { .. } => Limits::MinMax,
            Limits::MinMax => Limits::ZScale,
        }
    }

    pub fn name(self) -> String {
        let percent = |tenths: u16| {
            let text = format!("{:.1}", f64::from(tenths) / 10.0);
            text.trim_end_matches(".0").to_string()
        };
        match self {
            Limits::ZScale => "zscale".to_string(),
            Limits::Percentile { low, high } => format!("{}–{} %", percent(low), percent(high)),
            Limits::MinMax => "min–max".to_string(),
        }
    }

    /// These limits of `limits`.
    pub fn of(self, limits: &StretchLimits) -> (f32, f32) {
        match self {
            Limits::ZScale => limits.zscale,
            Limits::Percentile { low, high } => {
                (limits.quantiles.at(low), limits.quantiles.at(high))
            }
            Limits::MinMax => limits.min_max,
        }
    }
}

impl Transfer {
    pub fn next(self) -> Transfer {
        match self {
            Transfer::Linear => Transfer::Log,
            Transfer::Log => Transfer::Asinh,
            Transfer::Asinh => Transfer::Linear,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Transfer::Linear => "linear",
            Transfer::Log => "log",
            Transfer::Asinh => "asinh",
        }
    }

    /// The grey level (0..=1) of `t`, the value's place between the limits (0..=1).
    pub fn apply(self, t: f32) -> f32 {
        match self {
            Transfer::Linear => t,
            // ds9's log scale, exponent 1000.
            Transfer::Log => (1000.0 * t).ln_1p() / 1000f32.ln_1p(),
            Transfer::Asinh => (10.0 * t).asinh() / 10f32.asinh(),
        }
    }
}

/// Which drawn pixels show red: those covering any bad pixel (every defect shows), those
/// at least a tenth bad (dense defects: columns, clusters), or none. `Auto` is `Any`
/// unless that would paint a third of the image (the drawing decides, at its scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BadMarks {
    #[default]
    Auto,
    Any,
    Dense,
    Hidden,
}

/// A drawn pixel is dense with bad pixels from this fraction on.
const DENSE: f32 = 0.1;

impl BadMarks {
    pub fn next(self) -> BadMarks {
        match self {
            BadMarks::Auto => BadMarks::Any,
            BadMarks::Any => BadMarks::Dense,
            BadMarks::Dense => BadMarks::Hidden,
            BadMarks::Hidden => BadMarks::Auto,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BadMarks::Auto | BadMarks::Any => "red = any bad pixel",
            BadMarks::Dense => "red = columns, clusters",
            BadMarks::Hidden => "bad pixels not marked",
        }
    }

    /// Whether a drawn pixel whose blocks are at most `most` and on average `mean` bad
    /// shows red.
    pub fn marks(self, most: f32, mean: f32) -> bool {
        match self {
            BadMarks::Auto | BadMarks::Any => most > 0.0,
            // A bad column fills a good part of the blocks it crosses, where scattered
            // bad pixels fill a pixel of one.
            BadMarks::Dense => most >= DENSE || mean >= DENSE,
            BadMarks::Hidden => false,
        }
    }
}

/// Which image the Preview shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageOf {
    #[default]
    Master,
    /// A raw frame of the set, in e-.
    Raw,
    /// A raw frame minus the master: what the frame adds to the bias (noise, cosmics).
    RawMinusMaster,
    /// How many frames the stack left out at each pixel (clipped, or masked by 0.19).
    Rejections,
}

impl ImageOf {
    pub fn next(self) -> ImageOf {
        match self {
            ImageOf::Master => ImageOf::Raw,
            ImageOf::Raw => ImageOf::RawMinusMaster,
            ImageOf::RawMinusMaster => ImageOf::Rejections,
            ImageOf::Rejections => ImageOf::Master,
        }
    }
}

/// The display limits of an even sample of values (a raw frame's, drawn as they come).
pub fn sample_limits(mut sample: Vec<f32>) -> StretchLimits {
    sample.retain(|v| v.is_finite());
    sample.sort_unstable_by(f32::total_cmp);
    let at = |q: f64| {
        sample
            .get((sample.len().saturating_sub(1) as f64 * q) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let percentile = (at(0.01), at(0.99));
    StretchLimits {
        quantiles: Quantiles::of_sorted(&sample),
        min_max: (at(0.0), at(1.0)),
        zscale: zscale(sample).unwrap_or(percentile),
    }
}

/// The most pixels zscale samples.
pub const ZSCALE_SAMPLES: usize = 1000;

/// IRAF's zscale (display limits that follow the bulk of the pixels, not their tails):
/// sort a sample, fit a line to it against its rank with repeated 2.5σ rejection (each
/// rejected point takes its neighbours with it), and spread the median by the line's
/// slope over the sample, divided by the contrast 0.25. Falls back to the sample's range
/// when more than half of it is rejected.
pub fn zscale(mut sample: Vec<f32>) -> Option<(f32, f32)> {
    sample.retain(|v| v.is_finite());
    sample.sort_unstable_by(f32::total_cmp);
    let n = sample.len();
    let (&first, &last) = (sample.first()?, sample.last()?);
    let fewest = (n / 2).max(5);
    let grow = (n / 100).max(1);
    let mut good = vec![true; n];
    let mut good_count = n;
    let mut previous = n + 1;
    let mut slope = 0.0;
    for _ in 0..5 {
        if good_count >= previous || good_count < fewest {
            break;
        }
        let points = || {
            (0..n)
                .filter(|&i| good[i])
                .map(|i| (i as f64, f64::from(sample[i])))
        };
        let count = good_count as f64;
        let (mx, my) = points().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
        let (mx, my) = (mx / count, my / count);
        let (sxy, sxx) = points().fold((0.0, 0.0), |(a, b), (x, y)| {
            (a + (x - mx) * (y - my), b + (x - mx) * (x - mx))
        });
        slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        let intercept = my - slope * mx;
        let residual = |i: usize| f64::from(sample[i]) - (slope * i as f64 + intercept);
        let spread = (points()
            .map(|(x, _)| residual(x as usize).powi(2))
            .sum::<f64>()
            / count)
            .sqrt();
        let threshold = 2.5 * spread;
        let rejected: Vec<usize> = (0..n).filter(|&i| residual(i).abs() > threshold).collect();
        for i in rejected {
            let around = i.saturating_sub(grow / 2)..(i + grow - grow / 2).min(n);
            good[around].fill(false);
        }
        previous = good_count;
        good_count = good.iter().filter(|g| **g).count();
    }
    if good_count < fewest {
        return Some((first, last));
    }
    let slope = slope / 0.25;
    let centre = (n - 1) / 2;
    let median = if n % 2 == 1 {
        f64::from(sample[n / 2])
    } else {
        0.5 * (f64::from(sample[n / 2 - 1]) + f64::from(sample[n / 2]))
    };
    let low = (median - (centre as f64 - 1.0) * slope).max(f64::from(first));
    let high = (median + (n - centre) as f64 * slope).min(f64::from(last));
    Some((low as f32, high as f32))
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResultView {
    /// Mean over rows of the good pixels, one point per column.
    pub along_columns: Profile,
    /// Mean over columns of the good pixels, one point per row.
    pub along_rows: Profile,
    pub preview: Preview,
    /// The bad pixels grouped into columns, rows, clusters and single pixels.
    pub defects: Vec<Defect>,
}

/// The views of `master`: its profiles, preview and defects, measured side by side on
/// the worker's cores. One after the other, pixel by pixel through 2-D indexing, they
/// took 250 ms of a 4096² master, half of a console re-stack. Every sum still adds its
/// values in the order it always did, so the values shown are the same.
pub fn compute(master: &MasterBias) -> ResultView {
    let ((along_columns, along_rows), (preview, defects)) = rayon::join(
        || profiles(&master.flux, &master.qual),
        || {
            rayon::join(
                || preview(&master.flux, &master.qual),
                || defects::group(&master.qual),
            )
        },
    );
    ResultView {
        along_columns,
        along_rows,
        preview,
        defects,
    }
}

/// A profile: (column or row, mean of its good pixels) where it has any.
type Profile = Vec<(f64, f64)>;

/// Columns shared out at a time when the column profile is summed.
const PROFILE_COLUMNS: usize = 512;

/// `v` where the pixel is good, else a zero that leaves a sum as it is (a sum that
/// starts at +0 never becomes −0), so that the loops have no branch.
fn good_or_zero(v: f32, q: u8) -> (f64, u32) {
    if q == 0 { (f64::from(v), 1) } else { (0.0, 0) }
}

/// The mean of the good pixels of each column and of each row, (index, mean) where there
/// is one; every sum in increasing row (column) order.
fn profiles(flux: &Array2<f32>, qual: &Array2<u8>) -> (Profile, Profile) {
    let cols = flux.ncols().max(1);
    let (flux, qual) = (standard(flux), standard(qual));
    let mean = |(i, (sum, n)): (usize, (f64, u32))| (n > 0).then(|| (i as f64, sum / f64::from(n)));
    rayon::join(
        || {
            let firsts: Vec<usize> = (0..cols).step_by(PROFILE_COLUMNS).collect();
            let sums: Vec<Vec<(f64, u32)>> = firsts
                .par_iter()
                .map(|&first| {
                    let last = (first + PROFILE_COLUMNS).min(cols);
                    let mut sums = vec![(0f64, 0u32); last - first];
                    for (values, quals) in flux.chunks(cols).zip(qual.chunks(cols)) {
                        let pixels = values[first..last].iter().zip(&quals[first..last]);
                        for ((sum, n), (&v, &q)) in sums.iter_mut().zip(pixels) {
                            let (add, count) = good_or_zero(v, q);
                            *sum += add;
                            *n += count;
                        }
                    }
                    sums
                })
                .collect();
            sums.into_iter()
                .flatten()
                .enumerate()
                .filter_map(mean)
                .collect()
        },
        || {
            let sums: Vec<(f64, u32)> = flux
                .par_chunks(cols)
                .zip(qual.par_chunks(cols))
                .map(|(values, quals)| {
                    values
                        .iter()
                        .zip(quals)
                        .filter(|(_, q)| **q == 0)
                        .fold((0f64, 0u32), |(sum, n), (&v, _)| {
                            (sum + f64::from(v), n + 1)
                        })
                })
                .collect();
            sums.into_iter().enumerate().filter_map(mean).collect()
        },
    )
}

/// One preview block: its good pixels' sum, count, lowest and highest value, and how
/// many bad pixels it holds.
#[derive(Clone, Copy)]
struct Block {
    sum: f64,
    good: u32,
    low: f32,
    high: f32,
    masked: u32,
}

impl Block {
    const EMPTY: Block = Block {
        sum: 0.0,
        good: 0,
        low: f32::INFINITY,
        high: f32::NEG_INFINITY,
        masked: 0,
    };
}

fn preview(flux: &Array2<f32>, qual: &Array2<u8>) -> Preview {
    let (rows, cols) = flux.dim();
    let by = rows.div_ceil(PREVIEW_CELLS).max(1);
    let bx = cols.div_ceil(PREVIEW_CELLS).max(1);
    let (prows, pcols) = (rows.div_ceil(by), cols.div_ceil(bx));
    let (flux, qual) = (standard(flux), standard(qual));
    // A block's pixels are added row by row, each row's left to right, as ever; the
    // blocks of a row of blocks take their turns pixel row by pixel row, so that their
    // sums (and lowest and highest values) do not wait on one another.
    let blocks: Vec<Block> = (0..prows)
        .into_par_iter()
        .flat_map_iter(|pr| {
            let mut blocks = vec![Block::EMPTY; pcols];
            for r in pr * by..((pr + 1) * by).min(rows) {
                let line = r * cols..(r + 1) * cols;
                let pieces = flux[line.clone()].chunks(bx).zip(qual[line].chunks(bx));
                for (block, (values, quals)) in blocks.iter_mut().zip(pieces) {
                    for (&v, &q) in values.iter().zip(quals) {
                        if q == 0 {
                            block.sum += f64::from(v);
                            block.low = block.low.min(v);
                            block.high = block.high.max(v);
                            block.good += 1;
                        } else {
                            block.masked += 1;
                        }
                    }
                }
            }
            blocks
        })
        .collect();
    let (min, max) = blocks
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(min, max), b| {
            (min.min(b.low), max.max(b.high))
        });
    let values: Vec<f32> = blocks
        .iter()
        .map(|b| {
            if b.good > 0 {
                (b.sum / f64::from(b.good)) as f32
            } else {
                f32::NAN
            }
        })
        .collect();
    let bad: Vec<f32> = blocks
        .iter()
        .map(|b| b.masked as f32 / (b.good + b.masked).max(1) as f32)
        .collect();
    let mut sorted: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_unstable_by(f32::total_cmp);
    let at = |q: f64| {
        sorted
            .get(((sorted.len().saturating_sub(1)) as f64 * q) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    // An even sample of the good pixels for zscale.
    let stride = (rows * cols / ZSCALE_SAMPLES).max(1);
    let sample: Vec<f32> = (0..rows * cols)
        .step_by(stride)
        .filter(|&i| qual[i] == 0)
        .map(|i| flux[i])
        .collect();
    let percentile = (at(0.01), at(0.99));
    let min_max = if min <= max { (min, max) } else { percentile };
    let zscale = zscale(sample).unwrap_or(percentile);
    Preview {
        cols: pcols,
        rows: prows,
        width: cols,
        height: rows,
        values,
        bad,
        limits: StretchLimits {
            quantiles: Quantiles::of_sorted(&sorted),
            min_max,
            zscale,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_and_blocks_add_their_pixels_in_the_order_they_always_did() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (rows, cols) = (700, 1300);
        let flux = Array2::from_shape_fn((rows, cols), |_| {
            rng.random_range(-1e6f32..1e6) * rng.random_range(1e-7f32..1.0)
        });
        let qual = Array2::from_shape_fn((rows, cols), |_| u8::from(rng.random_bool(0.05)));
        let (along_columns, along_rows) = profiles(&flux, &qual);
        let mean_of = |pixels: &mut dyn Iterator<Item = (usize, usize)>| {
            let (mut sum, mut n) = (0f64, 0u32);
            for (r, c) in pixels {
                if qual[[r, c]] == 0 {
                    sum += f64::from(flux[[r, c]]);
                    n += 1;
                }
            }
            (n > 0).then(|| sum / f64::from(n))
        };
        let columns: Vec<(f64, f64)> = (0..cols)
            .filter_map(|c| mean_of(&mut (0..rows).map(|r| (r, c))).map(|m| (c as f64, m)))
            .collect();
        let lines: Vec<(f64, f64)> = (0..rows)
            .filter_map(|r| mean_of(&mut (0..cols).map(|c| (r, c))).map(|m| (r as f64, m)))
            .collect();
        assert_eq!(along_columns, columns);
        assert_eq!(along_rows, lines);
        let shown = preview(&flux, &qual);
        let (by, bx) = (rows.div_ceil(PREVIEW_CELLS), cols.div_ceil(PREVIEW_CELLS));
        for (i, &value) in shown.values.iter().enumerate() {
            let (pr, pc) = (i / shown.cols, i % shown.cols);
            let mut block = (pr * by..((pr + 1) * by).min(rows))
                .flat_map(|r| (pc * bx..((pc + 1) * bx).min(cols)).map(move |c| (r, c)));
            let expected = mean_of(&mut block).map_or(f32::NAN, |m| m as f32);
            assert_eq!(value.to_bits(), expected.to_bits(), "block {i}");
        }
    }

    #[test]
    fn zscale_follows_the_bulk_and_ignores_the_tails() {
        // A ramp of 1000 values from 100 to 110, with ten hot pixels at 5000.
        let mut values: Vec<f32> = (0..1000).map(|i| 100.0 + i as f32 / 100.0).collect();
        for v in values.iter_mut().step_by(100) {
            *v = 5000.0;
        }
        let (low, high) = zscale(values).unwrap();
        assert!((100.0..101.0).contains(&low), "{low}");
        assert!((109.0..200.0).contains(&high), "{high}");
        assert_eq!(zscale(vec![f32::NAN]), None);
        assert_eq!(zscale(vec![3.0; 10]), Some((3.0, 3.0)));
    }

    #[test]
    fn percentiles_are_read_to_a_tenth_and_named_as_typed() {
        let sorted: Vec<f32> = (0..=1000).map(|i| i as f32).collect();
        let q = Quantiles::of_sorted(&sorted);
        assert_eq!((q.at(5), q.at(995), q.at(2000)), (5.0, 995.0, 1000.0));
        let limits = StretchLimits {
            quantiles: q,
            min_max: (0.0, 1000.0),
            zscale: (0.0, 1000.0),
        };
        let half = Limits::Percentile { low: 5, high: 995 };
        assert_eq!(half.of(&limits), (5.0, 995.0));
        assert_eq!(half.name(), "0.5–99.5 %");
        assert_eq!(Limits::PERCENTILE.name(), "1–99 %");
        assert_eq!(Quantiles::of_sorted(&[]).at(500), 0.0);
    }

    #[test]
    fn bad_marks_by_rule() {
        assert!(BadMarks::Any.marks(0.01, 0.001));
        assert!(
            !BadMarks::Dense.marks(0.02, 0.001),
            "scattered single pixels"
        );
        assert!(
            BadMarks::Dense.marks(0.25, 0.01),
            "a column through a block"
        );
        assert!(BadMarks::Dense.marks(1.0, 0.5));
        assert!(!BadMarks::Hidden.marks(1.0, 1.0));
    }

    #[test]
    fn transfers_keep_the_ends() {
        for t in [Transfer::Linear, Transfer::Log, Transfer::Asinh] {
            assert_eq!(t.apply(0.0), 0.0);
            assert!((t.apply(1.0) - 1.0).abs() < 1e-6);
            assert!(t.apply(0.1) >= 0.1 - 1e-6, "{t:?} brightens the faint end");
        }
    }
}
