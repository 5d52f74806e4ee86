//! The file browser: folder entries, the headers scanned so far, the selection and what
//! verification says about the folder and about the selection.

mod draw;
mod input;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use mbias::detector::{BiasRule, Binning, Detectors};
use mbias::error::FitsError;
use mbias::fits::FrameFile;
use mbias::verify::{self, Severity, Verification};
use ratatui::widgets::TableState;

use crate::console::msg::{Entry, EntryKind, JobId};

/// A frame's validation mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// No verdict yet: the header is still being read, or read but not yet verified
    /// (verification is batched while a large folder is scanned).
    Pending,
    Ok,
    Warning(String),
    Error(String),
}

/// Header values shown in a FITS row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RowInfo {
    pub kind: String,
    pub arm: String,
    pub binning: String,
    pub exptime: String,
    pub shape: String,
}

#[derive(Debug, Default)]
pub struct FilesPane {
    pub dir: PathBuf,
    pub entries: Vec<Entry>,
    pub table: TableState,
    pub headers: BTreeMap<PathBuf, Result<FrameFile, FitsError>>,
    pub selected: BTreeSet<PathBuf>,
    /// Verification of every FITS frame in the folder: the per-row marks.
    pub folder_check: Verification,
    /// Verification of the selection: the set-level verdict and the stacking plan.
    pub selection_check: Verification,
    /// The job listing and scanning the folder, while it runs.
    pub scanning: Option<JobId>,
    /// The job looking for new files in the folder shown, while it runs (quietly: the
    /// rows stay as they are until it reports).
    pub refreshing: Option<JobId>,
    /// Built-in and settings-defined detector profiles frames are verified against.
    pub detectors: Detectors,
    /// The SOF the selection came from, which names the product as in soxspipe; choosing
    /// frames by hand lets it go.
    pub sof: Option<PathBuf>,
    /// `a` was pressed during a folder scan: when the scan ends, the selection becomes
    /// every valid bias, including the frames verified after the key press. Any other
    /// selection change drops the wish.
    pub select_all_when_read: bool,
    /// Each frame's worst finding in `folder_check`, for drawing rows in O(1).
    marks: HashMap<PathBuf, Mark>,
    /// Frames `folder_check` has seen: only these have a verdict. A header that arrived
    /// after the last verification has none yet, so its row must not claim one.
    verified: HashSet<PathBuf>,
    /// Headers received since the last verification (re-verifying is throttled while a
    /// large folder is scanned, so the interface stays responsive).
    unchecked: usize,
    /// Frames a stack could not read, with why: their rows say so until the folder is
    /// listed again.
    failed: HashMap<PathBuf, String>,
}

impl FilesPane {
    pub fn new(detectors: Detectors) -> FilesPane {
        FilesPane {
            detectors,
            ..FilesPane::default()
        }
    }

    pub fn cursor(&self) -> usize {
        self.table.selected().unwrap_or(0)
    }

    pub fn current(&self) -> Option<&Entry> {
        self.entries.get(self.cursor())
    }

    pub fn move_cursor(&mut self, delta: isize) {
        if self.entries.is_empty() {
            return;
        }
        let last = self.entries.len() as isize - 1;
        let next = (self.cursor() as isize + delta).clamp(0, last);
        self.table.select(Some(next as usize));
    }

    /// A stack failed reading `path`: its row shows `reason` instead of the verdict its
    /// header earned.
    pub fn stack_failed_on(&mut self, path: &Path, reason: String) {
        self.failed.insert(path.to_path_buf(), reason);
    }

    pub fn set_entries(&mut self, dir: PathBuf, entries: Vec<Entry>) {
        // The same folder again keeps the cursor on its entry; another puts it on the
        // folder just left (going up), else on top.
        let stay_on = match self.current() {
            Some(entry) if dir == self.dir => entry.path.clone(),
            _ => self.dir.clone(),
        };
        self.dir = dir;
        self.entries = entries;
        let cursor = self
            .entries
            .iter()
            .position(|e| e.path == stay_on)
            .unwrap_or(0);
        self.table.select(Some(cursor));
        *self.table.offset_mut() = 0;
        self.recheck();
    }

    fn fits_in_folder(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.kind == EntryKind::Fits)
    }

    fn scanned(
        &self,
        paths: impl Iterator<Item = PathBuf>,
    ) -> Vec<(PathBuf, Result<FrameFile, FitsError>)> {
        paths
            .filter_map(|p| self.headers.get(&p).map(|h| (p, h.clone())))
            .collect()
    }

    /// Re-runs verification after headers or the selection changed (headers only: no I/O).
    pub fn recheck(&mut self) {
        let folder = self.scanned(self.fits_in_folder().map(|e| e.path.clone()));
        self.folder_check = verify::verify(&folder, &[], &self.detectors);
        self.verified = folder.iter().map(|(path, _)| path.clone()).collect();
        self.marks = self
            .folder_check
            .worst_by_file()
            .into_iter()
            .map(|(file, finding)| {
                let mark = match finding.severity {
                    Severity::Error => Mark::Error(finding.text()),
                    _ => Mark::Warning(finding.text()),
                };
                (file.to_path_buf(), mark)
            })
            .collect();
        self.unchecked = 0;
        self.recheck_selection();
    }

    /// Re-verifies the selection alone: a selection change leaves the folder's marks as
    /// they are, so a key press in a large folder does not re-verify every frame.
    fn recheck_selection(&mut self) {
        let selection = self.scanned(self.selected.iter().cloned());
        self.selection_check = verify::verify(&selection, &[], &self.detectors);
    }

    /// Adds scanned headers; verifies again once they amount to a quarter of what was
    /// already verified (so a folder of n files costs O(n log n), not O(n²)), or when
    /// `complete`.
    pub fn add_headers(
        &mut self,
        frames: Vec<(PathBuf, Result<FrameFile, FitsError>)>,
        complete: bool,
    ) {
        self.unchecked += frames.len();
        self.headers.extend(frames);
        let verified = self.headers.len().saturating_sub(self.unchecked);
        if complete || self.unchecked * 4 >= verified.max(64) {
            self.recheck();
        }
    }

    pub fn mark(&self, path: &Path) -> Mark {
        if let Some(reason) = self.failed.get(path) {
            return Mark::Error(reason.clone());
        }
        if !self.verified.contains(path) {
            return Mark::Pending;
        }
        self.marks.get(path).cloned().unwrap_or(Mark::Ok)
    }

    /// Frames of the folder that verification has checked and has nothing against (as
    /// `mbias stack --select valid` takes them); a frame without a verdict yet (header not
    /// read, or read after the last verification) is not among them.
    pub fn valid_biases(&self) -> Vec<PathBuf> {
        let verified: Vec<PathBuf> = self
            .fits_in_folder()
            .filter(|e| self.verified.contains(&e.path))
            .map(|e| e.path.clone())
            .collect();
        verify::select_valid(&verified, &self.folder_check).0
    }

    /// Frames of the folder without a verdict yet.
    pub fn pending(&self) -> usize {
        self.fits_in_folder()
            .filter(|e| self.mark(&e.path) == Mark::Pending)
            .count()
    }

    pub fn toggle(&mut self, path: &Path) {
        if !self.selected.remove(path) {
            self.selected.insert(path.to_path_buf());
        }
        self.recheck_selection();
    }

    pub fn select_only(&mut self, paths: Vec<PathBuf>) {
        self.selected = paths.into_iter().collect();
        self.recheck_selection();
    }

    pub fn row_info(&self, path: &Path) -> Option<RowInfo> {
        let frame = self.headers.get(path)?.as_ref().ok()?;
        let h = frame.merged_header();
        let text = |keys: &[&str]| keys.iter().find_map(|k| h.text(k)).unwrap_or_default();
        // The type and binning as the frame's profile reads them (Kast's first OBSTYPE says
        // DARK; its profile knows a bias by OBJECT).
        let profile = self.detectors.detect(&h).ok();
        let kind = match profile.map(|p| &p.bias) {
            Some(BiasRule::Generic(rule)) if !rule.keywords.is_empty() => rule
                .keywords
                .iter()
                .find_map(|k| h.text(k))
                .unwrap_or_default(),
            _ => text(&["ESO DPR TYPE", "IMAGETYP", "OBSTYPE"]),
        };
        let binning = match profile.map(|p| &p.binning) {
            Some(Binning::Absent) | None => String::new(),
            Some(binning) => {
                let (bx, by) = binning.read(&h);
                format!("{bx}x{by}")
            }
        };
        Some(RowInfo {
            kind,
            arm: text(&["ESO SEQ ARM"]),
            binning,
            exptime: h
                .number("EXPTIME")
                .map(|e| format!("{e}"))
                .unwrap_or_default(),
            shape: format!("{}x{}", frame.image.shape.1, frame.image.shape.0),
        })
    }

    /// One line about the selection, always shown under the table.
    pub fn verdict(&self) -> (Severity, String) {
        let check = &self.selection_check;
        if self.selected.is_empty() {
            return (
                Severity::Note,
                "nothing selected: Space picks a frame, a picks all valid biases".into(),
            );
        }
        let plans = check.plans();
        if let Some(plan) = plans.first() {
            let warning = check
                .findings
                .iter()
                .find(|f| f.severity == Severity::Warning);
            let mut line = match plans.len() {
                1 => plan.to_string(),
                n => {
                    let names: Vec<&str> = plans
                        .iter()
                        .filter_map(|p| p.extension.as_deref())
                        .collect();
                    format!(
                        "{} bias frame(s), {}, {n} extensions: {}",
                        plan.frames.len(),
                        plan.profile.name,
                        names.join(", ")
                    )
                }
            };
            if let Some(w) = warning {
                line.push_str(&format!(" ⚠ {}", w.message));
                return (Severity::Warning, line);
            }
            return (Severity::Note, format!("✓ {line}"));
        }
        let reason = check
            .summary
            .first()
            .cloned()
            .or_else(|| {
                check
                    .findings
                    .iter()
                    .find(|f| f.severity == Severity::Error)
                    .map(|f| match &f.file {
                        Some(file) => format!(
                            "{}: {}",
                            file.file_name().unwrap_or_default().to_string_lossy(),
                            f.text()
                        ),
                        None => f.text(),
                    })
            })
            .unwrap_or_else(|| "headers still being read".into());
        (
            Severity::Error,
            format!(
                "✗ {} selected, not stackable: {reason}",
                self.selected.len()
            ),
        )
    }
}
