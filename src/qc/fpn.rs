//! soxspipe's `FPN FRACMAX` (periodic pattern noise): per prepared frame, 5×5 block
//! means, 2-D FFT, a 100σ clip that in practice removes only the DC term, then the ratio
//! std / MAD of the remaining complex coefficients.
//!
//! numpy compares complex numbers lexicographically (real part first), so the clip
//! bounds and the median below do the same; that is why this is not a textbook FPN.

use crate::algorithm::block_means;
use rustfft::FftPlanner;
use rustfft::num_complex::Complex64;

/// In-place 2-D FFT of a row-major `rows × cols` array: the rows as one batch, then the
/// columns in batches of a few, gathered side by side into a small buffer (each column's
/// FFT is the same computation as on a column gathered alone).
fn fft2(values: &mut [Complex64], rows: usize, cols: usize) {
    const COLUMNS: usize = 16;
    let mut planner = FftPlanner::<f64>::new();
    planner.plan_fft_forward(cols).process(values);
    let along_cols = planner.plan_fft_forward(rows);
    let mut batch = vec![Complex64::default(); rows * COLUMNS];
    let mut scratch = vec![Complex64::default(); along_cols.get_inplace_scratch_len()];
    for first in (0..cols).step_by(COLUMNS) {
        let width = COLUMNS.min(cols - first);
        let batch = &mut batch[..rows * width];
        for (i, row) in values.chunks_exact(cols).enumerate() {
            for (c, &z) in row[first..first + width].iter().enumerate() {
                batch[c * rows + i] = z;
            }
        }
        along_cols.process_with_scratch(batch, &mut scratch);
        for (i, row) in values.chunks_exact_mut(cols).enumerate() {
            for (c, z) in row[first..first + width].iter_mut().enumerate() {
                *z = batch[c * rows + i];
            }
        }
    }
}

fn lexicographic(a: &Complex64, b: &Complex64) -> std::cmp::Ordering {
    a.re.total_cmp(&b.re).then(a.im.total_cmp(&b.im))
}

/// numpy's mean of complex values: the sum in order, from zero.
fn complex_mean(values: &[Complex64]) -> Complex64 {
    values.iter().sum::<Complex64>() / values.len() as f64
}

/// numpy's population std of complex values about their `mean`.
fn complex_std(values: &[Complex64], mean: Complex64) -> f64 {
    (values.iter().map(|z| (z - mean).norm_sqr()).sum::<f64>() / values.len() as f64).sqrt()
}

/// The spectrum's mean and std, and the std of all its values but the first (the DC
/// term, in practice all that the 100σ clip leaves out), each summed in order as numpy
/// sums it. The sums are chains of dependent adds, which keep a core waiting on each; the
/// two sets' chains run side by side in the same passes, so the second costs little.
struct SpectrumMoments {
    mean: Complex64,
    std: f64,
    /// The std of `values[1..]`; `None` for fewer than two values.
    std_without_first: Option<f64>,
}

impl SpectrumMoments {
    fn of(values: &[Complex64]) -> SpectrumMoments {
        let (first, rest) = match values {
            [first, rest @ ..] if !rest.is_empty() => (first, rest),
            _ => {
                let mean = complex_mean(values);
                return SpectrumMoments {
                    mean,
                    std: complex_std(values, mean),
                    std_without_first: None,
                };
            }
        };
        let zero = Complex64::new(0.0, 0.0);
        let (mut all, mut tail) = (zero + first, zero);
        for &z in rest {
            all += z;
            tail += z;
        }
        let (n, m) = (values.len() as f64, rest.len() as f64);
        let (mean, tail_mean) = (all / n, tail / m);
        // From −0.0, as `Iterator::sum` of float64 starts.
        let (mut all, mut tail) = (-0.0 + (first - mean).norm_sqr(), -0.0);
        for &z in rest {
            all += (z - mean).norm_sqr();
            tail += (z - tail_mean).norm_sqr();
        }
        SpectrumMoments {
            mean,
            std: (all / n).sqrt(),
            std_without_first: Some((tail / m).sqrt()),
        }
    }
}

/// The FPN ratio of one prepared frame.
/// `row` writes a row of it in electrons, as [`block_means`] takes it.
pub fn fpn_ratio(
    row: impl Fn(usize, &mut [f32]),
    rows: usize,
    cols: usize,
    bad: Option<&[bool]>,
) -> f64 {
    let (br, bc, blocks) = block_means(row, rows, cols, bad);
    if br == 0 || bc == 0 {
        return f64::NAN;
    }
    let mut spectrum: Vec<Complex64> = blocks.iter().map(|&v| Complex64::new(v, 0.0)).collect();
    fft2(&mut spectrum, br, bc);

    let moments = SpectrumMoments::of(&spectrum);
    let (centre, spread) = (moments.mean, moments.std * 100.0);
    let lower = Complex64::new(centre.re - spread, centre.im);
    let upper = Complex64::new(centre.re + spread, centre.im);
    let inside =
        |z: &Complex64| lexicographic(z, &lower).is_ge() && lexicographic(z, &upper).is_le();
    // Where the clip leaves out the DC term alone, the values it keeps are the rest of
    // the spectrum, whose std is measured already. Otherwise they are filtered in place.
    let (good, std) = match moments.std_without_first {
        Some(std) if !inside(&spectrum[0]) && spectrum[1..].iter().all(inside) => {
            (&mut spectrum[1..], std)
        }
        _ => {
            spectrum.retain(inside);
            if spectrum.is_empty() {
                return f64::NAN;
            }
            let std = complex_std(&spectrum, complex_mean(&spectrum));
            (&mut spectrum[..], std)
        }
    };
    let median = lexicographic_median(good);
    let mut squared = blocks;
    squared.clear();
    squared.extend(good.iter().map(|z| (z - median).norm_sqr()));
    std / median_of_roots(&mut squared)
}

/// numpy's median of complex values (non-empty), which sorts them lexicographically:
/// the middle value, or the mean of the two middle ones. Reorders `values`.
fn lexicographic_median(values: &mut [Complex64]) -> Complex64 {
    let n = values.len();
    let (lower, upper, _) = values.select_nth_unstable_by(n / 2, lexicographic);
    let upper = *upper;
    if n % 2 == 1 {
        upper
    } else {
        let below = lower.iter().copied().max_by(lexicographic).unwrap_or(upper);
        (below + upper) / 2.0
    }
}

/// The median of the square roots of `squared`, taking only the one or two roots the
/// median needs: numpy's `abs` of every complex deviation is a `hypot` per value, which
/// cost more than the FFT (the order, and so the chosen values, are the same).
fn median_of_roots(squared: &mut [f64]) -> f64 {
    let n = squared.len();
    if n == 0 {
        return f64::NAN;
    }
    let (lower, upper, _) = squared.select_nth_unstable_by(n / 2, f64::total_cmp);
    let upper = upper.sqrt();
    if n % 2 == 1 {
        return upper;
    }
    let below = lower
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max)
        .sqrt();
    (below + upper) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fft2_of_constant_is_a_dc_spike() {
        let mut v = vec![Complex64::new(1.0, 0.0); 12];
        fft2(&mut v, 3, 4);
        assert!((v[0].re - 12.0).abs() < 1e-12);
        assert!(v[1..].iter().all(|z| z.norm() < 1e-12));
    }

    #[test]
    fn median_of_roots_is_the_median_of_the_values() {
        assert_eq!(median_of_roots(&mut [16.0, 1.0, 9.0]), 3.0);
        assert_eq!(median_of_roots(&mut [16.0, 1.0, 9.0, 4.0]), 2.5);
        assert!(median_of_roots(&mut []).is_nan());
    }

    /// The ratio as soxspipe's steps read: the clip's survivors filtered out, then
    /// their mean and std measured again (the median and MAD after them are
    /// `fpn_ratio`'s own). Also says how many values the clip left out.
    fn ratio_step_by_step(data: &[f32], rows: usize, cols: usize) -> (f64, usize) {
        let row = |y: usize, line: &mut [f32]| line.copy_from_slice(&data[y * cols..][..cols]);
        let (br, bc, blocks) = block_means(row, rows, cols, None);
        let mut spectrum: Vec<Complex64> = blocks.iter().map(|&v| Complex64::new(v, 0.0)).collect();
        fft2(&mut spectrum, br, bc);
        let centre = complex_mean(&spectrum);
        let spread = complex_std(&spectrum, complex_mean(&spectrum)) * 100.0;
        let lower = Complex64::new(centre.re - spread, centre.im);
        let upper = Complex64::new(centre.re + spread, centre.im);
        let all = spectrum.len();
        let mut good = spectrum;
        good.retain(|z| lexicographic(z, &lower).is_ge() && lexicographic(z, &upper).is_le());
        let std = complex_std(&good, complex_mean(&good));
        let n = good.len();
        let median = lexicographic_median(&mut good);
        let mut squared: Vec<f64> = good.iter().map(|z| (z - median).norm_sqr()).collect();
        (std / median_of_roots(&mut squared), all - n)
    }

    #[test]
    fn ratio_has_the_bits_of_the_step_by_step_measurement() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        // The clip leaves out the DC term alone, nothing (a small frame), and both bins of
        // a strong ripple four blocks long (whose power keeps the DC term in).
        for (rows, cols, ripple, left_out) in [
            (1000, 600, 0.0, 1),
            (60, 45, 0.0, 0),
            (1000, 1500, 4000.0, 2),
        ] {
            let data: Vec<f32> = (0..rows * cols)
                .map(|p| {
                    let block = ((p % cols) / 5) as f32;
                    let phase = std::f32::consts::FRAC_PI_2 * block;
                    1000.0 + rng.random::<f32>() * 10.0 + ripple * phase.cos()
                })
                .collect();
            let (expected, out) = ratio_step_by_step(&data, rows, cols);
            assert_eq!(out, left_out, "{rows}×{cols}, ripple {ripple}");
            let row = |y: usize, line: &mut [f32]| line.copy_from_slice(&data[y * cols..][..cols]);
            let ratio = fpn_ratio(row, rows, cols, None);
            assert_eq!(
                ratio.to_bits(),
                expected.to_bits(),
                "{rows}×{cols}: {ratio} {expected}"
            );
        }
    }

    #[test]
    fn white_noise_ratio_is_near_gaussian_value() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        // Large enough that the 100σ clip removes the DC term (it does not on small frames).
        let data: Vec<f32> = (0..2000 * 800)
            .map(|_| 1000.0 + rng.random::<f32>() * 10.0)
            .collect();
        let r = fpn_ratio(
            |y, line| line.copy_from_slice(&data[y * 800..][..800]),
            2000,
            800,
            None,
        );
        assert!(r > 1.0 && r < 1.5, "{r}");
    }
}
