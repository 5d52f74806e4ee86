//! Reading frame headers and pixel windows.

use std::borrow::Cow;
use std::ops::Range;
use std::path::{Path, PathBuf};

use fitsio::FitsFile;
use fitsio::hdu::HduInfo;
use fitsio::images::ImageType;

use super::compressed::{self, Packing, Start};
use super::memory::MemoryFits;
use super::pixels::Pixels;
use super::plain::PlainImage;
use super::{Header, cfitsio_path, data_error, open_error, owned};
use crate::error::FitsError;

/// The HDU of a file that holds the frame's image.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageHdu {
    /// 0 = primary.
    pub index: usize,
    /// (rows, columns) = (NAXIS2, NAXIS1).
    pub shape: (usize, usize),
    pub header: Header,
}

/// A frame's headers, without pixels: what validation and the file browser need.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameFile {
    pub path: PathBuf,
    pub primary: Header,
    /// The HDU the frame is read from: the first 2-D image unless a profile picks another.
    pub image: ImageHdu,
    /// Every HDU holding a 2-D image, `image` included, in file order.
    pub images: Vec<ImageHdu>,
}

impl FrameFile {
    /// Header lookup across the image HDU and the primary (inherited keywords).
    pub fn header_value(&self, key: &str) -> Option<&super::Value> {
        self.image.header.get(key).or_else(|| self.primary.get(key))
    }

    /// A frame whose image is in the primary HDU.
    pub fn single(path: PathBuf, header: Header, shape: (usize, usize)) -> FrameFile {
        let image = ImageHdu {
            index: 0,
            shape,
            header: header.clone(),
        };
        FrameFile {
            path,
            primary: header,
            images: vec![image.clone()],
            image,
        }
    }

    /// The same frame read from another of its image HDUs.
    pub fn with_image(&self, image: &ImageHdu) -> FrameFile {
        FrameFile {
            image: image.clone(),
            ..self.clone()
        }
    }

    /// What products and messages call the image HDU read: its `EXTNAME` (with `EXTVER`,
    /// else the HDU number, after a dash when other image HDUs of the file share the
    /// name, as in `SCI` ×4 files), or `HDU<n>` when it has none.
    pub fn image_name(&self) -> String {
        let Some(name) = self.image.header.text("EXTNAME").filter(|n| !n.is_empty()) else {
            return format!("HDU{}", self.image.index);
        };
        let shared = self.images.iter().any(|other| {
            other.index != self.image.index
                && other
                    .header
                    .text("EXTNAME")
                    .is_some_and(|n| n.eq_ignore_ascii_case(&name))
        });
        if !shared {
            return name;
        }
        let version = self.image.header.number("EXTVER").map(|v| v as i64);
        format!("{name}-{}", version.unwrap_or(self.image.index as i64))
    }

    /// The header keywords are looked up in, image HDU first. Borrowed for the usual
    /// single-HDU frame: verification looks at thousands of these.
    pub fn merged_header(&self) -> Cow<'_, Header> {
        if self.image.index == 0 {
            return Cow::Borrowed(&self.primary);
        }
        let mut cards = self.image.header.cards.clone();
        cards.extend(self.primary.cards.iter().cloned());
        Cow::Owned(Header { cards })
    }
}

fn read_records(file: &mut FitsFile) -> Result<Vec<String>, i32> {
    let mut status = 0;
    let mut count = 0;
    let mut more = 0;
    // SAFETY: the file handle is open and positioned on the HDU; cfitsio writes at most
    // FLEN_CARD (81) bytes into `buffer` per record.
    unsafe {
        let raw = file.as_raw();
        fitsio::sys::ffghsp(raw, &mut count, &mut more, &mut status);
        if status != 0 {
            return Err(status);
        }
        let mut records = Vec::with_capacity(count as usize);
        for n in 1..=count {
            let mut buffer = [0 as std::os::raw::c_char; 81];
            fitsio::sys::ffgrec(raw, n, buffer.as_mut_ptr(), &mut status);
            if status != 0 {
                return Err(status);
            }
            let text = std::ffi::CStr::from_ptr(buffer.as_ptr())
                .to_string_lossy()
                .into_owned();
            records.push(text);
        }
        Ok(records)
    }
}

fn header_of(file: &mut FitsFile, path: &Path, index: usize) -> Result<Header, FitsError> {
    read_records(file)
        .map(Header::from_records)
        .map_err(|status| FitsError::Data {
            path: owned(path),
            hdu: index,
            message: format!("cannot read the header (cfitsio status {status})"),
        })
}

/// A FITS file open for reading: on disk, or decompressed into memory.
enum Source {
    Disk(FitsFile),
    Memory(MemoryFits),
}

impl Source {
    fn file(&mut self) -> &mut FitsFile {
        match self {
            Source::Disk(file) => file,
            Source::Memory(memory) => memory.file(),
        }
    }
}

/// How a file is stored, as its first bytes say.
enum Stored {
    /// Uncompressed, this many bytes long.
    Plain(u64),
    Packed(Packing),
}

/// A file's length, which the HDUs' data must fit in.
#[derive(Debug, Clone, Copy)]
enum Length {
    Plain(u64),
    Decompressed(u64),
}

/// Reads the headers of a frame and lists the HDUs holding a 2-D image; the first of them
/// is the frame's image until a detector profile picks another.
pub fn read_frame_header(path: &Path) -> Result<FrameFile, FitsError> {
    let name = cfitsio_path(path)?;
    let (mut source, length) = match preflight(path)? {
        Stored::Plain(length) => {
            let file = FitsFile::open(name).map_err(|e| open_error(path, e))?;
            (Source::Disk(file), Length::Plain(length))
        }
        Stored::Packed(packing) => open_headers(path, packing)?,
    };
    let file = source.file();
    let hdus = file.num_hdus().map_err(|e| open_error(path, e))?;
    let mut primary = Header::default();
    let mut images = Vec::new();
    for index in 0..hdus {
        let hdu = file.hdu(index).map_err(|e| data_error(path, index, e))?;
        let header = header_of(file, path, index)?;
        check_data_present(file, path, index, &header, length)?;
        if index == 0 {
            primary = header.clone();
        }
        if let HduInfo::ImageInfo { shape, .. } = &hdu.info
            && let [rows, cols] = shape[..]
            && rows > 0
            && cols > 0
        {
            images.push(ImageHdu {
                index,
                shape: (rows, cols),
                header,
            });
        }
    }
    let image = images
        .first()
        .cloned()
        .ok_or_else(|| FitsError::NoImage { path: owned(path) })?;
    Ok(FrameFile {
        path: owned(path),
        primary,
        image,
        images,
    })
}

/// The headers of a compressed file, decompressing no more of it than they need: when its
/// format confirms that the file ends with the first HDU's data (the usual raw frame),
/// only the records up to the first header's END are decompressed; otherwise all of it.
fn open_headers(path: &Path, packing: Packing) -> Result<(Source, Length), FitsError> {
    let Start { bytes, length } = compressed::expand_start(path, packing, ends_header)?;
    let decoded = bytes.len() as u64;
    let mut start = MemoryFits::open(path, bytes)?;
    if length.is(decoded) == Some(true) {
        return Ok((Source::Memory(start), Length::Decompressed(decoded)));
    }
    let first_hdu_end = hdu_extent(start.file(), path, 0)?.1;
    if length.is(first_hdu_end) == Some(true) {
        return Ok((Source::Memory(start), Length::Decompressed(first_hdu_end)));
    }
    let whole = compressed::expand(path, packing)?;
    let length = Length::Decompressed(whole.len() as u64);
    Ok((Source::Memory(MemoryFits::open(path, whole)?), length))
}

/// Whether a 2880-byte record holds a header's END card.
fn ends_header(record: &[u8]) -> bool {
    record
        .chunks_exact(80)
        .any(|card| card.starts_with(b"END     "))
}

/// What the operating system and the first bytes say before cfitsio is asked: its
/// messages lose the reason a file cannot be opened and call an empty file "truncated".
fn preflight(path: &Path) -> Result<Stored, FitsError> {
    let refused = |message: String| FitsError::Open {
        path: owned(path),
        message,
    };
    // A FIFO or device would block or never end: only regular files are opened.
    let kind = std::fs::metadata(path).map_err(|e| refused(format!("cannot open: {e}")))?;
    if !kind.is_file() {
        return Err(refused("not a regular file".into()));
    }
    let mut file = std::fs::File::open(path).map_err(|e| refused(format!("cannot open: {e}")))?;
    let length = file
        .metadata()
        .map_err(|e| refused(format!("cannot read: {e}")))?
        .len();
    if length == 0 {
        return Err(refused("empty file (0 bytes)".into()));
    }
    let mut start = [0u8; 9];
    let read = std::io::Read::read(&mut file, &mut start)
        .map_err(|e| refused(format!("cannot read: {e}")))?;
    let start = &start[..read];
    if let Some(packing) = Packing::of(start) {
        return Ok(Stored::Packed(packing));
    }
    if !start.starts_with(b"SIMPLE  =") {
        let shown: String = start
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        return Err(refused(format!(
            "not a FITS file: it starts with '{}', not 'SIMPLE  ='",
            shown.trim_end()
        )));
    }
    if length < 2880 {
        return Err(refused(format!(
            "truncated: {length} bytes, less than one 2880-byte FITS header record"
        )));
    }
    Ok(Stored::Plain(length))
}

/// Where the data of HDU `index` (the current one) starts, and where it ends with its
/// padding: the next HDU's start.
fn hdu_extent(file: &mut FitsFile, path: &Path, index: usize) -> Result<(u64, u64), FitsError> {
    let (mut header_start, mut data_start, mut data_end, mut status) = (0, 0, 0, 0);
    // SAFETY: the file is open and positioned on HDU `index`; the out-pointers are locals.
    unsafe {
        fitsio::sys::ffghadll(
            file.as_raw(),
            &mut header_start,
            &mut data_start,
            &mut data_end,
            &mut status,
        );
    }
    if status != 0 {
        return Err(FitsError::Data {
            path: owned(path),
            hdu: index,
            message: format!("cannot locate the data (cfitsio status {status})"),
        });
    }
    Ok((
        u64::try_from(data_start).unwrap_or(0),
        u64::try_from(data_end).unwrap_or(u64::MAX),
    ))
}

/// Refuses an HDU whose data runs past the end of the file: a copy cut short. cfitsio
/// reads such headers happily and fails only when the pixels are read.
fn check_data_present(
    file: &mut FitsFile,
    path: &Path,
    index: usize,
    header: &Header,
    length: Length,
) -> Result<(), FitsError> {
    let (start, end) = hdu_extent(file, path, index)?;
    // The standard's data size, |BITPIX|/8 × GCOUNT × (PCOUNT + NAXIS1 × … × NAXISn):
    // a last record missing only its padding still holds every pixel.
    let count = |key: &str, default: u64| {
        header
            .number(key)
            .filter(|v| *v >= 0.0)
            .map_or(default, |v| v as u64)
    };
    let axes = count("NAXIS", 0);
    let elements = if axes == 0 {
        0
    } else {
        (1..=axes).fold(1u64, |product, n| {
            product.saturating_mul(count(&format!("NAXIS{n}"), 0))
        })
    };
    let bits = header.number("BITPIX").map_or(8, |b| b.abs() as u64);
    let bytes = (bits.max(8) / 8)
        .saturating_mul(count("GCOUNT", 1))
        .saturating_mul(count("PCOUNT", 0).saturating_add(elements));
    let needed = start.saturating_add(bytes).min(end);
    let (length, what) = match length {
        Length::Plain(n) => (n, "the file has"),
        Length::Decompressed(n) => (n, "decompressed, the file has"),
    };
    if length < needed {
        return Err(FitsError::Data {
            path: owned(path),
            hdu: index,
            message: format!(
                "truncated: the header promises data up to byte {needed}, but {what} {length} bytes"
            ),
        });
    }
    Ok(())
}

/// A frame file open for reading pixels: from disk, or, compressed, decompressed once so
/// that every window read of it (overscans, science window) shares the one copy. Plain
/// 16-bit and float32 images on disk are read without cfitsio (`PlainImage`, in `plain.rs`).
pub struct FitsReader {
    path: PathBuf,
    source: Source,
    /// Opened at the first window of a file on disk.
    direct: Option<Direct>,
}

/// A file on disk opened for direct reads, and what each HDU asked for so far turned out
/// to be.
struct Direct {
    file: std::fs::File,
    images: Vec<(usize, Option<PlainImage>)>,
}

impl FitsReader {
    pub fn open(path: &Path) -> Result<FitsReader, FitsError> {
        let name = cfitsio_path(path)?;
        let source = match packing_of(path)? {
            Some(packing) => {
                Source::Memory(MemoryFits::open(path, compressed::expand(path, packing)?)?)
            }
            None => Source::Disk(FitsFile::open(name).map_err(|e| open_error(path, e))?),
        };
        Ok(FitsReader {
            path: owned(path),
            source,
            direct: None,
        })
    }

    /// HDU `hdu` as a plain image to read directly, when it is one in a file on disk.
    fn plain_image(&mut self, hdu: usize) -> Result<Option<PlainImage>, FitsError> {
        let path = self.path.as_path();
        let Source::Disk(file) = &mut self.source else {
            return Ok(None);
        };
        if self.direct.is_none() {
            let raw = std::fs::File::open(path).map_err(|e| FitsError::Open {
                path: owned(path),
                message: format!("cannot open: {e}"),
            })?;
            self.direct = Some(Direct {
                file: raw,
                images: Vec::new(),
            });
        }
        let Some(Direct { images: known, .. }) = &mut self.direct else {
            return Ok(None);
        };
        if let Some(&(_, image)) = known.iter().find(|(index, _)| *index == hdu) {
            return Ok(image);
        }
        file.hdu(hdu).map_err(|e| data_error(path, hdu, e))?;
        let header = header_of(file, path, hdu)?;
        let (data_start, _) = hdu_extent(file, path, hdu)?;
        let image = PlainImage::of(&header, data_start);
        known.push((hdu, image));
        Ok(image)
    }

    /// Reads a rectangular window of an image HDU as physical values (BZERO/BSCALE
    /// applied), row-major. Raw biases are mostly 16-bit: reading those as float32 halves
    /// the memory traffic of a float64 read and loses nothing; with `integers`, unsigned 8-
    /// and 16-bit data stay integers, at half the size again.
    pub fn window(
        &mut self,
        hdu: usize,
        rows: Range<usize>,
        cols: Range<usize>,
        integers: bool,
    ) -> Result<Pixels, FitsError> {
        if let Some(plain) = self.plain_image(hdu)?
            && let Some(direct) = &self.direct
        {
            return plain
                .read(&direct.file, rows, cols, integers)
                .map_err(|e| FitsError::Data {
                    path: self.path.clone(),
                    hdu,
                    message: format!("cannot read the pixels: {e}"),
                });
        }
        let path = self.path.as_path();
        let file = self.source.file();
        let image = file.hdu(hdu).map_err(|e| data_error(path, hdu, e))?;
        let exact_in_f32 = matches!(
            &image.info,
            HduInfo::ImageInfo {
                image_type: ImageType::UnsignedByte
                    | ImageType::Byte
                    | ImageType::Short
                    | ImageType::UnsignedShort
                    | ImageType::Float,
                ..
            }
        );
        let expected = rows.len() * cols.len();
        // cfitsio takes the ranges in FITS axis order: NAXIS1 (columns) first.
        let ranges = [&cols, &rows];
        let unsigned_16 = matches!(
            &image.info,
            HduInfo::ImageInfo {
                image_type: ImageType::UnsignedByte | ImageType::UnsignedShort,
                ..
            }
        );
        let pixels = if integers && unsigned_16 {
            image.read_region(file, &ranges).map(Pixels::U16)
        } else if exact_in_f32 {
            image.read_region(file, &ranges).map(Pixels::F32)
        } else {
            image.read_region(file, &ranges).map(Pixels::F64)
        }
        .map_err(|e| data_error(path, hdu, e))?;
        if pixels.len() != expected {
            return Err(FitsError::Data {
                path: owned(path),
                hdu,
                message: format!("read {} pixels, expected {expected}", pixels.len()),
            });
        }
        Ok(pixels)
    }
}

/// How the file at `path` is compressed, by its first bytes; `None` when it is not (or is
/// too short to tell, which cfitsio then reports).
fn packing_of(path: &Path) -> Result<Option<Packing>, FitsError> {
    let refused = |message: String| FitsError::Open {
        path: owned(path),
        message,
    };
    let mut file = std::fs::File::open(path).map_err(|e| refused(format!("cannot open: {e}")))?;
    let mut start = [0u8; 2];
    let read = std::io::Read::read(&mut file, &mut start)
        .map_err(|e| refused(format!("cannot read: {e}")))?;
    Ok(Packing::of(&start[..read]))
}

/// Whether the file at `path` is gzip- or compress-packed. A file that cannot be read
/// counts as not: reading its pixels will say what is wrong with it.
pub fn is_packed(path: &Path) -> bool {
    matches!(packing_of(path), Ok(Some(_)))
}

/// One window of an image HDU, the file opened for it alone: see [`FitsReader::window`].
pub fn read_window(
    path: &Path,
    hdu: usize,
    rows: Range<usize>,
    cols: Range<usize>,
    integers: bool,
) -> Result<Pixels, FitsError> {
    FitsReader::open(path)?.window(hdu, rows, cols, integers)
}
