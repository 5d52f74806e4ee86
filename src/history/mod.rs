//! The QC history: every master bias mbias writes (and any older one imported, mbias's
//! or soxspipe's) is remembered in a local SQLite file, so tonight's QC can be read
//! against every night before ([`trend`]) and against a certified reference master.
//! Nothing runs as a server; the file lives in the user's data folder unless settings,
//! `$MBIAS_HISTORY` or `--history` name another (or `off`).

mod entry;
pub mod plot;
mod store;
pub mod trend;

use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use entry::{Entry, ImageQc, Setup, night_of, read};
pub use store::{Filter, History, Recorded, Stored, StoredValue};

use crate::detector::Detectors;
use crate::error::HistoryError;

/// Names the history file, or `off`, over the settings (not over `--history`).
pub const HISTORY_ENV: &str = "MBIAS_HISTORY";

/// Where products are remembered (defined with the engine's parameters, so that the
/// settings can name it).
pub use crate::params::HistoryLocation as Location;

impl Location {
    /// The history to use: `explicit` (`--history`), else `$MBIAS_HISTORY`, else the
    /// settings' `mbias.history` (a relative path taken from `settings_folder`, the
    /// settings file's folder), else `history.sqlite` in the user's data folder
    /// (`~/.local/share/mbias/` on Linux). `None` when there is no data folder to use.
    pub fn resolve(
        explicit: Option<&Path>,
        setting: Option<&Location>,
        settings_folder: Option<&Path>,
    ) -> Option<Location> {
        if let Some(path) = explicit {
            return Some(Location::parse(path.as_os_str()));
        }
        if let Some(text) = std::env::var_os(HISTORY_ENV).filter(|t| !t.is_empty()) {
            return Some(Location::parse(&text));
        }
        match (setting, settings_folder) {
            (Some(Location::File(path)), Some(folder)) if path.is_relative() => {
                return Some(Location::File(folder.join(path)));
            }
            (Some(setting), _) => return Some(setting.clone()),
            (None, _) => {}
        }
        directories::ProjectDirs::from("org", "mbias", "mbias")
            .map(|dirs| Location::File(dirs.data_dir().join("history.sqlite")))
    }

    /// Opens the history here to record into it, creating it if need be; an error when
    /// the history is off.
    pub fn open(&self) -> Result<History, HistoryError> {
        match self {
            Location::Off => Err(HistoryError::Off),
            Location::File(path) => History::open(path),
        }
    }

    /// Opens the history here to read it: an error when it is off or does not exist
    /// (a mistyped path is not made into an empty history).
    pub fn open_existing(&self) -> Result<History, HistoryError> {
        match self {
            Location::Off => Err(HistoryError::Off),
            Location::File(path) => History::open_existing(path),
        }
    }
}

/// Records the product just written at `product` (see [`import`]); `Ok(None)` when the
/// history is off.
pub fn record_product(
    location: &Location,
    product: &Path,
    detectors: &Detectors,
) -> crate::Result<Option<Recorded>> {
    if *location == Location::Off {
        return Ok(None);
    }
    let entry = read(product, detectors)?;
    let mut history = location.open()?;
    Ok(history.record(std::slice::from_ref(&entry))?.pop())
}

/// The certified reference of `product`'s setup in `history`, checked to be the master
/// that was certified: a file written over since (or moved away) is refused.
pub fn reference_for(
    history: &History,
    product: &Path,
    detectors: &Detectors,
) -> crate::Result<PathBuf> {
    let entry = read(product, detectors)?;
    let Some((path, checksum)) = history.reference(&entry.setup)? else {
        return Err(HistoryError::NoReference {
            setup: entry.setup.to_string(),
            path: history.path().to_path_buf(),
        }
        .into());
    };
    let now = read(&path, detectors).map(|e| e.checksum);
    if now.as_deref().ok() != Some(checksum.as_str()) {
        return Err(HistoryError::ReferenceChanged { path }.into());
    }
    Ok(path)
}

/// What an import did with each file.
#[derive(Debug, Default)]
pub struct Imported {
    pub added: Vec<PathBuf>,
    /// Products the history held already (the same headers): nothing was added for them.
    pub known: Vec<PathBuf>,
    /// Files that are no master-bias product, or could not be read, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Imports the products among `files` (see [`product_files`]): their headers are read on
/// every core, then recorded in one transaction. A file that is not a product is skipped
/// with its reason; nothing else stops the import.
pub fn import(
    history: &mut History,
    files: &[PathBuf],
    detectors: &Detectors,
) -> Result<Imported, HistoryError> {
    let read: Vec<(PathBuf, crate::Result<Entry>)> = files
        .par_iter()
        .map(|path| (path.clone(), read(path, detectors)))
        .collect();
    let mut imported = Imported::default();
    let (mut paths, mut entries) = (Vec::new(), Vec::new());
    for (path, entry) in read {
        match entry {
            Ok(entry) => {
                paths.push(path);
                entries.push(entry);
            }
            Err(e) => imported.skipped.push((path, e.to_string())),
        }
    }
    for (path, recorded) in paths.into_iter().zip(history.record(&entries)?) {
        match recorded {
            Recorded::Added => imported.added.push(path),
            Recorded::AlreadyKnown => imported.known.push(path),
        }
    }
    Ok(imported)
}

/// The FITS files among `paths`: files as given, folders searched through (every FITS
/// name below them, compressed ones too, dot files and folders left out, in name order). Unreadable folders are reported with a reason.
pub fn product_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        if path.is_dir() {
            collect_fits(path, &mut files, &mut problems);
        } else {
            files.push(path.clone());
        }
    }
    (files, problems)
}

fn collect_fits(folder: &Path, files: &mut Vec<PathBuf>, problems: &mut Vec<(PathBuf, String)>) {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push((folder.to_path_buf(), format!("{}: {e}", folder.display())));
            return;
        }
    };
    let mut found: Vec<(PathBuf, std::fs::FileType)> = entries
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| Some((e.path(), e.file_type().ok()?)))
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, kind) in found {
        // Dot folders (.snapshot, .Trash) and links to folders are not followed: a
        // snapshot's copies would be recorded under its paths, a link could loop.
        if kind.is_dir() {
            collect_fits(&path, files, problems);
        } else if crate::fits::has_fits_name(&path) {
            files.push(path);
        }
    }
}
