//! Finding a master's images and reading their pixels: which extensions a product holds,
//! and each image's FLUX and QUAL.

use crate::error::{CompareError, FitsError, Result};
use crate::fits::{FrameFile, ImageHdu, Pixels, read_window};
use crate::product::strip_suffix_ignoring_case;

/// The extensions of a multi-extension product (`AMP1` for `AMP1.FLUX`), or `[None]` for
/// a single-image product.
pub(super) fn image_names(file: &FrameFile) -> Vec<Option<String>> {
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

/// Whether two products hold the same images, in any order and any case (the files may
/// come from different writers).
pub(super) fn same_names(a: &[Option<String>], b: &[Option<String>]) -> bool {
    a.len() == b.len()
        && a.iter().all(|name| {
            b.iter().any(|other| match (name, other) {
                (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
                (None, None) => true,
                _ => false,
            })
        })
}

/// A product's images in the words of an error message.
pub(super) fn describe_names(names: &[Option<String>]) -> String {
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
pub(super) struct MasterImage {
    /// (rows, columns).
    pub shape: (usize, usize),
    pub flux: Vec<f64>,
    pub bad: Vec<bool>,
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
pub(super) fn read_image(file: &FrameFile, name: Option<&str>) -> Result<MasterImage> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<Option<String>> {
        list.iter().map(|n| Some(n.to_string())).collect()
    }

    #[test]
    fn products_hold_the_same_images_whatever_the_order_and_case() {
        assert!(same_names(
            &names(&["AMP1", "AMP2"]),
            &names(&["amp2", "Amp1"])
        ));
        assert!(same_names(&[None], &[None]));
        assert!(!same_names(&names(&["AMP1", "AMP2"]), &names(&["AMP1"])));
        assert!(!same_names(&names(&["AMP1"]), &[None]));
        assert_eq!(
            describe_names(&names(&["AMP1", "AMP2"])),
            "the extensions AMP1, AMP2"
        );
        assert_eq!(describe_names(&[None]), "one image (FLUX, QUAL, ERRS)");
    }
}
