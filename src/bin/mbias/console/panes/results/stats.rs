//! Statistics where the operator points, as IRAF's imexamine `m` gives them: of a box
//! about the Preview's cursor (`m`) or of a typed FITS section (`M`), over the image the
//! Preview shows, its bad pixels counted apart.

use mbias::algorithm::numerics::MAD_TO_STD;
use mbias::detector::Section;

/// The side of the box about the cursor, imexamine's default 5 doubled and made odd so the
/// cursor is its centre.
pub const BOX: usize = 11;

/// The box of side [`BOX`] about (`x`, `y`), cut to a `cols × rows` frame.
pub fn box_about((x, y): (usize, usize), (cols, rows): (usize, usize)) -> Section {
    let half = BOX / 2;
    Section {
        rows: y.saturating_sub(half)..(y + half + 1).min(rows),
        cols: x.saturating_sub(half)..(x + half + 1).min(cols),
    }
}

/// Which area the statistics are of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsOf {
    /// The box about the cursor, following it.
    Cursor,
    /// A typed section.
    Fixed(Section),
    /// Each amplifier's data section, where the profile names amplifiers.
    Amplifiers,
}

/// The most pixels of an area the statistics read: beyond, an even sample of that many
/// (they are worked out as the screen is drawn).
pub const MOST_READ: usize = 250_000;

/// The pixels of `section` the statistics read: all of them, or every `step`-th for a
/// large one, and whether they are a sample.
pub fn pixels_of(section: &Section) -> (impl Iterator<Item = (usize, usize)> + '_, bool) {
    let step = section.pixels().div_ceil(MOST_READ).max(1);
    let width = section.cols.len().max(1);
    let pixels = (0..section.pixels()).step_by(step).map(move |i| {
        (
            section.rows.start + i / width,
            section.cols.start + i % width,
        )
    });
    (pixels, step > 1)
}

/// The statistics of an area's good pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub good: usize,
    pub bad: usize,
    pub mean: f64,
    pub median: f64,
    pub std: f64,
    /// 1.4826 × the median absolute deviation: the spread without its outliers.
    pub robust_std: f64,
    pub min: f64,
    pub max: f64,
}

/// The statistics of `values` (`None` for a bad pixel); `None` when none is good.
pub fn stats(values: impl Iterator<Item = Option<f32>>) -> Option<Stats> {
    let mut bad = 0;
    let mut good: Vec<f64> = Vec::new();
    for v in values {
        match v.filter(|v| v.is_finite()) {
            Some(v) => good.push(f64::from(v)),
            None => bad += 1,
        }
    }
    if good.is_empty() {
        return None;
    }
    let n = good.len() as f64;
    let mean = good.iter().sum::<f64>() / n;
    let std = (good.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    good.sort_unstable_by(f64::total_cmp);
    let median = middle(&good);
    let mut deviations: Vec<f64> = good.iter().map(|v| (v - median).abs()).collect();
    deviations.sort_unstable_by(f64::total_cmp);
    Some(Stats {
        good: good.len(),
        bad,
        mean,
        median,
        std,
        robust_std: middle(&deviations) * MAD_TO_STD,
        min: good[0],
        max: good[good.len() - 1],
    })
}

/// The median of sorted values.
fn middle(sorted: &[f64]) -> f64 {
    let m = sorted.len();
    if m % 2 == 1 {
        sorted[m / 2]
    } else {
        0.5 * (sorted[m / 2 - 1] + sorted[m / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_by_hand() {
        // 1, 2, 3, 4, 100 and one bad pixel: mean 22, median 3, population std
        // √(((−21)² + (−20)² + (−19)² + (−18)² + 78²) / 5) = √1522 = 39.0128…, MAD 1.
        let values = [1.0, 2.0, 3.0, 4.0, 100.0]
            .map(Some)
            .into_iter()
            .chain([None]);
        let s = stats(values).unwrap();
        assert_eq!((s.good, s.bad), (5, 1));
        assert_eq!((s.mean, s.median, s.min, s.max), (22.0, 3.0, 1.0, 100.0));
        assert!((s.std - 1522f64.sqrt()).abs() < 1e-12, "{}", s.std);
        assert_eq!(s.robust_std, MAD_TO_STD);
        assert_eq!(stats([None, Some(f32::NAN)].into_iter()), None);
    }

    #[test]
    fn the_box_is_centred_and_cut_to_the_frame() {
        let inside = box_about((20, 20), (100, 50));
        assert_eq!((inside.cols.clone(), inside.rows.clone()), (15..26, 15..26));
        assert_eq!(inside.to_string(), "[16:26,16:26]");
        let corner = box_about((0, 49), (100, 50));
        assert_eq!((corner.cols, corner.rows), (0..6, 44..50));
    }
}
