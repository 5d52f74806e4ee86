//! FITS input over cfitsio (the `fitsio` crate with its bundled build), and output written
//! here with cfitsio's header layout (see `write`).
//!
//! cfitsio handles BITPIX 8/16/32/−32/−64 with BZERO/BSCALE and tile compression; gzip
//! and Unix-compressed files are decompressed here and handed to it in memory. This module
//! adds the checks cfitsio lacks (paths it would misread or panic on) and
//! turns its status codes into errors that name the file and HDU.

mod compressed;
mod hdu_header;
pub mod header;
mod memory;
mod pixels;
mod plain;
mod read;
mod write;

pub use header::{Card, Header, KeywordProblem, Value};
pub use pixels::Pixels;
pub use read::{FitsReader, FrameFile, ImageHdu, is_packed, read_frame_header, read_window};
pub use write::{ImageData, ImageWriter};

use std::path::{Path, PathBuf};

use crate::error::FitsError;

/// The path as cfitsio needs it, or why cfitsio cannot be given it.
pub(crate) fn cfitsio_path(path: &Path) -> Result<&str, FitsError> {
    let text = path.to_str().ok_or_else(|| FitsError::NonUtf8Path {
        path: path.to_path_buf(),
    })?;
    if text.contains('[') {
        return Err(FitsError::BracketInName {
            path: path.to_path_buf(),
        });
    }
    Ok(text)
}

fn describe(error: fitsio::errors::Error) -> String {
    match error {
        fitsio::errors::Error::Fits(e) => format!("{} (cfitsio status {})", e.message, e.status),
        other => other.to_string(),
    }
}

fn open_error(path: &Path, error: fitsio::errors::Error) -> FitsError {
    let message = match &error {
        fitsio::errors::Error::Fits(e) if e.status == 104 => "cannot open the file".to_string(),
        fitsio::errors::Error::Fits(e) if e.status == 107 || e.status == 108 => {
            "not a FITS file, or truncated".to_string()
        }
        fitsio::errors::Error::Fits(e) if e.status == 252 || e.status == 251 => {
            "not a FITS file (no SIMPLE keyword)".to_string()
        }
        _ => describe(error),
    };
    FitsError::Open {
        path: path.to_path_buf(),
        message,
    }
}

fn data_error(path: &Path, hdu: usize, error: fitsio::errors::Error) -> FitsError {
    FitsError::Data {
        path: path.to_path_buf(),
        hdu,
        message: describe(error),
    }
}

/// Names of files that look like FITS frames by their extension.
pub fn has_fits_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    [
        ".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fits.z", ".fit.z", ".fits.fz", ".fz",
    ]
    .iter()
    .any(|ext| name.ends_with(ext))
}

/// File name without a compression suffix (`.gz`, `.Z`, `.fz`), as soxspipe names raw
/// frames: `SOXS.2025-10-10T09:19:27.000.fits.gz` becomes `SOXS.2025-10-10T09:19:27.000.fits`.
pub fn frame_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for ext in [".gz", ".Z", ".fz"] {
        if let Some(stripped) = name.strip_suffix(ext) {
            return stripped.to_string();
        }
    }
    name
}

pub(crate) fn owned(path: &Path) -> PathBuf {
    path.to_path_buf()
}
