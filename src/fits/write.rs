//! Writing image HDUs with explicit header cards and checksums.
//!
//! The file is written here, not by cfitsio: cfitsio hands the system a product in
//! 4 KiB pieces through its stdio buffer, 15 759 `write` calls for a 4096² product, on
//! one core. Pieces of 256 KiB cost ext4 a third of that (4 MiB ones cost it three
//! times as much: the page cache then takes pages in large blocks), and the next piece
//! is encoded while one is written (`mbias bench` W2 write 97–300 → 80–84 ms, over an
//! existing product 171–469 → 97–136 ms). Each header is the one cfitsio wrote for the
//! same cards ([`super::hdu_header`], pinned by a test against cfitsio's own file).

use std::fs::File;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::hdu_header::{BLOCK, HduHeader, fold_carries};
use super::{Card, owned};
use crate::error::FitsError;
use crate::writeback::Writeback;

/// Bytes handed to the system in one write.
const PIECE_BYTES: usize = 256 << 10;

/// Pixels for one image HDU.
#[derive(Clone, Copy)]
pub enum ImageData<'a> {
    F32(&'a [f32]),
    U8(&'a [u8]),
    U16(&'a [u16]),
    /// `len` float32 values made as they are written: `fill(pixels, out)` writes those
    /// of `pixels` into `out` (an image the caller does not hold whole, such as ERRS).
    F32Made {
        len: usize,
        fill: &'a (dyn Fn(Range<usize>, &mut [f32]) + Sync),
    },
}

/// Values an [`ImageData::F32Made`] is asked for at a time.
const MADE_PIECE: usize = 1 << 16;

impl ImageData<'_> {
    /// The FITS `DATASUM`: the ones' complement sum of the data as big-endian 32-bit words
    /// (the padding adds zeros), computed in parallel from the values in memory.
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
            ImageData::F32Made { len, fill } => (0..len.div_ceil(MADE_PIECE))
                .into_par_iter()
                .map_init(
                    || vec![0f32; MADE_PIECE],
                    |values, piece| {
                        let pixels = piece * MADE_PIECE..((piece + 1) * MADE_PIECE).min(*len);
                        let values = &mut values[..pixels.len()];
                        fill(pixels, values);
                        values.iter().map(|v| u64::from(v.to_bits())).sum::<u64>()
                    },
                )
                .sum::<u64>(),
            // Whole words read as such vectorise (a word folded from its bytes did not:
            // 3.4 ms for a 4096² QUAL); the last one is completed by the padding's zeros.
            ImageData::U8(values) => values
                .par_chunks(PIECE)
                .map(|piece| {
                    let words = piece.chunks_exact(4);
                    let last = words
                        .remainder()
                        .iter()
                        .enumerate()
                        .fold(0u64, |word, (i, &b)| word | u64::from(b) << (24 - 8 * i));
                    words
                        .map(|w| u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]])))
                        .sum::<u64>()
                        + last
                })
                .sum::<u64>(),
        };
        fold_carries(sum)
    }

    fn len(&self) -> usize {
        match self {
            ImageData::F32(v) => v.len(),
            ImageData::U8(v) => v.len(),
            ImageData::U16(v) => v.len(),
            ImageData::F32Made { len, .. } => *len,
        }
    }

    fn value_bytes(&self) -> usize {
        match self {
            ImageData::F32(_) | ImageData::F32Made { .. } => 4,
            ImageData::U8(_) => 1,
            ImageData::U16(_) => 2,
        }
    }

    /// Values `range` as the data unit stores them (big-endian; 16-bit ones offset by
    /// BZERO 32768), in place of what `out` held.
    fn encode(&self, range: Range<usize>, out: &mut Vec<u8>) {
        out.clear();
        out.resize(range.len() * self.value_bytes(), 0);
        match self {
            ImageData::F32(v) => {
                for (bytes, x) in out.chunks_exact_mut(4).zip(&v[range]) {
                    bytes.copy_from_slice(&x.to_be_bytes());
                }
            }
            ImageData::U8(v) => out.copy_from_slice(&v[range]),
            ImageData::U16(v) => {
                for (bytes, x) in out.chunks_exact_mut(2).zip(&v[range]) {
                    bytes.copy_from_slice(&(x ^ 0x8000).to_be_bytes());
                }
            }
            ImageData::F32Made { fill, .. } => {
                let mut values = vec![0f32; range.len()];
                fill(range, &mut values);
                for (bytes, x) in out.chunks_exact_mut(4).zip(&values) {
                    bytes.copy_from_slice(&x.to_be_bytes());
                }
            }
        }
    }
}

/// Writes a FITS file HDU by HDU. The caller owns the path's fate (temporary name, rename).
pub struct ImageWriter {
    file: File,
    path: PathBuf,
    hdus: usize,
    /// When the file was begun, UTC to the second, for the checksums' comments.
    stamp: String,
    /// For a file that will replace another: its pages handed to the disk as written.
    writeback: Option<Writeback>,
}

fn write_error(path: &Path, message: impl Into<String>) -> FitsError {
    FitsError::Write {
        path: owned(path),
        message: message.into(),
    }
}

impl ImageWriter {
    /// Creates a new file, without any HDU yet; fails if it exists.
    pub fn create(path: &Path) -> Result<ImageWriter, FitsError> {
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| write_error(path, format!("creating the file failed: {e}")))?;
        Ok(ImageWriter {
            file,
            path: owned(path),
            hdus: 0,
            stamp: jiff::Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%S")
                .to_string(),
            writeback: None,
        })
    }

    /// Hands the pages to the disk as they are written, when the file is to be renamed
    /// over another (`replaces`): the rename then has nothing left to flush
    /// ([`crate::writeback`]).
    pub fn replacing(mut self, replaces: bool) -> ImageWriter {
        if replaces {
            self.writeback = Writeback::start(&self.file);
        }
        self
    }

    /// Notes `len` bytes written, for the writeback.
    fn wrote(&mut self, len: usize) {
        if let Some(writeback) = &mut self.writeback {
            writeback.wrote(len);
        }
    }

    /// Appends an image HDU (the first one becomes the primary) with `cards` after the
    /// structural keywords, then its pixels. `(rows, cols)` = (NAXIS2, NAXIS1).
    pub fn add_image(
        &mut self,
        shape: (usize, usize),
        data: ImageData<'_>,
        cards: &[Card],
    ) -> Result<(), FitsError> {
        if data.len() != shape.0 * shape.1 {
            return Err(write_error(
                &self.path,
                format!(
                    "{} pixels given for an image of {} × {}",
                    data.len(),
                    shape.1,
                    shape.0
                ),
            ));
        }
        let header = HduHeader::image(self.hdus == 0, Some((&data, shape)));
        self.write_header(header, cards, data.datasum())?;
        self.write_data(&data)
            .map_err(|e| write_error(&self.path, format!("writing the pixels failed: {e}")))
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
        self.write_header(HduHeader::image(true, None), cards, 0)
    }

    /// Writes `header` with `cards` after its structural keywords and the checksums of
    /// the data (summing to `datasum`) that follow it.
    fn write_header(
        &mut self,
        mut header: HduHeader,
        cards: &[Card],
        datasum: u32,
    ) -> Result<(), FitsError> {
        for card in cards {
            header.push_record(&card.raw).map_err(|problem| {
                write_error(&self.path, format!("card {}: {problem}", card.key))
            })?;
        }
        let bytes = header.finish(datasum, &self.stamp);
        self.file
            .write_all(&bytes)
            .map_err(|e| write_error(&self.path, format!("writing a header failed: {e}")))?;
        self.wrote(bytes.len());
        self.hdus += 1;
        Ok(())
    }

    /// The data unit: `data` encoded a piece at a time (the next piece encoded while one
    /// is written), then zeros to the end of the block.
    fn write_data(&mut self, data: &ImageData<'_>) -> std::io::Result<()> {
        let per_piece = PIECE_BYTES / data.value_bytes();
        let n = data.len();
        let mut current = Vec::with_capacity(PIECE_BYTES);
        let mut next = Vec::with_capacity(PIECE_BYTES);
        data.encode(0..n.min(per_piece), &mut current);
        for start in (per_piece..n + per_piece).step_by(per_piece) {
            let file = &mut self.file;
            let (written, ()) = rayon::join(
                || file.write_all(&current),
                || data.encode(start.min(n)..(start + per_piece).min(n), &mut next),
            );
            written?;
            self.wrote(current.len());
            std::mem::swap(&mut current, &mut next);
        }
        let bytes = n * data.value_bytes();
        let padding = vec![0; bytes.next_multiple_of(BLOCK) - bytes];
        self.file.write_all(&padding)?;
        self.wrote(padding.len());
        Ok(())
    }

    /// Ends the file. Nothing is buffered here, so nothing can fail: each write has
    /// reported its own error (a full disk shows up there), and the system writes the
    /// pages to disk later, as it did for cfitsio's files (a file that replaces another
    /// has had them all handed over by now).
    pub fn finish(mut self) {
        if let Some(writeback) = self.writeback.take() {
            writeback.finish();
        }
        drop(self.file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fits::Value;
    use fitsio::FitsFile;

    /// One HDU to write: its image (none: an empty primary) and cards.
    type Hdu<'a> = (Option<((usize, usize), ImageData<'a>)>, Vec<Card>);

    /// The file cfitsio writes for `hdus`, as mbias had it write products: cards with
    /// `ffprec`, the pixels through `fitsio`, DATASUM and a zero CHECKSUM with `ffukys`,
    /// then `ffupck`.
    fn written_by_cfitsio(path: &Path, hdus: &[Hdu<'_>]) {
        let name = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        let (mut raw, mut status) = (std::ptr::null_mut(), 0);
        // SAFETY: valid C strings and out-pointers; every call checks `status` after.
        unsafe { fitsio::sys::ffinit(&mut raw, name.as_ptr(), &mut status) };
        assert_eq!(status, 0);
        let mut file = unsafe { FitsFile::from_raw(raw, fitsio::FileOpenMode::READWRITE) }.unwrap();
        for (i, (image, cards)) in hdus.iter().enumerate() {
            let (bitpix, mut dims) = match image {
                Some(((rows, cols), data)) => {
                    let bitpix = match data {
                        ImageData::F32(_) | ImageData::F32Made { .. } => -32,
                        ImageData::U8(_) => 8,
                        ImageData::U16(_) => 20,
                    };
                    (bitpix, vec![*cols as std::os::raw::c_long, *rows as _])
                }
                None => (8, vec![0]),
            };
            let naxis = if image.is_some() { 2 } else { 0 };
            unsafe {
                fitsio::sys::ffcrim(file.as_raw(), bitpix, naxis, dims.as_mut_ptr(), &mut status)
            };
            for card in cards {
                let record = std::ffi::CString::new(card.raw.as_str()).unwrap();
                unsafe { fitsio::sys::ffprec(file.as_raw(), record.as_ptr(), &mut status) };
            }
            assert_eq!(status, 0);
            let datasum = match image {
                Some((_, data)) => {
                    let hdu = file.hdu(i).unwrap();
                    match data {
                        ImageData::F32(d) => hdu.write_image(&mut file, d),
                        ImageData::U8(d) => hdu.write_image(&mut file, d),
                        ImageData::U16(d) => hdu.write_image(&mut file, d),
                        ImageData::F32Made { len, fill } => {
                            let mut made = vec![0f32; *len];
                            fill(0..*len, &mut made);
                            hdu.write_image(&mut file, &made)
                        }
                    }
                    .unwrap();
                    data.datasum()
                }
                None => 0,
            };
            let datasum = std::ffi::CString::new(datasum.to_string()).unwrap();
            unsafe {
                let raw = file.as_raw();
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
                fitsio::sys::ffflus(raw, &mut status);
            }
            assert_eq!(status, 0);
        }
    }

    /// `bytes` with every CHECKSUM card's value and time stamp blanked: the two writers
    /// ran at different seconds.
    fn without_checksum_values(mut bytes: Vec<u8>) -> Vec<u8> {
        for record in bytes.chunks_exact_mut(80) {
            if record.starts_with(b"CHECKSUM= '") {
                record[11..27].fill(b'#');
                if record[33..53] == *b"HDU checksum updated" {
                    record[54..73].fill(b'#');
                }
            }
        }
        bytes
    }

    #[test]
    fn files_are_byte_for_byte_the_ones_cfitsio_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let floats: Vec<f32> = (0..61 * 47).map(|i| (i as f32).sin() * 1e3).collect();
        let bytes: Vec<u8> = (0..61 * 47).map(|i| (i * 37 % 251) as u8).collect();
        let words: Vec<u16> = (0..61 * 47).map(|i| (i * 4099 % 65521) as u16).collect();
        let raw = |text: &str| Card::parse(&format!("{text:<80}"));
        let mut many: Vec<Card> = (0..70)
            .map(|i| {
                Card::new(
                    &format!("ESO QC VALUE{i}"),
                    Value::Float(i as f64 * 0.5),
                    "a value",
                )
            })
            .collect();
        many.extend([
            Card::new(
                "CHECKSUM",
                Value::Str("0000000000000000".into()),
                "HDU checksum",
            ),
            Card::new("DATASUM", Value::Str("0".into()), "data unit checksum"),
            Card::new("EXTNAME", Value::Str("FLUX".into()), "extension name"),
            raw("object  = 'bias'           / lower-case keyword name"),
            raw("COMMENT a comment with = in it"),
            raw("HISTORY written by a test"),
            Card::new("LONGSTR", Value::Str("x".repeat(100)), "a long string"),
        ]);
        let hdus: Vec<Hdu<'_>> = vec![
            (Some(((61, 47), ImageData::F32(&floats))), many),
            (Some(((61, 47), ImageData::U8(&bytes))), vec![]),
            (
                Some(((47, 61), ImageData::U16(&words))),
                vec![raw("EXTNAME = 'WORDS'")],
            ),
        ];
        let mef: Vec<Hdu<'_>> = vec![
            (None, vec![raw("INSTRUME= 'TEST'")]),
            (Some(((61, 47), ImageData::F32(&floats))), vec![]),
        ];
        // Values made as they are written, over several of the pieces they are asked for
        // in (the last one short).
        let (rows, cols) = (3 * MADE_PIECE / 512 + 1, 512);
        let fill = |pixels: Range<usize>, out: &mut [f32]| {
            for (v, p) in out.iter_mut().zip(pixels) {
                *v = (p as f32 * 0.37).cos() * 40.0 + 1120.0;
            }
        };
        let made: Vec<Hdu<'_>> = vec![(
            Some((
                (rows, cols),
                ImageData::F32Made {
                    len: rows * cols,
                    fill: &fill,
                },
            )),
            vec![raw("EXTNAME = 'ERRS'")],
        )];
        for (name, hdus) in [("single", hdus), ("mef", mef), ("made", made)] {
            let ours = dir.path().join(format!("{name}-ours.fits"));
            let theirs = dir.path().join(format!("{name}-cfitsio.fits"));
            let mut writer = ImageWriter::create(&ours).unwrap();
            for (image, cards) in &hdus {
                match image {
                    Some((shape, data)) => writer.add_image(*shape, *data, cards).unwrap(),
                    None => writer.add_empty_primary(cards).unwrap(),
                }
            }
            writer.finish();
            written_by_cfitsio(&theirs, &hdus);
            let (ours_bytes, theirs_bytes) = (
                std::fs::read(&ours).unwrap(),
                std::fs::read(&theirs).unwrap(),
            );
            assert_eq!(ours_bytes.len(), theirs_bytes.len(), "{name}");
            assert!(
                without_checksum_values(ours_bytes) == without_checksum_values(theirs_bytes),
                "{name}: the files differ beyond the checksums' values"
            );
            assert_eq!(
                verify(&ours, hdus.len()),
                vec![(1, 1); hdus.len()],
                "{name}"
            );
        }
    }

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
        writer.finish();
        assert_eq!(verify(&path, 3), vec![(1, 1); 3]);
        assert_eq!(fold_carries(0x1_FFFF_FFFF), 1);

        let mef = dir.path().join("mef.fits");
        let mut writer = ImageWriter::create(&mef).unwrap();
        writer.add_empty_primary(&cards).unwrap();
        writer
            .add_image((7, 5), ImageData::F32(&floats), &cards)
            .unwrap();
        assert!(writer.add_empty_primary(&cards).is_err(), "only first");
        writer.finish();
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
        writer.finish();
        assert_eq!(verify(&bare, 2), vec![(1, 1); 2]);
        let frame = crate::fits::read_frame_header(&mef).unwrap();
        assert_eq!(frame.primary.number("NAXIS"), Some(0.0));
        assert_eq!(frame.images.len(), 1, "the empty primary holds no image");
    }

    /// A file written to replace another hands its pages over as it goes (several
    /// [`crate::writeback::STRIDE`]s here) and holds the very bytes of one that does not.
    /// Both carry the same time stamp in their checksums' comments: written at different
    /// seconds, they would differ there (as this test did when the two writes straddled
    /// a second).
    #[test]
    fn a_file_written_to_replace_another_holds_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let floats: Vec<f32> = (0..2000 * 2500).map(|i| i as f32 * 0.37 - 4e5).collect();
        let bytes: Vec<u8> = (0..2000 * 2500).map(|i| (i * 37 % 251) as u8).collect();
        let write = |name: &str, replaces: bool| {
            let path = dir.path().join(name);
            let mut writer = ImageWriter::create(&path).unwrap().replacing(replaces);
            writer.stamp = "2026-12-06T17:00:00".to_owned();
            writer
                .add_image((2000, 2500), ImageData::F32(&floats), &[])
                .unwrap();
            writer
                .add_image((2000, 2500), ImageData::U8(&bytes), &[])
                .unwrap();
            writer.finish();
            std::fs::read(path).unwrap()
        };
        let (fresh, replacing) = (write("fresh.fits", false), write("replacing.fits", true));
        assert!(fresh.len() as u64 > 2 * crate::writeback::STRIDE);
        assert!(fresh == replacing, "the bytes differ");
    }
}
