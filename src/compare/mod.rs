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
//!
//! `read` finds and reads each image's FLUX and QUAL, `pixels` measures the difference,
//! `judge` holds it against the limits and pairs the QC values.

mod judge;
mod pixels;
mod read;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{CompareError, Result};
use crate::fits::{FrameFile, read_frame_header};
use crate::params::finite_or_text;
pub use crate::params::{CompareLimit, CompareLimits, CompareStatistic};
use crate::product::{ProductQc, qc_of};
pub use judge::{QcDelta, Reason, Verdict};
pub use pixels::DifferenceStats;

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
    /// [`CompareStatistic::NoiseRatio`]); 1 when neither has spread, +∞ (JSON "inf") when
    /// only the reference has none.
    #[serde(serialize_with = "finite_or_text")]
    pub noise_ratio: f64,
    /// Bad pixels in the reference.
    pub reference_bad_pixels: usize,
    /// (new − gone) / the reference's bad pixels, or 100 when it has fewer.
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
    let names = [read::image_names(&files[0]), read::image_names(&files[1])];
    if !read::same_names(&names[0], &names[1]) {
        return Err(CompareError::Images {
            tonight: tonight.to_path_buf(),
            reference: reference.to_path_buf(),
            tonight_images: read::describe_names(&names[0]),
            reference_images: read::describe_names(&names[1]),
        }
        .into());
    }
    let qc = [qc_of(files[0].clone()), qc_of(files[1].clone())];
    let images = names[0]
        .iter()
        .map(|name| compare_image(&files, name.as_deref(), &qc))
        .collect::<Result<Vec<_>>>()?;
    let reasons = judge::judge(&images, limits);
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

/// Image `name` of both products, read, measured pixel by pixel and paired with its QC
/// values. Masters of different shapes are an error: no pixel pairs with another.
fn compare_image(
    files: &[FrameFile; 2],
    name: Option<&str>,
    qc: &[ProductQc; 2],
) -> Result<ImageComparison> {
    let tonight = read::read_image(&files[0], name)?;
    let reference = read::read_image(&files[1], name)?;
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
    let pixels = pixels::compare_pixels(&tonight, &reference);
    Ok(ImageComparison {
        name: name.map(str::to_string),
        shape: tonight.shape,
        difference: pixels.difference,
        new_bad_pixels: pixels.new,
        gone_bad_pixels: pixels.gone,
        reference_spread: pixels.reference_spread,
        noise_ratio: pixels.noise_ratio(),
        reference_bad_pixels: pixels.reference_bad,
        bad_pixel_growth: pixels.bad_pixel_growth(),
        qc: judge::qc_deltas(judge::image_qc(&qc[0], name), judge::image_qc(&qc[1], name)),
    })
}
