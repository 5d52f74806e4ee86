//! The library's error types. Each names the file, HDU and keyword involved, so a message
//! printed at 3 a.m. says what to fix without a debugger.

use std::path::PathBuf;

use thiserror::Error;

/// Anything the engine can fail with.
#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Fits(#[from] FitsError),
    #[error(transparent)]
    Product(#[from] ProductError),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error(transparent)]
    Compare(#[from] CompareError),
    /// Verification found errors; the findings themselves are reported separately.
    #[error("the frames did not pass verification ({0} problem(s))")]
    Verification(usize),
    #[error("cancelled")]
    Cancelled,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A parameter out of range is a settings error, wherever the parameter was built.
impl From<ParamError> for Error {
    fn from(e: ParamError) -> Error {
        Error::Settings(e.into())
    }
}

#[derive(Debug, Error)]
pub enum SettingsError {
    #[error("cannot read settings file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("settings{}: not valid YAML: {message}", file_suffix(file))]
    Syntax {
        file: Option<PathBuf>,
        message: String,
    },
    #[error("settings{}: {key} is {found}, expected {expected}", file_suffix(file))]
    Invalid {
        file: Option<PathBuf>,
        key: String,
        found: String,
        expected: String,
    },
    #[error("settings{}: unknown key {key} (known: {known})", file_suffix(file))]
    UnknownKey {
        file: Option<PathBuf>,
        key: String,
        known: String,
    },
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error("settings override '{0}': expected key=value")]
    BadAssignment(String),
}

/// A parameter value the algorithm cannot honour, named by its settings key
/// ([`crate::params`] holds the rules).
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{key} = {value} is not allowed: expected {expected}")]
pub struct ParamError {
    pub key: &'static str,
    pub value: String,
    pub expected: &'static str,
}

fn file_suffix(file: &Option<PathBuf>) -> String {
    file.as_ref()
        .map(|p| format!(" file {}", p.display()))
        .unwrap_or_default()
}

impl SettingsError {
    pub(crate) fn invalid(key: &str, expected: &str, found: &yaml_serde::Value) -> Self {
        let found = yaml_serde::to_string(found)
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "?".to_string());
        SettingsError::Invalid {
            file: None,
            key: key.to_string(),
            found: format!("'{found}'"),
            expected: expected.to_string(),
        }
    }

    /// Attaches the settings file's path to an error found while parsing its text.
    pub(crate) fn in_file(self, path: &std::path::Path) -> Self {
        let path = Some(path.to_path_buf());
        match self {
            SettingsError::Syntax { message, .. } => SettingsError::Syntax {
                file: path,
                message,
            },
            SettingsError::Invalid {
                key,
                found,
                expected,
                ..
            } => SettingsError::Invalid {
                file: path,
                key,
                found,
                expected,
            },
            SettingsError::UnknownKey { key, known, .. } => SettingsError::UnknownKey {
                file: path,
                key,
                known,
            },
            other => other,
        }
    }
}

impl Error {
    /// The input file the error is about, when it is about one: a front end can then
    /// mark that file.
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            Error::Fits(e) => Some(e.path()),
            Error::Input(InputError::NotFound(path) | InputError::Unreadable { path, .. })
            | Error::Compare(CompareError::NotAProduct { path, .. }) => Some(path),
            _ => None,
        }
    }
}

impl FitsError {
    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            FitsError::Open { path, .. }
            | FitsError::NonUtf8Path { path }
            | FitsError::BracketInName { path }
            | FitsError::NoImage { path }
            | FitsError::Decompress { path, .. }
            | FitsError::Keyword { path, .. }
            | FitsError::Data { path, .. }
            | FitsError::Write { path, .. } => path,
        }
    }
}

#[derive(Debug, Error)]
pub enum InputError {
    #[error("{}: no such file or folder", .0.display())]
    NotFound(PathBuf),
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}, line {line}: listed file {} does not exist (tried relative to the current folder and to the SOF's folder)", sof.display(), listed.display())]
    SofMissingFile {
        sof: PathBuf,
        line: usize,
        listed: PathBuf,
    },
    #[error("{}: the SOF lists no FITS files", .0.display())]
    EmptySof(PathBuf),
    #[error("no input frames given")]
    NoInputs,
}

#[derive(Debug, Clone, Error)]
pub enum FitsError {
    #[error("{}: {message}", path.display())]
    Open { path: PathBuf, message: String },
    #[error("{}: file name is not valid UTF-8; rename the file (cfitsio cannot open it)", path.display())]
    NonUtf8Path { path: PathBuf },
    #[error("{}: file name contains '[', which cfitsio reads as extended syntax; rename the file", path.display())]
    BracketInName { path: PathBuf },
    #[error("{}: no HDU holds a 2-D image", path.display())]
    NoImage { path: PathBuf },
    /// A `.gz` or `.Z` copy that is corrupt or cut short.
    #[error("{}: cannot decompress ({format}): {message}", path.display())]
    Decompress {
        path: PathBuf,
        format: &'static str,
        message: String,
    },
    #[error("{}, HDU {hdu}: keyword {keyword} {problem}", path.display())]
    Keyword {
        path: PathBuf,
        hdu: usize,
        keyword: String,
        problem: String,
    },
    #[error("{}, HDU {hdu}: {message}", path.display())]
    Data {
        path: PathBuf,
        hdu: usize,
        message: String,
    },
    #[error("{}: cannot write: {message}", path.display())]
    Write { path: PathBuf, message: String },
}

/// The QC history: its database, and the products read into it.
#[derive(Debug, Error)]
pub enum HistoryError {
    #[error("QC history {}: {message}", path.display())]
    Database { path: PathBuf, message: String },
    #[error("cannot create the QC history's folder {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: no QC keywords (ESO QC …, MBIAS QC …); not a master-bias product", .0.display())]
    NotAProduct(PathBuf),
    #[error("the QC history is switched off (mbias.history: off, or MBIAS_HISTORY=off)")]
    Off,
    #[error("no reference master of {setup} is certified in the QC history {}", path.display())]
    NoReference { setup: String, path: PathBuf },
    #[error("the certified reference {} is no longer the master that was certified (written over or moved); certify it again", path.display())]
    ReferenceChanged { path: PathBuf },
    #[error("no QC history at {}", .0.display())]
    Missing(PathBuf),
    #[error("{}: not an mbias QC history (another program's SQLite database)", .0.display())]
    NotAHistory(PathBuf),
    #[error("{} is not in the QC history {}", product.display(), path.display())]
    NotRecorded { product: PathBuf, path: PathBuf },
    #[error("no data folder on this system to keep the QC history in")]
    NoDataFolder,
}

#[derive(Debug, Error)]
pub enum ProductError {
    #[error("{} already exists; overwrite not requested", .0.display())]
    Exists(PathBuf),
    #[error("{} is one of the input frames; refusing to write over it", .0.display())]
    WouldOverwriteInput(PathBuf),
    #[error("{}: no stacked image to write", .0.display())]
    NoImages(PathBuf),
    #[error("cannot create output folder {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write into {}: {source}; nothing was written", folder.display())]
    NotWritable {
        folder: PathBuf,
        source: std::io::Error,
    },
    #[error("not enough space in {}: the product needs {} MB, {} MB are free; nothing was written", folder.display(), megabytes(*needed), megabytes(*available))]
    NoSpace {
        folder: PathBuf,
        needed: u64,
        available: u64,
    },
    #[error("writing {} failed: {message}; the partial file was removed and any earlier product is untouched", target.display())]
    Failed { target: PathBuf, message: String },
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1e6)
}

/// Two master-bias products that cannot be compared pixel by pixel.
#[derive(Debug, Error)]
pub enum CompareError {
    #[error("{}: no {hdu} image; not a master-bias product (FLUX, QUAL, ERRS)", path.display())]
    NotAProduct { path: PathBuf, hdu: String },
    #[error("{} holds {tonight_images}, {} holds {reference_images}: the products do not hold the same images", tonight.display(), reference.display())]
    Images {
        tonight: PathBuf,
        reference: PathBuf,
        tonight_images: String,
        reference_images: String,
    },
    #[error("{image}: {} is {}×{} pixels, {} is {}×{}; masters of different shapes cannot be compared", tonight.display(), tonight_shape.0, tonight_shape.1, reference.display(), reference_shape.0, reference_shape.1)]
    Shape {
        tonight: PathBuf,
        reference: PathBuf,
        /// The extension (`AMP1`), or `FLUX` for a single-image product.
        image: String,
        tonight_shape: (usize, usize),
        reference_shape: (usize, usize),
    },
}
