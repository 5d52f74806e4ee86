//! Drift of the bias level over a sequence of frames.
//!
//! Stacking assumes every frame shares one bias level; a level that walks steadily (a
//! detector still warming up, an unstable controller) breaks that assumption even when
//! each frame looks fine on its own, so the trend and the spread are worth reporting.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LevelDrift {
    /// Least-squares trend of the level, in level units per frame.
    pub slope_per_frame: f64,
    /// Highest minus lowest level: catches a jump that a slope averages away.
    pub range: f64,
}

/// Drift of per-frame levels given in observing order (frame index 0, 1, …, N−1).
///
/// `None` for fewer than two levels (no trend exists) or any non-finite level (one bad
/// frame would make the whole answer NaN, which is better said as "no value").
pub fn level_drift(levels: &[f64]) -> Option<LevelDrift> {
    if levels.len() < 2 || levels.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let n = levels.len() as f64;
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = levels.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, &y) in levels.iter().enumerate() {
        let dx = i as f64 - mean_x;
        // Centring y as well keeps the products small for levels of ~10⁴ e-.
        sxy += dx * (y - mean_y);
        sxx += dx * dx;
    }
    let (min, max) = levels
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    Some(LevelDrift {
        slope_per_frame: sxy / sxx,
        range: max - min,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alfosc_levels_drift_down() {
        // x̄ = 2, ȳ = 11598.2; Σ(x−x̄)(y−ȳ) = −29.6 − 4.8 + 0 − 7.2 − 26.4 = −68; Σ(x−x̄)² = 10.
        let d = level_drift(&[11613.0, 11603.0, 11599.0, 11591.0, 11585.0]).unwrap();
        assert!((d.slope_per_frame + 6.8).abs() < 1e-9, "{d:?}");
        assert_eq!(d.range, 28.0);
    }

    #[test]
    fn constant_levels_do_not_drift() {
        let d = level_drift(&[500.25; 7]).unwrap();
        assert_eq!(d.slope_per_frame, 0.0);
        assert_eq!(d.range, 0.0);
    }

    #[test]
    fn two_levels_give_their_difference() {
        let d = level_drift(&[10.0, 13.0]).unwrap();
        assert!((d.slope_per_frame - 3.0).abs() < 1e-12, "{d:?}");
        assert_eq!(d.range, 3.0);
    }

    #[test]
    fn too_few_or_non_finite_levels_are_none() {
        assert_eq!(level_drift(&[11613.0]), None);
        assert_eq!(level_drift(&[]), None);
        assert_eq!(level_drift(&[1.0, f64::NAN, 2.0]), None);
        assert_eq!(level_drift(&[1.0, f64::INFINITY]), None);
    }
}
