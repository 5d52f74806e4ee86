//! soxspipe's 5×5 block means of a frame (`ccdproc.block_reduce` with `np.ma.mean`),
//! the first step of its `FPN FRACMAX` (`qc::fpn_ratio`), in numpy's float32 order.

use super::dispatch::{Isa, Kernel, dispatch};
use super::numerics::median_f32;
use super::simd::Simd;

const BLOCK: usize = 5;

/// Mean of each full 5×5 block as `np.ma.mean(axis=(1, 3))` rounds it (trailing rows and
/// columns that do not fill a block are dropped,
/// as `ccdproc.block_reduce` does). Returns (block rows, block cols, values).
/// `row(y, line)` writes row `y` of the frame in electrons into `line` (`cols` values), so
/// frames kept as ADU need no converted copy: a row is converted in vector lanes into a
/// line that stays in the cache, and the blocks' sums read it in order.
/// Pixels `bad` marks (soxspipe's static bad-pixel map) are left out of their block's
/// mean; a block of bad pixels only takes the median of the whole frame, as soxspipe
/// fills it.
pub fn block_means(
    row: impl Fn(usize, &mut [f32]),
    rows: usize,
    cols: usize,
    bad: Option<&[bool]>,
) -> (usize, usize, Vec<f64>) {
    dispatch(BlockMeans {
        row,
        rows,
        cols,
        bad,
    })
}

/// [`block_means`] as a kernel: the row conversion (inlined from the caller's `row`) and
/// the blocks' sums vectorised by the compiler for the CPU's instruction set.
struct BlockMeans<'a, R> {
    row: R,
    rows: usize,
    cols: usize,
    bad: Option<&'a [bool]>,
}

impl<R: Fn(usize, &mut [f32])> Kernel for BlockMeans<'_, R> {
    type Output = (usize, usize, Vec<f64>);
    const WIDEST: Isa = Isa::Avx512;

    #[inline(always)]
    fn run<S: Simd>(self, _: S) -> Self::Output {
        let BlockMeans {
            row,
            rows,
            cols,
            bad,
        } = self;
        means(row, rows, cols, bad)
    }
}

#[inline(always)]
fn means(
    row: impl Fn(usize, &mut [f32]),
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
    let mut line = vec![0f32; cols];
    let mut sums = vec![0f32; bc];
    let mut counts = vec![0u32; bc];
    for (i, out_row) in out.chunks_mut(bc.max(1)).enumerate().take(br) {
        sums.fill(0.0);
        counts.fill(0);
        for y in i * BLOCK..(i + 1) * BLOCK {
            row(y, &mut line);
            let fives = line.chunks_exact(BLOCK);
            match bad {
                None => {
                    for (sum, five) in sums.iter_mut().zip(fives) {
                        *sum += five.iter().fold(0f32, |s, &v| s + v);
                    }
                }
                Some(bad) => {
                    let bad_fives = bad[y * cols..(y + 1) * cols].chunks_exact(BLOCK);
                    for ((sum, count), (five, bad_five)) in
                        sums.iter_mut().zip(&mut counts).zip(fives.zip(bad_fives))
                    {
                        *sum += five.iter().zip(bad_five).fold(0f32, |s, (&v, &bad)| {
                            if bad {
                                s + 0.0
                            } else {
                                *count += 1;
                                s + v
                            }
                        });
                    }
                }
            }
        }
        if bad.is_none() {
            // Every block is whole: one division by 25 for all, in vector lanes.
            const WHOLE: f64 = (BLOCK * BLOCK) as f64;
            for (cell, &sum) in out_row.iter_mut().zip(&sums) {
                *cell = f64::from(sum) / WHOLE;
            }
            continue;
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
        let median = frame_median(&row, rows, cols);
        for cell in empty {
            out[cell] = median;
        }
    }
    (br, bc, out)
}

/// `np.median` of a float32 frame (even count: the float32 mean of the middle two).
fn frame_median(row: &impl Fn(usize, &mut [f32]), rows: usize, cols: usize) -> f64 {
    let mut values = vec![0f32; rows * cols];
    for (y, line) in values.chunks_exact_mut(cols.max(1)).enumerate() {
        row(y, line);
    }
    median_f32(|| values.iter().copied(), values.len()).map_or(f64::NAN, f64::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_means_drop_partial_blocks() {
        let data: Vec<f32> = (0..(11 * 7)).map(|i| i as f32).collect();
        let (br, bc, m) = block_means(
            |y, line| line.copy_from_slice(&data[y * 7..][..7]),
            11,
            7,
            None,
        );
        assert_eq!((br, bc), (2, 1));
        // rows 0..5, cols 0..5 of a 7-wide ramp: mean of i*7+j = 2*7 + 2
        assert_eq!(m[0], 16.0);
    }

    /// numpy's order spelled out for one block: a float32 sum of each row's five values
    /// from zero, the rows' sums added in order, the mean in float64.
    fn numpy_block(data: &[f32], bad: Option<&[bool]>, cols: usize, (i, j): (usize, usize)) -> f64 {
        let (mut sum, mut count) = (0f32, 0u32);
        for y in i * BLOCK..(i + 1) * BLOCK {
            let mut row_sum = 0f32;
            for p in y * cols + j * BLOCK..y * cols + (j + 1) * BLOCK {
                if bad.is_some_and(|b| b[p]) {
                    row_sum += 0.0;
                } else {
                    row_sum += data[p];
                    count += 1;
                }
            }
            sum += row_sum;
        }
        f64::from(sum) / f64::from(count)
    }

    /// The means of a frame of bias-like values, on every instruction set the CPU has.
    struct Means<'a> {
        data: &'a [f32],
        bad: Option<&'a [bool]>,
        shape: (usize, usize),
    }

    impl Kernel for Means<'_> {
        type Output = (usize, usize, Vec<f64>);
        const WIDEST: Isa = Isa::Avx512;

        #[inline(always)]
        fn run<S: Simd>(self, _: S) -> Self::Output {
            let (rows, cols) = self.shape;
            let row =
                |y: usize, line: &mut [f32]| line.copy_from_slice(&self.data[y * cols..][..cols]);
            means(row, rows, cols, self.bad)
        }
    }

    #[test]
    fn every_build_sums_in_numpys_order() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let (rows, cols) = (23, 97);
        let data: Vec<f32> = (0..rows * cols)
            .map(|_| 1000.0 + rng.random::<f32>() * 37.0)
            .collect();
        let bad: Vec<bool> = (0..rows * cols).map(|p| p % 13 == 0).collect();
        for bad in [None, Some(&bad[..])] {
            let (br, bc, means) = block_means(
                |y, line| line.copy_from_slice(&data[y * cols..][..cols]),
                rows,
                cols,
                bad,
            );
            assert_eq!((br, bc), (4, 19));
            for (k, &mean) in means.iter().enumerate() {
                let expected = numpy_block(&data, bad, cols, (k / bc, k % bc));
                assert_eq!(mean.to_bits(), expected.to_bits(), "block {k}");
            }
            crate::algorithm::dispatch::same_bits_everywhere(|| Means {
                data: &data,
                bad,
                shape: (rows, cols),
            });
        }
    }
}
