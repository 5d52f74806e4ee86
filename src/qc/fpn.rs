//! soxspipe's `FPN FRACMAX` (periodic pattern noise): per prepared frame, 5×5 block
//! means, 2-D FFT, a 100σ clip that in practice removes only the DC term, then the ratio
//! std / MAD of the remaining complex coefficients.
//!
//! numpy compares complex numbers lexicographically (real part first), so the clip
//! bounds and the median below do the same; that is why this is not a textbook FPN.

use crate::algorithm::numerics::median_f32;
use rustfft::FftPlanner;
use rustfft::num_complex::Complex64;

const BLOCK: usize = 5;

/// Mean of each full 5×5 block as `np.ma.mean(axis=(1, 3))` rounds it (trailing rows and
/// columns that do not fill a block are dropped,
/// as `ccdproc.block_reduce` does). Returns (block rows, block cols, values).
/// `value(p)` is pixel `p` in electrons, so frames kept as ADU need no converted copy.
/// Pixels `bad` marks (soxspipe's static bad-pixel map) are left out of their block's
/// mean; a block of bad pixels only takes the median of the whole frame, as soxspipe
/// fills it.
pub fn block_means(
    value: impl Fn(usize) -> f32,
    rows: usize,
    cols: usize,
    bad: Option<&[bool]>,
) -> (usize, usize, Vec<f64>) {
    let (br, bc) = (rows / BLOCK, cols / BLOCK);
    let mut out = vec![0f64; br * bc];
    let mut empty = Vec::new();
    // numpy reduces each block row by row: a float32 sum of 5 per row, then the row sums
    // in order. The FPN ratio is sensitive to this rounding at 1e-5. A band of five rows
    // is read a row at a time, left to right, the blocks' sums kept side by side.
    let mut sums = vec![0f32; bc];
    let mut counts = vec![0u32; bc];
    for (i, out_row) in out.chunks_mut(bc.max(1)).enumerate().take(br) {
        sums.fill(0.0);
        counts.fill(0);
        for r in 0..BLOCK {
            let row = (i * BLOCK + r) * cols;
            match bad {
                None => {
                    for (j, sum) in sums.iter_mut().enumerate() {
                        let start = row + j * BLOCK;
                        *sum += (start..start + BLOCK).fold(0f32, |s, p| s + value(p));
                    }
                    counts.iter_mut().for_each(|c| *c += BLOCK as u32);
                }
                Some(bad) => {
                    for (j, (sum, count)) in sums.iter_mut().zip(&mut counts).enumerate() {
                        let start = row + j * BLOCK;
                        *sum += (start..start + BLOCK).fold(0f32, |s, p| {
                            if bad[p] {
                                s + 0.0
                            } else {
                                *count += 1;
                                s + value(p)
                            }
                        });
                    }
                }
            }
        }
        for (j, (cell, (&sum, &count))) in
            out_row.iter_mut().zip(sums.iter().zip(&counts)).enumerate()
        {
            if count == 0 {
                empty.push(i * bc + j);
            }
            *cell = f64::from(sum) / f64::from(count);
        }
    }
    if !empty.is_empty() {
        let median = frame_median(&value, rows * cols);
        for cell in empty {
            out[cell] = median;
        }
    }
    (br, bc, out)
}

/// `np.median` of a float32 frame (even count: the float32 mean of the middle two).
fn frame_median(value: &impl Fn(usize) -> f32, pixels: usize) -> f64 {
    median_f32(|| (0..pixels).map(value), pixels).map_or(f64::NAN, f64::from)
}

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

fn complex_mean(values: &[Complex64]) -> Complex64 {
    values.iter().sum::<Complex64>() / values.len() as f64
}

fn complex_std(values: &[Complex64]) -> f64 {
    let centre = complex_mean(values);
    (values.iter().map(|z| (z - centre).norm_sqr()).sum::<f64>() / values.len() as f64).sqrt()
}

/// The FPN ratio of one prepared frame.
pub fn fpn_ratio(
    value: impl Fn(usize) -> f32,
    rows: usize,
    cols: usize,
    bad: Option<&[bool]>,
) -> f64 {
    let (br, bc, blocks) = block_means(value, rows, cols, bad);
    if br == 0 || bc == 0 {
        return f64::NAN;
    }
    let mut spectrum: Vec<Complex64> = blocks.iter().map(|&v| Complex64::new(v, 0.0)).collect();
    fft2(&mut spectrum, br, bc);

    let centre = complex_mean(&spectrum);
    let spread = complex_std(&spectrum) * 100.0;
    let lower = Complex64::new(centre.re - spread, centre.im);
    let upper = Complex64::new(centre.re + spread, centre.im);
    // Filtered and measured in place, and the block means' buffer reused for the
    // squared deviations: a 4k frame's spectrum is 10 MB, and fresh pages cost a fault
    // each.
    let mut good = spectrum;
    good.retain(|z| lexicographic(z, &lower).is_ge() && lexicographic(z, &upper).is_le());
    if good.is_empty() {
        return f64::NAN;
    }
    let std = complex_std(&good);
    let n = good.len();
    let (lower, upper, _) = good.select_nth_unstable_by(n / 2, lexicographic);
    let upper = *upper;
    let median = if n % 2 == 1 {
        upper
    } else {
        let below = lower.iter().copied().max_by(lexicographic).unwrap_or(upper);
        (below + upper) / 2.0
    };
    let mut squared = blocks;
    squared.clear();
    squared.extend(good.iter().map(|z| (z - median).norm_sqr()));
    std / median_of_roots(&mut squared)
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
    fn block_means_drop_partial_blocks() {
        let data: Vec<f32> = (0..(11 * 7)).map(|i| i as f32).collect();
        let (br, bc, m) = block_means(|p| data[p], 11, 7, None);
        assert_eq!((br, bc), (2, 1));
        // rows 0..5, cols 0..5 of a 7-wide ramp: mean of i*7+j = 2*7 + 2
        assert_eq!(m[0], 16.0);
    }

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

    #[test]
    fn white_noise_ratio_is_near_gaussian_value() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        // Large enough that the 100σ clip removes the DC term (it does not on small frames).
        let data: Vec<f32> = (0..2000 * 800)
            .map(|_| 1000.0 + rng.random::<f32>() * 10.0)
            .collect();
        let r = fpn_ratio(|p| data[p], 2000, 800, None);
        assert!(r > 1.0 && r < 1.5, "{r}");
    }
}
