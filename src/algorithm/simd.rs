//! Eight float64 lanes: one AVX-512 register where the CPU has one, two AVX2 registers
//! where it has those, else an array.
//!
//! The stack clip's later rounds pick values by per-lane index and keep per-lane state;
//! the compiler does not turn that into vector code by itself, so the kernel is written
//! against [`Simd`] and runs on whichever implementation the CPU allows. All perform the
//! same IEEE operations lane by lane, so their results are identical to the bit.

use super::network::Sortable;

/// Lanes per vector.
pub(super) const LANES: usize = 8;

/// Operations on eight float64 lanes and on eight-lane masks. The token type proves the
/// instructions exist: an implementation is only obtainable on a CPU that has them.
pub(super) trait Simd: Copy {
    type F64: Copy + Sortable;
    type F32: Copy;
    type Mask: Copy;

    fn splat(self, x: f64) -> Self::F64;
    /// Every lane set (`true`) or none.
    fn mask(self, on: bool) -> Self::Mask;
    /// Float32 lanes widened (exactly) to float64.
    fn widen(self, x: &[f32; LANES]) -> Self::F64;
    fn store(self, x: Self::F64) -> [f64; LANES];
    fn load(self, x: &[f64; LANES]) -> Self::F64;
    /// The lanes of `a` that `mask` sets, in lane order, moved to the front; the lanes
    /// behind them 0.
    fn compress(self, mask: Self::Mask, a: Self::F64) -> Self::F64;
    fn add(self, a: Self::F64, b: Self::F64) -> Self::F64;
    fn sub(self, a: Self::F64, b: Self::F64) -> Self::F64;
    fn mul(self, a: Self::F64, b: Self::F64) -> Self::F64;
    fn abs(self, a: Self::F64) -> Self::F64;
    fn less(self, a: Self::F64, b: Self::F64) -> Self::Mask;
    fn less_equal(self, a: Self::F64, b: Self::F64) -> Self::Mask;
    fn equal(self, a: Self::F64, b: Self::F64) -> Self::Mask;
    /// Lanes that are neither NaN nor infinite.
    fn finite(self, a: Self::F64) -> Self::Mask;
    fn and(self, a: Self::Mask, b: Self::Mask) -> Self::Mask;
    fn or(self, a: Self::Mask, b: Self::Mask) -> Self::Mask;
    /// `a` and not `b`.
    fn and_not(self, a: Self::Mask, b: Self::Mask) -> Self::Mask;
    /// Lane by lane, `mask ? a : b`.
    fn select(self, mask: Self::Mask, a: Self::F64, b: Self::F64) -> Self::F64;
    /// Bit `l` set where lane `l` of the mask is.
    fn bits(self, mask: Self::Mask) -> u8;
    /// Float64 lanes rounded to float32.
    fn narrow(self, a: Self::F64) -> Self::F32;
    fn zero32(self) -> Self::F32;
    /// Lane by lane, `mask ? a + b : a`.
    fn add32_where(self, mask: Self::Mask, a: Self::F32, b: Self::F32) -> Self::F32;
    fn store32(self, x: Self::F32) -> [f32; LANES];
    /// Per lane, the median of the lane's values in rows `first..end` of `rows` (sorted
    /// lane by lane), given `first + end`: the mean of the rows `⌊(first + end − 1) / 2⌋`
    /// and `⌊(first + end) / 2⌋`, which for an odd run is its middle value exactly. Rows
    /// outside `rows` are clamped into it (the lanes of an empty run get some value, which
    /// the caller ignores); no rows at all give NaN.
    fn middle(self, rows: &[Self::F64], first_plus_end: Self::F64) -> Self::F64;
}

/// `sort_rows` and `merge_rows` on rows of `$row`: the sorting networks the build script
/// writes out, compiled once for `$features` and called by every stack kernel instead of
/// inlined into each (a 64-row network is thousands of instructions; a call per eight
/// pixels costs nothing beside it, and the release build stays under a minute).
#[cfg(target_arch = "x86_64")]
macro_rules! written_out_networks {
    ($row:ty, $features:literal) => {
        #[target_feature(enable = $features)]
        #[inline(never)]
        fn sort_rows(values: &mut [$row]) -> bool {
            sort_unrolled(values)
        }

        #[target_feature(enable = $features)]
        #[inline(never)]
        fn merge_rows(values: &mut [$row]) -> bool {
            merge_unrolled(values)
        }
    };
}

/// Inside `impl Sortable` for a lane type: its written-out networks go through the
/// `sort_rows` and `merge_rows` of `written_out_networks!`.
#[cfg(target_arch = "x86_64")]
macro_rules! sorted_through_rows {
    () => {
        #[inline(always)]
        fn sort_written_out(values: &mut [Self]) -> bool {
            // SAFETY: a lane type exists only on a CPU with the features its `sort_rows`
            // is compiled for (only that instruction set's token makes one).
            unsafe { sort_rows(values) }
        }

        #[inline(always)]
        fn merge_written_out(values: &mut [Self]) -> bool {
            // SAFETY: as above.
            unsafe { merge_rows(values) }
        }
    };
}

/// The lanes of `a` whose bit is set in `bits`, moved to the front in lane order.
#[inline(always)]
fn compress_lanes(bits: u8, a: [f64; LANES]) -> [f64; LANES] {
    let mut out = [0.0; LANES];
    let mut next = 0;
    for (l, &x) in a.iter().enumerate() {
        if bits >> l & 1 != 0 {
            out[next] = x;
            next += 1;
        }
    }
    out
}

/// Plain arrays: any CPU (the compiler vectorises what it can).
#[derive(Debug, Clone, Copy)]
pub(super) struct Portable;

/// Lane-wise `a < b ? a : b` and the converse: what the SIMD min/max instructions
/// compute, so sorting rows of lanes compiles to them.
impl Sortable for [f64; LANES] {
    #[inline(always)]
    fn order(a: Self, b: Self) -> (Self, Self) {
        (
            std::array::from_fn(|l| if a[l] < b[l] { a[l] } else { b[l] }),
            std::array::from_fn(|l| if a[l] < b[l] { b[l] } else { a[l] }),
        )
    }
}

impl Simd for Portable {
    type F64 = [f64; LANES];
    type F32 = [f32; LANES];
    type Mask = [bool; LANES];

    #[inline(always)]
    fn splat(self, x: f64) -> Self::F64 {
        [x; LANES]
    }
    #[inline(always)]
    fn mask(self, on: bool) -> Self::Mask {
        [on; LANES]
    }
    #[inline(always)]
    fn widen(self, x: &[f32; LANES]) -> Self::F64 {
        x.map(f64::from)
    }
    #[inline(always)]
    fn store(self, x: Self::F64) -> [f64; LANES] {
        x
    }
    #[inline(always)]
    fn load(self, x: &[f64; LANES]) -> Self::F64 {
        *x
    }
    #[inline(always)]
    fn compress(self, mask: Self::Mask, a: Self::F64) -> Self::F64 {
        compress_lanes(self.bits(mask), a)
    }
    #[inline(always)]
    fn add(self, a: Self::F64, b: Self::F64) -> Self::F64 {
        std::array::from_fn(|l| a[l] + b[l])
    }
    #[inline(always)]
    fn sub(self, a: Self::F64, b: Self::F64) -> Self::F64 {
        std::array::from_fn(|l| a[l] - b[l])
    }
    #[inline(always)]
    fn mul(self, a: Self::F64, b: Self::F64) -> Self::F64 {
        std::array::from_fn(|l| a[l] * b[l])
    }
    #[inline(always)]
    fn abs(self, a: Self::F64) -> Self::F64 {
        a.map(f64::abs)
    }
    #[inline(always)]
    fn less(self, a: Self::F64, b: Self::F64) -> Self::Mask {
        std::array::from_fn(|l| a[l] < b[l])
    }
    #[inline(always)]
    fn less_equal(self, a: Self::F64, b: Self::F64) -> Self::Mask {
        std::array::from_fn(|l| a[l] <= b[l])
    }
    #[inline(always)]
    fn equal(self, a: Self::F64, b: Self::F64) -> Self::Mask {
        std::array::from_fn(|l| a[l] == b[l])
    }
    #[inline(always)]
    fn finite(self, a: Self::F64) -> Self::Mask {
        a.map(f64::is_finite)
    }
    #[inline(always)]
    fn and(self, a: Self::Mask, b: Self::Mask) -> Self::Mask {
        std::array::from_fn(|l| a[l] & b[l])
    }
    #[inline(always)]
    fn or(self, a: Self::Mask, b: Self::Mask) -> Self::Mask {
        std::array::from_fn(|l| a[l] | b[l])
    }
    #[inline(always)]
    fn and_not(self, a: Self::Mask, b: Self::Mask) -> Self::Mask {
        std::array::from_fn(|l| a[l] & !b[l])
    }
    #[inline(always)]
    fn select(self, mask: Self::Mask, a: Self::F64, b: Self::F64) -> Self::F64 {
        std::array::from_fn(|l| if mask[l] { a[l] } else { b[l] })
    }
    #[inline(always)]
    fn bits(self, mask: Self::Mask) -> u8 {
        mask.iter()
            .enumerate()
            .fold(0, |bits, (l, &m)| bits | (u8::from(m) << l))
    }
    #[inline(always)]
    fn narrow(self, a: Self::F64) -> Self::F32 {
        a.map(|x| x as f32)
    }
    #[inline(always)]
    fn zero32(self) -> Self::F32 {
        [0.0; LANES]
    }
    #[inline(always)]
    fn add32_where(self, mask: Self::Mask, a: Self::F32, b: Self::F32) -> Self::F32 {
        std::array::from_fn(|l| if mask[l] { a[l] + b[l] } else { a[l] })
    }
    #[inline(always)]
    fn store32(self, x: Self::F32) -> [f32; LANES] {
        x
    }
    #[inline(always)]
    fn middle(self, rows: &[Self::F64], first_plus_end: Self::F64) -> Self::F64 {
        let Some(last) = rows.len().checked_sub(1) else {
            return [f64::NAN; LANES];
        };
        std::array::from_fn(|l| {
            let sum = first_plus_end[l] as usize;
            let low = (sum.saturating_sub(1) / 2).min(last);
            let high = (sum / 2).min(last);
            0.5 * (rows[low][l] + rows[high][l])
        })
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) use avx2::Avx2;
#[cfg(target_arch = "x86_64")]
pub(super) use avx512::Avx512;

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{LANES, Simd};
    use crate::algorithm::network::{Sortable, merge_unrolled, sort_unrolled};

    /// AVX-512F and VL (and AVX2, which they imply): a row of lanes is one register, a
    /// mask one mask register.
    #[derive(Debug, Clone, Copy)]
    pub(in crate::algorithm) struct Avx512(());

    impl Avx512 {
        /// The token, where the CPU has AVX-512F.
        pub fn detect() -> Option<Avx512> {
            (std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512vl"))
            .then_some(Avx512(()))
        }
    }

    /// A register of eight float64; only [`Avx512`] makes one, so holding one proves
    /// the CPU has AVX-512F and VL.
    #[derive(Debug, Clone, Copy)]
    #[repr(transparent)]
    pub(in crate::algorithm) struct F64x8(__m512d);

    /// Eight float32 in a 256-bit register.
    #[derive(Debug, Clone, Copy)]
    pub(in crate::algorithm) struct F32x8(__m256);

    impl Sortable for F64x8 {
        #[inline(always)]
        fn order(a: Self, b: Self) -> (Self, Self) {
            // SAFETY: an F64x8 exists only on a CPU with AVX-512. `vminpd(a, b)` is
            // `a < b ? a : b`, `vmaxpd(b, a)` is `b > a ? b : a`.
            unsafe {
                (
                    F64x8(_mm512_min_pd(a.0, b.0)),
                    F64x8(_mm512_max_pd(b.0, a.0)),
                )
            }
        }

        sorted_through_rows!();
    }

    written_out_networks!(F64x8, "avx2,avx512f,avx512vl");

    // SAFETY (every method): `self` is an `Avx512` token, which exists only on a CPU with
    // AVX-512F and VL and AVX2, the features these intrinsics need.
    impl Simd for Avx512 {
        type F64 = F64x8;
        type F32 = F32x8;
        type Mask = __mmask8;

        #[inline(always)]
        fn splat(self, x: f64) -> F64x8 {
            unsafe { F64x8(_mm512_set1_pd(x)) }
        }
        #[inline(always)]
        fn mask(self, on: bool) -> __mmask8 {
            if on { 0xFF } else { 0 }
        }
        #[inline(always)]
        fn widen(self, x: &[f32; LANES]) -> F64x8 {
            unsafe { F64x8(_mm512_cvtps_pd(_mm256_loadu_ps(x.as_ptr()))) }
        }
        #[inline(always)]
        fn store(self, x: F64x8) -> [f64; LANES] {
            let mut out = [0.0; LANES];
            unsafe { _mm512_storeu_pd(out.as_mut_ptr(), x.0) };
            out
        }
        #[inline(always)]
        fn load(self, x: &[f64; LANES]) -> F64x8 {
            unsafe { F64x8(_mm512_loadu_pd(x.as_ptr())) }
        }
        #[inline(always)]
        fn compress(self, mask: __mmask8, a: F64x8) -> F64x8 {
            unsafe { F64x8(_mm512_maskz_compress_pd(mask, a.0)) }
        }
        #[inline(always)]
        fn add(self, a: F64x8, b: F64x8) -> F64x8 {
            unsafe { F64x8(_mm512_add_pd(a.0, b.0)) }
        }
        #[inline(always)]
        fn sub(self, a: F64x8, b: F64x8) -> F64x8 {
            unsafe { F64x8(_mm512_sub_pd(a.0, b.0)) }
        }
        #[inline(always)]
        fn mul(self, a: F64x8, b: F64x8) -> F64x8 {
            unsafe { F64x8(_mm512_mul_pd(a.0, b.0)) }
        }
        #[inline(always)]
        fn abs(self, a: F64x8) -> F64x8 {
            unsafe { F64x8(_mm512_abs_pd(a.0)) }
        }
        #[inline(always)]
        fn less(self, a: F64x8, b: F64x8) -> __mmask8 {
            unsafe { _mm512_cmp_pd_mask::<_CMP_LT_OQ>(a.0, b.0) }
        }
        #[inline(always)]
        fn less_equal(self, a: F64x8, b: F64x8) -> __mmask8 {
            unsafe { _mm512_cmp_pd_mask::<_CMP_LE_OQ>(a.0, b.0) }
        }
        #[inline(always)]
        fn equal(self, a: F64x8, b: F64x8) -> __mmask8 {
            unsafe { _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(a.0, b.0) }
        }
        #[inline(always)]
        fn finite(self, a: F64x8) -> __mmask8 {
            self.less(self.abs(a), self.splat(f64::INFINITY))
        }
        #[inline(always)]
        fn and(self, a: __mmask8, b: __mmask8) -> __mmask8 {
            a & b
        }
        #[inline(always)]
        fn or(self, a: __mmask8, b: __mmask8) -> __mmask8 {
            a | b
        }
        #[inline(always)]
        fn and_not(self, a: __mmask8, b: __mmask8) -> __mmask8 {
            a & !b
        }
        #[inline(always)]
        fn select(self, mask: __mmask8, a: F64x8, b: F64x8) -> F64x8 {
            unsafe { F64x8(_mm512_mask_blend_pd(mask, b.0, a.0)) }
        }
        #[inline(always)]
        fn bits(self, mask: __mmask8) -> u8 {
            mask
        }
        #[inline(always)]
        fn narrow(self, a: F64x8) -> F32x8 {
            unsafe { F32x8(_mm512_cvtpd_ps(a.0)) }
        }
        #[inline(always)]
        fn zero32(self) -> F32x8 {
            unsafe { F32x8(_mm256_setzero_ps()) }
        }
        #[inline(always)]
        fn add32_where(self, mask: __mmask8, a: F32x8, b: F32x8) -> F32x8 {
            unsafe { F32x8(_mm256_mask_add_ps(a.0, mask, a.0, b.0)) }
        }
        #[inline(always)]
        fn store32(self, x: F32x8) -> [f32; LANES] {
            let mut out = [0.0; LANES];
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), x.0) };
            out
        }
        #[inline(always)]
        fn middle(self, rows: &[F64x8], first_plus_end: F64x8) -> F64x8 {
            let Some(last) = rows.len().checked_sub(1) else {
                return self.splat(f64::NAN);
            };
            // Offsets 8 · row + lane must fit an i32.
            assert!(rows.len() < 1 << 27, "a stack of {} frames", rows.len());
            // Row indices clamped into the rows, so every gathered address is inside them
            // (`rows` is a slice of `#[repr(transparent)]` registers: lane `l` of row `k`
            // is float64 number `8k + l`).
            unsafe {
                let sum = _mm512_cvttpd_epi32(first_plus_end.0);
                let clamp = |i: __m256i| {
                    _mm256_min_epi32(
                        _mm256_max_epi32(i, _mm256_setzero_si256()),
                        _mm256_set1_epi32(last as i32),
                    )
                };
                let low = clamp(_mm256_srai_epi32::<1>(_mm256_sub_epi32(
                    sum,
                    _mm256_set1_epi32(1),
                )));
                let high = clamp(_mm256_srai_epi32::<1>(sum));
                let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
                let base = rows.as_ptr().cast::<f64>();
                let at = |row: __m256i| {
                    _mm512_i32gather_pd::<8>(
                        _mm256_add_epi32(_mm256_slli_epi32::<3>(row), lane),
                        base,
                    )
                };
                let sum = _mm512_add_pd(at(low), at(high));
                F64x8(_mm512_mul_pd(_mm512_set1_pd(0.5), sum))
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{LANES, Simd};
    use crate::algorithm::network::{Sortable, merge_unrolled, sort_unrolled};

    /// AVX2: a row of lanes is two 256-bit registers, a mask two registers of all-ones or
    /// all-zero lanes.
    #[derive(Debug, Clone, Copy)]
    pub(in crate::algorithm) struct Avx2(());

    impl Avx2 {
        /// The token, where the CPU has AVX2.
        pub fn detect() -> Option<Avx2> {
            std::is_x86_feature_detected!("avx2").then_some(Avx2(()))
        }
    }

    /// Lanes 0–3 and 4–7 of a row; only [`Avx2`] makes one, so holding one proves the
    /// CPU has AVX2. `#[repr(C)]`: a slice of them is eight float64 per row, in lane order.
    #[derive(Debug, Clone, Copy)]
    #[repr(C)]
    pub(in crate::algorithm) struct F64x4x2(__m256d, __m256d);

    impl Sortable for F64x4x2 {
        #[inline(always)]
        fn order(a: Self, b: Self) -> (Self, Self) {
            // SAFETY: an F64x4x2 exists only on a CPU with AVX2. `vminpd(a, b)` is
            // `a < b ? a : b`, `vmaxpd(b, a)` is `b > a ? b : a`.
            unsafe {
                (
                    F64x4x2(_mm256_min_pd(a.0, b.0), _mm256_min_pd(a.1, b.1)),
                    F64x4x2(_mm256_max_pd(b.0, a.0), _mm256_max_pd(b.1, a.1)),
                )
            }
        }

        sorted_through_rows!();
    }

    written_out_networks!(F64x4x2, "avx2");

    // SAFETY (every method): `self` is an `Avx2` token, which exists only on a CPU with
    // AVX2 (and so AVX and SSE4.1), the features these intrinsics need.
    impl Simd for Avx2 {
        type F64 = F64x4x2;
        type F32 = __m256;
        type Mask = F64x4x2;

        #[inline(always)]
        fn splat(self, x: f64) -> F64x4x2 {
            unsafe { F64x4x2(_mm256_set1_pd(x), _mm256_set1_pd(x)) }
        }
        #[inline(always)]
        fn mask(self, on: bool) -> F64x4x2 {
            let bits = if on { -1 } else { 0 };
            unsafe {
                let m = _mm256_castsi256_pd(_mm256_set1_epi64x(bits));
                F64x4x2(m, m)
            }
        }
        #[inline(always)]
        fn widen(self, x: &[f32; LANES]) -> F64x4x2 {
            unsafe { widen(_mm256_loadu_ps(x.as_ptr())) }
        }
        #[inline(always)]
        fn store(self, x: F64x4x2) -> [f64; LANES] {
            let mut out = [0.0; LANES];
            unsafe {
                _mm256_storeu_pd(out.as_mut_ptr(), x.0);
                _mm256_storeu_pd(out.as_mut_ptr().add(4), x.1);
            }
            out
        }
        #[inline(always)]
        fn load(self, x: &[f64; LANES]) -> F64x4x2 {
            unsafe {
                F64x4x2(
                    _mm256_loadu_pd(x.as_ptr()),
                    _mm256_loadu_pd(x.as_ptr().add(4)),
                )
            }
        }
        #[inline(always)]
        fn compress(self, mask: F64x4x2, a: F64x4x2) -> F64x4x2 {
            // AVX2 has no compress; this runs once per row of a lane that clips again.
            self.load(&super::compress_lanes(self.bits(mask), self.store(a)))
        }
        #[inline(always)]
        fn add(self, a: F64x4x2, b: F64x4x2) -> F64x4x2 {
            unsafe { F64x4x2(_mm256_add_pd(a.0, b.0), _mm256_add_pd(a.1, b.1)) }
        }
        #[inline(always)]
        fn sub(self, a: F64x4x2, b: F64x4x2) -> F64x4x2 {
            unsafe { F64x4x2(_mm256_sub_pd(a.0, b.0), _mm256_sub_pd(a.1, b.1)) }
        }
        #[inline(always)]
        fn mul(self, a: F64x4x2, b: F64x4x2) -> F64x4x2 {
            unsafe { F64x4x2(_mm256_mul_pd(a.0, b.0), _mm256_mul_pd(a.1, b.1)) }
        }
        #[inline(always)]
        fn abs(self, a: F64x4x2) -> F64x4x2 {
            unsafe {
                let sign = _mm256_set1_pd(-0.0);
                F64x4x2(_mm256_andnot_pd(sign, a.0), _mm256_andnot_pd(sign, a.1))
            }
        }
        #[inline(always)]
        fn less(self, a: F64x4x2, b: F64x4x2) -> F64x4x2 {
            unsafe {
                F64x4x2(
                    _mm256_cmp_pd::<_CMP_LT_OQ>(a.0, b.0),
                    _mm256_cmp_pd::<_CMP_LT_OQ>(a.1, b.1),
                )
            }
        }
        #[inline(always)]
        fn less_equal(self, a: F64x4x2, b: F64x4x2) -> F64x4x2 {
            unsafe {
                F64x4x2(
                    _mm256_cmp_pd::<_CMP_LE_OQ>(a.0, b.0),
                    _mm256_cmp_pd::<_CMP_LE_OQ>(a.1, b.1),
                )
            }
        }
        #[inline(always)]
        fn equal(self, a: F64x4x2, b: F64x4x2) -> F64x4x2 {
            unsafe {
                F64x4x2(
                    _mm256_cmp_pd::<_CMP_EQ_OQ>(a.0, b.0),
                    _mm256_cmp_pd::<_CMP_EQ_OQ>(a.1, b.1),
                )
            }
        }
        #[inline(always)]
        fn finite(self, a: F64x4x2) -> F64x4x2 {
            self.less(self.abs(a), self.splat(f64::INFINITY))
        }
        #[inline(always)]
        fn and(self, a: F64x4x2, b: F64x4x2) -> F64x4x2 {
            unsafe { F64x4x2(_mm256_and_pd(a.0, b.0), _mm256_and_pd(a.1, b.1)) }
        }
        #[inline(always)]
        fn or(self, a: F64x4x2, b: F64x4x2) -> F64x4x2 {
            unsafe { F64x4x2(_mm256_or_pd(a.0, b.0), _mm256_or_pd(a.1, b.1)) }
        }
        #[inline(always)]
        fn and_not(self, a: F64x4x2, b: F64x4x2) -> F64x4x2 {
            // `vandnpd(b, a)` is `!b & a`.
            unsafe { F64x4x2(_mm256_andnot_pd(b.0, a.0), _mm256_andnot_pd(b.1, a.1)) }
        }
        #[inline(always)]
        fn select(self, mask: F64x4x2, a: F64x4x2, b: F64x4x2) -> F64x4x2 {
            // `vblendvpd(b, a, mask)` takes `a` where the mask lane's sign bit is set.
            unsafe {
                F64x4x2(
                    _mm256_blendv_pd(b.0, a.0, mask.0),
                    _mm256_blendv_pd(b.1, a.1, mask.1),
                )
            }
        }
        #[inline(always)]
        fn bits(self, mask: F64x4x2) -> u8 {
            unsafe { (_mm256_movemask_pd(mask.0) | (_mm256_movemask_pd(mask.1) << 4)) as u8 }
        }
        #[inline(always)]
        fn narrow(self, a: F64x4x2) -> __m256 {
            unsafe { _mm256_set_m128(_mm256_cvtpd_ps(a.1), _mm256_cvtpd_ps(a.0)) }
        }
        #[inline(always)]
        fn zero32(self) -> __m256 {
            unsafe { _mm256_setzero_ps() }
        }
        #[inline(always)]
        fn add32_where(self, mask: F64x4x2, a: __m256, b: __m256) -> __m256 {
            // A mask lane is all ones (a NaN with the sign bit set) or +0.0; narrowed to
            // float32 it keeps its sign bit, which is all `vblendvps` reads.
            unsafe { _mm256_blendv_ps(a, _mm256_add_ps(a, b), self.narrow(mask)) }
        }
        #[inline(always)]
        fn store32(self, x: __m256) -> [f32; LANES] {
            let mut out = [0.0; LANES];
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), x) };
            out
        }
        #[inline(always)]
        fn middle(self, rows: &[F64x4x2], first_plus_end: F64x4x2) -> F64x4x2 {
            let Some(last) = rows.len().checked_sub(1) else {
                return self.splat(f64::NAN);
            };
            // Offsets 8 · row + lane must fit an i32.
            assert!(rows.len() < 1 << 27, "a stack of {} frames", rows.len());
            // Row indices clamped into the rows, so every gathered address is inside them
            // (lane `l` of row `k` is float64 number `8k + l`).
            unsafe {
                let base = rows.as_ptr().cast::<f64>();
                let half = |sum: __m256d, lanes: __m128i| {
                    let sum = _mm256_cvttpd_epi32(sum);
                    let clamp = |i: __m128i| {
                        _mm_min_epi32(
                            _mm_max_epi32(i, _mm_setzero_si128()),
                            _mm_set1_epi32(last as i32),
                        )
                    };
                    let low = clamp(_mm_srai_epi32::<1>(_mm_sub_epi32(sum, _mm_set1_epi32(1))));
                    let high = clamp(_mm_srai_epi32::<1>(sum));
                    let at = |row: __m128i| {
                        _mm256_i32gather_pd::<8>(
                            base,
                            _mm_add_epi32(_mm_slli_epi32::<3>(row), lanes),
                        )
                    };
                    _mm256_mul_pd(_mm256_set1_pd(0.5), _mm256_add_pd(at(low), at(high)))
                };
                F64x4x2(
                    half(first_plus_end.0, _mm_setr_epi32(0, 1, 2, 3)),
                    half(first_plus_end.1, _mm_setr_epi32(4, 5, 6, 7)),
                )
            }
        }
    }

    /// Eight float32 widened (exactly) to two registers of float64.
    #[inline(always)]
    unsafe fn widen(x: __m256) -> F64x4x2 {
        // SAFETY: the caller holds an `Avx2` token.
        unsafe {
            F64x4x2(
                _mm256_cvtps_pd(_mm256_castps256_ps128(x)),
                _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(x)),
            )
        }
    }
}
