//! Two masters pixel by pixel: the statistics of their difference over the pixels both
//! trust, the reference's own spread, and the bad pixels new and gone.

use serde::Serialize;

use super::read::MasterImage;
use crate::algorithm::numerics::median_and_robust_std;

/// The fewest bad pixels the growth is measured against. A master's QUAL flags a stack's
/// statistical outliers too, so a reference with a handful of bad pixels is chance, and
/// dividing by it would make two new outliers a doubling; a hundred pixels, a short bad
/// column, is the smallest change worth a reject at the default limit of 1.
const GROWTH_FLOOR: usize = 100;

/// Statistics of tonight − reference (e-) over the pixels good in both masters and finite
/// in both. NaN where there are none (JSON null).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DifferenceStats {
    pub count: usize,
    pub mean: f64,
    /// Population standard deviation (numpy's default).
    pub std: f64,
    /// 1.4826 × the median absolute deviation from the median.
    pub robust_std: f64,
    pub max_abs: f64,
}

impl DifferenceStats {
    /// Consumes `differences`, which it reorders for the median.
    fn of(mut differences: Vec<f64>) -> DifferenceStats {
        let count = differences.len();
        let n = count as f64;
        let mean = differences.iter().sum::<f64>() / n;
        let variance = differences.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n;
        let max_abs = differences.iter().map(|d| d.abs()).fold(f64::NAN, f64::max);
        DifferenceStats {
            count,
            mean,
            std: variance.sqrt(),
            robust_std: robust_std(&mut differences),
            max_abs,
        }
    }
}

/// 1.4826 × MAD of `values` (which it overwrites); NaN when there are none.
fn robust_std(values: &mut [f64]) -> f64 {
    median_and_robust_std(values).map_or(f64::NAN, |(_, std)| std)
}

/// What the pixels of two masters tell.
#[derive(Debug)]
pub(super) struct PixelComparison {
    /// Of tonight − reference over the pixels good and finite in both.
    pub difference: DifferenceStats,
    /// The reference's robust std over the same pixels.
    pub reference_spread: f64,
    /// Bad tonight and good in the reference.
    pub new: usize,
    /// Good tonight and bad in the reference.
    pub gone: usize,
    pub reference_bad: usize,
}

impl PixelComparison {
    /// The difference's robust std over √2 × the reference's (see
    /// [`crate::params::CompareStatistic::NoiseRatio`]). A reference without spread (flat,
    /// or stored as integers that mostly agree) leaves nothing to scale by: a difference
    /// without spread either is 1, the same noise-free master, and one with spread +∞, for
    /// no limit can say how much noisier tonight is. NaN when no pixel is good in both.
    pub fn noise_ratio(&self) -> f64 {
        let (difference, spread) = (self.difference.robust_std, self.reference_spread);
        if spread != 0.0 {
            difference / (std::f64::consts::SQRT_2 * spread)
        } else if difference == 0.0 {
            1.0
        } else {
            f64::INFINITY
        }
    }

    /// (new − gone) / the reference's bad pixels, or [`GROWTH_FLOOR`] when it has fewer.
    pub fn bad_pixel_growth(&self) -> f64 {
        (self.new as f64 - self.gone as f64) / self.reference_bad.max(GROWTH_FLOOR) as f64
    }
}

/// Compares two masters pixel by pixel. The shapes are the caller's to check.
pub(super) fn compare_pixels(tonight: &MasterImage, reference: &MasterImage) -> PixelComparison {
    let mut differences = Vec::with_capacity(tonight.flux.len());
    let mut references = Vec::with_capacity(reference.flux.len());
    let (mut new, mut gone) = (0, 0);
    let pixels = tonight.flux.iter().zip(&reference.flux);
    let masks = tonight.bad.iter().zip(&reference.bad);
    for ((t, r), bad) in pixels.zip(masks) {
        match bad {
            (true, false) => new += 1,
            (false, true) => gone += 1,
            (false, false) if t.is_finite() && r.is_finite() => {
                differences.push(t - r);
                references.push(*r);
            }
            _ => {}
        }
    }
    PixelComparison {
        difference: DifferenceStats::of(differences),
        reference_spread: robust_std(&mut references),
        new,
        gone,
        reference_bad: reference.bad.iter().filter(|&&b| b).count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::numerics::MAD_TO_STD;

    fn image(flux: &[f64], bad: &[bool]) -> MasterImage {
        MasterImage {
            shape: (1, flux.len()),
            flux: flux.to_vec(),
            bad: bad.to_vec(),
        }
    }

    /// Six pixels. Good in both: pixels 0–3, differences 1, 2, 3, 10 (mean 4, std
    /// √(9+4+1+36)/2 = √12.5, median 2.5, |d − 2.5| = 1.5, 0.5, 0.5, 7.5 so MAD 1,
    /// max 10). Pixel 4 bad tonight only (new), pixel 5 bad in the reference only (gone);
    /// neither enters the statistics, however wild its value. The reference's good
    /// pixels 8, 10, 10, 14: median 10, deviations 2, 0, 0, 4, MAD 1.
    #[test]
    fn statistics_of_a_hand_checked_case() {
        let tonight = image(
            &[9.0, 12.0, 13.0, 24.0, 1e6, 10.0],
            &[false, false, false, false, true, false],
        );
        let reference = image(
            &[8.0, 10.0, 10.0, 14.0, 10.0, -1e6],
            &[false, false, false, false, false, true],
        );
        let pixels = compare_pixels(&tonight, &reference);
        let stats = pixels.difference;
        assert_eq!((stats.count, pixels.new, pixels.gone), (4, 1, 1));
        assert_eq!(pixels.reference_bad, 1);
        assert_eq!(stats.mean, 4.0);
        assert!((stats.std - 12.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(stats.robust_std, MAD_TO_STD);
        assert_eq!(stats.max_abs, 10.0);
        assert_eq!(pixels.reference_spread, MAD_TO_STD);
        assert_eq!(pixels.noise_ratio(), 1.0 / std::f64::consts::SQRT_2);
    }

    #[test]
    fn non_finite_pixels_are_left_out() {
        let tonight = image(&[f64::NAN, 5.0], &[false, true]);
        let reference = image(&[1.0, 5.0], &[false, false]);
        let pixels = compare_pixels(&tonight, &reference);
        let stats = pixels.difference;
        assert_eq!((stats.count, pixels.new), (0, 1));
        assert!(stats.mean.is_nan() && stats.robust_std.is_nan() && stats.max_abs.is_nan());
        assert!(pixels.noise_ratio().is_nan());
    }

    /// A flat reference (a master stored as integers, mostly one value): the same master
    /// again is ratio 1, a noisy one +∞, not 0/0.
    #[test]
    fn a_reference_without_spread_gives_a_ratio_of_one_or_infinity() {
        let flat = image(&[10.0; 5], &[false; 5]);
        assert_eq!(compare_pixels(&flat, &flat).noise_ratio(), 1.0);
        let noisy = image(&[9.0, 11.0, 8.0, 12.0, 10.0], &[false; 5]);
        let pixels = compare_pixels(&noisy, &flat);
        assert_eq!(pixels.difference.count, 5);
        assert_eq!(pixels.noise_ratio(), f64::INFINITY);
    }

    #[test]
    fn growth_is_measured_against_at_least_a_hundred_bad_pixels() {
        let growth = |new, gone, reference_bad| {
            PixelComparison {
                difference: DifferenceStats::of(Vec::new()),
                reference_spread: 1.0,
                new,
                gone,
                reference_bad,
            }
            .bad_pixel_growth()
        };
        assert_eq!(growth(2, 0, 0), 0.02, "two new outliers are no doubling");
        assert_eq!(growth(2, 0, 3), 0.02);
        assert_eq!(growth(100, 0, 3), 1.0);
        assert_eq!(growth(150, 50, 400), 0.25);
        assert_eq!(growth(0, 40, 200), -0.2);
    }
}
