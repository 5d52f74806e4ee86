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

/// Where products are remembered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Nothing is recorded.
    Off,
    File(PathBuf),
}

impl Location {
    /// A setting's or the environment's text: `off`, or a path.
    pub fn parse(text: &str) -> Location {
        if text.trim().eq_ignore_ascii_case("off") {
            Location::Off
        } else {
            Location::File(PathBuf::from(text.trim()))
        }
    }

    /// The history to use: `explicit` (`--history`), else `$MBIAS_HISTORY`, else the
    /// settings' `mbias.history`, else `history.sqlite` in the user's data folder
    /// (`~/.local/share/mbias/` on Linux). `None` when there is no data folder to use.
    pub fn resolve(explicit: Option<&Path>, setting: Option<&Location>) -> Option<Location> {
        if let Some(path) = explicit {
            return Some(Location::parse(&path.to_string_lossy()));
        }
        if let Some(text) = std::env::var_os(HISTORY_ENV).filter(|t| !t.is_empty()) {
            return Some(Location::parse(&text.to_string_lossy()));
        }
        if let Some(setting) = setting {
            return Some(setting.clone());
        }
        directories::ProjectDirs::from("org", "mbias", "mbias")
            .map(|dirs| Location::File(dirs.data_dir().join("history.sqlite")))
    }

    /// Opens the history here; an error when it is off.
    pub fn open(&self) -> Result<History, HistoryError> {
        match self {
            Location::Off => Err(HistoryError::Off),
            Location::File(path) => History::open(path),
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

/// The certified reference of `product`'s setup in `history`.
pub fn reference_for(
    history: &History,
    product: &Path,
    detectors: &Detectors,
) -> crate::Result<PathBuf> {
    let entry = read(product, detectors)?;
    history.reference(&entry.setup)?.ok_or_else(|| {
        HistoryError::NoReference {
            setup: entry.setup.to_string(),
            path: history.path().to_path_buf(),
        }
        .into()
    })
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
    let mut entries = Vec::new();
    for (path, entry) in read {
        match entry {
            Ok(entry) => entries.push((path, entry)),
            Err(e) => imported.skipped.push((path, e.to_string())),
        }
    }
    let just: Vec<Entry> = entries.iter().map(|(_, e)| e.clone()).collect();
    for ((path, _), recorded) in entries.into_iter().zip(history.record(&just)?) {
        match recorded {
            Recorded::Added => imported.added.push(path),
            Recorded::AlreadyKnown => imported.known.push(path),
        }
    }
    Ok(imported)
}

/// The FITS files among `paths`: files as given, folders searched through (every FITS
/// name below them, compressed ones too, hidden files left out, in name order). Unreadable folders are reported with a reason.
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
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect_fits(&path, files, problems);
        } else if crate::fits::has_fits_name(&path) && !hidden(&path) {
            files.push(path);
        }
    }
}

/// A dot file: an editor's or a half-written product's temporary, never a product.
fn hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}
