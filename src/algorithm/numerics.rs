//! Summation kernels that reproduce, bit for bit, how numpy and bottleneck accumulate.
//!
//! soxspipe's output depends on the *rounding* of its float32 sums (see
//! `spec/soxspipe-mbias.md` §8): bottleneck sums sequentially in float32, numpy sums
//! pairwise in blocks of 8192. Matching soxspipe therefore means matching these orders
//! exactly; a "better" sum would change which pixels get clipped.

use std::ops::{Add, Range};

use rayon::prelude::*;

/// The floating-point types numpy's pairwise kernel is emulated for.
pub trait Float: Copy + Add<Output = Self> + PartialEq {
    const ZERO: Self;
}

impl Float for f32 {
    const ZERO: Self = 0.0;
}

impl Float for f64 {
    const ZERO: Self = 0.0;
}

/// astropy's `mad_std` scale: 1 / Φ⁻¹(3/4).
pub const MAD_TO_STD: f64 = 1.482602218505602;

/// numpy feeds a reduction to its inner loop in buffers of this many elements.
pub const NUMPY_BUFFER: usize = 8192;

/// numpy's `pairwise_sum` kernel (umath `loops_utils`): 8 interleaved accumulators on
/// blocks of at most 128 values, recursive halving above that.
#[inline]
pub fn numpy_pairwise<T: Float>(a: &[T]) -> T {
    let n = a.len();
    if n < 8 {
        return a.iter().fold(T::ZERO, |acc, &v| acc + v);
    }
    if n <= 128 {
        let mut r = [T::ZERO; 8];
        r.copy_from_slice(&a[..8]);
        let whole = n - n % 8;
        for block in a[8..whole].chunks_exact(8) {
            for (acc, &v) in r.iter_mut().zip(block) {
                *acc = *acc + v;
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &a[whole..] {
            res = res + v;
        }
        return res;
    }
    let mut half = n / 2;
    half -= half % 8;
    numpy_pairwise(&a[..half]) + numpy_pairwise(&a[half..])
}

/// `np.sum` of a contiguous array: pairwise inside each 8192-element buffer, buffer sums
/// added in order to an accumulator that starts at zero.
pub fn numpy_sum<T: Float>(a: &[T]) -> T {
    a.chunks(NUMPY_BUFFER)
        .fold(T::ZERO, |acc, chunk| acc + numpy_pairwise(chunk))
}

/// `np.sum` of the array `values` would fill, without the array: the values go through
/// one numpy buffer at a time.
pub fn numpy_sum_of<T: Float>(values: impl Iterator<Item = T>) -> T {
    let mut buffer = [T::ZERO; NUMPY_BUFFER];
    let mut filled = 0;
    let mut total = T::ZERO;
    for v in values {
        buffer[filled] = v;
        filled += 1;
        if filled == NUMPY_BUFFER {
            total = total + numpy_pairwise(&buffer);
            filled = 0;
        }
    }
    if filled > 0 {
        total = total + numpy_pairwise(&buffer[..filled]);
    }
    total
}

/// `np.sum` of a masked frame (`MaskedArray.filled(0).sum()`): the values `keep`
/// accepts, mapped by `map`, the others counting as zero, in numpy's order. Returns the
/// sum and how many values were kept. No filled copy of the frame is made. Inlined so
/// that it is compiled for the caller's instruction set.
#[inline(always)]
pub fn numpy_kept_sum<T: Float>(
    values: &[f32],
    keep: impl Fn(f32) -> bool,
    map: impl Fn(f32) -> T,
) -> (T, usize) {
    let mut buffer = [T::ZERO; NUMPY_BUFFER];
    let mut total = T::ZERO;
    let mut kept = 0;
    for chunk in values.chunks(NUMPY_BUFFER) {
        let filled = &mut buffer[..chunk.len()];
        // A 32-bit count per buffer lines up with float32 lanes, so the loop vectorises.
        let mut kept_here = 0u32;
        for (out, &v) in filled.iter_mut().zip(chunk) {
            let k = keep(v);
            kept_here += u32::from(k);
            *out = if k { map(v) } else { T::ZERO };
        }
        kept += kept_here as usize;
        total = total + numpy_pairwise(filled);
    }
    (total, kept)
}

/// `np.ma.mean` and `np.ma.std` (ddof 0) of float32 values where `masked(i)` is false,
/// as numpy computes them: the float32 sum of the zero-filled array in numpy's order,
/// divided by the count in float64; then the float64 deviations of the kept values
/// (zero elsewhere), their float64 sum in numpy's order over the count, and the root.
/// `None` when nothing is kept.
pub fn numpy_masked_mean_std(values: &[f32], masked: impl Fn(usize) -> bool) -> Option<(f64, f64)> {
    numpy_masked_mean_std_of(values.len(), |i| (!masked(i)).then(|| values[i]))
}

/// [`numpy_masked_mean_std`] of `len` values made as they are read, never stored:
/// `kept(i)` is value `i`, or `None` where it is masked. Each is asked for twice.
pub fn numpy_masked_mean_std_of(
    len: usize,
    kept: impl Fn(usize) -> Option<f32>,
) -> Option<(f64, f64)> {
    let buffers = || {
        (0..len)
            .step_by(NUMPY_BUFFER)
            .map(move |start| start..(start + NUMPY_BUFFER).min(len))
    };
    let mut buffer32 = [0f32; NUMPY_BUFFER];
    let mut buffer64 = [0f64; NUMPY_BUFFER];
    let mut sum = 0f32;
    let mut count = 0usize;
    for pixels in buffers() {
        let filled = &mut buffer32[..pixels.len()];
        for (out, i) in filled.iter_mut().zip(pixels) {
            let value = kept(i);
            count += usize::from(value.is_some());
            *out = value.unwrap_or(0.0);
        }
        sum += numpy_pairwise(filled);
    }
    if count == 0 {
        return None;
    }
    let mean = f64::from(sum) / count as f64;
    let mut squares = 0f64;
    for pixels in buffers() {
        let filled = &mut buffer64[..pixels.len()];
        for (out, i) in filled.iter_mut().zip(pixels) {
            *out = kept(i).map_or(0.0, |v| {
                let d = f64::from(v) - mean;
                d * d
            });
        }
        squares += numpy_pairwise(filled);
    }
    Some((mean, (squares / count as f64).sqrt()))
}

/// bottleneck's float32 `nanmean`/`nanstd` (ddof 0): naive left-to-right float32 sums.
/// Returns `None` for an empty input, where bottleneck returns NaN.
pub fn bottleneck_mean_std_f32(values: &[f32]) -> Option<(f32, f32)> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f32;
    let mean = values.iter().fold(0f32, |s, &v| s + v) / n;
    let squares = values.iter().fold(0f32, |s, &v| {
        let d = v - mean;
        s + d * d
    });
    let std = ((squares / n) as f64).sqrt() as f32;
    Some((mean, std))
}

/// Population mean and standard deviation in float64 (the honest statistics of `exact`)
/// of the finite values; `None` when there are none.
pub fn mean_std_f64(values: &[f32]) -> Option<(f64, f64)> {
    mean_std_f64_of(|| values.iter().copied())
}

/// [`mean_std_f64`] of the values `values()` yields (called twice, the same values each
/// time), without gathering them. The values are counted in the pass that sums them:
/// each pass is a chain of dependent float64 adds, so the count costs nothing there.
pub fn mean_std_f64_of<I: Iterator<Item = f32>>(values: impl Fn() -> I) -> Option<(f64, f64)> {
    let finite = || values().filter(|v| v.is_finite()).map(f64::from);
    // From −0.0, as `Iterator::sum` of float64 starts.
    let (n, sum) = finite().fold((0usize, -0.0), |(n, sum), v| (n + 1, sum + v));
    if n == 0 {
        return None;
    }
    let n = n as f64;
    let mean = sum / n;
    let var = finite().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    Some((mean, var.sqrt()))
}

/// numpy's float32 `np.std` of a whole array (ddof 0): float32 pairwise mean, float32
/// squared deviations, float32 pairwise sum, float32 square root. NaN if any value is NaN.
pub fn numpy_std_f32(values: &[f32]) -> f32 {
    if values.is_empty() {
        return f32::NAN;
    }
    let n = values.len() as f64;
    let mean = (numpy_sum(values) as f64 / n) as f32;
    let squares: Vec<f32> = values
        .iter()
        .map(|&v| {
            let d = v - mean;
            d * d
        })
        .collect();
    ((numpy_sum(&squares) as f64 / n) as f32).sqrt()
}

/// Median of a slice (even count: mean of the two middle values), reordering it.
/// NaN-free input is the caller's duty; `None` when empty. Selection, not a sort: the
/// same order statistics in linear time.
pub fn median_in_place(values: &mut [f64]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let (lower, upper, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    let upper = *upper;
    Some(if n % 2 == 1 {
        upper
    } else {
        let below = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (upper + below)
    })
}

/// The median of `values` and their robust standard deviation, 1.4826 × the median
/// absolute deviation from it (reordering and then overwriting `values` with those
/// deviations); `None` when empty. NaN-free input is the caller's duty.
pub fn median_and_robust_std(values: &mut [f64]) -> Option<(f64, f64)> {
    let median = median_in_place(values)?;
    values.iter_mut().for_each(|v| *v = (*v - median).abs());
    let mad = median_in_place(values)?;
    Some((median, mad * MAD_TO_STD))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robust_std_is_the_scaled_median_absolute_deviation() {
        // Median 10; deviations 2, 0, 0, 4, 90: MAD 2.
        let mut values = [8.0, 10.0, 10.0, 14.0, 100.0];
        assert_eq!(
            median_and_robust_std(&mut values),
            Some((10.0, 2.0 * MAD_TO_STD))
        );
        assert_eq!(median_and_robust_std(&mut []), None);
    }

    #[test]
    fn pairwise_small_is_sequential_from_zero() {
        let a = [1.0f32, 2.0, 3.0];
        assert_eq!(numpy_pairwise(&a), 6.0);
        assert_eq!(numpy_pairwise::<f32>(&[]), 0.0);
    }

    #[test]
    fn pairwise_uses_eight_accumulators() {
        // 16 values: r[j] = a[j] + a[8 + j]; the tree order is observable in float32.
        let mut a = [1.0f32; 16];
        a[0] = 1.0e8;
        a[8] = -1.0e8;
        // r0 = 0 exactly, all others 2 -> 14 exactly; a sequential f32 sum would lose the 1s.
        assert_eq!(numpy_pairwise(&a), 14.0);
        let sequential = a.iter().fold(0f32, |s, &v| s + v);
        assert_ne!(sequential, 14.0);
    }

    #[test]
    fn numpy_sum_adds_buffers_in_order() {
        let a = vec![0.5f64; NUMPY_BUFFER * 2 + 3];
        assert_eq!(numpy_sum(&a), 0.5 * (NUMPY_BUFFER * 2 + 3) as f64);
    }

    #[test]
    fn a_sum_of_values_is_the_sum_of_their_array() {
        let a: Vec<f32> = (0..NUMPY_BUFFER * 2 + 77)
            .map(|i| (i % 13) as f32 * 0.1)
            .collect();
        assert_eq!(numpy_sum_of(a.iter().copied()), numpy_sum(&a));
        assert_eq!(numpy_sum_of(std::iter::empty::<f64>()), 0.0);
    }

    #[test]
    fn kept_sum_treats_the_rest_as_zero() {
        let v = [1.0f32, 100.0, 2.0];
        assert_eq!(numpy_kept_sum(&v, |x| x < 50.0, |x| x), (3.0f32, 2));
    }

    #[test]
    fn bottleneck_statistics_of_small_set() {
        let (mean, std) = bottleneck_mean_std_f32(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(mean, 2.5);
        assert_eq!(std, (1.25f64).sqrt() as f32);
        assert!(bottleneck_mean_std_f32(&[]).is_none());
    }

    #[test]
    fn float32_sequential_sum_saturates_like_bottleneck() {
        // Adding 1.0 to 2^24 in f32 does nothing: the running sum stops at 2^24, so the
        // mean of 1.5 × 2^24 ones comes out as 2/3.
        let v = vec![1.0f32; 3 << 23];
        let (mean, _) = bottleneck_mean_std_f32(&v).unwrap();
        assert_eq!(mean, (1u32 << 24) as f32 / (3u32 << 23) as f32);
    }

    #[test]
    fn float64_mean_and_std_are_those_of_a_pass_per_sum() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        // A count, then a float64 sum from −0.0, then one of squared deviations.
        let three_passes = |values: &[f32]| {
            let finite = || {
                values
                    .iter()
                    .filter(|v| v.is_finite())
                    .map(|&v| f64::from(v))
            };
            let n = finite().count() as f64;
            let mean = finite().sum::<f64>() / n;
            let var = finite().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            (n > 0.0).then(|| (mean.to_bits(), var.sqrt().to_bits()))
        };
        for len in [0, 1, 2, 9, 1000] {
            let values: Vec<f32> = (0..len)
                .map(|_| match rng.random_range(0..20) {
                    0 => f32::NAN,
                    1 => -0.0,
                    2 => f32::INFINITY,
                    _ => rng.random_range(-1e4f32..1e4),
                })
                .collect();
            let bits = mean_std_f64(&values).map(|(m, s)| (m.to_bits(), s.to_bits()));
            assert_eq!(bits, three_passes(&values), "{values:?}");
        }
        let zeros = mean_std_f64(&[-0.0, -0.0]).map(|(m, _)| m.to_bits());
        assert_eq!(zeros, Some((-0.0f64).to_bits()));
    }

    #[test]
    fn median_of_even_count_is_mean_of_middle_pair() {
        assert_eq!(median_in_place(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median_in_place(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median_in_place(&mut []), None);
    }

    #[test]
    fn numpy_std_matches_definition() {
        let s = numpy_std_f32(&[1.0, 2.0, 3.0, 4.0]);
        assert!((s - 1.118034).abs() < 1e-6);
        assert!(numpy_std_f32(&[1.0, f32::NAN]).is_nan());
    }
}

/// An order-preserving integer key of a finite float32: larger floats, larger keys
/// (negative values have every bit flipped, others the sign bit). Without a branch: the
/// values around a median are of both signs, in no order.
#[inline(always)]
pub fn order_key(v: f32) -> u32 {
    let bits = v.to_bits();
    let negative = ((bits as i32) >> 31) as u32;
    bits ^ (negative | 1 << 31)
}

/// Frames larger than this give their median from a regular subsample of about this
/// many pixels: the median's rank then moves by about 1/√n = 0.2 % of the distribution,
/// far less than one ADU step of a bias, and a 4k frame's median costs milliseconds.
const MEDIAN_SAMPLE: usize = 1 << 18;

/// The median of the finite values `keep` accepts (even count: mean of the middle two),
/// by [`middle_values`]' two-pass radix select. Two reads instead of sorting a copy; exact up to
/// `MEDIAN_SAMPLE` (2¹⁸) values, from a regular subsample above.
pub fn kept_median(values: &[f32], keep: impl Fn(f32) -> bool) -> Option<f64> {
    let stride = (values.len() / MEDIAN_SAMPLE).max(1);
    let (lower, upper) = middle_values(|| {
        values
            .iter()
            .step_by(stride)
            .copied()
            .filter(|&v| v.is_finite() && keep(v))
    })?;
    Some(0.5 * (f64::from(lower) + f64::from(upper)))
}

/// The float32 whose [`order_key`] is `key`.
pub fn from_order_key(key: u32) -> f32 {
    f32::from_bits(if key >> 31 == 1 {
        key & !(1 << 31)
    } else {
        !key
    })
}

/// The first pass of [`middle_values`]: how many values fall under each top 16 bits of
/// their order key. A caller that reads the values anyway can count them on the way.
pub struct TopCounts(Vec<u32>);

impl TopCounts {
    pub fn new() -> TopCounts {
        TopCounts(vec![0; 1 << 16])
    }

    /// Counts the values `values` yields.
    pub fn of(values: impl Iterator<Item = f32>) -> TopCounts {
        let mut top = TopCounts::new();
        for v in values {
            top.add(v);
        }
        top
    }

    #[inline(always)]
    pub fn add(&mut self, v: f32) {
        self.0[(order_key(v) >> 16) as usize] += 1;
    }

    /// How many values were counted.
    pub fn count(&self) -> usize {
        self.0.iter().map(|&c| c as usize).sum()
    }
}

impl Default for TopCounts {
    fn default() -> Self {
        TopCounts::new()
    }
}

/// The two middle order statistics (ranks ⌊(n−1)/2⌋ and ⌊n/2⌋, the same value for an odd
/// count) of the finite values `values()` yields, exactly, by a two-pass radix select:
/// count the top 16 bits of each value's order key, then the low 16 bits of the keys in
/// the bucket(s) holding the middle ranks, which pins both ranks' keys. `values` is called
/// twice and must yield the same values both times.
pub fn middle_values<I: Iterator<Item = f32>>(values: impl Fn() -> I) -> Option<(f32, f32)> {
    middle_values_from(TopCounts::of(values()), values).map(|(lower, upper, _)| (lower, upper))
}

/// [`middle_values`] with its first pass done (`top` counted `values()`), and how many
/// values there were.
pub fn middle_values_from<I: Iterator<Item = f32>>(
    top: TopCounts,
    values: impl Fn() -> I,
) -> Option<(f32, f32, usize)> {
    let mut pass = MiddlePass::after(&top)?;
    values().for_each(|v| pass.add(v));
    Some(pass.middle())
}

/// [`middle_values_from`] with the second pass shared out among the cores:
/// `values(pixels)` yields the values of a range of `0..len`, and the ranges together
/// yield what `top` counted.
pub fn middle_values_in_pieces<I: Iterator<Item = f32>>(
    top: TopCounts,
    len: usize,
    values: impl Fn(Range<usize>) -> I + Sync,
) -> Option<(f32, f32, usize)> {
    let pass = MiddlePass::after(&top)?;
    let pass = pieces(len)
        .into_par_iter()
        .fold(
            || pass.empty(),
            |mut pass, piece| {
                values(piece).for_each(|v| pass.add(v));
                pass
            },
        )
        .reduce(|| pass.empty(), MiddlePass::merged);
    Some(pass.middle())
}

/// `0..len` in ranges of a million, for passes shared out among the cores.
pub fn pieces(len: usize) -> Vec<Range<usize>> {
    const PIECE: usize = 1 << 20;
    (0..len)
        .step_by(PIECE)
        .map(|start| start..(start + PIECE).min(len))
        .collect()
}

/// The second pass of [`middle_values`]' radix select: the low 16 bits of the order keys
/// of the values in the top buckets that hold the two middle ranks (the same one,
/// mostly), counted. Values are added (over pieces of the data, passes then merged), and
/// the middle pair read off the counts.
pub struct MiddlePass {
    /// How many values the first pass counted.
    n: usize,
    /// The two ranks' top buckets, and each rank within its bucket.
    ranks: [(usize, usize); 2],
    first_counts: Vec<u32>,
    last_counts: Vec<u32>,
}

impl MiddlePass {
    /// The pass after `top`, the first one; `None` when it counted nothing.
    pub fn after(top: &TopCounts) -> Option<MiddlePass> {
        let n = top.count();
        let last = n.checked_sub(1)?;
        let ranks = [last / 2, n / 2].map(|rank| locate(&top.0, rank));
        Some(MiddlePass {
            n,
            ranks,
            first_counts: vec![0; 1 << 16],
            last_counts: vec![0; if ranks[0].0 == ranks[1].0 { 0 } else { 1 << 16 }],
        })
    }

    /// The same pass, nothing added yet.
    pub fn empty(&self) -> MiddlePass {
        MiddlePass {
            first_counts: vec![0; self.first_counts.len()],
            last_counts: vec![0; self.last_counts.len()],
            ..*self
        }
    }

    #[inline(always)]
    pub fn add(&mut self, v: f32) {
        let key = order_key(v);
        let (top, low) = ((key >> 16) as usize, (key & 0xFFFF) as usize);
        if top == self.ranks[0].0 {
            self.first_counts[low] += 1;
        } else if top == self.ranks[1].0 {
            self.last_counts[low] += 1;
        }
    }

    pub fn merged(mut self, other: MiddlePass) -> MiddlePass {
        let pairs = [
            (&mut self.first_counts, other.first_counts),
            (&mut self.last_counts, other.last_counts),
        ];
        for (mine, theirs) in pairs {
            mine.iter_mut().zip(theirs).for_each(|(a, b)| *a += b);
        }
        self
    }

    /// The values of ranks ⌊(n−1)/2⌋ and ⌊n/2⌋, and n, once every value was added.
    pub fn middle(&self) -> (f32, f32, usize) {
        let key_at = |(bucket, rank_inside): (usize, usize)| {
            let lows = if bucket == self.ranks[0].0 {
                &self.first_counts
            } else {
                &self.last_counts
            };
            from_order_key((bucket as u32) << 16 | locate(lows, rank_inside).0 as u32)
        };
        (key_at(self.ranks[0]), key_at(self.ranks[1]), self.n)
    }
}

/// The values of ranks ⌊(n−1)/2⌋ and ⌊n/2⌋ of counted values in increasing order, and n.
pub fn counted_middle<T: Copy>(counted: &[(T, u64)]) -> Option<(T, T, usize)> {
    let n: u64 = counted.iter().map(|&(_, c)| c).sum();
    let at = |rank: u64| {
        let mut seen = 0;
        counted.iter().find_map(|&(v, c)| {
            seen += c;
            (seen > rank).then_some(v)
        })
    };
    let last = n.checked_sub(1)?;
    Some((at(last / 2)?, at(n / 2)?, n as usize))
}

/// numpy's float32 median from the middle pair of `count` values.
pub fn numpy_median_of_middle(lower: f32, upper: f32, count: usize) -> f32 {
    if count % 2 == 1 {
        upper
    } else {
        (lower + upper) / 2.0
    }
}

/// The median of the finite values among `values` (even count: mean of the middle two);
/// `None` when there are none.
pub fn finite_median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut values: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    median_in_place(&mut values)
}

/// numpy's float32 median of the `count` finite values `values()` yields (even count:
/// the float32 mean of the middle two); `None` when empty.
pub fn median_f32<I: Iterator<Item = f32>>(values: impl Fn() -> I, count: usize) -> Option<f32> {
    let (lower, upper) = middle_values(values)?;
    Some(numpy_median_of_middle(lower, upper, count))
}

/// The slot of `counts` that holds the value of rank `rank` (counting from 0 over the
/// slots in order), and its rank among that slot's values. `rank` must be below the total.
fn locate(counts: &[u32], rank: usize) -> (usize, usize) {
    let mut below = 0usize;
    for (slot, &c) in counts.iter().enumerate() {
        if below + c as usize > rank {
            return (slot, rank - below);
        }
        below += c as usize;
    }
    (counts.len(), 0)
}

#[cfg(test)]
mod kept_median_tests {
    use super::*;

    #[test]
    fn radix_median_matches_sorting() {
        let values: Vec<f32> = (0..10_001)
            .map(|i| ((i * 7919) % 10_007) as f32 * 0.37 - 1500.0)
            .chain([f32::NAN, f32::INFINITY, -0.0, 0.0])
            .collect();
        for limit in [f32::MAX, 1000.0, -1000.0] {
            let keep = |v: f32| v <= limit;
            let mut sorted: Vec<f64> = values
                .iter()
                .filter(|v| v.is_finite() && keep(**v))
                .map(|&v| f64::from(v))
                .collect();
            let expected = median_in_place(&mut sorted);
            assert_eq!(kept_median(&values, keep), expected, "{limit}");
        }
        assert_eq!(kept_median(&[1.0, 2.0], |_| false), None);
        assert_eq!(kept_median(&[4.0, 1.0, 2.0, 3.0], |_| true), Some(2.5));
    }
}
