//! Messages into the model and effects out of it (the Elm architecture's Msg and Cmd).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mbias::compare::{CompareLimits, Comparison};
use mbias::detector::Detectors;
use mbias::error::FitsError;
use mbias::fits::FrameFile;
use mbias::history::trend::Series;
use mbias::history::{Location, Setup};
use mbias::pipeline::{Loaded, Outcome};
use mbias::progress::Stage;
use mbias::settings::Resolved;
use mbias::verify::Plan;
use ratatui::crossterm::event::{KeyEvent, MouseEvent};

use super::graphics::{Encoded, ImageKey};
use super::view::ResultView;

pub type JobId = u64;

/// Everything that can change the model: input, time, and news from worker threads.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    Tick(Instant),
    /// Time to look for new files in the folder shown (every few seconds).
    Watch,
    Job(JobEvent),
    /// SIGTERM, SIGINT or SIGHUP: leave at once, no questions (there may be no one to
    /// answer them).
    Signal(i32),
    /// A Preview image encoded for the terminal's graphics protocol.
    Encoded(Encoded),
}

/// A folder entry as the browser lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Parent,
    Dir,
    Fits,
    Sof,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub path: PathBuf,
    pub kind: EntryKind,
}

/// One stacked image (the frames' only one, or one extension) and its views.
#[derive(Debug)]
pub struct ImageResult {
    pub loaded: Arc<Loaded>,
    pub outcome: Outcome,
    pub view: ResultView,
    /// The bias-distribution QC (soxspipe 0.19's plot), measured with the stack.
    pub distribution: Option<mbias::qc::BiasDistribution>,
}

impl ImageResult {
    /// The extension it is, for multi-extension frames.
    pub fn extension(&self) -> Option<&str> {
        self.loaded.set.plan.extension.as_deref()
    }
}

/// A stack and everything the result views need, computed off the UI thread.
#[derive(Debug)]
pub struct StackResult {
    /// One image, or one per extension of multi-extension frames (never empty).
    pub images: Vec<ImageResult>,
    pub resolved: Resolved,
    /// The selection the frames were read for (the cache key for re-stacks).
    pub selection: Vec<PathBuf>,
    /// From the request to the finished QC.
    pub elapsed: Duration,
}

impl StackResult {
    /// Image `i`, or the first when there is no such image.
    pub fn image(&self, i: usize) -> Option<&ImageResult> {
        self.images.get(i).or(self.images.first())
    }

    /// Frames in memory, for re-stacks with other parameters.
    pub fn loaded(&self) -> Vec<Arc<Loaded>> {
        self.images.iter().map(|i| i.loaded.clone()).collect()
    }
}

/// Why a stack did not finish: the message, and the input file it names, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct StackFailure {
    pub message: String,
    pub file: Option<PathBuf>,
}

impl From<mbias::Error> for StackFailure {
    fn from(e: mbias::Error) -> StackFailure {
        StackFailure {
            file: e.file().map(PathBuf::from),
            message: e.to_string(),
        }
    }
}

/// Why a write did not happen: an existing file (the user may confirm), or an error.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteFailure {
    Exists(PathBuf),
    Failed(String),
}

#[derive(Debug)]
pub enum JobEvent {
    Listed {
        id: JobId,
        dir: PathBuf,
        entries: Result<Vec<Entry>, String>,
        /// Frames to select (a SOF opened as a selection).
        select: Option<Vec<PathBuf>>,
    },
    Scanned {
        id: JobId,
        frames: Vec<(PathBuf, Result<FrameFile, FitsError>)>,
    },
    ScanDone {
        id: JobId,
    },
    Progress {
        id: JobId,
        stage: Stage,
    },
    Stacked {
        id: JobId,
        result: Result<Arc<StackResult>, StackFailure>,
    },
    /// A product written (or not), with a note when it could not be recorded in the QC
    /// history: the product is there all the same, so that is no failure of the write.
    Wrote(Result<PathBuf, WriteFailure>, Option<String>),
    /// The QC history of a setup, for the Trend tab.
    Trend(Result<TrendHistory, String>),
    /// A written master compared with its set-up's certified reference (`C`).
    Compared(Result<Comparison, String>),
    SavedSettings(Result<PathBuf, WriteFailure>),
}

/// What the QC history holds of one setup: its series (every extension's), in observing
/// order; empty when the history has no product of the setup, or is off.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendHistory {
    pub setup: Setup,
    /// The soxspipe release of the stack shown: products of another one are another
    /// series (their QC of the same name may mean another thing).
    pub recipe: String,
    /// The history file, `None` when the history is off.
    pub file: Option<PathBuf>,
    pub series: Vec<Series>,
}

/// Where a stack's frames come from.
#[derive(Debug, Clone)]
pub enum StackSource {
    /// Read and prepare the frames of these plans (one per extension of
    /// multi-extension frames), taking those already prepared in `reuse` from memory.
    Read {
        plans: Vec<Plan>,
        reuse: Vec<Arc<Loaded>>,
    },
    /// Frames already in memory: a re-stack with new parameters.
    Loaded(Vec<Arc<Loaded>>),
}

/// Work `update` asks the runtime to do.
#[derive(Debug)]
pub enum Effect {
    OpenDir {
        id: JobId,
        dir: PathBuf,
    },
    /// List `dir` again and read the headers of the frames not in `known` (new files).
    Refresh {
        id: JobId,
        dir: PathBuf,
        known: Vec<PathBuf>,
    },
    OpenSof {
        id: JobId,
        sof: PathBuf,
    },
    Stack {
        id: JobId,
        source: StackSource,
        resolved: Resolved,
        selection: Vec<PathBuf>,
    },
    Cancel(JobId),
    WriteProduct {
        folder: PathBuf,
        name: String,
        overwrite: bool,
        result: Arc<StackResult>,
        /// Where the written product is recorded, and the detectors that read its
        /// setup; `None` records nothing.
        history: Option<(Location, Detectors)>,
    },
    /// Read the QC history of `setup` (for the Trend tab).
    LoadTrend {
        location: Location,
        setup: Setup,
        recipe: String,
    },
    /// Compare the written master `product` with the reference the QC history at
    /// `location` certifies for its set-up (read with `detectors`), judged by `limits`.
    Compare {
        location: Location,
        product: PathBuf,
        limits: CompareLimits,
        detectors: Detectors,
    },
    SaveSettings {
        path: PathBuf,
        overwrite: bool,
        /// The settings file's text.
        text: String,
    },
    /// Make and encode the Preview image of `key` for the terminal's graphics protocol.
    EncodeImage {
        key: ImageKey,
        result: Arc<StackResult>,
    },
    Quit,
}
