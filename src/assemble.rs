//! The masters of a multi-extension set put together as the detector holds them: each
//! extension's science window placed where its `DETSEC` (or the keyword the profile's
//! `assemble` names) says, turned where the amplifier reads the other way, so that an
//! operator sees one detector. The per-extension masters and their QC stay as they are;
//! this is a picture of them, written beside the product.

use std::path::{Path, PathBuf};

use ndarray::Array2;

use crate::algorithm::{MasterBias, image, standard};
use crate::atomic::TempFile;
use crate::error::{Error, FitsError, ProductError, Result};
use crate::fits::{Card, ImageData, ImageWriter, Value};
use crate::verify::{Layout, Piece};

/// QUAL of detector pixels no extension covers (gaps between the amplifiers' sections).
pub const NOT_COVERED: u8 = 1;

/// The whole detector.
#[derive(Debug, Clone)]
pub struct Assembled {
    pub flux: Array2<f32>,
    pub qual: Array2<u8>,
    pub errs: Array2<f32>,
    /// Where each extension went, in the order of the set.
    pub pieces: Vec<Piece>,
}

/// The masters (one per piece of `layout`, in its order) placed on the detector.
/// Detector pixels no extension covers are NaN and flagged [`NOT_COVERED`].
pub fn assemble(layout: &Layout, masters: &[&MasterBias]) -> Assembled {
    let (rows, cols) = (layout.rows, layout.cols);
    let mut flux = vec![f32::NAN; rows * cols];
    let mut qual = vec![NOT_COVERED; rows * cols];
    let mut errs = vec![f32::NAN; rows * cols];
    for (piece, master) in layout.pieces.iter().zip(masters) {
        let (height, width) = master.flux.dim();
        let master_errs = master.errs_image();
        let (f, q, e) = (
            standard(&master.flux),
            standard(&master.qual),
            standard(&master_errs),
        );
        // A master of another size than its piece (never from one set) is left out.
        if (height, width) != (piece.section.rows.len(), piece.section.cols.len()) {
            continue;
        }
        for r in 0..height {
            let to_row =
                piece.section.rows.start + if piece.flip_rows { height - 1 - r } else { r };
            for c in 0..width {
                let to_col =
                    piece.section.cols.start + if piece.flip_cols { width - 1 - c } else { c };
                let (from, to) = (r * width + c, to_row * cols + to_col);
                flux[to] = f[from];
                qual[to] = q[from];
                errs[to] = e[from];
            }
        }
    }
    Assembled {
        flux: image(rows, cols, flux),
        qual: image(rows, cols, qual),
        errs: image(rows, cols, errs),
        pieces: layout.pieces.clone(),
    }
}

/// The median of a piece's good pixels in the assembled image, e-.
fn piece_level(assembled: &Assembled, piece: &Piece) -> Option<f64> {
    let (flux, qual) = (&assembled.flux, &assembled.qual);
    let mut good: Vec<f64> = piece
        .section
        .rows
        .clone()
        .flat_map(|r| piece.section.cols.clone().map(move |c| (r, c)))
        .filter(|&p| qual[p] == 0 && flux[p].is_finite())
        .map(|p| f64::from(flux[p]))
        .collect();
    crate::algorithm::numerics::median_in_place(&mut good)
}

/// Where the assembled image of `product` goes: beside it, `<product>_ASSEMBLED.fits`.
pub fn assembled_path(product: &Path) -> PathBuf {
    let stem = product
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let stem = stem
        .strip_suffix(".fits")
        .or_else(|| stem.strip_suffix(".FITS"))
        .unwrap_or(&stem);
    product.with_file_name(format!("{stem}_ASSEMBLED.fits"))
}

/// Writes `assembled` beside `product` (FLUX, QUAL, ERRS extensions after a primary that
/// names the product and each extension's place), replacing an earlier one.
pub fn write(assembled: &Assembled, product: &Path) -> Result<PathBuf> {
    let target = assembled_path(product);
    let temp = TempFile::beside(&target);
    let failed = |e: FitsError| -> Error {
        ProductError::Failed {
            target: target.clone(),
            message: e.to_string(),
        }
        .into()
    };
    let text = |v: String| Value::Str(v);
    let mut primary = vec![
        Card::new(
            "ORIGIN",
            text("mbias".into()),
            "the masters of each extension, assembled",
        ),
        Card::new(
            "MBIASPRD",
            text(
                product
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
            ),
            "the product whose extensions these are",
        ),
    ];
    let mut previous: Option<f64> = None;
    for (i, piece) in assembled.pieces.iter().enumerate() {
        let level = piece_level(assembled, piece);
        let flips = match (piece.flip_cols, piece.flip_rows) {
            (false, false) => "",
            (true, false) => ", x flipped",
            (false, true) => ", y flipped",
            (true, true) => ", x and y flipped",
        };
        primary.push(Card::new(
            &format!("MBIAS ASM{} EXT", i + 1),
            text(piece.extension.clone()),
            "extension placed",
        ));
        primary.push(Card::new(
            &format!("MBIAS ASM{} SEC", i + 1),
            text(piece.section.to_string()),
            &format!("its pixels here{flips}"),
        ));
        if let Some(level) = level {
            primary.push(Card::new(
                &format!("MBIAS ASM{} LEVEL", i + 1),
                Value::Float(level),
                "median of its good pixels [e-]",
            ));
            if let Some(before) = previous {
                primary.push(Card::new(
                    &format!("MBIAS ASM{} STEP", i + 1),
                    Value::Float(level - before),
                    "level less the piece before [e-]",
                ));
            }
            previous = Some(level);
        }
    }
    let shape = assembled.flux.dim();
    let name = |n: &str| Card::new("EXTNAME", text(n.into()), "extension name");
    let unit = || Card::new("BUNIT", text("electron".into()), "");
    let mut writer = ImageWriter::create(temp.path())
        .map_err(failed)?
        .replacing(temp.replaces());
    writer.add_empty_primary(&primary).map_err(failed)?;
    writer
        .add_image(
            shape,
            ImageData::F32(standard(&assembled.flux)),
            &[name("FLUX"), unit()],
        )
        .map_err(failed)?;
    writer
        .add_image(
            shape,
            ImageData::U8(standard(&assembled.qual)),
            &[name("QUAL")],
        )
        .map_err(failed)?;
    writer
        .add_image(
            shape,
            ImageData::F32(standard(&assembled.errs)),
            &[name("ERRS"), unit()],
        )
        .map_err(failed)?;
    writer.finish();
    Ok(temp.commit(true)?)
}
