//! The runtime: turns terminal events into messages, carries out effects on worker
//! threads, feeds their news back as messages, and redraws.

use std::collections::{HashMap, HashSet};
use std::iter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mbias::compare::{CompareLimits, Comparison};
use mbias::detector::Detectors;
use mbias::error::{Error, HistoryError, ProductError};
use mbias::fits::has_fits_name;
use mbias::history::{Filter, Location, Setup};
use mbias::inputs;
use mbias::pipeline::{Frames, Loaded, Outcome, StackedImage};
use mbias::progress::{Progress, Silent, Stage};
use mbias::settings::Resolved;
use mbias::verify;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, Event};
use ratatui_image::picker::Picker;
use rayon::prelude::*;

use super::app::App;
use super::graphics::{self, Encoded};
use super::msg::{
    Effect, Entry, EntryKind, ImageResult, JobEvent, JobId, Msg, StackFailure, StackResult,
    StackSource, TrendHistory, WriteFailure,
};
use super::{ui, view};

/// How often ticks come while something is pending or animating.
const TICK: Duration = Duration::from_millis(40);
/// At most this many progress messages per second from a worker.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(50);
/// Headers read per batch sent to the browser.
const SCAN_BATCH: usize = 48;

/// Runs until the user quits or a signal arrives; returns that signal, if any.
pub fn run(
    terminal: &mut DefaultTerminal,
    mut app: App,
    initial: Vec<Effect>,
) -> std::io::Result<Option<i32>> {
    let (tx, rx) = mpsc::channel::<Msg>();
    // Asked before the input is read: the terminal's answer comes on the input.
    let picker = graphics::picker(app.settings.graphics.unwrap_or_default());
    app.graphics = picker.is_some();
    spawn_input(tx.clone());
    spawn_signals(tx.clone());
    spawn_watch(tx.clone());
    let mut jobs = Jobs {
        tx,
        cancels: HashMap::new(),
        scan: None,
        writes: Vec::new(),
        picker,
    };
    let size = terminal.size()?;
    app.update(Msg::Resize(size.width, size.height));
    for effect in initial {
        jobs.execute(effect);
    }
    loop {
        terminal.draw(|f| ui::draw(f, &mut app))?;
        let first = if app.wants_ticks() {
            match rx.recv_timeout(TICK) {
                Ok(msg) => msg,
                Err(RecvTimeoutError::Timeout) => Msg::Tick(Instant::now()),
                Err(RecvTimeoutError::Disconnected) => return Ok(None),
            }
        } else {
            match rx.recv() {
                Ok(msg) => msg,
                Err(_) => return Ok(None),
            }
        };
        let mut batch: Vec<Msg> = iter::once(first).chain(rx.try_iter()).collect();
        if app.wants_ticks() {
            // A stream of progress messages must not starve the debounce.
            batch.push(Msg::Tick(Instant::now()));
        }
        for msg in batch {
            for effect in app.update(msg) {
                if matches!(effect, Effect::Quit) {
                    jobs.cancel_all();
                    jobs.finish_writes();
                    return Ok(app.signalled);
                }
                jobs.execute(effect);
            }
        }
    }
}

/// How often the folder shown is looked at for new files.
const WATCH: Duration = Duration::from_secs(5);

/// Asks the model, every [`WATCH`], whether to look for new files (frames arriving from
/// the telescope during the night).
fn spawn_watch(tx: Sender<Msg>) {
    thread::spawn(move || {
        loop {
            thread::sleep(WATCH);
            if tx.send(Msg::Watch).is_err() {
                break;
            }
        }
    });
}

/// Signals become messages, so the terminal is restored by the same path as `q`.
fn spawn_signals(tx: Sender<Msg>) {
    let Ok(mut signals) = signal_hook::iterator::Signals::new(crate::signals::STOP_SIGNALS) else {
        return;
    };
    thread::spawn(move || {
        for signal in signals.forever() {
            if tx.send(Msg::Signal(signal)).is_err() {
                break;
            }
        }
    });
}

fn spawn_input(tx: Sender<Msg>) {
    thread::spawn(move || {
        loop {
            let msg = match event::read() {
                Ok(Event::Key(key)) if key.is_press() => Msg::Key(key),
                Ok(Event::Mouse(mouse)) => Msg::Mouse(mouse),
                Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
                Ok(_) => continue,
                Err(_) => break,
            };
            if tx.send(msg).is_err() {
                break;
            }
        }
    });
}

struct Jobs {
    tx: Sender<Msg>,
    cancels: HashMap<JobId, Arc<AtomicBool>>,
    /// The folder scan in progress; a new folder stops it.
    scan: Option<Arc<AtomicBool>>,
    /// Product and settings writes: waited for on the way out, so a quit never leaves a
    /// half-written file (each is short and ends in a rename or a removal).
    writes: Vec<thread::JoinHandle<()>>,
    /// The terminal's graphics protocol, if it has one.
    picker: Option<Picker>,
}

impl Jobs {
    fn cancel_all(&mut self) {
        for flag in self.cancels.values().chain(self.scan.iter()) {
            flag.store(true, Ordering::Relaxed);
        }
    }

    fn finish_writes(&mut self) {
        for write in self.writes.drain(..) {
            let _ = write.join();
        }
    }

    fn new_scan(&mut self) -> Arc<AtomicBool> {
        if let Some(old) = self.scan.take() {
            old.store(true, Ordering::Relaxed);
        }
        let flag = Arc::new(AtomicBool::new(false));
        self.scan = Some(flag.clone());
        flag
    }

    fn execute(&mut self, effect: Effect) {
        let tx = self.tx.clone();
        match effect {
            Effect::OpenDir { id, dir } => {
                let stop = self.new_scan();
                thread::spawn(move || open_dir(id, &dir, None, &tx, &stop));
            }
            Effect::Refresh { id, dir, known } => {
                let stop = self.new_scan();
                let known: HashSet<PathBuf> = known.into_iter().collect();
                thread::spawn(move || refresh_dir(id, &dir, &known, &tx, &stop));
            }
            Effect::OpenSof { id, sof } => {
                let stop = self.new_scan();
                thread::spawn(move || open_sof(id, &sof, &tx, &stop));
            }
            Effect::Stack {
                id,
                source,
                resolved,
                selection,
            } => {
                let cancel = Arc::new(AtomicBool::new(false));
                self.cancels.retain(|_, flag| !flag.load(Ordering::Relaxed));
                self.cancels.insert(id, cancel.clone());
                thread::spawn(move || stack_job(id, source, resolved, selection, cancel, &tx));
            }
            Effect::Cancel(id) => {
                if let Some(flag) = self.cancels.remove(&id) {
                    flag.store(true, Ordering::Relaxed);
                }
            }
            Effect::WriteProduct {
                folder,
                name,
                overwrite,
                result,
                history,
            } => {
                self.writes.retain(|w| !w.is_finished());
                self.writes.push(thread::spawn(move || {
                    let written = write_product(&folder, &name, overwrite, &result);
                    let note = match (&written, &history) {
                        (Ok(product), Some((location, detectors))) => {
                            record(location, product, detectors)
                        }
                        _ => None,
                    };
                    let _ = tx.send(Msg::Job(JobEvent::Wrote(written, note)));
                }));
            }
            Effect::LoadTrend {
                location,
                setup,
                recipe,
            } => {
                thread::spawn(move || {
                    let loaded = load_trend(&location, setup, recipe);
                    let _ = tx.send(Msg::Job(JobEvent::Trend(loaded)));
                });
            }
            Effect::Compare {
                location,
                product,
                limits,
                detectors,
            } => {
                thread::spawn(move || {
                    let compared = compare_reference(&location, &product, &limits, &detectors);
                    let _ = tx.send(Msg::Job(JobEvent::Compared(compared)));
                });
            }
            Effect::SaveSettings {
                path,
                overwrite,
                text,
            } => {
                self.writes.retain(|w| !w.is_finished());
                self.writes.push(thread::spawn(move || {
                    let _ = tx.send(Msg::Job(JobEvent::SavedSettings(save_settings(
                        &path, overwrite, &text,
                    ))));
                }));
            }
            Effect::EncodeImage { key, result } => {
                let Some(picker) = self.picker.clone() else {
                    return;
                };
                thread::spawn(move || {
                    // Whatever happens, the model hears back, or it would wait for ever.
                    let protocol = std::panic::catch_unwind(|| {
                        result
                            .image(key.extension)
                            .and_then(|image| graphics::encode(&picker, image, &key.look, key.area))
                    })
                    .ok()
                    .flatten();
                    let _ = tx.send(Msg::Encoded(Encoded { key, protocol }));
                });
            }
            Effect::Quit => {}
        }
    }
}

/// Lists a folder: parent first, then folders, then files, each sorted by name.
pub fn list(dir: &Path) -> Result<Vec<Entry>, String> {
    let read = std::fs::read_dir(dir).map_err(|e| format!("cannot open {}: {e}", dir.display()))?;
    let mut folders = Vec::new();
    let mut files = Vec::new();
    for entry in read.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = if path.is_dir() {
            EntryKind::Dir
        } else if inputs::is_sof(&path) {
            EntryKind::Sof
        } else if has_fits_name(&path) {
            EntryKind::Fits
        } else {
            EntryKind::Other
        };
        let item = Entry { name, path, kind };
        if item.kind == EntryKind::Dir {
            folders.push(item)
        } else {
            files.push(item)
        }
    }
    folders.sort_by(|a, b| a.name.cmp(&b.name));
    files.sort_by(|a, b| a.name.cmp(&b.name));
    let parent = dir.parent().map(|p| Entry {
        name: "..".into(),
        path: p.to_path_buf(),
        kind: EntryKind::Parent,
    });
    Ok(parent.into_iter().chain(folders).chain(files).collect())
}

fn open_dir(
    id: JobId,
    dir: &Path,
    select: Option<Vec<PathBuf>>,
    tx: &Sender<Msg>,
    stop: &AtomicBool,
) {
    list_and_scan(id, dir, select, &HashSet::new(), tx, stop);
}

/// The folder listed again; only the frames not `known` have their headers read.
fn refresh_dir(
    id: JobId,
    dir: &Path,
    known: &HashSet<PathBuf>,
    tx: &Sender<Msg>,
    stop: &AtomicBool,
) {
    list_and_scan(id, dir, None, known, tx, stop);
}

/// Lists `dir` and reads the headers of its frames but the `known` ones (and of the
/// `select`ed frames elsewhere), sending the news as it comes.
fn list_and_scan(
    id: JobId,
    dir: &Path,
    select: Option<Vec<PathBuf>>,
    known: &HashSet<PathBuf>,
    tx: &Sender<Msg>,
    stop: &AtomicBool,
) {
    let entries = list(dir);
    let mut to_scan: Vec<PathBuf> = entries
        .as_ref()
        .map(|e| {
            e.iter()
                .filter(|e| e.kind == EntryKind::Fits && !known.contains(&e.path))
                .map(|e| e.path.clone())
                .collect()
        })
        .unwrap_or_default();
    to_scan.extend(
        select
            .iter()
            .flatten()
            .filter(|p| !p.starts_with(dir))
            .cloned(),
    );
    if tx
        .send(Msg::Job(JobEvent::Listed {
            id,
            dir: dir.to_path_buf(),
            entries,
            select,
        }))
        .is_err()
    {
        return;
    }
    for chunk in to_scan.chunks(SCAN_BATCH) {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let frames = verify::scan(chunk);
        if tx.send(Msg::Job(JobEvent::Scanned { id, frames })).is_err() {
            return;
        }
    }
    let _ = tx.send(Msg::Job(JobEvent::ScanDone { id }));
}

fn open_sof(id: JobId, sof: &Path, tx: &Sender<Msg>, stop: &AtomicBool) {
    match inputs::read_sof(sof) {
        Ok(files) => {
            let dir = files
                .first()
                .and_then(|f| f.canonicalize().ok())
                .and_then(|f| f.parent().map(Path::to_path_buf))
                .unwrap_or_else(|| sof.parent().unwrap_or(Path::new(".")).to_path_buf());
            let files = files
                .into_par_iter()
                .map(|f| f.canonicalize().unwrap_or(f))
                .collect();
            open_dir(id, &dir, Some(files), tx, stop);
        }
        Err(e) => {
            let dir = sof.parent().unwrap_or(Path::new(".")).to_path_buf();
            let _ = tx.send(Msg::Job(JobEvent::Listed {
                id,
                dir,
                entries: Err(e.to_string()),
                select: None,
            }));
        }
    }
}

/// Progress of one job, throttled, with its cancellation flag.
struct JobProgress<'a> {
    id: JobId,
    tx: Mutex<Sender<Msg>>,
    cancel: &'a AtomicBool,
    last: Mutex<(Instant, std::mem::Discriminant<Stage>)>,
}

impl Progress for JobProgress<'_> {
    fn report(&self, stage: Stage) {
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        let kind = std::mem::discriminant(&stage);
        if kind == last.1 && last.0.elapsed() < PROGRESS_INTERVAL {
            return;
        }
        *last = (Instant::now(), kind);
        if let Ok(tx) = self.tx.lock() {
            let _ = tx.send(Msg::Job(JobEvent::Progress { id: self.id, stage }));
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// Reads (unless the frames are in memory), stacks, measures QC and prepares the views.
pub fn stack(
    source: StackSource,
    resolved: Resolved,
    selection: Vec<PathBuf>,
    progress: &dyn Progress,
) -> mbias::Result<StackResult> {
    let started = Instant::now();
    let frames = match &source {
        StackSource::Read { plans, reuse } => Frames::Read { plans, reuse },
        StackSource::Loaded(loaded) => Frames::InMemory(loaded),
    };
    // Every extension is stacked, not only the one shown: `w` writes them all.
    let images = mbias::pipeline::run(frames, &resolved, progress)?
        .into_iter()
        .map(|StackedImage { loaded, outcome }| {
            let (view, distribution) = rayon::join(
                || view::compute(&outcome.master),
                || outcome.distribution(&loaded),
            );
            ImageResult {
                loaded,
                outcome,
                view,
                distribution,
            }
        })
        .collect();
    Ok(StackResult {
        images,
        resolved,
        selection,
        elapsed: started.elapsed(),
    })
}

fn stack_job(
    id: JobId,
    source: StackSource,
    resolved: Resolved,
    selection: Vec<PathBuf>,
    cancel: Arc<AtomicBool>,
    tx: &Sender<Msg>,
) {
    let progress = JobProgress {
        id,
        tx: Mutex::new(tx.clone()),
        cancel: &cancel,
        last: Mutex::new((Instant::now(), std::mem::discriminant(&Stage::Qc))),
    };
    let result = stack(source, resolved, selection, &progress)
        .map(Arc::new)
        .map_err(StackFailure::from);
    let _ = tx.send(Msg::Job(JobEvent::Stacked { id, result }));
}

fn write_product(
    folder: &Path,
    name: &str,
    overwrite: bool,
    result: &StackResult,
) -> Result<PathBuf, WriteFailure> {
    let images: Vec<(&Loaded, &Outcome)> = result
        .images
        .iter()
        .map(|i| (&*i.loaded, &i.outcome))
        .collect();
    mbias::pipeline::write(folder, name, overwrite, true, &images, &Silent).map_err(|e| match e {
        Error::Product(ProductError::Exists(path)) => WriteFailure::Exists(path),
        other => WriteFailure::Failed(other.to_string()),
    })
}

/// Records a product just written in the QC history; what to add to the status line
/// when that failed (the product is written all the same).
fn record(location: &Location, product: &Path, detectors: &Detectors) -> Option<String> {
    mbias::history::record_product(location, product, detectors)
        .err()
        .map(|e| format!("not recorded in the QC history: {e}"))
}

/// The QC history of `setup` at `location`. A history file that does not exist yet is
/// empty: looking at the Trend tab does not create one.
fn load_trend(location: &Location, setup: Setup, recipe: String) -> Result<TrendHistory, String> {
    let file = match location {
        Location::Off => {
            return Ok(TrendHistory {
                setup,
                recipe,
                file: None,
                series: Vec::new(),
            });
        }
        Location::File(file) => file.clone(),
    };
    let series = if file.exists() {
        let history = location.open_existing().map_err(|e| e.to_string())?;
        let filter = Filter {
            profile: Some(setup.profile.clone()),
            recipe: Some(recipe.clone()),
            ..Filter::default()
        };
        let values = history.values(&filter).map_err(|e| e.to_string())?;
        let mut series = mbias::history::trend::series(values);
        series.retain(|s| s.setup == setup);
        series
    } else {
        Vec::new()
    };
    Ok(TrendHistory {
        setup,
        recipe,
        file: Some(file),
        series,
    })
}

/// `product` against the reference the history at `location` certifies for its set-up.
/// A history file that does not exist yet has no reference (and is not created); where
/// there is none, the message says how to certify one.
fn compare_reference(
    location: &Location,
    product: &Path,
    limits: &CompareLimits,
    detectors: &Detectors,
) -> Result<Comparison, String> {
    const HINT: &str = "certify one with mbias history certify PRODUCT";
    if let Location::File(file) = location
        && !file.exists()
    {
        return Err(format!(
            "no QC history at {} to hold a reference; {HINT}",
            file.display()
        ));
    }
    let history = location.open_existing().map_err(|e| e.to_string())?;
    let reference =
        mbias::history::reference_for(&history, product, detectors).map_err(|e| match e {
            Error::History(HistoryError::NoReference { .. }) => format!("{e}; {HINT}"),
            other => other.to_string(),
        })?;
    mbias::compare::compare(product, &reference, limits).map_err(|e| e.to_string())
}

/// Writes a settings file, creating its folder as a product's write does.
fn save_settings(path: &Path, overwrite: bool, text: &str) -> Result<PathBuf, WriteFailure> {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).map_err(|e| {
            WriteFailure::Failed(format!("cannot create folder {}: {e}", folder.display()))
        })?;
    }
    mbias::atomic::write_bytes(path, overwrite, text.as_bytes()).map_err(|e| match e {
        ProductError::Exists(path) => WriteFailure::Exists(path),
        other => WriteFailure::Failed(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mbias::settings::Settings;

    #[test]
    fn folders_come_first_then_files_hidden_ones_left_out() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.fits", "a.sof", "notes.txt", ".hidden.fits"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        std::fs::create_dir(dir.path().join("z-night")).unwrap();
        let entries = list(dir.path()).unwrap();
        let seen: Vec<(&str, EntryKind)> = entries
            .iter()
            .map(|e| (e.name.as_str(), e.kind.clone()))
            .collect();
        assert_eq!(
            seen,
            [
                ("..", EntryKind::Parent),
                ("z-night", EntryKind::Dir),
                ("a.sof", EntryKind::Sof),
                ("b.fits", EntryKind::Fits),
                ("notes.txt", EntryKind::Other),
            ]
        );
        assert!(
            list(&dir.path().join("missing"))
                .unwrap_err()
                .contains("cannot open")
        );
    }

    /// Three simulated two-extension frames in `dir`, stacked as the console stacks
    /// them, with the settings that know their detector.
    fn stacked_mef(dir: &Path) -> (StackResult, Settings) {
        let files = mbias::simulate::simulate(
            &dir.join("raw"),
            &mbias::simulate::Spec::biases(&mbias::simulate::MEF, 3, 2),
        )
        .unwrap();
        let settings = Settings::parse(mbias::simulate::GENERIC_SETTINGS).unwrap();
        let verification = verify::verify(&verify::scan(&files), &[], &settings.detectors());
        let plans: Vec<_> = verification.plans().into_iter().cloned().collect();
        assert_eq!(plans.len(), 2, "{:?}", verification.findings);
        let resolved = settings.resolve(&plans[0].profile).unwrap();
        let source = StackSource::Read {
            plans,
            reuse: Vec::new(),
        };
        (stack(source, resolved, files, &Silent).unwrap(), settings)
    }

    #[test]
    fn multi_extension_frames_stack_every_extension_and_write_them_all() {
        let dir = tempfile::tempdir().unwrap();
        let (result, _) = stacked_mef(dir.path());
        let names: Vec<_> = result.images.iter().map(|i| i.extension()).collect();
        assert_eq!(names, [Some("AMP1"), Some("AMP2")]);
        let out = dir.path().join("out");
        let product = write_product(&out, "mef.fits", false, &result).unwrap();
        let written = mbias::fits::read_frame_header(&product).unwrap();
        assert_eq!(written.images.len(), 6, "FLUX/QUAL/ERRS per extension");
        assert_eq!(
            write_product(&out, "mef.fits", false, &result),
            Err(WriteFailure::Exists(product))
        );
    }

    #[test]
    fn a_written_product_is_recorded_and_its_trend_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (result, settings) = stacked_mef(dir.path());
        let detectors = settings.detectors();
        let setup = crate::console::panes::results::setup_of(&result.images[0].loaded.set.plan);
        let product = write_product(&dir.path().join("out"), "m.fits", false, &result).unwrap();
        // Looking at the trend creates no history file.
        let file = dir.path().join("history").join("qc.sqlite");
        let location = Location::File(file.clone());
        let recipe = result.resolved.recipe.name().to_string();
        let empty = load_trend(&location, setup.clone(), recipe.clone()).unwrap();
        assert!(empty.series.is_empty() && !file.exists());
        assert_eq!(record(&location, &product, &detectors), None);
        let trend = load_trend(&location, setup.clone(), recipe.clone()).unwrap();
        assert_eq!(trend.file, Some(file));
        let extensions: HashSet<&str> = trend.series.iter().map(|s| s.extension.as_str()).collect();
        assert_eq!(extensions, HashSet::from(["AMP1", "AMP2"]));
        assert!(
            trend
                .series
                .iter()
                .all(|s| s.setup == setup && s.points.len() == 1)
        );
        // A history that cannot be opened is a note; the product stays written.
        let blocked = Location::File(product.join("qc.sqlite"));
        let note = record(&blocked, &product, &detectors).unwrap();
        assert!(note.starts_with("not recorded in the QC history"), "{note}");
        assert!(product.is_file());
        let off = load_trend(&Location::Off, setup, recipe).unwrap();
        assert_eq!((off.file, off.series.len()), (None, 0));
        // Compared with the set-up's reference: there is none yet, and none is made.
        let limits = CompareLimits::default();
        let none = compare_reference(&location, &product, &limits, &detectors).unwrap_err();
        assert!(
            none.contains("is certified") && none.ends_with("mbias history certify PRODUCT"),
            "{none}"
        );
        let missing = Location::File(dir.path().join("nowhere.sqlite"));
        let error = compare_reference(&missing, &product, &limits, &detectors).unwrap_err();
        assert!(error.starts_with("no QC history at"), "{error}");
        assert!(!dir.path().join("nowhere.sqlite").exists());
    }

    #[test]
    fn saved_settings_read_back_and_are_not_overwritten_unasked() {
        let dir = tempfile::tempdir().unwrap();
        // The output folder does not exist yet: `S` creates it as `w` does.
        let path = dir.path().join("out").join("mbias-settings.yaml");
        let mut settings = Settings::default();
        settings
            .apply_override("stacked-clipping-sigma=4.5")
            .unwrap();
        let soxs = mbias::detector::soxs_vis();
        let resolved = settings.resolve(soxs).unwrap();
        let text = settings.to_soxspipe_yaml(&resolved, soxs);
        assert_eq!(save_settings(&path, false, &text), Ok(path.clone()));
        let back = Settings::load(&path).unwrap();
        let again = back.resolve(soxs).unwrap();
        assert_eq!(again.params, resolved.params);
        assert_eq!(
            save_settings(&path, false, &text),
            Err(WriteFailure::Exists(path.clone()))
        );
        assert_eq!(save_settings(&path, true, &text), Ok(path.clone()));
        let names: Vec<_> = std::fs::read_dir(dir.path().join("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
    }
}
