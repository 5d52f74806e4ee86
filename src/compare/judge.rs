//! The statistics held against the [`CompareLimits`]: each statistic past a threshold
//! becomes a [`Reason`], the worst decides the [`Verdict`]; and the QC values both
//! products carry, side by side.

use std::fmt;

use serde::Serialize;

use super::ImageComparison;
use crate::params::{CompareLimit, CompareLimits, CompareStatistic, finite_or_text};
use crate::product::{ProductQc, QcValues};
use crate::qc::QcOrigin;

/// The outcome, ordered from best to worst: the worst of several is their maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Accept,
    Inspect,
    Reject,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Accept => "accept",
            Verdict::Inspect => "inspect",
            Verdict::Reject => "reject",
        })
    }
}

/// Where `value` stands against `limit`. A value that could not be computed (NaN: no
/// pixel good in both) is rejected: a comparison that compared nothing must not pass.
fn verdict(limit: CompareLimit, value: f64) -> Verdict {
    if value.is_nan() || value > limit.reject() {
        Verdict::Reject
    } else if value > limit.inspect() {
        Verdict::Inspect
    } else {
        Verdict::Accept
    }
}

/// The statistic's words in a reason.
fn describe(statistic: CompareStatistic) -> &'static str {
    match statistic {
        CompareStatistic::Mean => "|mean difference|",
        CompareStatistic::NoiseRatio => "noise ratio",
        CompareStatistic::BadPixelGrowth => "bad-pixel growth",
    }
}

/// The value of one image's comparison that the statistic's limit applies to. The
/// statistics of the difference are NaN when no pixel is good in both masters: that is
/// decided by the count, so that [`Reason`]'s NaN means exactly that.
fn value_of(statistic: CompareStatistic, image: &ImageComparison) -> f64 {
    let compared_nothing = image.difference.count == 0;
    match statistic {
        CompareStatistic::Mean | CompareStatistic::NoiseRatio if compared_nothing => f64::NAN,
        CompareStatistic::Mean => image.difference.mean.abs(),
        CompareStatistic::NoiseRatio => image.noise_ratio,
        CompareStatistic::BadPixelGrowth => image.bad_pixel_growth,
    }
}

/// One statistic of one image past one of its thresholds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// The extension's name, `None` for a single-image product.
    pub image: Option<String>,
    pub statistic: CompareStatistic,
    /// NaN (JSON null) when no pixel is good in both masters; a noise ratio is +∞ (JSON
    /// "inf") when the reference has no spread and the difference has.
    #[serde(serialize_with = "finite_or_text")]
    pub value: f64,
    /// The threshold crossed (JSON "inf" for a switched-off reject limit that a value
    /// which could not be computed crossed all the same).
    #[serde(serialize_with = "finite_or_text")]
    pub limit: f64,
    pub verdict: Verdict,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(image) = &self.image {
            write!(f, "{image}: ")?;
        }
        let what = describe(self.statistic);
        if self.value.is_nan() {
            return write!(
                f,
                "{what} cannot be computed: no pixel is good in both masters"
            );
        }
        write!(
            f,
            "{what} {} > {} limit {}",
            format_number(self.value),
            self.verdict,
            format_number(self.limit)
        )?;
        if self.statistic == CompareStatistic::NoiseRatio && self.value == f64::INFINITY {
            write!(
                f,
                ": the reference has no spread over the pixels good in both, the difference has"
            )?;
        }
        Ok(())
    }
}

/// Integers without decimals (a pixel count), other values to three.
fn format_number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v}")
    } else {
        format!("{v:.3}")
    }
}

/// Every statistic of every image that crossed a threshold.
pub(super) fn judge(images: &[ImageComparison], limits: &CompareLimits) -> Vec<Reason> {
    images
        .iter()
        .flat_map(|image| {
            CompareStatistic::ALL
                .into_iter()
                .filter_map(move |statistic| {
                    let limit = limits.get(statistic);
                    let value = value_of(statistic, image);
                    let verdict = verdict(limit, value);
                    let crossed = match verdict {
                        Verdict::Accept => return None,
                        Verdict::Inspect => limit.inspect(),
                        Verdict::Reject => limit.reject(),
                    };
                    Some(Reason {
                        image: image.name.clone(),
                        statistic,
                        value,
                        limit: crossed,
                        verdict,
                    })
                })
        })
        .collect()
}

/// A QC value both products carry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QcDelta {
    pub name: String,
    pub origin: QcOrigin,
    pub tonight: f64,
    pub reference: f64,
    /// tonight − reference.
    pub difference: f64,
}

/// The QC values of image `name`: a multi-extension product's extension's, else the
/// primary header's.
pub(super) fn image_qc<'a>(product: &'a ProductQc, name: Option<&str>) -> &'a QcValues {
    name.and_then(|name| {
        product
            .extensions
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
    })
    .map_or(&product.values, |e| &e.values)
}

/// Every QC value both carry (same name, same namespace), in `tonight`'s order.
pub(super) fn qc_deltas(tonight: &QcValues, reference: &QcValues) -> Vec<QcDelta> {
    tonight
        .iter()
        .filter_map(|(origin, name, t)| {
            let (_, _, r) = reference
                .iter()
                .find(|(o, n, _)| o == origin && n == name)?;
            Some(QcDelta {
                name: name.clone(),
                origin: *origin,
                tonight: *t,
                reference: *r,
                difference: t - r,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::DifferenceStats;

    /// An image's comparison with these statistics, over ten pixels.
    fn compared(name: &str, mean: f64, noise_ratio: f64, growth: f64) -> ImageComparison {
        ImageComparison {
            name: Some(name.to_string()),
            shape: (2, 5),
            difference: DifferenceStats {
                count: 10,
                mean,
                std: 1.0,
                robust_std: 1.0,
                max_abs: 0.0,
            },
            new_bad_pixels: 0,
            gone_bad_pixels: 0,
            reference_spread: 1.0,
            noise_ratio,
            reference_bad_pixels: 100,
            bad_pixel_growth: growth,
            qc: Vec::new(),
        }
    }

    #[test]
    fn nothing_in_common_is_rejected_because_nothing_was_compared() {
        let mut image = compared("AMP1", 0.0, 1.0, 0.0);
        image.difference.count = 0;
        let reasons = judge(&[image], &CompareLimits::default());
        assert!(reasons.iter().all(|r| r.verdict == Verdict::Reject));
        assert_eq!(reasons.len(), 2, "mean and noise ratio: {reasons:?}");
        assert!(reasons[0].to_string().contains("no pixel is good in both"));
    }

    #[test]
    fn an_infinite_noise_ratio_is_rejected_and_says_the_reference_has_no_spread() {
        let reasons = judge(
            &[compared("AMP1", 0.0, f64::INFINITY, 0.0)],
            &CompareLimits::default(),
        );
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        assert_eq!(reasons[0].verdict, Verdict::Reject);
        let text = reasons[0].to_string();
        assert!(
            text.starts_with("AMP1: noise ratio inf > reject limit 2: the reference has no spread"),
            "{text}"
        );
        assert!(!text.contains("no pixel is good in both"), "{text}");
    }

    #[test]
    fn each_statistic_is_judged_by_its_own_limits_and_the_worst_image_decides() {
        let limits = CompareLimits::default();
        let calm = compared("AMP1", -2.0, 1.3, 0.25);
        assert!(
            judge(std::slice::from_ref(&calm), &limits).is_empty(),
            "at a limit is within"
        );
        let images = [
            calm,
            compared("AMP2", -5.5, 1.5, 0.0),
            compared("AMP3", 0.0, 1.0, 1.2),
        ];
        let reasons = judge(&images, &limits);
        let found: Vec<(&str, CompareStatistic, Verdict, f64)> = reasons
            .iter()
            .map(|r| (r.image.as_deref().unwrap(), r.statistic, r.verdict, r.limit))
            .collect();
        assert_eq!(
            found,
            [
                ("AMP2", CompareStatistic::Mean, Verdict::Reject, 5.0),
                ("AMP2", CompareStatistic::NoiseRatio, Verdict::Inspect, 1.3),
                (
                    "AMP3",
                    CompareStatistic::BadPixelGrowth,
                    Verdict::Reject,
                    1.0
                ),
            ]
        );
        assert_eq!(
            reasons[0].to_string(),
            "AMP2: |mean difference| 5.500 > reject limit 5"
        );
    }

    /// JSON has no infinities: a switched-off limit and an infinite ratio come out as
    /// "inf", not as the null that means "could not be computed".
    #[test]
    fn infinities_survive_json_and_nan_stays_null() {
        let reason = |value, limit| Reason {
            image: None,
            statistic: CompareStatistic::NoiseRatio,
            value,
            limit,
            verdict: Verdict::Reject,
        };
        let json = |r: Reason| serde_json::to_value(r).unwrap();
        let infinite = json(reason(f64::INFINITY, 2.0));
        assert_eq!(
            (&infinite["value"], &infinite["limit"]),
            (&"inf".into(), &2.0.into())
        );
        let uncomputed = json(reason(f64::NAN, f64::INFINITY));
        assert!(uncomputed["value"].is_null());
        assert_eq!(uncomputed["limit"], "inf");
        let image = serde_json::to_value(compared("AMP1", 0.0, f64::INFINITY, 0.0)).unwrap();
        assert_eq!(image["noise_ratio"], "inf");
    }

    #[test]
    fn qc_deltas_pair_values_by_name_and_namespace() {
        let tonight: QcValues = vec![
            (QcOrigin::Soxspipe, "MASTER RON".into(), 3.5),
            (QcOrigin::Mbias, "MBIAS MEDIAN".into(), 1000.0),
            (QcOrigin::Mbias, "ONLY TONIGHT".into(), 1.0),
        ];
        let reference: QcValues = vec![
            (QcOrigin::Mbias, "MBIAS MEDIAN".into(), 998.5),
            (QcOrigin::Mbias, "MASTER RON".into(), 3.0),
        ];
        let deltas = qc_deltas(&tonight, &reference);
        assert_eq!(deltas.len(), 1);
        assert_eq!(deltas[0].name, "MBIAS MEDIAN");
        assert_eq!(deltas[0].difference, 1.5);
    }
}
