//! soxspipe 0.19's RAW RON: the read noise of one raw frame, from the difference of the
//! first two frames in observing order. The difference is clipped about its median at
//! ±10 MAD-σ (two rounds at most), and its standard deviation over the surviving pixels,
//! divided by √2, is the noise of one frame. Their levels cancel, so structure that the
//! frames share (the bias pattern, hot columns) does not count as noise.

mod counted;

use super::frame::{ElectronTable, Frame, Samples};
use super::numerics::{
    MAD_TO_STD, TopCounts, mean_std_f64, median_f32, middle_values_from, numpy_masked_mean_std,
    numpy_median_of_middle,
};
use crate::params::Numerics;

/// soxspipe's clip of the difference: σ and rounds.
const SIGMA: f32 = 10.0;
const ROUNDS: u32 = 2;

/// RAW RON, e-, from two frames (same shape); NaN when the difference has no surviving
/// pixel. Pixels `bad` marks (a static bad-pixel map) take part in the clip, as in
/// soxspipe, but not in the standard deviation. A 16-bit frame's electrons are looked up
/// as the difference is made, never stored whole. Two 16-bit frames are clipped by
/// counting their pairs of values (`counted.rs`), without a copy at all; so are two frames
/// kept as electrons when `table` (the set's ADU-to-electrons table) made their values.
pub fn difference_ron(
    first: &Frame,
    second: &Frame,
    bad: Option<&[bool]>,
    numerics: Numerics,
    table: Option<&ElectronTable>,
) -> f64 {
    let counted = match (&first.samples, &second.samples) {
        (Samples::Electrons(a), Samples::Electrons(b)) => table.and_then(|table| {
            let frame = |electrons| counted::ElectronFrame { electrons, table };
            let (a, b) = (frame(super::standard(a)), frame(super::standard(b)));
            counted::difference_ron(&a, &b, bad, numerics)
        }),
        _ => adu_frame(first)
            .zip(adu_frame(second))
            .and_then(|(a, b)| counted::difference_ron(&a, &b, bad, numerics)),
    };
    counted.unwrap_or_else(|| copied_difference_ron(first, second, bad, numerics))
}

fn adu_frame(frame: &Frame) -> Option<counted::AduFrame<'_>> {
    match &frame.samples {
        Samples::Adu {
            adu,
            table,
            histogram,
        } => Some(counted::AduFrame {
            adu: super::standard(adu),
            table,
            histogram: histogram.counted(adu),
        }),
        Samples::Electrons(_) => None,
    }
}

/// [`difference_ron`] on a float32 copy of the difference.
fn copied_difference_ron(
    first: &Frame,
    second: &Frame,
    bad: Option<&[bool]>,
    numerics: Numerics,
) -> f64 {
    // The first pass of the first float32 median counts the difference as it is made.
    let mut finite = (numerics == Numerics::Soxspipe).then(TopCounts::new);
    let difference: Vec<f32> = first
        .electron_values()
        .zip(second.electron_values())
        .map(|(a, b)| {
            let d = a - b;
            if let Some(top) = finite.as_mut()
                && d.is_finite()
            {
                top.add(d);
            }
            d
        })
        .collect();
    let (low, high) = match numerics {
        Numerics::Soxspipe => clip_bounds_f32(&difference, finite.unwrap_or_default()),
        Numerics::Exact => {
            let (low, high) = clip_bounds_f64(&difference);
            (low as f32, high as f32)
        }
    };
    let masked = |i: usize| {
        let v = difference[i];
        !(v.is_finite() && low <= v && v <= high) || bad.is_some_and(|b| b[i])
    };
    let std = match numerics {
        Numerics::Soxspipe => numpy_masked_mean_std(&difference, masked).map(|(_, s)| s),
        Numerics::Exact => {
            let kept: Vec<f32> = (0..difference.len())
                .filter(|&i| !masked(i))
                .map(|i| difference[i])
                .collect();
            mean_std_f64(&kept).map(|(_, s)| s)
        }
    };
    std.map_or(f64::NAN, |s| s / std::f64::consts::SQRT_2)
}

/// astropy 7.2's `sigma_clip(d, 10, maxiters=2, cenfunc="median", stdfunc="mad_std")` on
/// float32 data: float32 medians, float32 bounds. Returns the last bounds (NaN when
/// nothing finite was left, which then keeps every finite value). The survivors of a
/// round are the values inside its bounds, so each median reads them off the difference
/// itself: no copy of the frame is made. `finite` counts the finite values (the first
/// median's first pass); each median also counts its values, which tells whether the
/// last round removed any.
fn clip_bounds_f32(values: &[f32], finite: TopCounts) -> (f32, f32) {
    let inside = |(low, high): (f32, f32)| {
        values
            .iter()
            .copied()
            .filter(move |&v| low <= v && v <= high)
    };
    let mut first_pass = Some(finite);
    clip_rounds_f32(
        |kept| {
            let top = first_pass
                .take()
                .unwrap_or_else(|| TopCounts::of(inside(kept)));
            middle_values_from(top, || inside(kept))
        },
        |kept, median, count| {
            median_f32(|| inside(kept).map(|v| (v - median).abs()), count).unwrap_or(f32::NAN)
        },
    )
}

/// The rounds of soxspipe's float32 clip about the median at ±10 MAD-σ, whatever finds
/// the medians: `middle(kept)` is the middle pair and count of the finite values inside
/// `kept` (`None` when there are none), `mad(kept, median, count)` their float32 MAD
/// about `median`. Returns the last bounds (NaN when nothing finite was left, which then
/// keeps every finite value).
fn clip_rounds_f32(
    mut middle: impl FnMut((f32, f32)) -> Option<(f32, f32, usize)>,
    mut mad: impl FnMut((f32, f32), f32, usize) -> f32,
) -> (f32, f32) {
    // The survivors: the finite values inside every round's bounds so far.
    let mut kept = (f32::MIN, f32::MAX);
    let mut bounds = (f32::NAN, f32::NAN);
    let mut survivors = None;
    for round in 1..=ROUNDS {
        let Some((lower, upper, count)) = middle(kept) else {
            return (f32::NEG_INFINITY, f32::INFINITY);
        };
        if survivors == Some(count) {
            break; // the last round removed nothing
        }
        survivors = Some(count);
        let median = numpy_median_of_middle(lower, upper, count);
        // astropy scales the float32 MAD by its constant rounded to float32 (NumPy's
        // rules for a Python float beside a float32 value).
        let half_width = (mad(kept, median, count) * MAD_TO_STD as f32) * SIGMA;
        bounds = (median - half_width, median + half_width);
        if round == ROUNDS {
            break;
        }
        kept = if bounds.0.is_nan() || bounds.1.is_nan() {
            // No value is inside a NaN bound.
            (f32::INFINITY, f32::NEG_INFINITY)
        } else {
            (kept.0.max(bounds.0), kept.1.min(bounds.1))
        };
    }
    bounds
}

/// [`clip_bounds_f32`] in float64 throughout (`exact` numerics).
fn clip_bounds_f64(values: &[f32]) -> (f64, f64) {
    let mut work: Vec<f64> = values
        .iter()
        .filter(|v| v.is_finite())
        .map(|&v| f64::from(v))
        .collect();
    let mut deviations = Vec::with_capacity(work.len());
    let (mut low, mut high) = (f64::NAN, f64::NAN);
    for _ in 0..ROUNDS {
        let n = work.len();
        let Some(median) = super::numerics::median_in_place(&mut work) else {
            return (f64::NEG_INFINITY, f64::INFINITY);
        };
        deviations.clear();
        deviations.extend(work.iter().map(|&v| (v - median).abs()));
        let mad = super::numerics::median_in_place(&mut deviations).unwrap_or(f64::NAN);
        let half_width = mad * MAD_TO_STD * f64::from(SIGMA);
        (low, high) = (median - half_width, median + half_width);
        work.retain(|&v| low <= v && v <= high);
        if work.len() == n {
            break;
        }
    }
    (low, high)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_are_numpys() {
        let median = |v: &[f32]| median_f32(|| v.iter().copied(), v.len());
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[-0.5, 7.0, -3.0, 1e-30, 2.0, -1e-30]), Some(0.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn shared_structure_cancels_and_a_cosmic_is_clipped() {
        // Two frames with the same column pattern and independent ±1 noise: the
        // difference is ±2 or 0 (std √2 · 1 · …), a cosmic in one frame goes.
        let n = 4000;
        let pattern = |i: usize| 1000.0 + (i % 40) as f32 * 5.0;
        let noise = |i: usize, k: usize| {
            if (i * 7 + k * 3).is_multiple_of(2) {
                1.0
            } else {
                -1.0
            }
        };
        let mut a: Vec<f32> = (0..n).map(|i| pattern(i) + noise(i, 0)).collect();
        let b: Vec<f32> = (0..n).map(|i| pattern(i) + noise(i / 2, 1)).collect();
        a[17] += 5000.0;
        let frame = |values: Vec<f32>| Frame {
            name: String::new(),
            samples: crate::algorithm::Samples::Electrons(crate::algorithm::image(
                1,
                values.len(),
                values,
            )),
            non_finite: 0,
        };
        let (a, b) = (frame(a), frame(b));
        // Whole electrons are a gain of 1's table values: counted as well as copied.
        let table = crate::algorithm::electron_table(1.0);
        for numerics in [Numerics::Soxspipe, Numerics::Exact] {
            let ron = difference_ron(&a, &b, None, numerics, None);
            assert!((ron - 1.0).abs() < 0.05, "{numerics:?}: {ron}");
            let counted = difference_ron(&a, &b, None, numerics, Some(&table));
            assert_eq!(counted.to_bits(), ron.to_bits(), "{numerics:?}");
        }
    }
}
