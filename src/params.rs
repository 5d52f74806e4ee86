//! The engine's parameters: the clipping parameters of `soxs-mbias`, the numerics mode,
//! how the stack rejects and combines, the QC acceptable ranges, and the limits
//! `mbias compare` judges a master by.
//!
//! Each value is checked where it is made, so the code that takes one (`algorithm`, `qc`,
//! `detector`) uses it as it is and never checks it again. `settings` turns YAML into these
//! types and back; the rules themselves live here, once.

use std::collections::BTreeMap;
use std::ops::Deref;

use serde::{Deserialize, Serialize, Serializer};

use crate::error::ParamError;

/// How the two whole-frame clips accumulate their statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Numerics {
    /// Reproduce soxspipe's float32 accumulations, so the product matches soxspipe's.
    Soxspipe,
    /// Honest float64 statistics.
    Exact,
}

impl Numerics {
    pub fn name(self) -> &'static str {
        match self {
            Numerics::Soxspipe => "soxspipe",
            Numerics::Exact => "exact",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "soxspipe" => Some(Numerics::Soxspipe),
            "exact" => Some(Numerics::Exact),
            _ => None,
        }
    }
}

/// Which soxspipe release's `soxs_mbias` the run reproduces. The two differ in their
/// statistics (0.19 clips whole frames with numpy's float32 sums, respects each frame's
/// mask in the stack clip, measures RAW RON from the difference of the first two frames
/// and MASTER RON over good pixels only), in their defaults and in their product cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum RecipeVersion {
    #[serde(rename = "soxspipe-0.17")]
    Soxspipe017,
    #[serde(rename = "soxspipe-0.19")]
    #[default]
    Soxspipe019,
}

impl RecipeVersion {
    pub const ALL: [RecipeVersion; 2] = [RecipeVersion::Soxspipe019, RecipeVersion::Soxspipe017];
    /// soxspipe's release on PyPI: what users run today.
    pub const DEFAULT: RecipeVersion = RecipeVersion::Soxspipe019;

    pub fn name(self) -> &'static str {
        match self {
            RecipeVersion::Soxspipe017 => "soxspipe-0.17",
            RecipeVersion::Soxspipe019 => "soxspipe-0.19",
        }
    }

    /// The release alone: `0.19`.
    pub fn release(self) -> &'static str {
        match self {
            RecipeVersion::Soxspipe017 => "0.17",
            RecipeVersion::Soxspipe019 => "0.19",
        }
    }

    /// `soxspipe-0.19`, or the release alone (`0.19`).
    pub fn parse(text: &str) -> Option<RecipeVersion> {
        let text = text.trim();
        RecipeVersion::ALL
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(text) || v.release() == text)
    }

    /// Whether this version follows 0.19's statistics (see the type's note).
    pub fn is_019(self) -> bool {
        self == RecipeVersion::Soxspipe019
    }
}

/// Per-pixel outlier rejection across the stack: soxspipe's way, and alternatives that
/// suit small stacks better (spec/algorithms-and-anchors.md A4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// soxspipe: median ± σ × 1.4826 × MAD of the pixel's own values. On a stack of five
    /// the MAD is so noisy that about a tenth of good samples go.
    MadSigma,
    /// IRAF `ccdclip` style: median ± σ × the read noise, measured once from frame
    /// differences; rejects cosmic rays and little else.
    NoiseModel,
    /// IRAF `imcombine reject=minmax`: the `low` lowest and `high` highest values of each
    /// pixel go, whatever they are (σ and iterations play no part). At least one value
    /// always stays: on a short stack the counts shrink, the larger first.
    MinMax { low: u16, high: u16 },
}

/// Settings names of the `minmax` counts.
const MINMAX_LOW: &str = "minmax-low";
const MINMAX_HIGH: &str = "minmax-high";
/// What a `minmax` count must be, in the words of error messages.
const COUNT_RULE: &str = "a whole number from 0 to 1000";

/// A rejection is written (JSON, YAML) by its name; its parameters are keys of their own.
impl Serialize for Rejection {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl Rejection {
    /// Every method, each with its own parameters at their defaults.
    pub const ALL: [Rejection; 3] = [
        Rejection::MadSigma,
        Rejection::NoiseModel,
        Rejection::MinMax { low: 1, high: 1 },
    ];

    /// The settings keys (beside `rejection`) that hold the methods' own parameters.
    /// `settings` reads and writes exactly these, so a method with parameters needs no
    /// code there.
    pub const PARAMETER_KEYS: [&'static str; 2] = [MINMAX_LOW, MINMAX_HIGH];

    pub fn name(self) -> &'static str {
        match self {
            Rejection::MadSigma => "mad-sigma",
            Rejection::NoiseModel => "noise-model",
            Rejection::MinMax { .. } => "minmax",
        }
    }

    /// The method called `text`, with its parameters at their defaults.
    pub fn parse(text: &str) -> Option<Rejection> {
        Rejection::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(text.trim()))
    }

    /// The names of all methods, for messages: "a, b or c".
    pub fn choices() -> String {
        let names: Vec<&str> = Rejection::ALL.iter().map(|r| r.name()).collect();
        match names.split_last() {
            Some((last, [])) => last.to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    /// This method's own parameters as settings keys and values: what the product records
    /// and a saved settings file holds.
    pub fn parameters(self) -> Vec<(&'static str, f64)> {
        match self {
            Rejection::MinMax { low, high } => {
                vec![(MINMAX_LOW, f64::from(low)), (MINMAX_HIGH, f64::from(high))]
            }
            Rejection::MadSigma | Rejection::NoiseModel => Vec::new(),
        }
    }

    /// This method with its parameter `key` set to `value`, checked; a key of another
    /// method leaves it as it is (a settings file may keep values for a method it does
    /// not use now).
    pub fn with_parameter(self, key: &str, value: f64) -> Result<Rejection, ParamError> {
        let Rejection::MinMax { low, high } = self else {
            return Ok(self);
        };
        let count = |key: &'static str| {
            (value.fract() == 0.0 && (0.0..=1000.0).contains(&value))
                .then_some(value as u16)
                .ok_or_else(|| ParamError {
                    key,
                    value: value.to_string(),
                    expected: COUNT_RULE,
                })
        };
        Ok(match key {
            MINMAX_LOW => Rejection::MinMax {
                low: count(MINMAX_LOW)?,
                high,
            },
            MINMAX_HIGH => Rejection::MinMax {
                low,
                high: count(MINMAX_HIGH)?,
            },
            _ => self,
        })
    }
}

/// How the surviving values of a pixel become the master's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Combine {
    /// soxspipe: the mean (the least noisy for Gaussian read noise).
    Mean,
    /// The median: robust when rejection is off or weak, √(π/2) noisier.
    Median,
}

impl Combine {
    pub const ALL: [Combine; 2] = [Combine::Mean, Combine::Median];

    pub fn name(self) -> &'static str {
        match self {
            Combine::Mean => "mean",
            Combine::Median => "median",
        }
    }

    pub fn parse(text: &str) -> Option<Combine> {
        Combine::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(text.trim()))
    }
}

/// What a clipping σ must be, in the words of error messages.
pub const SIGMA_RULE: &str = "a number greater than 0";
/// What a clipping iteration count must be, in the words of error messages.
pub const ITERATIONS_RULE: &str = "a whole number of at least 1";

/// `value` if it is a clipping σ the algorithm can honour: zero or less would reject
/// every pixel, NaN or infinity none.
pub fn valid_sigma(value: f64) -> Option<f64> {
    (value.is_finite() && value > 0.0).then_some(value)
}

/// `value` as an iteration count if the algorithm can honour it: at least one pass (soxspipe
/// clips at least once), and few enough to count.
pub fn valid_iterations(value: u64) -> Option<u32> {
    u32::try_from(value).ok().filter(|n| *n >= 1)
}

/// The four clipping parameters of `soxs-mbias` as given, not yet checked; soxspipe's key
/// names. Only [`ClipParams::new`] turns them into parameters the engine takes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ClipValues {
    pub stacked_clipping_sigma: f64,
    pub stacked_clipping_iterations: u32,
    pub frame_clipping_sigma: f64,
    pub frame_clipping_iterations: u32,
}

/// The four clipping parameters, checked: [`ClipParams::new`] is the only way to make one,
/// so an out-of-range σ or iteration count never reaches the algorithm.
///
/// It reads as its [`ClipValues`] (`params.frame_clipping_sigma`) through `Deref`; there
/// is no `DerefMut`, so a changed value goes through [`ClipParams::with`] and is checked
/// again.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ClipParams(ClipValues);

impl ClipParams {
    /// Checks `values`; the error names the first value out of range by its settings key.
    pub fn new(values: ClipValues) -> Result<ClipParams, ParamError> {
        for (key, sigma) in [
            ("stacked-clipping-sigma", values.stacked_clipping_sigma),
            ("frame-clipping-sigma", values.frame_clipping_sigma),
        ] {
            valid_sigma(sigma).ok_or_else(|| ParamError {
                key,
                value: sigma.to_string(),
                expected: SIGMA_RULE,
            })?;
        }
        for (key, iterations) in [
            (
                "stacked-clipping-iterations",
                values.stacked_clipping_iterations,
            ),
            (
                "frame-clipping-iterations",
                values.frame_clipping_iterations,
            ),
        ] {
            valid_iterations(u64::from(iterations)).ok_or_else(|| ParamError {
                key,
                value: iterations.to_string(),
                expected: ITERATIONS_RULE,
            })?;
        }
        Ok(ClipParams(values))
    }

    /// These parameters with `change` made to them, checked again.
    pub fn with(self, change: impl FnOnce(&mut ClipValues)) -> Result<ClipParams, ParamError> {
        let mut values = self.0;
        change(&mut values);
        ClipParams::new(values)
    }
}

impl Deref for ClipParams {
    type Target = ClipValues;

    fn deref(&self) -> &ClipValues {
        &self.0
    }
}

/// A QC's acceptable range: soxspipe flags a value failing when `value <= low || value >= high`.
/// Built by [`QcRange::new`], so some value can always pass.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QcRange {
    low: f64,
    high: f64,
}

impl QcRange {
    /// The range from `low` to `high`, if `low` is below `high` (`[-.inf, .inf]` passes every
    /// finite value; NaN at either end none).
    pub fn new(low: f64, high: f64) -> Option<QcRange> {
        (low < high).then_some(QcRange { low, high })
    }

    pub fn low(&self) -> f64 {
        self.low
    }

    pub fn high(&self) -> f64 {
        self.high
    }

    pub fn passes(&self, value: f64) -> bool {
        value > self.low && value < self.high
    }
}

/// `qc-acceptable-ranges`, keyed by soxspipe's kebab-case names (`master-ron`, …).
pub type QcRanges = BTreeMap<String, QcRange>;

/// Where the QC history is kept (`mbias.history`, `$MBIAS_HISTORY`, `--history`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryLocation {
    /// Nothing is recorded.
    Off,
    File(std::path::PathBuf),
}

impl HistoryLocation {
    /// A setting's, the environment's or a flag's value: `off` (in any case), or a path,
    /// kept as given (a path that is not UTF-8 included).
    pub fn parse(text: &std::ffi::OsStr) -> HistoryLocation {
        if text
            .to_str()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("off"))
        {
            HistoryLocation::Off
        } else {
            HistoryLocation::File(std::path::PathBuf::from(text))
        }
    }
}

/// Serializes a number as JSON can hold it: finite as a number, ±∞ as the strings
/// `"inf"` / `"-inf"` (JSON has no infinity, and serde_json would write null, which reads
/// as "no value"), NaN as null.
pub fn finite_or_text<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_infinite() {
        s.serialize_str(if *v > 0.0 { "inf" } else { "-inf" })
    } else {
        s.serialize_f64(*v)
    }
}

/// [`finite_or_text`] of an optional number (`None` as null).
pub fn finite_or_text_option<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => finite_or_text(v, s),
        None => s.serialize_none(),
    }
}

/// What `mbias compare` judges tonight's master by, against a reference master.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CompareStatistic {
    /// |mean of tonight − reference| (e-): the bias level moved.
    Mean,
    /// The robust std of the difference over √2 × the reference's own robust std: about
    /// 1 for two masters of the same detector (their noise adds), less where they share
    /// structure, more when tonight is noisier or its pattern changed. A ratio, so one
    /// limit serves any CCD; outliers (a few hot pixels) do not move it.
    NoiseRatio,
    /// (bad pixels tonight − bad pixels in the reference) / the reference's bad pixels, or
    /// 100 when it has fewer: the master's QUAL marks a stack's statistical outliers too,
    /// which differ from night to night pixel by pixel but not in number, so the growth of
    /// the count is what tells a new bad column or a failing amplifier. The floor keeps a
    /// reference with a handful of bad pixels from making two new outliers a doubling.
    BadPixelGrowth,
}

impl CompareStatistic {
    pub const ALL: [CompareStatistic; 3] = [
        CompareStatistic::Mean,
        CompareStatistic::NoiseRatio,
        CompareStatistic::BadPixelGrowth,
    ];

    /// Its key in the settings' `compare-limits`.
    pub fn key(self) -> &'static str {
        match self {
            CompareStatistic::Mean => "mean",
            CompareStatistic::NoiseRatio => "noise-ratio",
            CompareStatistic::BadPixelGrowth => "bad-pixel-growth",
        }
    }

    pub fn from_key(key: &str) -> Option<CompareStatistic> {
        CompareStatistic::ALL.into_iter().find(|s| s.key() == key)
    }
}

/// How far a compared statistic may go: above `inspect` the master wants a look, above
/// `reject` it should not be used. Built by [`CompareLimit::new`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CompareLimit {
    #[serde(serialize_with = "finite_or_text")]
    inspect: f64,
    #[serde(serialize_with = "finite_or_text")]
    reject: f64,
}

impl CompareLimit {
    /// The rule, in the words of a settings message.
    pub const EXPECTED: &'static str = "[inspect, reject] with 0 ≤ inspect ≤ reject";

    /// `None` unless 0 ≤ inspect ≤ reject (`.inf` switches a threshold off; NaN is
    /// refused).
    pub fn new(inspect: f64, reject: f64) -> Option<CompareLimit> {
        (0.0 <= inspect && inspect <= reject).then_some(CompareLimit { inspect, reject })
    }

    pub fn inspect(&self) -> f64 {
        self.inspect
    }

    pub fn reject(&self) -> f64 {
        self.reject
    }
}

/// The limits of `mbias compare` (settings: `mbias.compare-limits`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CompareLimits {
    pub mean: CompareLimit,
    pub noise_ratio: CompareLimit,
    pub bad_pixel_growth: CompareLimit,
}

impl Default for CompareLimits {
    /// A level shift of 2 e- is worth a look, beyond 5 e- the master is not the detector
    /// the reference was. Tonight's noise half again the reference's makes a noise ratio
    /// of 1.27, twice 1.58, three times 2.24. A quarter more bad pixels than the reference
    /// is worth a look, twice as many a defect.
    fn default() -> Self {
        let limit = |inspect, reject| CompareLimit { inspect, reject };
        CompareLimits {
            mean: limit(2.0, 5.0),
            noise_ratio: limit(1.3, 2.0),
            bad_pixel_growth: limit(0.25, 1.0),
        }
    }
}

impl CompareLimits {
    pub fn get(&self, statistic: CompareStatistic) -> CompareLimit {
        match statistic {
            CompareStatistic::Mean => self.mean,
            CompareStatistic::NoiseRatio => self.noise_ratio,
            CompareStatistic::BadPixelGrowth => self.bad_pixel_growth,
        }
    }

    /// These limits with `given` replacing the limit of each statistic it names.
    pub fn with(mut self, given: &BTreeMap<CompareStatistic, CompareLimit>) -> CompareLimits {
        for (&statistic, &limit) in given {
            *match statistic {
                CompareStatistic::Mean => &mut self.mean,
                CompareStatistic::NoiseRatio => &mut self.noise_ratio,
                CompareStatistic::BadPixelGrowth => &mut self.bad_pixel_growth,
            } = limit;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: ClipValues = ClipValues {
        stacked_clipping_sigma: 3.0,
        stacked_clipping_iterations: 3,
        frame_clipping_sigma: 4.0,
        frame_clipping_iterations: 3,
    };

    #[test]
    fn clip_params_refuse_what_the_algorithm_cannot_honour_by_key() {
        assert_eq!(*ClipParams::new(GOOD).unwrap(), GOOD);
        for (values, key) in [
            (
                ClipValues {
                    stacked_clipping_sigma: 0.0,
                    ..GOOD
                },
                "stacked-clipping-sigma",
            ),
            (
                ClipValues {
                    frame_clipping_sigma: f64::NAN,
                    ..GOOD
                },
                "frame-clipping-sigma",
            ),
            (
                ClipValues {
                    frame_clipping_sigma: f64::INFINITY,
                    ..GOOD
                },
                "frame-clipping-sigma",
            ),
            (
                ClipValues {
                    stacked_clipping_iterations: 0,
                    ..GOOD
                },
                "stacked-clipping-iterations",
            ),
        ] {
            assert_eq!(ClipParams::new(values).unwrap_err().key, key);
        }
        let params = ClipParams::new(GOOD).unwrap();
        let e = params
            .with(|p| p.frame_clipping_iterations = 0)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "frame-clipping-iterations = 0 is not allowed: expected a whole number of at least 1"
        );
        let changed = params.with(|p| p.frame_clipping_sigma = 2.5).unwrap();
        assert_eq!(changed.frame_clipping_sigma, 2.5);
    }

    #[test]
    fn minmax_counts_are_whole_numbers_and_other_methods_ignore_them() {
        let minmax = Rejection::parse("MinMax").unwrap();
        assert_eq!(minmax, Rejection::MinMax { low: 1, high: 1 });
        let tuned = minmax
            .with_parameter("minmax-low", 2.0)
            .and_then(|r| r.with_parameter("minmax-high", 0.0))
            .unwrap();
        assert_eq!(tuned, Rejection::MinMax { low: 2, high: 0 });
        assert_eq!(
            tuned.parameters(),
            [("minmax-low", 2.0), ("minmax-high", 0.0)]
        );
        assert_eq!(
            minmax.with_parameter("minmax-high", 1.5).unwrap_err().key,
            "minmax-high"
        );
        assert!(minmax.with_parameter("minmax-low", -1.0).is_err());
        assert_eq!(
            Rejection::MadSigma.with_parameter("minmax-low", 3.0),
            Ok(Rejection::MadSigma)
        );
        assert_eq!(Rejection::choices(), "mad-sigma, noise-model or minmax");
    }

    #[test]
    fn iteration_counts_must_fit_and_ranges_must_let_a_value_pass() {
        assert_eq!(valid_iterations(u64::from(u32::MAX) + 1), None);
        assert_eq!(valid_iterations(7), Some(7));
        assert!(QcRange::new(1.0, 1.0).is_none());
        assert!(QcRange::new(f64::NAN, 1.0).is_none());
        let all = QcRange::new(f64::NEG_INFINITY, f64::INFINITY).unwrap();
        assert!(all.passes(1e300) && !all.passes(f64::NAN));
    }

    #[test]
    fn compare_limits_need_inspect_at_or_below_reject() {
        assert!(CompareLimit::new(2.0, 5.0).is_some());
        assert!(CompareLimit::new(3.0, 3.0).is_some());
        assert!(CompareLimit::new(3.0, f64::INFINITY).is_some());
        assert!(CompareLimit::new(5.0, 2.0).is_none());
        assert!(CompareLimit::new(-1.0, 2.0).is_none());
        assert!(CompareLimit::new(f64::NAN, 2.0).is_none());
        let tighter = CompareLimit::new(1.0, 3.0).unwrap();
        let given = BTreeMap::from([(CompareStatistic::NoiseRatio, tighter)]);
        let limits = CompareLimits::default().with(&given);
        assert_eq!(limits.noise_ratio, tighter);
        assert_eq!(limits.mean, CompareLimits::default().mean);
    }

    /// A limit switched off with `.inf` reads back as switched off, not as null.
    #[test]
    fn infinite_limits_are_written_to_json_as_text() {
        let off = CompareLimit::new(f64::INFINITY, f64::INFINITY).unwrap();
        let limits = CompareLimits::default()
            .with(&BTreeMap::from([(CompareStatistic::BadPixelGrowth, off)]));
        let json = serde_json::to_value(&limits).unwrap();
        assert_eq!(
            json["bad-pixel-growth"],
            serde_json::json!({"inspect": "inf", "reject": "inf"})
        );
        assert_eq!(
            json["mean"],
            serde_json::json!({"inspect": 2.0, "reject": 5.0})
        );
        let text = |v: f64| {
            let mut out = Vec::new();
            finite_or_text(&v, &mut serde_json::Serializer::new(&mut out)).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            [f64::NEG_INFINITY, f64::NAN, 1.5].map(text),
            ["\"-inf\"", "null", "1.5"]
        );
    }
}
