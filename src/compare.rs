//! Reference-master acceptance: tonight's master bias against a reference master (last
//! month's, or soxspipe's own of the same frames), pixel by pixel and QC by QC.
//!
//! A master bias that drifted, grew new bad columns or got noisier should be looked at
//! before it calibrates a night's science. The difference tonight − reference is measured
//! over the pixels both masters trust (QUAL = 0 in both), so that pixels one mask already
//! flags do not swamp the statistics; the masks' own changes are counted apart (bad
//! pixels new tonight, and gone). The statistics are then held against
//! [`CompareLimits`], each with an inspect and a reject threshold, and the worst image of
//! the product decides the [`Verdict`].

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{CompareError, FitsError, Result};
use crate::fits::{FrameFile, ImageHdu, Pixels, read_frame_header, read_window};
pub use crate::params::{CompareLimit, CompareLimits, CompareStatistic};
use crate::product::{ProductQc, QcValues, read_qc, strip_suffix_ignoring_case};
use crate::qc::QcOrigin;

/// 1.4826 × MAD estimates σ of a normal distribution, whatever outliers ride on it.
const MAD_TO_SIGMA: f64 = 1.4826;

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

/// The value of one image's comparison that the statistic's limit applies to.
fn value_of(statistic: CompareStatistic, image: &ImageComparison) -> f64 {
    match statistic {
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
    /// NaN (JSON null) when no pixel is good in both masters.
    pub value: f64,
    /// The threshold crossed.
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
        )
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

/// Statistics of tonight − reference (e-) over the pixels good in both masters and finite
/// in both. NaN where there are none (JSON null).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DifferenceStats {
    pub count: usize,
    pub mean: f64,
    /// Population standard deviation (numpy's default).
    pub std: f64,
    /// 1.4826 × the median absolute deviation from the median.
    pub robust_std: f64,
    pub max_abs: f64,
}

impl DifferenceStats {
    /// Consumes `differences`, which it reorders for the median.
    fn of(mut differences: Vec<f64>) -> DifferenceStats {
        let count = differences.len();
        let n = count as f64;
        let mean = differences.iter().sum::<f64>() / n;
        let variance = differences.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n;
        let max_abs = differences.iter().map(|d| d.abs()).fold(f64::NAN, f64::max);
        let median = crate::algorithm::numerics::median_in_place(&mut differences);
        let robust_std = median.map_or(f64::NAN, |median| {
            differences
                .iter_mut()
                .for_each(|d| *d = (*d - median).abs());
            crate::algorithm::numerics::median_in_place(&mut differences)
                .map_or(f64::NAN, |mad| MAD_TO_SIGMA * mad)
        });
        DifferenceStats {
            count,
            mean,
            std: variance.sqrt(),
            robust_std,
            max_abs,
        }
    }
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

/// One image of the products (the product's only one, or one extension) compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageComparison {
    /// The extension's name (`AMP1` for `AMP1.FLUX`), `None` for a single-image product.
    pub name: Option<String>,
    /// (rows, columns).
    pub shape: (usize, usize),
    pub difference: DifferenceStats,
    /// Bad tonight, good in the reference.
    pub new_bad_pixels: usize,
    /// Good tonight, bad in the reference.
    pub gone_bad_pixels: usize,
    /// The reference's own robust std over the pixels good in both (e-).
    pub reference_spread: f64,
    /// The difference's robust std over √2 × `reference_spread` (see
    /// [`CompareStatistic::NoiseRatio`]).
    pub noise_ratio: f64,
    /// Bad pixels in the reference.
    pub reference_bad_pixels: usize,
    /// (new − gone) / the reference's bad pixels (one when it has none).
    pub bad_pixel_growth: f64,
    /// The QC values of this image that both products carry, in the report's order.
    pub qc: Vec<QcDelta>,
}

/// Tonight's master against the reference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub tonight: PathBuf,
    pub reference: PathBuf,
    pub images: Vec<ImageComparison>,
    pub limits: CompareLimits,
    /// The worst over the images.
    pub verdict: Verdict,
    /// Every statistic past a threshold, image by image; empty when accepted.
    pub reasons: Vec<Reason>,
}

/// Compares the master-bias product `tonight` with `reference`, image by image (a
/// multi-extension product's extensions matched by name), and judges it by `limits`.
pub fn compare(tonight: &Path, reference: &Path, limits: &CompareLimits) -> Result<Comparison> {
    let files = [read_frame_header(tonight)?, read_frame_header(reference)?];
    let names = [image_names(&files[0]), image_names(&files[1])];
    if !same_names(&names[0], &names[1]) {
        return Err(CompareError::Images {
            tonight: tonight.to_path_buf(),
            reference: reference.to_path_buf(),
            tonight_images: describe_names(&names[0]),
            reference_images: describe_names(&names[1]),
        }
        .into());
    }
    let qc = [read_qc(tonight)?, read_qc(reference)?];
    let images = names[0]
        .iter()
        .map(|name| compare_image(&files, name.as_deref(), &qc))
        .collect::<Result<Vec<_>>>()?;
    let reasons = judge(&images, limits);
    let verdict = reasons
        .iter()
        .map(|r| r.verdict)
        .max()
        .unwrap_or(Verdict::Accept);
    Ok(Comparison {
        tonight: tonight.to_path_buf(),
        reference: reference.to_path_buf(),
        images,
        limits: limits.clone(),
        verdict,
        reasons,
    })
}

/// The extensions of a multi-extension product (`AMP1` for `AMP1.FLUX`), or `[None]` for
/// a single-image product.
fn image_names(file: &FrameFile) -> Vec<Option<String>> {
    let names: Vec<Option<String>> = file
        .images
        .iter()
        .filter_map(|image| {
            let extname = image.header.text("EXTNAME")?;
            strip_suffix_ignoring_case(&extname, ".FLUX").map(|stem| Some(stem.to_string()))
        })
        .collect();
    if names.is_empty() { vec![None] } else { names }
}

fn same_names(a: &[Option<String>], b: &[Option<String>]) -> bool {
    a.len() == b.len()
        && a.iter().all(|name| {
            b.iter().any(|other| match (name, other) {
                (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
                (None, None) => true,
                _ => false,
            })
        })
}

fn describe_names(names: &[Option<String>]) -> String {
    match names {
        [None] => "one image (FLUX, QUAL, ERRS)".to_string(),
        _ => {
            let list: Vec<&str> = names.iter().flatten().map(String::as_str).collect();
            format!("the extensions {}", list.join(", "))
        }
    }
}

/// One image's pixels: its FLUX (e-) and which pixels its QUAL flags.
#[derive(Debug, Clone, PartialEq)]
struct MasterImage {
    shape: (usize, usize),
    flux: Vec<f64>,
    bad: Vec<bool>,
}

/// The image HDU named `<prefix>KIND` (`AMP1.QUAL`, or `QUAL` in a single-image product).
fn find_hdu<'a>(file: &'a FrameFile, name: Option<&str>, kind: &str) -> Option<&'a ImageHdu> {
    let wanted = name.map_or_else(|| kind.to_string(), |n| format!("{n}.{kind}"));
    file.images.iter().find(|image| {
        image
            .header
            .text("EXTNAME")
            .is_some_and(|e| e.trim().eq_ignore_ascii_case(&wanted))
    })
}

/// The FLUX and QUAL of image `name`. A single-image product's FLUX is its first image
/// when no HDU is named FLUX (soxspipe's primary may carry no EXTNAME).
fn read_image(file: &FrameFile, name: Option<&str>) -> Result<MasterImage> {
    let missing = |kind: &str| CompareError::NotAProduct {
        path: file.path.clone(),
        hdu: name.map_or_else(|| kind.to_string(), |n| format!("{n}.{kind}")),
    };
    let flux = find_hdu(file, name, "FLUX")
        .or_else(|| name.is_none().then(|| file.images.first()).flatten())
        .ok_or_else(|| missing("FLUX"))?;
    let qual = find_hdu(file, name, "QUAL").ok_or_else(|| missing("QUAL"))?;
    if qual.shape != flux.shape {
        return Err(FitsError::Data {
            path: file.path.clone(),
            hdu: qual.index,
            message: format!(
                "QUAL is {}×{} pixels, FLUX {}×{}",
                qual.shape.0, qual.shape.1, flux.shape.0, flux.shape.1
            ),
        }
        .into());
    }
    let bad = whole(file, qual)?.into_iter().map(|q| q != 0.0).collect();
    Ok(MasterImage {
        shape: flux.shape,
        flux: whole(file, flux)?,
        bad,
    })
}

/// Every pixel of an image HDU, as float64.
fn whole(file: &FrameFile, hdu: &ImageHdu) -> Result<Vec<f64>, FitsError> {
    let (rows, cols) = hdu.shape;
    Ok(
        match read_window(&file.path, hdu.index, 0..rows, 0..cols, false)? {
            Pixels::U16(v) => v.into_iter().map(f64::from).collect(),
            Pixels::F32(v) => v.into_iter().map(f64::from).collect(),
            Pixels::F64(v) => v,
        },
    )
}

fn compare_image(
    files: &[FrameFile; 2],
    name: Option<&str>,
    qc: &[ProductQc; 2],
) -> Result<ImageComparison> {
    let tonight = read_image(&files[0], name)?;
    let reference = read_image(&files[1], name)?;
    if tonight.shape != reference.shape {
        return Err(CompareError::Shape {
            tonight: files[0].path.clone(),
            reference: files[1].path.clone(),
            image: name.unwrap_or("FLUX").to_string(),
            tonight_shape: tonight.shape,
            reference_shape: reference.shape,
        }
        .into());
    }
    let pixels = compare_pixels(&tonight, &reference);
    let difference = pixels.difference;
    let noise_ratio = difference.robust_std / (std::f64::consts::SQRT_2 * pixels.reference_spread);
    let growth = pixels.new as f64 - pixels.gone as f64;
    Ok(ImageComparison {
        name: name.map(str::to_string),
        shape: tonight.shape,
        difference,
        new_bad_pixels: pixels.new,
        gone_bad_pixels: pixels.gone,
        reference_spread: pixels.reference_spread,
        noise_ratio,
        reference_bad_pixels: pixels.reference_bad,
        bad_pixel_growth: growth / pixels.reference_bad.max(1) as f64,
        qc: qc_deltas(image_qc(&qc[0], name), image_qc(&qc[1], name)),
    })
}

/// What the pixels of two masters tell.
struct PixelComparison {
    /// Of tonight − reference over the pixels good and finite in both.
    difference: DifferenceStats,
    /// The reference's robust std over the same pixels.
    reference_spread: f64,
    /// Bad tonight and good in the reference, and the other way round.
    new: usize,
    gone: usize,
    reference_bad: usize,
}

/// Compares two masters pixel by pixel. The shapes are the caller's to check.
fn compare_pixels(tonight: &MasterImage, reference: &MasterImage) -> PixelComparison {
    let mut differences = Vec::with_capacity(tonight.flux.len());
    let mut references = Vec::with_capacity(reference.flux.len());
    let (mut new, mut gone) = (0, 0);
    let pixels = tonight.flux.iter().zip(&reference.flux);
    let masks = tonight.bad.iter().zip(&reference.bad);
    for ((t, r), bad) in pixels.zip(masks) {
        match bad {
            (true, false) => new += 1,
            (false, true) => gone += 1,
            (false, false) if t.is_finite() && r.is_finite() => {
                differences.push(t - r);
                references.push(*r);
            }
            _ => {}
        }
    }
    PixelComparison {
        difference: DifferenceStats::of(differences),
        reference_spread: DifferenceStats::of(references).robust_std,
        new,
        gone,
        reference_bad: reference.bad.iter().filter(|&&b| b).count(),
    }
}

/// The QC values of image `name`: a multi-extension product's extension's, else the
/// primary header's.
fn image_qc<'a>(product: &'a ProductQc, name: Option<&str>) -> &'a QcValues {
    name.and_then(|name| {
        product
            .extensions
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
    })
    .map_or(&product.values, |e| &e.values)
}

/// Every QC value both carry (same name, same namespace), in `tonight`'s order.
fn qc_deltas(tonight: &QcValues, reference: &QcValues) -> Vec<QcDelta> {
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

/// Every statistic of every image that crossed a threshold.
fn judge(images: &[ImageComparison], limits: &CompareLimits) -> Vec<Reason> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn image(flux: &[f64], bad: &[bool]) -> MasterImage {
        MasterImage {
            shape: (1, flux.len()),
            flux: flux.to_vec(),
            bad: bad.to_vec(),
        }
    }

    /// Six pixels. Good in both: pixels 0–3, differences 1, 2, 3, 10 (mean 4, std
    /// √(9+4+1+36)/2 = √12.5, median 2.5, |d − 2.5| = 1.5, 0.5, 0.5, 7.5 so MAD 1,
    /// max 10). Pixel 4 bad tonight only (new), pixel 5 bad in the reference only (gone);
    /// neither enters the statistics, however wild its value. The reference's good
    /// pixels 8, 10, 10, 14: median 10, deviations 2, 0, 0, 4, MAD 1.
    #[test]
    fn statistics_of_a_hand_checked_case() {
        let tonight = image(
            &[9.0, 12.0, 13.0, 24.0, 1e6, 10.0],
            &[false, false, false, false, true, false],
        );
        let reference = image(
            &[8.0, 10.0, 10.0, 14.0, 10.0, -1e6],
            &[false, false, false, false, false, true],
        );
        let pixels = compare_pixels(&tonight, &reference);
        let stats = pixels.difference;
        assert_eq!((stats.count, pixels.new, pixels.gone), (4, 1, 1));
        assert_eq!(pixels.reference_bad, 1);
        assert_eq!(stats.mean, 4.0);
        assert!((stats.std - 12.5f64.sqrt()).abs() < 1e-12);
        assert!((stats.robust_std - 1.4826).abs() < 1e-12);
        assert_eq!(stats.max_abs, 10.0);
        assert!((pixels.reference_spread - 1.4826).abs() < 1e-12);
    }

    /// An image's comparison with these statistics.
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
    fn non_finite_pixels_are_left_out_and_nothing_in_common_is_rejected() {
        let tonight = image(&[f64::NAN, 5.0], &[false, true]);
        let reference = image(&[1.0, 5.0], &[false, false]);
        let pixels = compare_pixels(&tonight, &reference);
        let stats = pixels.difference;
        assert_eq!((stats.count, pixels.new), (0, 1));
        assert!(stats.mean.is_nan() && stats.robust_std.is_nan() && stats.max_abs.is_nan());
        let reasons = judge(
            &[compared("AMP1", stats.mean, f64::NAN, 0.0)],
            &CompareLimits::default(),
        );
        assert!(reasons.iter().all(|r| r.verdict == Verdict::Reject));
        assert_eq!(reasons.len(), 2, "mean and noise ratio: {reasons:?}");
        assert!(reasons[0].to_string().contains("no pixel is good in both"));
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
