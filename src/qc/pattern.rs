//! The strongest periodic pattern in a master bias: its spatial frequency and amplitude.
//!
//! Pickup noise from the readout electronics prints a fixed sinusoidal ripple into every
//! bias, and stacking keeps it while averaging the random noise away, so the master is
//! where it shows best. `FPN FRACMAX` only says that some pattern exists; the peak's
//! frequency is what points at its source, and its amplitude in e- says whether it matters.
//!
//! Conventions: x is the column index, y the row index, and the image is taken as
//! `I(y, x)`. A real sinusoid `A·cos(2π(fx·x + fy·y) + φ)` is the same pattern as the one
//! with (−fx, −fy), so the peak is reported with `freq_x ≥ 0` and `freq_y` signed; at
//! `freq_x = 0.5` (the x Nyquist frequency), where both signs of y are again the same
//! pattern, `freq_y ≥ 0` save for −0.5. The zero-frequency row and column of the spectrum
//! are left out: they hold gradients and row/column structure (STRUCTX/STRUCTY's
//! business), not ripples.

use std::sync::Arc;

use rayon::prelude::*;
use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PatternPeak {
    /// Cycles per pixel along x, in [0, 0.5].
    pub freq_x: f64,
    /// Cycles per pixel along y, in [−0.5, 0.5).
    pub freq_y: f64,
    /// Amplitude of the sinusoid at the peak, in the image's units. Exact for a pattern
    /// on a frequency bin; one between bins reads low (no window or interpolation, to keep
    /// the value simple to reproduce): by 2/π per axis at half a bin off.
    pub amplitude: f64,
}

/// Columns of the half spectrum transformed together: each image row then yields a run of
/// adjacent values instead of one scattered read per column.
const COLUMN_BLOCK: usize = 8;

/// The peak of the spectrum of a row-major `rows × cols` image.
///
/// Pixels flagged in `bad` (a quality map: non-zero = bad) and non-finite pixels are set to the mean of the
/// rest, so they neither add a spike nor, through the mean, a DC offset that leaks at the
/// mask's own frequencies. `None` when the image is smaller than 4×4, the lengths do not
/// match the shape, or no pixel is good.
pub fn pattern_peak(
    image: &[f32],
    rows: usize,
    cols: usize,
    bad: Option<&[u8]>,
) -> Option<PatternPeak> {
    let (ky, kx, magnitude) = peak_bin(image, rows, cols, bad)?;
    // A real sinusoid splits its power between ±k; only a bin that is its own mirror
    // (Nyquist in both axes) holds all of it.
    let self_mirror = 2 * ky == rows && 2 * kx == cols;
    let sides = if self_mirror { 1.0 } else { 2.0 };
    let freq_y = if 2 * ky >= rows {
        ky as f64 / rows as f64 - 1.0
    } else {
        ky as f64 / rows as f64
    };
    Some(PatternPeak {
        freq_x: kx as f64 / cols as f64,
        freq_y,
        amplitude: sides * magnitude / (rows * cols) as f64,
    })
}

/// Strongest bin `(ky, kx, |F|)` of the half spectrum (`kx ≤ cols/2`), leaving out `ky = 0`,
/// `kx = 0` and the mirrored half of the `kx = cols/2` column.
fn peak_bin(
    image: &[f32],
    rows: usize,
    cols: usize,
    bad: Option<&[u8]>,
) -> Option<(usize, usize, f64)> {
    let npix = rows.checked_mul(cols)?;
    if rows < 4 || cols < 4 || image.len() != npix || bad.is_some_and(|m| m.len() != npix) {
        return None;
    }
    // Each row's flags: the quality map's, or none bad.
    let none_bad = vec![0u8; cols];
    let flags = |i: usize| bad.map_or(&none_bad[..], |m| &m[i * cols..(i + 1) * cols]);
    let row = |i: usize| &image[i * cols..(i + 1) * cols];

    // Per-row sums added in row order, so the mean does not depend on rayon's splits.
    let row_sums: Vec<(f64, usize)> = (0..rows)
        .into_par_iter()
        .map(|i| good_sum(row(i), flags(i)))
        .collect();
    let (sum, count) = row_sums
        .iter()
        .fold((0.0, 0usize), |(s, n), &(rs, rn)| (s + rs, n + rn));
    if count == 0 {
        return None;
    }
    let mean = sum / count as f64;
    // Float32 spectra: a 4096×4096 master's half spectrum is 67 MB instead of 134 MB,
    // and the peak's frequency and amplitude do not need more digits.
    let values = |i: usize, out: &mut [f32]| {
        for ((out, &v), &flag) in out.iter_mut().zip(row(i)).zip(flags(i)) {
            *out = if is_good(v, flag) {
                (f64::from(v) - mean) as f32
            } else {
                0.0
            };
        }
    };

    let mut planner = FftPlanner::<f32>::new();
    let along_rows = planner.plan_fft_forward(cols);
    let along_cols = planner.plan_fft_forward(rows);
    let half = cols / 2 + 1;
    let spectrum = half_spectrum_of_rows(rows, cols, &values, &along_rows);

    (1..half)
        .step_by(COLUMN_BLOCK)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map_init(
            || {
                (
                    vec![Complex32::default(); rows * COLUMN_BLOCK],
                    vec![Complex32::default(); along_cols.get_inplace_scratch_len()],
                )
            },
            |(buffer, scratch), first| {
                let last = (first + COLUMN_BLOCK).min(half);
                let width = last - first;
                for (i, row) in spectrum.rows().enumerate() {
                    for (c, &z) in row[first..last].iter().enumerate() {
                        buffer[c * rows + i] = z;
                    }
                }
                let columns = &mut buffer[..width * rows];
                along_cols.process_with_scratch(columns, scratch);
                let mut best: Option<(f64, usize, usize)> = None;
                for (c, column) in columns.chunks_exact(rows).enumerate() {
                    let kx = first + c;
                    // At the x Nyquist column, (ky, kx) and (rows − ky, kx) are mirror
                    // images of one pattern: keep one of each pair.
                    let ky_end = if 2 * kx == cols { rows / 2 + 1 } else { rows };
                    let peak = strongest(&column[1..ky_end])
                        .map(|(power, ky)| (f64::from(power), ky + 1, kx));
                    best = stronger(best, peak);
                }
                best
            },
        )
        .reduce(|| None, stronger)
        .map(|(power, ky, kx)| (ky, kx, power.sqrt()))
}

/// Rows of the half spectrum held together: a strip of a 4096-column spectrum is about
/// 1 MB, where one block of all of it would be 67 MB for a 4k master. Even, so that the
/// two rows of one FFT fall in the same strip.
const STRIP_ROWS: usize = 64;

/// The half spectrum's rows, [`STRIP_ROWS`] to a strip, each row `cols/2 + 1` values.
struct HalfSpectrum {
    strips: Vec<Vec<Complex32>>,
    half: usize,
}

impl HalfSpectrum {
    /// Every row, in order.
    fn rows(&self) -> impl Iterator<Item = &[Complex32]> {
        self.strips.iter().flat_map(|s| s.chunks_exact(self.half))
    }
}

/// The `rows × (cols/2 + 1)` spectra of the rows, whose values `values(i, row)` writes.
/// Two real rows go through one complex FFT as real and imaginary parts, which halves
/// the work of the larger pass.
///
/// The strips are filled as they are allocated, never zeroed first. A one-off command
/// line run then takes most of them from memory the stack's bands have just freed,
/// rather than 67 MB of fresh pages (W2: 16.4 k → 8 k page faults, the QC 80 → 65 ms).
fn half_spectrum_of_rows(
    rows: usize,
    cols: usize,
    values: &(impl Fn(usize, &mut [f32]) + Sync),
    fft: &Arc<dyn Fft<f32>>,
) -> HalfSpectrum {
    let half = cols / 2 + 1;
    let strips = (0..rows.div_ceil(STRIP_ROWS))
        .into_par_iter()
        .map_init(
            || {
                (
                    vec![Complex32::default(); cols],
                    vec![Complex32::default(); fft.get_inplace_scratch_len()],
                    vec![0f32; cols],
                    vec![0f32; cols],
                )
            },
            |(buffer, scratch, re, im), strip| {
                let strip_rows = strip * STRIP_ROWS..((strip + 1) * STRIP_ROWS).min(rows);
                let mut out = Vec::with_capacity(strip_rows.len() * half);
                for upper in strip_rows.clone().step_by(2) {
                    let lower = upper + 1;
                    values(upper, re);
                    if lower < rows {
                        values(lower, im);
                    } else {
                        im.fill(0.0);
                    }
                    for ((z, &re), &im) in buffer.iter_mut().zip(re.iter()).zip(im.iter()) {
                        *z = Complex32::new(re, im);
                    }
                    fft.process_with_scratch(buffer, scratch);
                    // With z = a + i·b and A, B Hermitian: A[k] = (Z[k] + Z̄[−k]) / 2 and
                    // B[k] = (Z[k] − Z̄[−k]) / 2i.
                    let mirror = |k: usize| buffer[if k == 0 { 0 } else { cols - k }].conj();
                    out.extend((0..half).map(|k| (buffer[k] + mirror(k)) * 0.5));
                    if lower < strip_rows.end {
                        out.extend(
                            (0..half).map(|k| (buffer[k] - mirror(k)) * Complex32::new(0.0, -0.5)),
                        );
                    }
                }
                out
            },
        )
        .collect();
    HalfSpectrum { strips, half }
}

/// The sum of a row's good pixels (finite, flag 0) and their count: eight partial sums,
/// pixel `k` going to sum `k % 8` (independent chains of adds, in vector lanes), then
/// added in order.
fn good_sum(values: &[f32], flags: &[u8]) -> (f64, usize) {
    const LANES: usize = 8;
    let (mut sums, mut counts) = ([0f64; LANES], [0usize; LANES]);
    let (chunks, rest) = values.as_chunks::<LANES>();
    let (flag_chunks, rest_flags) = flags.as_chunks::<LANES>();
    let mut add = |l: usize, v: f32, flag: u8| {
        let good = is_good(v, flag);
        sums[l] += if good { f64::from(v) } else { 0.0 };
        counts[l] += usize::from(good);
    };
    for (v, f) in chunks.iter().zip(flag_chunks) {
        for l in 0..LANES {
            add(l, v[l], f[l]);
        }
    }
    for (l, (&v, &flag)) in rest.iter().zip(rest_flags).enumerate() {
        add(l, v, flag);
    }
    (sums.iter().sum(), counts.iter().sum())
}

/// A pixel the pattern search counts: finite, and not flagged bad. (`&`, not `&&`, so
/// that the tests run side by side in vector lanes.)
#[inline(always)]
fn is_good(v: f32, flag: u8) -> bool {
    v.is_finite() & (flag == 0)
}

/// The largest `|z|²` of `bins` and its index, the first of equals (the order of
/// `f32::total_cmp`, read off integer keys so that the search runs in vector lanes).
fn strongest(bins: &[Complex32]) -> Option<(f32, usize)> {
    let key = |z: &Complex32| {
        let bits = z.norm_sqr().to_bits() as i32;
        bits ^ (((bits >> 31) as u32) >> 1) as i32
    };
    let top = bins.iter().map(key).max()?;
    let at = bins.iter().position(|z| key(z) == top)?;
    Some((bins[at].norm_sqr(), at))
}

/// The larger power; on a tie the lower (kx, ky), so the answer does not depend on how
/// rayon split the columns.
fn stronger(
    a: Option<(f64, usize, usize)>,
    b: Option<(f64, usize, usize)>,
) -> Option<(f64, usize, usize)> {
    match (a, b) {
        (Some(x), Some(y)) => {
            let order =
                x.0.total_cmp(&y.0)
                    .then_with(|| (y.2, y.1).cmp(&(x.2, x.1)));
            Some(if order.is_ge() { x } else { y })
        }
        (x, None) => x,
        (None, y) => y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rustfft::num_complex::Complex64;
    use std::f64::consts::PI;

    fn sinusoid(rows: usize, cols: usize, fx: f64, fy: f64, amplitude: f64) -> Vec<f32> {
        (0..rows * cols)
            .map(|p| {
                let (y, x) = ((p / cols) as f64, (p % cols) as f64);
                (amplitude * (2.0 * PI * (fx * x + fy * y)).cos()) as f32
            })
            .collect()
    }

    #[test]
    fn recovers_a_sinusoid() {
        let (rows, cols) = (64, 128);
        let image = sinusoid(rows, cols, 8.0 / 128.0, 4.0 / 64.0, 3.0);
        let p = pattern_peak(&image, rows, cols, None).unwrap();
        assert_eq!(p.freq_x, 8.0 / 128.0);
        assert_eq!(p.freq_y, 4.0 / 64.0);
        assert!((p.amplitude - 3.0).abs() < 3e-6, "{p:?}");
    }

    #[test]
    fn reports_the_wave_vector_with_non_negative_x() {
        let (rows, cols) = (64, 128);
        // cos(2π(fx·x − fy·y)) is reported as (fx, −fy) …
        let image = sinusoid(rows, cols, 8.0 / 128.0, -4.0 / 64.0, 3.0);
        let p = pattern_peak(&image, rows, cols, None).unwrap();
        assert_eq!((p.freq_x, p.freq_y), (8.0 / 128.0, -4.0 / 64.0));
        // … and cos(2π(−fx·x + fy·y)), the same pattern, identically.
        let image = sinusoid(rows, cols, -8.0 / 128.0, 4.0 / 64.0, 3.0);
        let q = pattern_peak(&image, rows, cols, None).unwrap();
        assert_eq!((q.freq_x, q.freq_y), (8.0 / 128.0, -4.0 / 64.0));
    }

    #[test]
    fn nyquist_in_both_axes_keeps_the_full_amplitude() {
        // (−1)^(x+y): the checkerboard, its own mirror image in the spectrum.
        let (rows, cols) = (8, 10);
        let image = sinusoid(rows, cols, 0.5, 0.5, 2.0);
        let p = pattern_peak(&image, rows, cols, None).unwrap();
        assert_eq!((p.freq_x, p.freq_y), (0.5, -0.5));
        assert!((p.amplitude - 2.0).abs() < 1e-9, "{p:?}");
    }

    #[test]
    fn a_gradient_is_not_a_pattern() {
        let (rows, cols) = (64, 128);
        let ramp: Vec<f32> = (0..rows * cols).map(|p| (p % cols) as f32).collect();
        let ramp_peak = pattern_peak(&ramp, rows, cols, None).unwrap();
        let wave = sinusoid(rows, cols, 8.0 / 128.0, 4.0 / 64.0, 3.0);
        let wave_peak = pattern_peak(&wave, rows, cols, None).unwrap();
        // The ramp's 127 e- span is all in the excluded ky = 0 row.
        assert!(
            ramp_peak.amplitude < 1e-6 * wave_peak.amplitude,
            "{ramp_peak:?}"
        );
        // Nor does it hide a sinusoid on top of it.
        let both: Vec<f32> = ramp.iter().zip(&wave).map(|(a, b)| a + b).collect();
        let p = pattern_peak(&both, rows, cols, None).unwrap();
        assert_eq!((p.freq_x, p.freq_y), (wave_peak.freq_x, wave_peak.freq_y));
        assert!((p.amplitude - 3.0).abs() < 1e-4, "{p:?}");
    }

    #[test]
    fn masked_and_non_finite_pixels_are_ignored() {
        let (rows, cols) = (64, 128);
        let mut image = sinusoid(rows, cols, 8.0 / 128.0, 4.0 / 64.0, 3.0);
        let mut bad = vec![0u8; rows * cols];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        for _ in 0..20 {
            let p = rng.random_range(0..rows * cols);
            image[p] = 50_000.0;
            bad[p] = 1;
        }
        image[100] = f32::NAN;
        image[200] = f32::INFINITY;
        let unmasked = pattern_peak(&image, rows, cols, None).unwrap();
        assert!(
            unmasked.amplitude > 10.0,
            "hot pixels should dominate: {unmasked:?}"
        );
        let p = pattern_peak(&image, rows, cols, Some(&bad)).unwrap();
        assert_eq!((p.freq_x, p.freq_y), (8.0 / 128.0, 4.0 / 64.0));
        // 22 of 8192 pixels lost their share of the wave.
        assert!((p.amplitude - 3.0).abs() < 0.03, "{p:?}");
    }

    #[test]
    fn too_small_mismatched_or_all_bad_is_none() {
        assert_eq!(pattern_peak(&[0.0; 12], 3, 4, None), None);
        assert_eq!(pattern_peak(&[0.0; 12], 4, 3, None), None);
        assert_eq!(pattern_peak(&[0.0; 15], 4, 4, None), None);
        assert_eq!(pattern_peak(&[0.0; 16], 4, 4, Some(&[0; 15])), None);
        assert_eq!(pattern_peak(&[0.0; 16], 4, 4, Some(&[1; 16])), None);
        assert_eq!(pattern_peak(&[f32::NAN; 16], 4, 4, None), None);
    }

    #[test]
    fn the_searches_in_lanes_agree_with_one_value_at_a_time() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let specials = [
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.0,
            -0.0,
        ];
        for len in [1, 2, 7, 8, 9, 31, 64, 100] {
            for _ in 0..50 {
                // Few distinct values, so that ties are common.
                let value = |rng: &mut rand_chacha::ChaCha8Rng| match rng.random_range(0..12) {
                    0 => specials[rng.random_range(0..specials.len())],
                    _ => rng.random_range(-3i8..3) as f32,
                };
                let bins: Vec<Complex32> = (0..len)
                    .map(|_| Complex32::new(value(&mut rng), value(&mut rng)))
                    .collect();
                let one_at_a_time = bins.iter().enumerate().fold(None, |best, (ky, z)| {
                    stronger(best, Some((f64::from(z.norm_sqr()), ky, 0)))
                });
                let in_lanes = strongest(&bins).map(|(power, ky)| (f64::from(power), ky, 0));
                assert_eq!(
                    in_lanes.map(|(p, ky, _)| (p.to_bits(), ky)),
                    one_at_a_time.map(|(p, ky, _)| (p.to_bits(), ky)),
                    "{bins:?}"
                );
                let values: Vec<f32> = bins.iter().map(|z| z.re).collect();
                let flags: Vec<u8> = (0..len).map(|_| u8::from(rng.random_bool(0.2))).collect();
                let (mut sums, mut count) = ([0f64; 8], 0);
                for (k, (&v, &flag)) in values.iter().zip(&flags).enumerate() {
                    let good = v.is_finite() && flag == 0;
                    sums[k % 8] += if good { f64::from(v) } else { 0.0 };
                    count += usize::from(good);
                }
                let (sum, n) = good_sum(&values, &flags);
                assert_eq!(
                    (sum.to_bits(), n),
                    (sums.iter().sum::<f64>().to_bits(), count)
                );
            }
        }
    }

    /// The direct O(N²) DFT, for checking the FFT path on odd and uneven shapes.
    fn brute_force_peak(image: &[f32], rows: usize, cols: usize) -> (usize, usize, f64) {
        let mean = image.iter().map(|&v| f64::from(v)).sum::<f64>() / image.len() as f64;
        let mut best = (0, 0, -1.0);
        for ky in 1..rows {
            for kx in 1..cols {
                let mut f = Complex64::default();
                for (p, &v) in image.iter().enumerate() {
                    let (y, x) = ((p / cols) as f64, (p % cols) as f64);
                    let phase =
                        -2.0 * PI * (ky as f64 * y / rows as f64 + kx as f64 * x / cols as f64);
                    f += Complex64::from_polar(f64::from(v) - mean, phase);
                }
                if f.norm() > best.2 {
                    best = (ky, kx, f.norm());
                }
            }
        }
        best
    }

    #[test]
    fn matches_a_direct_dft_on_odd_shapes() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        for (rows, cols) in [(7, 9), (9, 6), (5, 4), (12, 11)] {
            let image: Vec<f32> = (0..rows * cols)
                .map(|_| rng.random::<f32>() * 10.0)
                .collect();
            let (ky, kx, magnitude) = peak_bin(&image, rows, cols, None).unwrap();
            let (by, bx, expected) = brute_force_peak(&image, rows, cols);
            assert!(
                (magnitude - expected).abs() < 1e-5 * expected,
                "{rows}×{cols}"
            );
            // The same bin or its mirror image.
            let mirror = ((rows - by) % rows, (cols - bx) % cols);
            assert!(
                (ky, kx) == (by, bx) || (ky, kx) == mirror,
                "{rows}×{cols}: {ky},{kx} vs {by},{bx}"
            );
        }
    }
}
