//! Writing image HDUs with explicit header cards and checksums.

use std::path::{Path, PathBuf};

use fitsio::FitsFile;
use fitsio::images::ImageType;

use super::{Card, cfitsio_path, owned};
use crate::error::FitsError;

/// Pixels for one image HDU.
pub enum ImageData<'a> {
    F32(&'a [f32]),
    U8(&'a [u8]),
    U16(&'a [u16]),
}

/// Writes a FITS file HDU by HDU. The caller owns the path's fate (temporary name, rename).
pub struct ImageWriter {
    file: FitsFile,
    path: PathBuf,
    hdus: usize,
}

fn write_error(path: &Path, message: impl Into<String>) -> FitsError {
    FitsError::Write {
        path: owned(path),
        message: message.into(),
    }
}

fn check(path: &Path, status: i32, what: &str) -> Result<(), FitsError> {
    if status == 0 {
        Ok(())
    } else {
        Err(write_error(
            path,
            format!("{what} failed (cfitsio status {status})"),
        ))
    }
}

impl ImageWriter {
    /// Creates a new file; fails if it exists.
    pub fn create(path: &Path) -> Result<ImageWriter, FitsError> {
        let name = cfitsio_path(path)?;
        let file = FitsFile::create(name)
            .open()
            .map_err(|e| write_error(path, e.to_string()))?;
        Ok(ImageWriter {
            file,
            path: owned(path),
            hdus: 0,
        })
    }

    /// Appends an image HDU (the first one becomes the primary) with `cards` after the
    /// structural keywords, then its pixels. `(rows, cols)` = (NAXIS2, NAXIS1).
    pub fn add_image(
        &mut self,
        shape: (usize, usize),
        data: ImageData<'_>,
        cards: &[Card],
    ) -> Result<(), FitsError> {
        let data_type = match data {
            ImageData::F32(_) => ImageType::Float,
            ImageData::U8(_) => ImageType::UnsignedByte,
            ImageData::U16(_) => ImageType::UnsignedShort,
        };
        let mut dims = [
            shape.1 as std::os::raw::c_long,
            shape.0 as std::os::raw::c_long,
        ];
        let bitpix: i32 = data_type.into();
        let mut status = 0;
        // SAFETY: the handle is open read-write; `dims` lives across the call.
        unsafe {
            let raw = self.file.as_raw();
            if self.hdus == 0 {
                // `FitsFile::create().open()` wrote an empty primary: replace it.
                fitsio::sys::ffrsim(raw, bitpix, 2, dims.as_mut_ptr(), &mut status);
            } else {
                fitsio::sys::ffcrim(raw, bitpix, 2, dims.as_mut_ptr(), &mut status);
            }
        }
        check(&self.path, status, "creating the image HDU")?;
        self.hdus += 1;
        for card in cards {
            let record = std::ffi::CString::new(card.raw.as_str()).map_err(|_| {
                write_error(&self.path, format!("card {} holds a NUL byte", card.key))
            })?;
            // SAFETY: `record` is a valid C string of at most 80 characters.
            unsafe {
                fitsio::sys::ffprec(self.file.as_raw(), record.as_ptr(), &mut status);
            }
            check(&self.path, status, &format!("writing keyword {}", card.key))?;
        }
        let hdu = self
            .file
            .hdu(self.hdus - 1)
            .map_err(|e| write_error(&self.path, e.to_string()))?;
        let result = match data {
            ImageData::F32(d) => hdu.write_image(&mut self.file, d),
            ImageData::U8(d) => hdu.write_image(&mut self.file, d),
            ImageData::U16(d) => hdu.write_image(&mut self.file, d),
        };
        result.map_err(|e| write_error(&self.path, e.to_string()))?;
        // SAFETY: the handle is open and on the HDU just written.
        unsafe {
            fitsio::sys::ffpcks(self.file.as_raw(), &mut status);
        }
        check(&self.path, status, "writing the checksums")
    }

    /// Flushes everything to disk and closes the file, reporting any write error (a full
    /// disk shows up here, not when the data were handed to cfitsio).
    pub fn finish(mut self) -> Result<(), FitsError> {
        let mut status = 0;
        // SAFETY: the handle is open; ffflus writes buffers, the later drop closes it.
        unsafe {
            fitsio::sys::ffflus(self.file.as_raw(), &mut status);
        }
        check(&self.path, status, "flushing the file")
    }
}
