//! Frames stored gzip- (`.fits.gz`) or Unix-compressed (`.fits.Z`, as the ESO archive
//! ships them): decompressed here, once per use, into memory that cfitsio then reads.
//!
//! Left to cfitsio, every open decompressed the whole file again with its bundled zlib:
//! validation paid for a frame's pixels to read its header, and loading paid once per
//! window read. Here a load decompresses a frame once, and a header read decompresses
//! only the first records when the file's length shows nothing follows the first HDU.

mod gzip;
mod lzw;

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use crate::error::FitsError;

/// How a compressed frame file is packed, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    /// `1f 8b`.
    Gzip,
    /// `1f 9d`: compress(1)'s LZW.
    Unix,
}

impl Packing {
    /// The packing of a file starting with `start`, or `None` for anything else.
    pub fn of(start: &[u8]) -> Option<Packing> {
        match start {
            [0x1f, 0x8b, ..] => Some(Packing::Gzip),
            [0x1f, 0x9d, ..] => Some(Packing::Unix),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Packing::Gzip => "gzip",
            Packing::Unix => "Unix compress",
        }
    }
}

/// The whole decompressed file at `path`.
pub fn expand(path: &Path, packing: Packing) -> Result<Vec<u8>, FitsError> {
    match packing {
        Packing::Gzip => {
            // Streamed from the file: only the decompressed copy is held.
            let mut file = open(path)?;
            let expected = gzip::expected_length(&mut file).map_err(|e| unreadable(path, e))?;
            gzip::decode(BufReader::with_capacity(BUFFER, file), expected)
                .map_err(|e| failed(path, packing, e))
        }
        Packing::Unix => {
            let file = open(path)?;
            let expected = expected_from_z(path, &file)?;
            lzw::decode(file, usize::MAX, expected)
                .map(|decoded| decoded.bytes)
                .map_err(|e| failed(path, packing, e))
        }
    }
}

/// The first records of a decompressed file, at least up to the one `enough` accepts (a
/// FITS header's last), and what the format tells of the whole file's length.
#[derive(Debug)]
pub struct Start {
    pub bytes: Vec<u8>,
    pub length: Length,
}

/// A decompressed file's length, as far as its format tells without decompressing it all.
#[derive(Debug, Clone, Copy)]
pub enum Length {
    /// Known exactly: counted while decoding (LZW counts without building the bytes), or
    /// decoded to the end.
    Counted(u64),
    /// gzip's trailer: the last member's length modulo 2³².
    Stated(u32),
    /// A gzip file too short to end in a trailer (it will fail to decompress whole).
    Unknown,
}

impl Length {
    /// Whether the decompressed file is `length` bytes long; `None` when the format cannot
    /// tell. gzip states only its last member's length modulo 2³², so only lengths under
    /// 4 GiB are confirmed, and a file of several members whose earlier ones hold 4 GiB
    /// exactly would pass for one (no tool writes frames so).
    pub fn is(self, length: u64) -> Option<bool> {
        match self {
            Length::Counted(total) => Some(total == length),
            Length::Stated(stated) => (length < 1 << 32).then_some(u64::from(stated) == length),
            Length::Unknown => None,
        }
    }
}

/// The start of the decompressed file at `path`, decoding up to the 2880-byte record that
/// `enough` accepts; for `.Z`, the rest is counted, not kept.
pub fn expand_start(
    path: &Path,
    packing: Packing,
    enough: impl Fn(&[u8]) -> bool,
) -> Result<Start, FitsError> {
    const RECORD: usize = 2880;
    match packing {
        Packing::Gzip => {
            let mut file = open(path)?;
            let stated = gzip::stated_length(&mut file).map_err(|e| unreadable(path, e))?;
            let (bytes, whole) = gzip::decode_start(BufReader::with_capacity(BUFFER, file), enough)
                .map_err(|e| failed(path, packing, e))?;
            let length = match stated {
                _ if whole => Length::Counted(bytes.len() as u64),
                Some(stated) => Length::Stated(stated),
                None => Length::Unknown,
            };
            Ok(Start { bytes, length })
        }
        Packing::Unix => {
            // Most headers fit a few records; a longer one is decoded again, kept whole.
            let keep = 16 * RECORD;
            let decoded =
                lzw::decode(open(path)?, keep, keep).map_err(|e| failed(path, packing, e))?;
            let found = decoded.bytes.chunks_exact(RECORD).any(&enough);
            let decoded = if found || decoded.bytes.len() as u64 == decoded.total {
                decoded
            } else {
                let file = open(path)?;
                let expected = expected_from_z(path, &file)?;
                lzw::decode(file, usize::MAX, expected).map_err(|e| failed(path, packing, e))?
            };
            Ok(Start {
                length: Length::Counted(decoded.total),
                bytes: decoded.bytes,
            })
        }
    }
}

/// Read-ahead of a compressed file streamed into its decoder.
const BUFFER: usize = 1 << 16;

fn open(path: &Path) -> Result<File, FitsError> {
    File::open(path).map_err(|e| FitsError::Open {
        path: path.to_path_buf(),
        message: format!("cannot open: {e}"),
    })
}

/// What a buffer for a `.Z` file's decompressed bytes should hold at first: bias frames
/// shrink to between a quarter and a third.
fn expected_from_z(path: &Path, file: &File) -> Result<usize, FitsError> {
    let length = file.metadata().map_err(|e| unreadable(path, e))?.len();
    Ok(usize::try_from(length.saturating_mul(4)).unwrap_or(0))
}

fn unreadable(path: &Path, error: std::io::Error) -> FitsError {
    FitsError::Open {
        path: path.to_path_buf(),
        message: format!("cannot read: {error}"),
    }
}

fn failed(path: &Path, packing: Packing, error: impl std::fmt::Display) -> FitsError {
    FitsError::Decompress {
        path: path.to_path_buf(),
        format: packing.name(),
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A FITS-like stream: `cards` 80-byte cards, the last one END, padded to whole
    /// records, then `data` bytes.
    fn fits_like(cards: usize, data: usize) -> Vec<u8> {
        let mut bytes: Vec<u8> = (0..cards - 1)
            .flat_map(|i| format!("{:<80}", format!("KEY{i:05} = {i}")).into_bytes())
            .collect();
        bytes.extend(format!("{:<80}", "END").bytes());
        bytes.resize(bytes.len().div_ceil(2880) * 2880, b' ');
        bytes.extend((0..data).map(|i| (i % 251) as u8));
        bytes
    }

    fn ends_header(record: &[u8]) -> bool {
        record
            .chunks_exact(80)
            .any(|card| card.starts_with(b"END     "))
    }

    #[test]
    fn a_z_header_longer_than_the_first_records_is_found() {
        let dir = tempfile::tempdir().unwrap();
        for cards in [10, 36 * 20] {
            let plain = fits_like(cards, 100_000);
            let path = dir.path().join(format!("{cards}.fits.Z"));
            std::fs::write(&path, lzw::tests::compress(&plain, 16, Some(5000))).unwrap();
            let start = expand_start(&path, Packing::Unix, ends_header).unwrap();
            assert_eq!(start.length.is(plain.len() as u64), Some(true));
            let header_end = cards.div_ceil(36) * 2880;
            assert!(start.bytes.len() >= header_end, "{cards} cards");
            assert_eq!(start.bytes[..], plain[..start.bytes.len()]);
            assert!(expand(&path, Packing::Unix).unwrap() == plain);
        }
    }
}
