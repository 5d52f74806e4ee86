//! Writing image HDUs with explicit header cards and checksums.

use std::path::{Path, PathBuf};

use fitsio::FileOpenMode;
use fitsio::FitsFile;
use fitsio::images::ImageType;

use rayon::prelude::*;

use super::{Card, cfitsio_path, owned};
use crate::error::FitsError;

/// Pixels for one image HDU.
pub enum ImageData<'a> {
    F32(&'a [f32]),
    U8(&'a [u8]),
    U16(&'a [u16]),
}

impl ImageData<'_> {
    /// The FITS `DATASUM`: the ones' complement sum of the data as big-endian 32-bit words
    /// (the padding adds zeros). Computed here in parallel from the values in memory, so
    /// cfitsio need not read a frame-sized HDU back to checksum it.
    fn datasum(&self) -> u32 {
        const PIECE: usize = 1 << 20;
        let sum = match self {
            ImageData::F32(values) => values
                .par_chunks(PIECE)
                .map(|piece| piece.iter().map(|v| u64::from(v.to_bits())).sum::<u64>())
                .sum::<u64>(),
            ImageData::U16(values) => values
                .par_chunks(PIECE)
                .map(|piece| {
                    piece
                        .chunks(2)
                        .map(|w| {
                            // Stored as BITPIX 16 with BZERO 32768: the sign bit flipped.
                            let high = u64::from(w[0] ^ 0x8000) << 16;
                            high | w.get(1).map_or(0, |&low| u64::from(low ^ 0x8000))
                        })
                        .sum::<u64>()
                })
                .sum::<u64>(),
            ImageData::U8(values) => values
                .par_chunks(PIECE)
                .map(|piece| {
                    piece
                        .chunks(4)
                        .map(|w| {
                            (0..4).fold(0u64, |word, i| {
                                (word << 8) | u64::from(w.get(i).copied().unwrap_or(0))
                            })
                        })
                        .sum::<u64>()
                })
                .sum::<u64>(),
        };
        fold_carries(sum)
    }
}

/// Ones' complement: carries out of 32 bits wrap around into the low bits.
fn fold_carries(mut sum: u64) -> u32 {
    while sum >> 32 != 0 {
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
    }
    sum as u32
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
    /// Creates a new file, without any HDU yet; fails if it exists.
    ///
    /// The primary is created by the first [`ImageWriter::add_image`] like any other HDU,
    /// while its data unit is still undefined: cfitsio then grows the header freely. A
    /// primary written up front and resized to its image would hold a defined data unit,
    /// and every 2880-byte header block the cards add would shift the whole (zero-filled)
    /// image along the file: 150 ms for a 4k float32 product.
    pub fn create(path: &Path) -> Result<ImageWriter, FitsError> {
        let name = std::ffi::CString::new(cfitsio_path(path)?)
            .map_err(|_| write_error(path, "the path holds a NUL byte"))?;
        let mut raw = std::ptr::null_mut();
        let mut status = 0;
        // SAFETY: `name` is a valid C string; ffinit stores a new handle in `raw`, which
        // stays null if it fails.
        unsafe { fitsio::sys::ffinit(&mut raw, name.as_ptr(), &mut status) };
        check(path, status, "creating the file")?;
        // SAFETY: `raw` is the read-write handle ffinit just opened; `FitsFile` closes it.
        let file = unsafe { FitsFile::from_raw(raw, FileOpenMode::READWRITE) }
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
        self.begin_hdu(data_type.into(), &mut dims, cards)?;
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
        self.checksums(data.datasum())
    }

    /// Writes a primary HDU without data (`NAXIS = 0`) holding `cards`, as a
    /// multi-extension file begins: its images follow as extensions.
    pub fn add_empty_primary(&mut self, cards: &[Card]) -> Result<(), FitsError> {
        if self.hdus != 0 {
            return Err(write_error(
                &self.path,
                "a data-less HDU can only be the primary",
            ));
        }
        self.begin_hdu(ImageType::UnsignedByte.into(), &mut [], cards)?;
        self.checksums(0)
    }

    /// Starts the next HDU with `dims` (FITS axis order) and writes `cards` after its
    /// structural keywords.
    fn begin_hdu(
        &mut self,
        bitpix: i32,
        dims: &mut [std::os::raw::c_long],
        cards: &[Card],
    ) -> Result<(), FitsError> {
        let naxis = dims.len() as i32;
        let mut none: [std::os::raw::c_long; 1] = [0];
        let dims = if dims.is_empty() {
            none.as_mut_ptr()
        } else {
            dims.as_mut_ptr()
        };
        let mut status = 0;
        // SAFETY: the handle is open read-write; `dims` points at `naxis` values (or at
        // one unread value when there are none) that live across the call. In a file
        // without HDUs ffcrim writes the primary.
        unsafe {
            fitsio::sys::ffcrim(self.file.as_raw(), bitpix, naxis, dims, &mut status);
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
        Ok(())
    }

    /// Sets `DATASUM` (computed from the pixels in memory) and the header's `CHECKSUM`
    /// of the HDU just written.
    fn checksums(&mut self, datasum: u32) -> Result<(), FitsError> {
        let datasum = std::ffi::CString::new(datasum.to_string())
            .map_err(|_| write_error(&self.path, "DATASUM"))?;
        let mut status = 0;
        // SAFETY: the handle is open and on the HDU just written; the strings are valid C
        // strings. ffupck takes DATASUM as given and checksums the header only. When it
        // has to add CHECKSUM itself it sums the header before rewriting END, and the
        // checksum comes out wrong: so a placeholder goes in first (in the place of one
        // the cards already hold).
        unsafe {
            let raw = self.file.as_raw();
            fitsio::sys::ffukys(
                raw,
                c"DATASUM".as_ptr(),
                datasum.as_ptr(),
                c"data unit checksum".as_ptr(),
                &mut status,
            );
            fitsio::sys::ffukys(
                raw,
                c"CHECKSUM".as_ptr(),
                c"0000000000000000".as_ptr(),
                c"HDU checksum".as_ptr(),
                &mut status,
            );
            fitsio::sys::ffupck(raw, &mut status);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fits::Value;

    /// cfitsio's own verdict on each HDU's checksums: (data ok, whole HDU ok).
    fn verify(path: &Path, hdus: usize) -> Vec<(i32, i32)> {
        let mut file = FitsFile::open(path).unwrap();
        (0..hdus)
            .map(|i| {
                file.hdu(i).unwrap();
                let (mut data, mut hdu, mut status) = (0, 0, 0);
                // SAFETY: the file is open on HDU i.
                unsafe { fitsio::sys::ffvcks(file.as_raw(), &mut data, &mut hdu, &mut status) };
                assert_eq!(status, 0);
                (data, hdu)
            })
            .collect()
    }

    #[test]
    fn checksums_computed_here_are_the_ones_cfitsio_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sums.fits");
        let floats: Vec<f32> = (0..7 * 5).map(|i| i as f32 * -1.25 + 1e6).collect();
        let bytes: Vec<u8> = (0..7 * 5).map(|i| (i * 37 % 251) as u8).collect();
        let words: Vec<u16> = (0..7 * 5).map(|i| (i * 4099 % 65521) as u16).collect();
        let cards = [
            Card::new("CHECKSUM", Value::Str("0000000000000000".into()), ""),
            Card::new("DATASUM", Value::Str("0".into()), ""),
        ];
        let mut writer = ImageWriter::create(&path).unwrap();
        writer
            .add_image((7, 5), ImageData::F32(&floats), &cards)
            .unwrap();
        writer
            .add_image((7, 5), ImageData::U8(&bytes), &cards)
            .unwrap();
        writer
            .add_image((7, 5), ImageData::U16(&words), &cards)
            .unwrap();
        writer.finish().unwrap();
        assert_eq!(verify(&path, 3), vec![(1, 1); 3]);
        assert_eq!(fold_carries(0x1_FFFF_FFFF), 1);

        let mef = dir.path().join("mef.fits");
        let mut writer = ImageWriter::create(&mef).unwrap();
        writer.add_empty_primary(&cards).unwrap();
        writer
            .add_image((7, 5), ImageData::F32(&floats), &cards)
            .unwrap();
        assert!(writer.add_empty_primary(&cards).is_err(), "only first");
        writer.finish().unwrap();
        assert_eq!(verify(&mef, 2), vec![(1, 1); 2]);

        // An HDU given no checksum cards gets correct ones all the same.
        let bare = dir.path().join("bare.fits");
        let mut writer = ImageWriter::create(&bare).unwrap();
        writer
            .add_image((7, 5), ImageData::F32(&floats), &[])
            .unwrap();
        writer
            .add_image((7, 5), ImageData::U8(&bytes), &[])
            .unwrap();
        writer.finish().unwrap();
        assert_eq!(verify(&bare, 2), vec![(1, 1); 2]);
        let frame = crate::fits::read_frame_header(&mef).unwrap();
        assert_eq!(frame.primary.number("NAXIS"), Some(0.0));
        assert_eq!(frame.images.len(), 1, "the empty primary holds no image");
    }
}
