//! Windows of uncompressed 16-bit and float32 images read straight from the file.
//!
//! cfitsio reads through its own buffers: the bytes are copied from the page cache into
//! them, then converted into a zeroed output array, one 2880-byte record at a time. A
//! raw bias is plain big-endian 16-bit integers, so the window's rows are read with
//! `pread`, half a megabyte of rows at a time into one small buffer that stays in the
//! cache, and decoded from there straight onto the end of the output: no zeroed array,
//! no 2880-byte round trips.
//! The values are the very ones cfitsio gives (it applies `BZERO` and `BSCALE` and, as
//! mbias asks it, checks no null values).

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;

use super::Header;
use super::pixels::Pixels;

/// An uncompressed image HDU this module can read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlainImage {
    /// Byte offset of the data unit.
    pub data_start: u64,
    /// `NAXIS1`: pixels per row.
    pub width: usize,
    /// `NAXIS2`: rows.
    pub height: usize,
    pub kind: PlainKind,
}

/// The pixel encodings read here.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PlainKind {
    /// `BITPIX = 16`, `BSCALE = 1`, `BZERO` 0 (signed) or 32768 (unsigned).
    Short { unsigned: bool },
    /// `BITPIX = -32`, unscaled.
    Float,
}

impl PlainKind {
    /// Bytes a pixel.
    fn bytes(self) -> usize {
        match self {
            PlainKind::Short { .. } => 2,
            PlainKind::Float => 4,
        }
    }
}

impl PlainImage {
    /// The image `header` describes at `data_start`, when it is one of the encodings
    /// read here (else cfitsio reads it).
    pub fn of(header: &Header, data_start: u64) -> Option<PlainImage> {
        // A scale keyword that is there but not a number is cfitsio's to judge.
        let or_default = |key: &str, default: f64| match header.get(key) {
            None => Some(default),
            Some(value) => value.as_f64(),
        };
        let (scale, zero) = (or_default("BSCALE", 1.0)?, or_default("BZERO", 0.0)?);
        // A tile-compressed image is a binary table underneath, for cfitsio to expand.
        if header.number("NAXIS")? != 2.0 || scale != 1.0 || header.get("ZIMAGE").is_some() {
            return None;
        }
        let kind = match header.number("BITPIX")? {
            16.0 if zero == 0.0 => PlainKind::Short { unsigned: false },
            16.0 if zero == 32768.0 => PlainKind::Short { unsigned: true },
            -32.0 if zero == 0.0 => PlainKind::Float,
            _ => return None,
        };
        let width = header.number("NAXIS1").filter(|w| *w >= 1.0)? as usize;
        let height = header.number("NAXIS2").filter(|h| *h >= 0.0)? as usize;
        // Sizes no file can have (they would wrap the offsets) are cfitsio's to refuse.
        let row_bytes = width.checked_mul(kind.bytes())?;
        data_start.checked_add(u64::try_from(row_bytes.checked_mul(height)?).ok()?)?;
        Some(PlainImage {
            data_start,
            width,
            height,
            kind,
        })
    }

    /// Whether [`PlainImage::read`] gives `Pixels::U16` when asked for integers.
    fn unsigned_16(&self) -> bool {
        self.kind == PlainKind::Short { unsigned: true }
    }

    /// Rows `rows` and columns `cols` of the image, row-major, as cfitsio's
    /// `read_region` gives them: 16-bit unsigned integers stay integers with `integers`,
    /// everything else is float32 (exact for all of these encodings). A window outside
    /// the image is refused.
    pub fn read(
        &self,
        file: &File,
        rows: Range<usize>,
        cols: Range<usize>,
        integers: bool,
    ) -> std::io::Result<Pixels> {
        if rows.end > self.height
            || cols.end > self.width
            || rows.start > rows.end
            || cols.start > cols.end
        {
            return Err(std::io::Error::other(format!(
                "rows {rows:?} and columns {cols:?} are not inside the {}×{} image",
                self.height, self.width
            )));
        }
        let width = cols.len();
        let pixels = rows.len() * width;
        if integers && self.unsigned_16() {
            let mut out = Vec::<u16>::with_capacity(pixels);
            self.each_row(file, rows, cols, |row| {
                out.extend(
                    row.chunks_exact(2)
                        .map(|b| u16::from_be_bytes([b[0], b[1]]) ^ 0x8000),
                );
            })?;
            return Ok(Pixels::U16(out));
        }
        let mut out = Vec::<f32>::with_capacity(pixels);
        match self.kind {
            PlainKind::Short { unsigned } => {
                let zero = if unsigned { 32768.0 } else { 0.0 };
                self.each_row(file, rows, cols, |row| {
                    out.extend(
                        row.chunks_exact(2)
                            .map(|b| f32::from(i16::from_be_bytes([b[0], b[1]])) + zero),
                    );
                })?;
            }
            PlainKind::Float => {
                self.each_row(file, rows, cols, |row| {
                    out.extend(
                        row.chunks_exact(4)
                            .map(|b| f32::from_be_bytes([b[0], b[1], b[2], b[3]])),
                    );
                })?;
            }
        }
        Ok(Pixels::F32(out))
    }

    /// Calls `each` with the bytes of columns `cols` of every row in `rows`, in order.
    /// Rows are read a few hundred kilobytes at a time into one buffer.
    fn each_row(
        &self,
        file: &File,
        rows: Range<usize>,
        cols: Range<usize>,
        mut each: impl FnMut(&[u8]),
    ) -> std::io::Result<()> {
        const CHUNK_BYTES: usize = 1 << 19;
        let size = self.kind.bytes();
        // `of` checked that the whole data unit's offsets fit.
        let row_bytes = self.width * size;
        let rows_per_chunk = (CHUNK_BYTES / row_bytes.max(1)).max(1);
        let mut buffer = vec![0u8; rows_per_chunk.min(rows.len()) * row_bytes];
        let mut row = rows.start;
        while row < rows.end {
            let count = rows_per_chunk.min(rows.end - row);
            let chunk = &mut buffer[..count * row_bytes];
            let offset = self.data_start + (row * row_bytes) as u64;
            file.read_exact_at(chunk, offset)?;
            for bytes in chunk.chunks_exact(row_bytes) {
                each(&bytes[cols.start * size..cols.end * size]);
            }
            row += count;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fitsio::FitsFile;
    use fitsio::images::{ImageDescription, ImageType};

    /// Writes a `rows × cols` image of `kind` and returns the file.
    fn written(dir: &std::path::Path, data_type: ImageType, rows: usize, cols: usize) -> File {
        let path = dir.join(format!("{data_type:?}.fits"));
        let description = ImageDescription {
            data_type,
            dimensions: &[rows, cols],
        };
        let mut file = FitsFile::create(&path)
            .with_custom_primary(&description)
            .open()
            .unwrap();
        let hdu = file.primary_hdu().unwrap();
        let values: Vec<f64> = (0..rows * cols)
            .map(|p| {
                ((p * 7919) % 65536) as f64
                    - if data_type == ImageType::Short {
                        32768.0
                    } else {
                        0.0
                    }
            })
            .collect();
        match data_type {
            ImageType::Float => {
                let floats: Vec<f32> = values.iter().map(|&v| (v * 0.37) as f32).collect();
                hdu.write_image(&mut file, &floats).unwrap();
            }
            ImageType::Short => {
                let shorts: Vec<i16> = values.iter().map(|&v| v as i16).collect();
                hdu.write_image(&mut file, &shorts).unwrap();
            }
            _ => {
                let words: Vec<u16> = values.iter().map(|&v| v as u16).collect();
                hdu.write_image(&mut file, &words).unwrap();
            }
        }
        drop(file);
        File::open(&path).unwrap()
    }

    #[test]
    fn windows_are_cfitsios() {
        let dir = tempfile::tempdir().unwrap();
        let (rows, cols) = (37, 301);
        for data_type in [ImageType::UnsignedShort, ImageType::Short, ImageType::Float] {
            let path = dir.path().join(format!("{data_type:?}.fits"));
            let file = written(dir.path(), data_type, rows, cols);
            let header = crate::fits::read_frame_header(&path).unwrap().image.header;
            let image = PlainImage::of(&header, 2880).expect("a plain image");
            for (r, c) in [(0..rows, 0..cols), (3..30, 17..250), (36..37, 0..1)] {
                for integers in [false, true] {
                    let plain = image.read(&file, r.clone(), c.clone(), integers).unwrap();
                    // cfitsio itself (mbias's own reader would take this module's path).
                    let mut fits = FitsFile::open(&path).unwrap();
                    let hdu = fits.primary_hdu().unwrap();
                    let ranges = [&c, &r];
                    let cfitsio = if integers && data_type == ImageType::UnsignedShort {
                        Pixels::U16(hdu.read_region(&mut fits, &ranges).unwrap())
                    } else {
                        Pixels::F32(hdu.read_region(&mut fits, &ranges).unwrap())
                    };
                    assert_eq!(plain, cfitsio, "{data_type:?} {r:?} {c:?} {integers}");
                }
            }
            assert!(image.read(&file, 0..rows + 1, 0..cols, false).is_err());
        }
    }

    #[test]
    fn scaled_and_other_images_are_left_to_cfitsio() {
        let header = |cards: &[(&str, f64)]| crate::fits::Header {
            cards: cards
                .iter()
                .map(|&(k, v)| crate::fits::Card::new(k, crate::fits::Value::Float(v), ""))
                .collect(),
        };
        let base = [("NAXIS", 2.0), ("NAXIS1", 10.0), ("NAXIS2", 5.0)];
        let with = |extra: &[(&str, f64)]| header(&[&base[..], extra].concat());
        assert!(PlainImage::of(&with(&[("BITPIX", 16.0)]), 0).is_some());
        assert!(PlainImage::of(&with(&[("BITPIX", 16.0), ("BSCALE", 2.0)]), 0).is_none());
        assert!(PlainImage::of(&with(&[("BITPIX", 32.0)]), 0).is_none());
        assert!(PlainImage::of(&with(&[("BITPIX", -32.0), ("BZERO", 1.0)]), 0).is_none());
        assert!(PlainImage::of(&with(&[("BITPIX", 8.0)]), 0).is_none());
        let text = |key: &str| crate::fits::Card::new(key, crate::fits::Value::Str("x".into()), "");
        let mut odd_scale = with(&[("BITPIX", 16.0)]);
        odd_scale.cards.push(text("BZERO"));
        assert!(PlainImage::of(&odd_scale, 0).is_none());
        let huge = header(&[
            ("NAXIS", 2.0),
            ("NAXIS1", 1e19),
            ("NAXIS2", 1e19),
            ("BITPIX", 16.0),
        ]);
        assert!(PlainImage::of(&huge, 0).is_none());
    }
}
