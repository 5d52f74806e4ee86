//! Console tests without a terminal: messages through `update`, assertions on the model
//! and the effects; rendering into a TestBackend, snapshotted with insta.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mbias::algorithm::{Frame, Samples};
use mbias::compare::{
    CompareLimits, CompareStatistic, Comparison, DifferenceStats, ImageComparison, Reason, Verdict,
};
use mbias::error::FitsError;
use mbias::fits::{Card, FrameFile, Header, Value};
use mbias::history::trend::{Point, Series};
use mbias::history::{Location, Setup};
use mbias::load::{FrameSet, Residency, Storage};
use mbias::pipeline::Loaded;
use mbias::progress::{Silent, Stage};
use mbias::settings::Settings;
use rand::{Rng, SeedableRng};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Position;
use ratatui::style::Color;

use super::app::{App, Focus, Job, Start};
use super::msg::{
    Effect, Entry, EntryKind, ImageResult, JobEvent, Msg, StackFailure, StackResult, StackSource,
    TrendHistory, WriteFailure,
};
use super::overlay::{Overlay, QuitRisk};
use super::panes::files::Mark;
use super::panes::results::Tab;
use super::theme::Theme;
use super::ui;
use super::view::{self, Axis};

const NIGHT: &str = "/night";

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(code))
}

fn ch(c: char) -> Msg {
    key(KeyCode::Char(c))
}

fn frame_file(
    name: &str,
    minute: usize,
    edit: &[(&str, Value)],
    shape: (usize, usize),
) -> FrameFile {
    let s = |v: &str| Value::Str(v.to_string());
    let mut cards: Vec<(String, Value)> = vec![
        ("INSTRUME".into(), s("SOXS")),
        (
            "DATE-OBS".into(),
            s(&format!("2025-10-10T09:{minute:02}:27.000")),
        ),
        (
            "MJD-OBS".into(),
            Value::Float(60958.388 + minute as f64 * 1e-3),
        ),
        ("EXPTIME".into(), Value::Float(0.0)),
        ("ESO DPR TYPE".into(), s("BIAS")),
        ("ESO DPR TECH".into(), s("IMAGE")),
        ("ESO DPR CATG".into(), s("CALIB")),
        ("ESO SEQ ARM".into(), s("VIS")),
        ("ESO DET BINX".into(), Value::Int(1)),
        ("ESO DET BINY".into(), Value::Int(1)),
        ("ESO DET READ CURID".into(), Value::Int(1)),
        ("ESO DET OUT1 CONAD".into(), Value::Float(1.4)),
        ("ESO DET OUT1 GAIN".into(), Value::Float(0.7143)),
        ("ESO DET CHIP RON".into(), Value::Float(4.2)),
        ("ESO INS TEMP104 VAL".into(), Value::Float(153.0)),
        ("ESO INS TEMP301 VAL".into(), Value::Float(15.0)),
    ];
    for (k, v) in edit {
        cards.retain(|(key, _)| key != k);
        cards.push((k.to_string(), v.clone()));
    }
    let header = Header {
        cards: cards
            .iter()
            .map(|(k, v)| Card::new(k, v.clone(), ""))
            .collect(),
    };
    FrameFile::single(Path::new(NIGHT).join(name), header, shape)
}

fn bias_name(i: usize) -> String {
    format!("SOXS.2025-10-10T09:{:02}:27.000.fits", 19 + i)
}

/// A night as the runtime would report it: a subfolder, a SOF, five biases, a flat, a
/// binned bias, a corrupt file and a log.
fn fixture() -> App {
    let (mut app, effects) = App::new(
        Start::Folder(PathBuf::from(NIGHT)),
        Settings::default(),
        PathBuf::from("/out"),
        None,
        Theme::colour(),
    );
    let Effect::OpenDir { id, dir } = &effects[0] else {
        panic!("opens the folder first: {effects:?}")
    };
    assert_eq!(dir, Path::new(NIGHT));
    let id = *id;
    let entry = |name: &str, kind: EntryKind| Entry {
        name: name.into(),
        path: Path::new(NIGHT).join(name),
        kind,
    };
    let mut entries = vec![
        Entry {
            name: "..".into(),
            path: PathBuf::from("/"),
            kind: EntryKind::Parent,
        },
        entry("calib", EntryKind::Dir),
        entry("night.sof", EntryKind::Sof),
    ];
    let mut frames = Vec::new();
    for i in 0..5 {
        entries.push(entry(&bias_name(i), EntryKind::Fits));
        frames.push((
            Path::new(NIGHT).join(bias_name(i)),
            Ok(frame_file(&bias_name(i), 19 + i, &[], (4096, 2098))),
        ));
    }
    let flat = "SOXS.2025-10-10T10:19:27.000.fits";
    entries.push(entry(flat, EntryKind::Fits));
    frames.push((
        Path::new(NIGHT).join(flat),
        Ok(frame_file(
            flat,
            40,
            &[("ESO DPR TYPE", Value::Str("FLAT".into()))],
            (4096, 2098),
        )),
    ));
    let binned = "SOXS.2025-10-10T11:19:27.000.fits";
    entries.push(entry(binned, EntryKind::Fits));
    let binning = [
        ("ESO DET BINX", Value::Int(2)),
        ("ESO DET BINY", Value::Int(2)),
    ];
    frames.push((
        Path::new(NIGHT).join(binned),
        Ok(frame_file(binned, 50, &binning, (2048, 1049))),
    ));
    let corrupt = Path::new(NIGHT).join("SOXS.corrupt.fits");
    entries.push(entry("SOXS.corrupt.fits", EntryKind::Fits));
    frames.push((
        corrupt.clone(),
        Err(FitsError::Open {
            path: corrupt,
            message: "not a FITS file, or truncated".into(),
        }),
    ));
    entries.push(entry("observing.log", EntryKind::Other));
    app.update(Msg::Job(JobEvent::Listed {
        id,
        dir: PathBuf::from(NIGHT),
        entries: Ok(entries),
        select: None,
    }));
    app.update(Msg::Job(JobEvent::Scanned { id, frames }));
    app.update(Msg::Job(JobEvent::ScanDone { id }));
    app
}

/// A real (small) stack of the fixture's plan, 5 frames of 48 × 40 pixels at `level` e-,
/// as the image of `extension`.
fn image_result(app: &App, extension: Option<&str>, level: f32) -> ImageResult {
    image_result_with(app, extension, level, Vec::new())
}

/// [`image_result`] of a plan naming `amplifiers`.
fn image_result_with(
    app: &App,
    extension: Option<&str>,
    level: f32,
    amplifiers: Vec<mbias::verify::AmplifierPlan>,
) -> ImageResult {
    image_result_placed(app, extension, level, amplifiers, None)
}

/// [`image_result_with`] of an extension `detsec` places on the detector.
fn image_result_placed(
    app: &App,
    extension: Option<&str>,
    level: f32,
    amplifiers: Vec<mbias::verify::AmplifierPlan>,
    detsec: Option<&str>,
) -> ImageResult {
    let mut plan = app
        .files
        .selection_check
        .plan
        .clone()
        .expect("a stackable selection");
    let (rows, cols) = (48, 40);
    plan.rows = 0..rows;
    plan.cols = 0..cols;
    plan.extension = extension.map(str::to_string);
    plan.amplifiers = amplifiers;
    plan.placement = detsec.map(|d| mbias::detector::Placement::parse(d).unwrap());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let frames: Vec<Arc<Frame>> = plan
        .frames
        .iter()
        .enumerate()
        .map(|(k, f)| {
            Arc::new(Frame {
                name: f.path.file_name().unwrap().to_string_lossy().into_owned(),
                samples: Samples::Electrons(mbias::algorithm::image(
                    rows,
                    cols,
                    (0..rows * cols)
                        .map(|p| {
                            let hot = if p == 7 * cols + 9 { 300.0 } else { 0.0 };
                            level
                                + k as f32 * 0.5
                                + (p % cols) as f32 * 0.01
                                + rng.random_range(-4.0..4.0)
                                + hot
                        })
                        .collect(),
                )),
                non_finite: 0,
            })
        })
        .collect();
    let set = FrameSet {
        plan,
        bad_pixels: None,
        overscans: frames.iter().map(|_| Arc::new(Vec::new())).collect(),
        non_finite: vec![0; frames.len()],
        frames: Residency::Resident(frames),
        storage: Storage::for_numerics(mbias::params::Numerics::Soxspipe),
        read_time: Duration::ZERO,
        convert_time: Duration::ZERO,
    };
    let frame_qc = mbias::qc::frame_qc(&set);
    let loaded = Arc::new(Loaded::new(set, frame_qc));
    let outcome = mbias::pipeline::stack(&loaded, &resolved(), &Silent).unwrap();
    let view = view::compute(&outcome.master);
    let distribution = outcome.distribution(&loaded);
    ImageResult {
        loaded,
        outcome,
        view,
        distribution,
    }
}

fn resolved() -> mbias::settings::Resolved {
    Settings::default()
        .resolve(mbias::detector::soxs_vis())
        .unwrap()
}

/// The result of stacking `images`.
fn result_of(images: Vec<ImageResult>, selection: Vec<PathBuf>) -> Arc<StackResult> {
    Arc::new(StackResult {
        images,
        resolved: resolved(),
        selection,
        elapsed: Duration::from_millis(42),
    })
}

/// A real (small) stack of the fixture's plan: 5 frames of 48 × 40 pixels.
fn stack_result(app: &App, selection: Vec<PathBuf>) -> Arc<StackResult> {
    result_of(vec![image_result(app, None, 1120.0)], selection)
}

/// Stacks `app`'s selection (`s`) and delivers the result; the effects that answer it.
fn stack_again(app: &mut App) -> Vec<Effect> {
    let effects = app.update(ch('s'));
    let Some(Effect::Stack { id, selection, .. }) = effects.into_iter().next() else {
        panic!("stack effect")
    };
    let result = stack_result(app, selection);
    app.update(Msg::Job(JobEvent::Stacked {
        id,
        result: Ok(result),
    }))
}

/// The fixture with all valid biases selected and a finished stack.
fn stacked() -> App {
    let mut app = fixture();
    app.update(ch('a'));
    stack_again(&mut app);
    app
}

fn render(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    app.update(Msg::Resize(width, height));
    terminal.draw(|f| ui::draw(f, app)).unwrap();
    terminal
}

// ---- behaviour -------------------------------------------------------------------------

#[test]
fn files_marks_and_select_all_valid_biases() {
    let mut app = fixture();
    let marks: Vec<_> = app
        .files
        .entries
        .iter()
        .map(|e| app.files.mark(&e.path))
        .collect();
    assert_eq!(marks.iter().filter(|m| **m == Mark::Ok).count(), 5);
    assert!(matches!(&marks[8], Mark::Error(r) if r.contains("not a bias")));
    assert!(matches!(&marks[9], Mark::Error(r) if r.contains("binning is 2x2")));
    assert!(matches!(&marks[10], Mark::Error(r) if r.contains("not a FITS file")));
    assert!(app.update(ch('a')).is_empty());
    assert_eq!(app.files.selected.len(), 5);
    assert!(
        app.files
            .verdict()
            .1
            .starts_with("✓ 5 bias frame(s), soxs-vis 1x1")
    );
}

#[test]
fn space_toggles_and_the_set_verdict_follows() {
    let mut app = fixture();
    app.update(ch('a'));
    app.files.table.select(Some(9)); // the binned frame
    app.update(ch(' '));
    assert_eq!(app.files.selected.len(), 6);
    assert_eq!(app.files.cursor(), 10, "Space moves on");
    let (_, verdict) = app.files.verdict();
    assert!(
        verdict.contains("binning differs: 1x1 ×5, 2x2 ×1"),
        "{verdict}"
    );
    assert!(
        app.update(ch('s')).is_empty(),
        "an invalid selection does not stack"
    );
    assert!(app.notice.as_ref().unwrap().error);
    app.update(ch('n'));
    assert!(app.files.selected.is_empty());
}

#[test]
fn enter_opens_folders_and_sofs_and_backspace_goes_up() {
    let mut app = fixture();
    app.update(key(KeyCode::Down));
    let effects = app.update(key(KeyCode::Enter));
    assert!(
        matches!(&effects[..], [Effect::OpenDir { dir, .. }] if dir == Path::new("/night/calib"))
    );
    app.update(key(KeyCode::Down));
    let effects = app.update(key(KeyCode::Enter));
    assert!(
        matches!(&effects[..], [Effect::OpenSof { sof, .. }] if sof == Path::new("/night/night.sof"))
    );
    let effects = app.update(key(KeyCode::Backspace));
    assert!(matches!(&effects[..], [Effect::OpenDir { dir, .. }] if dir == Path::new("/")));
}

#[test]
fn a_sof_opens_as_a_selection_and_names_the_product() {
    let mut app = fixture();
    let paths: Vec<PathBuf> = (0..3)
        .map(|i| Path::new(NIGHT).join(bias_name(i)))
        .collect();
    app.files.table.select(Some(2));
    let effects = app.update(key(KeyCode::Enter));
    let Some(Effect::OpenSof { id, .. }) = effects.into_iter().next() else {
        panic!()
    };
    let entries = app.files.entries.clone();
    app.update(Msg::Job(JobEvent::Listed {
        id,
        dir: PathBuf::from(NIGHT),
        entries: Ok(entries),
        select: Some(paths.clone()),
    }));
    assert_eq!(
        app.files.selected.iter().cloned().collect::<Vec<_>>(),
        paths
    );
    assert_eq!(
        app.files.sof.as_deref(),
        Some(Path::new("/night/night.sof"))
    );
}

#[test]
fn s_stacks_off_the_ui_thread_and_esc_cancels() {
    let mut app = fixture();
    app.update(ch('a'));
    let effects = app.update(ch('s'));
    let [
        Effect::Stack {
            id,
            source: StackSource::Read { plans, .. },
            selection,
            ..
        },
    ] = &effects[..]
    else {
        panic!("{effects:?}")
    };
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].frames.len(), 5);
    assert_eq!(selection.len(), 5);
    let id = *id;
    app.update(Msg::Job(JobEvent::Progress {
        id,
        stage: Stage::Reading { done: 2, total: 5 },
    }));
    assert_eq!(
        app.job,
        Job::Stacking {
            id,
            stage: Stage::Reading { done: 2, total: 5 }
        }
    );
    assert!(app.wants_ticks());
    let effects = app.update(key(KeyCode::Esc));
    assert!(matches!(&effects[..], [Effect::Cancel(c)] if *c == id));
    assert_eq!(app.job, Job::Idle);
    // The cancelled job's late answer changes nothing.
    let result = stack_result(&app, selection.clone());
    app.update(Msg::Job(JobEvent::Stacked {
        id,
        result: Ok(result),
    }));
    assert!(app.results.result.is_none());
}

#[test]
fn parameter_changes_restack_the_frames_in_memory_after_a_debounce() {
    let mut app = stacked();
    assert!(app.loaded.is_some());
    app.update(key(KeyCode::Tab));
    assert_eq!(app.focus, Focus::Params);
    assert!(
        app.update(key(KeyCode::Right)).is_empty(),
        "nothing starts before the debounce"
    );
    assert_eq!(app.params.params.stacked_clipping_sigma, 4.1);
    assert!(app.results.stale && app.restack_at.is_some());
    assert!(
        app.update(Msg::Tick(Instant::now() - Duration::from_secs(1)))
            .is_empty()
    );
    let effects = app.update(Msg::Tick(Instant::now() + Duration::from_secs(1)));
    let [
        Effect::Stack {
            id: first,
            source: StackSource::Loaded(_),
            resolved,
            ..
        },
    ] = &effects[..]
    else {
        panic!("a re-stack without reading: {effects:?}")
    };
    assert_eq!(resolved.params.stacked_clipping_sigma, 4.1);
    // Another change while that runs: the newest request wins.
    let first = *first;
    app.update(key(KeyCode::Right));
    let effects = app.update(Msg::Tick(Instant::now() + Duration::from_secs(1)));
    assert!(
        matches!(&effects[..], [Effect::Cancel(c), Effect::Stack { resolved, .. }]
        if *c == first && resolved.params.stacked_clipping_sigma == 4.2)
    );
}

#[test]
fn esc_during_an_automatic_restack_returns_to_the_last_result_marked_stale() {
    let mut app = stacked();
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Right));
    let effects = app.update(Msg::Tick(Instant::now() + Duration::from_secs(1)));
    let [Effect::Stack { id, .. }] = &effects[..] else {
        panic!("{effects:?}")
    };
    let id = *id;
    let effects = app.update(key(KeyCode::Esc));
    assert!(matches!(&effects[..], [Effect::Cancel(c)] if *c == id));
    assert_eq!(app.job, Job::Idle);
    assert!(!app.wants_ticks(), "nothing left running or due");
    let screen = text_of(&mut app, 120, 40);
    assert!(!screen.contains("updating"), "{screen}");
    assert!(screen.contains("(stale"), "{screen}");
    assert!(
        screen.contains("re-stack cancelled") && screen.contains("s stacks"),
        "{screen}"
    );
    // `w` refuses the stale result and says why.
    assert!(app.update(ch('w')).is_empty());
    let notice = app
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default();
    assert!(notice.contains("parameters changed"), "{notice}");
    // The next change re-stacks after the debounce.
    app.update(key(KeyCode::Right));
    assert!(app.restack_at.is_some());
    let effects = app.update(Msg::Tick(Instant::now() + Duration::from_secs(1)));
    assert!(matches!(&effects[..], [Effect::Stack { resolved, .. }]
        if resolved.params.stacked_clipping_sigma == 4.2));
}

/// Everything on the screen as one string.
fn text_of(app: &mut App, width: u16, height: u16) -> String {
    let terminal = render(app, width, height);
    terminal
        .backend()
        .buffer()
        .content
        .iter()
        .map(|c| c.symbol())
        .collect()
}

#[test]
fn typed_values_are_checked_and_bad_ones_refused() {
    let mut app = fixture();
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Enter));
    assert_eq!(app.params.editing.as_deref(), Some("3"));
    app.update(key(KeyCode::Backspace));
    app.update(ch('0'));
    app.update(key(KeyCode::Enter));
    let notice = app.notice.clone().unwrap();
    assert!(
        notice.error && notice.text.contains("at least 1") && notice.text.contains("kept 3"),
        "{notice:?}"
    );
    assert_eq!(app.params.params.stacked_clipping_iterations, 3);
    app.update(key(KeyCode::Enter));
    app.update(key(KeyCode::Backspace));
    for c in "5".chars() {
        app.update(ch(c));
    }
    app.update(key(KeyCode::Enter));
    assert_eq!(app.params.params.stacked_clipping_iterations, 5);
    app.update(key(KeyCode::Enter));
    app.update(ch('x'));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.params.editing, None);
    assert_eq!(app.params.params.stacked_clipping_iterations, 5);
}

#[test]
fn w_writes_and_asks_before_overwriting() {
    let mut app = fixture();
    assert!(app.update(ch('w')).is_empty());
    assert!(
        app.notice
            .as_ref()
            .unwrap()
            .text
            .contains("nothing to write")
    );
    let mut app = stacked();
    let effects = app.update(ch('w'));
    let [
        Effect::WriteProduct {
            folder,
            name,
            overwrite: false,
            ..
        },
    ] = &effects[..]
    else {
        panic!("{effects:?}")
    };
    assert_eq!(folder, Path::new("/out"));
    assert_eq!(name, "20251010T091927_VIS_1X1_1_MBIAS_SOXS.fits");
    let existing = PathBuf::from("/out").join(name);
    app.update(Msg::Job(JobEvent::Wrote(
        Err(WriteFailure::Exists(existing.clone())),
        None,
    )));
    assert!(
        matches!(&app.overlay, Some(Overlay::ConfirmOverwrite { path, .. }) if *path == existing)
    );
    let effects = app.update(ch('y'));
    assert!(matches!(
        &effects[..],
        [Effect::WriteProduct {
            overwrite: true,
            ..
        }]
    ));
    app.update(Msg::Job(JobEvent::Wrote(Ok(existing), None)));
    assert_eq!(
        app.notice.as_ref().unwrap().text,
        "wrote /out/20251010T091927_VIS_1X1_1_MBIAS_SOXS.fits"
    );
    app.update(Msg::Job(JobEvent::Wrote(
        Err(WriteFailure::Failed("disk full".into())),
        None,
    )));
    assert!(app.notice.as_ref().unwrap().error);
}

#[test]
fn capital_s_saves_the_parameters_as_settings() {
    let mut app = stacked();
    let effects = app.update(ch('S'));
    let [
        Effect::SaveSettings {
            path,
            overwrite: false,
            text,
        },
    ] = &effects[..]
    else {
        panic!("{effects:?}")
    };
    assert_eq!(path, Path::new("/out/mbias-settings.yaml"));
    let back = Settings::parse(text).unwrap();
    let soxs = mbias::detector::soxs_vis();
    assert_eq!(
        back.resolve(soxs).unwrap().params.stacked_clipping_sigma,
        4.0
    );
}

#[test]
fn help_is_modal_and_quitting_asks_during_a_stack() {
    let mut app = fixture();
    app.update(ch('?'));
    assert_eq!(app.overlay, Some(Overlay::Help(0)));
    assert!(app.update(ch('s')).is_empty(), "keys go to the overlay");
    app.update(key(KeyCode::Down));
    assert_eq!(app.overlay, Some(Overlay::Help(1)), "the arrows scroll it");
    app.update(key(KeyCode::Up));
    app.update(key(KeyCode::Up));
    assert_eq!(app.overlay, Some(Overlay::Help(0)));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.overlay, None);
    assert!(matches!(&app.update(ch('q'))[..], [Effect::Quit]));
    app.update(ch('a'));
    app.update(ch('s'));
    assert!(app.update(ch('q')).is_empty());
    assert_eq!(app.overlay, Some(Overlay::ConfirmQuit(QuitRisk::Stacking)));
    app.update(ch('n'));
    assert_eq!(app.overlay, None);
    app.update(ch('q'));
    assert!(matches!(&app.update(ch('y'))[..], [Effect::Quit]));
    let ctrl_c = Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    let mut app = fixture();
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Enter));
    assert!(app.params.editing.is_some());
    assert!(
        matches!(&app.update(ctrl_c)[..], [Effect::Quit]),
        "Ctrl-C quits even while typing"
    );
}

#[test]
fn results_tabs_and_profile_choices() {
    let mut app = stacked();
    app.update(ch('2'));
    app.update(key(KeyCode::BackTab));
    assert_eq!(app.focus, Focus::Results);
    app.update(key(KeyCode::Down));
    assert_eq!(app.results.profile_line(), Some(0));
    app.update(key(KeyCode::PageDown));
    assert_eq!(
        app.results.profile_line(),
        Some(47),
        "clamped to the last row"
    );
    app.update(ch('x'));
    assert_eq!(
        (app.results.axis(), app.results.profile_line()),
        (Axis::Rows, None)
    );
    app.update(key(KeyCode::Up));
    assert_eq!(
        app.results.profile_line(),
        Some(39),
        "up from the mean starts at the last column"
    );
    app.update(ch('m'));
    assert_eq!(app.results.profile_line(), None);
    // ← → move the cursor along the profile; the digits change the tab.
    let (x, y) = app.results.cursor_pixel().unwrap();
    app.update(key(KeyCode::Left));
    assert_eq!(app.results.tab, 1);
    assert_eq!(app.results.cursor_pixel(), Some((x, y - 1)));
    app.update(ch('3'));
    assert_eq!(app.results.tab, 2);
}

/// Types `text` into the results pane's prompt and presses Enter.
fn type_in(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(ch(c));
    }
    app.update(key(KeyCode::Enter));
}

#[test]
fn the_profile_goes_to_a_typed_row_averages_a_band_and_reads_out_the_cursor() {
    let mut app = stacked();
    app.update(ch('2'));
    app.update(key(KeyCode::BackTab));
    let master = app.results.shown().unwrap().outcome.master.clone();
    let gain = app.results.shown().unwrap().loaded.set.plan.gain;
    app.update(ch('g'));
    assert!(
        text_of(&mut app, 120, 40).contains("go to row (1–48): "),
        "{}",
        text_of(&mut app, 120, 40)
    );
    type_in(&mut app, "12");
    assert_eq!(
        app.results.profile_line(),
        Some(11),
        "FITS rows count from 1"
    );
    let (x, _) = app.results.cursor_pixel().unwrap();
    let screen = text_of(&mut app, 120, 40);
    assert!(
        screen.contains("row 12, bad pixels left out, e-"),
        "{screen}"
    );
    let value = master.flux[[11, x]];
    assert!(
        screen.contains(&format!("x {} y 12  profile {value:.3} e-", x + 1)),
        "{value}: {screen}"
    );
    // A band of three rows about row 12: the mean of rows 11–13.
    app.update(ch('a'));
    type_in(&mut app, "3");
    let band: f64 = (10..13)
        .map(|r| f64::from(master.flux[[r, x]]))
        .sum::<f64>()
        / 3.0;
    let screen = text_of(&mut app, 120, 40);
    assert!(screen.contains("rows 11–13 averaged"), "{screen}");
    assert!(
        screen.contains(&format!("profile {band:.3} e-")),
        "{band}: {screen}"
    );
    // In ADU, with the first raw frame over it.
    app.update(ch('u'));
    app.update(ch('v'));
    let screen = text_of(&mut app, 120, 40);
    assert!(
        screen.contains(&format!("profile {:.3} ADU", band / gain)),
        "{screen}"
    );
    assert!(screen.contains("raw 1/"), "{screen}");
    // The Preview marks the profiled row at the image's edges.
    app.update(ch('3'));
    let ticks = image_cells(&mut app, 120, 40)
        .iter()
        .filter(|(_, c)| c.fg == Color::Cyan || c.bg == Color::Cyan)
        .count();
    assert!(ticks >= 2, "{ticks} cyan cells on the image");
    app.update(ch('2'));
    // A row that is not there is refused, and nothing moves.
    app.update(ch('g'));
    type_in(&mut app, "49");
    assert_eq!(app.results.profile_line(), Some(11));
    assert!(
        app.notice
            .as_ref()
            .unwrap()
            .text
            .contains("nothing changed")
    );
    // Esc drops a typed value.
    app.update(ch('g'));
    app.update(ch('5'));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.results.prompt, None);
    assert_eq!(app.results.profile_line(), Some(11));
}

#[test]
fn the_profile_shows_bad_pixels_when_asked() {
    let mut app = stacked();
    app.update(ch('2'));
    app.update(key(KeyCode::BackTab));
    let master = app.results.shown().unwrap().outcome.master.clone();
    let Some(((y, x), _)) = master.qual.indexed_iter().find(|(_, q)| **q != 0) else {
        panic!("the fixture has bad pixels");
    };
    app.update(ch('g'));
    type_in(&mut app, &format!("{}", y + 1));
    app.results.cursor = Some((x, y));
    assert!(text_of(&mut app, 120, 40).contains("profile —"));
    app.update(ch('b'));
    let screen = text_of(&mut app, 120, 40);
    assert!(screen.contains("bad pixels shown"), "{screen}");
    assert!(
        screen.contains(&format!("profile {:.3} e-", master.flux[[y, x]])),
        "{screen}"
    );
}

#[test]
fn mouse_focuses_selects_and_scrolls() {
    let mut app = fixture();
    app.update(Msg::Resize(120, 40));
    let areas = app.areas();
    let click = |x, y| {
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: x,
            row: y,
            modifiers: KeyModifiers::NONE,
        })
    };
    app.update(click(areas.params.x + 3, areas.params.y + 3));
    assert_eq!((app.focus, app.params.cursor), (Focus::Params, 2));
    app.update(click(areas.files.x + 5, areas.files.y + 5));
    assert_eq!((app.focus, app.files.cursor()), (Focus::Files, 3));
    let wheel = Msg::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: areas.files.x + 5,
        row: areas.files.y + 5,
        modifiers: KeyModifiers::NONE,
    });
    app.update(wheel);
    assert_eq!(app.files.cursor(), 4);
    app.update(click(areas.results.x + 1 + 30, areas.results.y + 1));
    assert_eq!((app.focus, app.results.tab), (Focus::Results, 3));
}

// ---- rendering -------------------------------------------------------------------------

macro_rules! snapshot {
    ($name:expr, $app:expr) => {
        for (w, h) in [(80u16, 24u16), (120, 40)] {
            let terminal = render(&mut $app, w, h);
            insta::assert_snapshot!(format!("{}_{w}x{h}", $name), terminal.backend());
        }
    };
}

#[test]
fn snapshot_files_pane() {
    let mut app = fixture();
    snapshot!("files", app);
    app.update(ch('a'));
    app.update(key(KeyCode::Down));
    snapshot!("files_selected", app);
}

#[test]
fn snapshot_error_state() {
    let mut app = fixture();
    app.update(ch('a'));
    app.files.table.select(Some(9));
    app.update(ch(' '));
    app.update(ch('s'));
    snapshot!("files_error", app);
}

#[test]
fn snapshot_params_pane_while_typing() {
    let mut app = fixture();
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Enter));
    app.update(key(KeyCode::Backspace));
    app.update(ch('5'));
    snapshot!("params_editing", app);
}

#[test]
fn snapshot_stacking_progress() {
    let mut app = fixture();
    app.update(ch('a'));
    let effects = app.update(ch('s'));
    let Some(Effect::Stack { id, .. }) = effects.into_iter().next() else {
        panic!()
    };
    app.update(Msg::Job(JobEvent::Progress {
        id,
        stage: Stage::Reading { done: 3, total: 5 },
    }));
    snapshot!("stacking", app);
}

#[test]
fn snapshot_result_tabs() {
    let mut app = stacked();
    app.update(key(KeyCode::BackTab));
    for (tab, name) in [
        ('1', "qc"),
        ('2', "profile"),
        ('3', "preview"),
        ('4', "frames"),
        ('5', "histogram"),
    ] {
        app.update(ch(tab));
        snapshot!(format!("results_{name}"), app);
    }
    app.update(ch('2'));
    app.update(ch('x'));
    app.update(key(KeyCode::Down));
    snapshot!("results_profile_one_column", app);
}

/// The fixture with every frame selected and stacked into the images `make` builds.
fn stacked_into(make: impl FnOnce(&App) -> Vec<ImageResult>) -> App {
    let mut app = fixture();
    app.update(ch('a'));
    let effects = app.update(ch('s'));
    let Some(Effect::Stack { id, selection, .. }) = effects.into_iter().next() else {
        panic!("stack effect")
    };
    let images = make(&app);
    app.update(Msg::Job(JobEvent::Stacked {
        id,
        result: Ok(result_of(images, selection)),
    }));
    app
}

#[test]
fn writing_extensions_placed_on_the_detector_names_the_assembled_file_too() {
    let mut app = stacked_into(|app| {
        vec![
            image_result_placed(app, Some("L"), 1120.0, Vec::new(), Some("[1:40,1:48]")),
            image_result_placed(app, Some("R"), 1500.0, Vec::new(), Some("[80:41,1:48]")),
        ]
    });
    app.update(Msg::Job(JobEvent::Wrote(
        Ok(PathBuf::from("/out/m.fits")),
        None,
    )));
    let notice = app.notice.clone().unwrap().text;
    assert_eq!(
        notice,
        "wrote /out/m.fits and its _ASSEMBLED.fits (the whole detector)"
    );
}

#[test]
fn a_multi_extension_result_shows_one_extension_and_writes_them_all() {
    let mut app = stacked_into(|app| {
        vec![
            image_result(app, Some("AMP1"), 1120.0),
            image_result(app, Some("AMP2"), 1500.0),
        ]
    });
    let notice = app.notice.clone().unwrap().text;
    assert!(
        notice.contains("showing AMP1; w writes all 2 extensions (e: next)"),
        "{notice}"
    );
    assert_eq!(app.loaded.as_ref().unwrap().1.len(), 2, "both in memory");
    let screen = |app: &mut App| -> String {
        let terminal = render(app, 120, 40);
        let buffer = terminal.backend().buffer();
        buffer.content.iter().map(|c| c.symbol()).collect()
    };
    app.update(key(KeyCode::BackTab));
    app.update(ch('1'));
    let first = screen(&mut app);
    assert!(first.contains("Results AMP1 (1/2)"), "{first}");
    assert!(first.contains("1121."), "AMP1's level: {first}");
    app.update(ch('e'));
    let second = screen(&mut app);
    assert!(second.contains("Results AMP2 (2/2)"), "{second}");
    assert!(second.contains("1501."), "AMP2's level: {second}");
    app.update(ch('e'));
    assert!(
        screen(&mut app).contains("Results AMP1 (1/2)"),
        "wraps around"
    );
    let effects = app.update(ch('w'));
    let [Effect::WriteProduct { result, .. }] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(result.images.len(), 2, "the product holds every extension");
    // A parameter change re-stacks every extension from memory.
    app.update(key(KeyCode::BackTab));
    app.update(key(KeyCode::Right));
    let effects = app.update(Msg::Tick(Instant::now() + Duration::from_secs(1)));
    let [
        Effect::Stack {
            source: StackSource::Loaded(loaded),
            ..
        },
    ] = &effects[..]
    else {
        panic!("{effects:?}")
    };
    assert_eq!(loaded.len(), 2);
}

#[test]
fn qc_table_scrolls_when_the_pane_is_short() {
    let mut app = stacked();
    app.update(key(KeyCode::BackTab));
    app.update(ch('1'));
    let text = |app: &mut App| -> String {
        let terminal = render(app, 80, 24);
        let buffer = terminal.backend().buffer();
        buffer.content.iter().map(|c| c.symbol()).collect()
    };
    let top = text(&mut app);
    assert!(top.contains("MBIAS MEDIAN") && !top.contains("PATTERN AMP"));
    assert!(top.contains("0 above · 10 below"), "{top}");
    app.update(key(KeyCode::PageDown));
    let bottom = text(&mut app);
    assert!(bottom.contains("PATTERN AMP") && !bottom.contains("MBIAS MEDIAN"));
    assert!(bottom.contains("10 above · 0 below"), "{bottom}");
    // Clamped while drawing: one step up moves at once, however far PgDn overshot.
    app.update(key(KeyCode::Up));
    assert!(text(&mut app).contains("9 above · 1 below"));
    app.update(key(KeyCode::PageUp));
    assert_eq!(text(&mut app), top);
    // Where everything fits there is nothing to scroll.
    let tall = text_of(&mut app, 120, 40);
    assert!(
        tall.contains("MBIAS MEDIAN") && tall.contains("PATTERN AMP") && !tall.contains("scroll")
    );
}

#[test]
fn snapshot_overlays() {
    let mut app = fixture();
    app.update(ch('?'));
    snapshot!("help", app);
    let mut app = fixture();
    app.update(ch('a'));
    app.update(ch('s'));
    app.update(ch('q'));
    snapshot!("confirm_quit", app);
}

#[test]
fn monochrome_theme_uses_no_colour() {
    let mut app = stacked();
    app.theme = Theme::mono();
    app.update(ch('3'));
    snapshot!("mono_preview", app);
    app.update(ch('1'));
    let terminal = render(&mut app, 120, 40);
    let buffer = terminal.backend().buffer();
    assert!(
        buffer
            .content
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset)
    );
    let text: String = buffer.content.iter().map(|c| c.symbol()).collect();
    assert!(
        text.contains("pass"),
        "verdicts are words, not only colours"
    );
    // The progress bar's filled part has a shape of its own.
    app.update(ch('s'));
    let effects = app.update(Msg::Tick(Instant::now()));
    assert!(effects.is_empty());
    let Job::Stacking { id, .. } = app.job else {
        panic!("{:?}", app.job)
    };
    app.update(Msg::Job(JobEvent::Progress {
        id,
        stage: Stage::Reading { done: 3, total: 5 },
    }));
    let text = text_of(&mut app, 120, 40);
    assert!(text.contains("█"), "{text}");
}

#[test]
fn too_small_terminal_says_so() {
    let mut app = fixture();
    let terminal = render(&mut app, 60, 20);
    insta::assert_snapshot!("too_small", terminal.backend());
}

#[test]
fn a_signal_quits_without_asking_and_keeps_its_number() {
    let mut app = fixture();
    let effects = app.update(Msg::Signal(15));
    assert!(matches!(effects.as_slice(), [Effect::Quit]), "{effects:?}");
    assert_eq!(app.signalled, Some(15));
    assert!(app.overlay.is_none(), "no confirmation to answer");
}

#[test]
fn a_failed_stack_is_shown_and_the_console_keeps_working() {
    let mut app = fixture();
    app.update(ch('a'));
    let effects = app.update(ch('s'));
    let [Effect::Stack { id, .. }] = &effects[..] else {
        panic!("{effects:?}")
    };
    let bad = PathBuf::from(NIGHT).join(bias_name(3));
    assert_eq!(app.files.mark(&bad), Mark::Ok);
    let message = format!(
        "{}, HDU 0: no finite pixel in the science window",
        bad.display()
    );
    app.update(Msg::Job(JobEvent::Stacked {
        id: *id,
        result: Err(StackFailure {
            message: message.clone(),
            file: Some(bad.clone()),
        }),
    }));
    assert_eq!(app.job, Job::Idle);
    let notice = app.notice.clone().unwrap();
    assert!(
        notice.error && notice.text.contains(&bias_name(3)),
        "{notice:?}"
    );
    // The frame's row turns from ✓ to ✗, with the reason.
    assert_eq!(app.files.mark(&bad), Mark::Error(message));
    // Still usable: the cursor moves, and s stacks again.
    let before = app.files.table.selected();
    app.update(key(KeyCode::Down));
    assert_ne!(app.files.table.selected(), before);
    let again = app.update(ch('s'));
    assert!(matches!(&again[..], [Effect::Stack { .. }]), "{again:?}");
}

// ---- no verdict before verification; the master written is the master on screen -------

/// The fixture's folder listed, with the headers of its first `read` frames received but
/// not yet verified (a large folder verifies in batches) and the scan still running; and
/// the headers still to come.
type Scanned = Vec<(PathBuf, Result<mbias::fits::FrameFile, FitsError>)>;
fn scanning(read: usize) -> (App, u64, Scanned) {
    let done = fixture();
    let (mut app, effects) = App::new(
        Start::Folder(PathBuf::from(NIGHT)),
        Settings::default(),
        PathBuf::from("/out"),
        None,
        Theme::colour(),
    );
    let Effect::OpenDir { id, .. } = effects[0] else {
        panic!("{effects:?}")
    };
    app.update(Msg::Job(JobEvent::Listed {
        id,
        dir: PathBuf::from(NIGHT),
        entries: Ok(done.files.entries.clone()),
        select: None,
    }));
    let mut frames: Scanned = done
        .files
        .headers
        .iter()
        .map(|(p, h)| (p.clone(), h.clone()))
        .collect();
    let rest = frames.split_off(read);
    app.update(Msg::Job(JobEvent::Scanned { id, frames }));
    (app, id, rest)
}

#[test]
fn no_row_shows_a_verdict_before_its_header_is_verified() {
    let (mut app, id, rest) = scanning(3);
    assert_eq!(app.files.headers.len(), 3, "three headers arrived");
    for entry in app
        .files
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Fits)
    {
        assert_eq!(app.files.mark(&entry.path), Mark::Pending, "{}", entry.name);
    }
    let screen = format!("{:?}", render(&mut app, 120, 40).backend().buffer());
    assert!(!screen.contains('✓'), "no ✓ before a verdict");
    assert!(screen.contains("reading…"));

    // `a` during the scan selects nothing unverified, says how many are pending, and
    // takes the valid ones once the scan has verified them.
    app.update(ch('a'));
    assert!(app.files.selected.is_empty());
    let notice = app.notice.clone().unwrap().text;
    assert!(notice.contains("8 file(s) still being read"), "{notice}");
    app.update(Msg::Job(JobEvent::Scanned { id, frames: rest }));
    app.update(Msg::Job(JobEvent::ScanDone { id }));
    assert_eq!(app.files.selected.len(), 5);
    assert!(!app.files.select_all_when_read);
}

#[test]
fn a_selection_change_after_a_stack_restacks_and_w_never_writes_the_old_frames() {
    let mut app = stacked();
    let first = Path::new(NIGHT).join(bias_name(0));
    // Enter, → and l on a frame do not touch the selection: only Space does.
    app.files.table.select(Some(3));
    for code in [KeyCode::Enter, KeyCode::Right, KeyCode::Char('l')] {
        assert!(app.update(key(code)).is_empty());
        assert!(app.files.selected.contains(&first), "{code:?}");
    }
    assert!(!app.results.stale);

    app.update(ch(' '));
    assert!(!app.files.selected.contains(&first));
    assert!(app.results.stale && app.restack_at.is_some());
    assert!(
        app.update(ch('w')).is_empty(),
        "the old master is not written"
    );
    let notice = app.notice.clone().unwrap();
    assert!(
        notice.error && notice.text.contains("selection changed"),
        "{notice:?}"
    );

    // The re-stack reads nothing it holds: the frames in memory come along for reuse.
    let effects = app.update(Msg::Tick(Instant::now() + Duration::from_secs(1)));
    let [
        Effect::Stack {
            id,
            source: StackSource::Read { plans, reuse },
            selection,
            ..
        },
    ] = &effects[..]
    else {
        panic!("a re-stack of the new selection: {effects:?}")
    };
    assert_eq!(plans[0].frames.len(), 4);
    assert_eq!(reuse.len(), 1);
    assert!(!selection.contains(&first));
    let (id, selection) = (*id, selection.clone());
    app.update(Msg::Job(JobEvent::Stacked {
        id,
        result: Ok(stack_result(&app, selection)),
    }));
    assert!(!app.results.stale);
    assert!(matches!(
        &app.update(ch('w'))[..],
        [Effect::WriteProduct { .. }]
    ));

    // Unstackable now: the running re-stack stops and w still refuses the old result.
    app.update(ch('n'));
    assert!(app.results.stale && app.restack_at.is_none());
    assert!(app.update(ch('w')).is_empty());
    let screen = format!("{:?}", render(&mut app, 120, 40).backend().buffer());
    assert!(
        screen.contains("(stale: not what the panes show)"),
        "{screen}"
    );
    assert!(!screen.contains("updating"), "nothing is updating");
}

#[test]
fn w_refuses_a_result_whose_parameters_differ_even_when_not_marked_stale() {
    let mut app = stacked();
    app.params.params = app
        .params
        .params
        .with(|p| p.stacked_clipping_sigma += 1.0)
        .unwrap();
    assert!(!app.results.stale);
    assert!(app.update(ch('w')).is_empty());
    assert!(
        app.notice
            .clone()
            .unwrap()
            .text
            .contains("parameters changed")
    );
}

#[test]
fn ctrl_c_quits_with_sigint_s_status() {
    let mut app = fixture();
    let effects = app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert!(matches!(&effects[..], [Effect::Quit]));
    assert_eq!(app.signalled, Some(2));
}

#[test]
fn a_sof_opened_during_a_scan_keeps_its_own_selection() {
    let (mut app, _, rest) = scanning(3);
    app.update(ch('a'));
    assert!(app.files.select_all_when_read);
    app.files.table.select(Some(2)); // night.sof
    let effects = app.update(key(KeyCode::Enter));
    let [Effect::OpenSof { id: sof_scan, .. }] = effects[..] else {
        panic!("{effects:?}")
    };
    assert!(!app.files.select_all_when_read, "the SOF names the frames");
    // The SOF's scan lists its two frames as the selection; when it ends, they are
    // still the selection, not every valid bias of the folder.
    let chosen: Vec<PathBuf> = (0..2)
        .map(|i| Path::new(NIGHT).join(bias_name(i)))
        .collect();
    let entries = app.files.entries.clone();
    app.update(Msg::Job(JobEvent::Listed {
        id: sof_scan,
        dir: PathBuf::from(NIGHT),
        entries: Ok(entries),
        select: Some(chosen.clone()),
    }));
    let mut all = rest;
    all.extend(
        app.files
            .headers
            .iter()
            .map(|(p, h)| (p.clone(), h.clone())),
    );
    app.update(Msg::Job(JobEvent::Scanned {
        id: sof_scan,
        frames: all,
    }));
    app.update(Msg::Job(JobEvent::ScanDone { id: sof_scan }));
    assert_eq!(
        app.files.selected.iter().cloned().collect::<Vec<_>>(),
        chosen
    );
}

#[test]
fn a_click_while_typing_a_value_leaves_the_focus_with_it() {
    let mut app = fixture();
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Enter));
    assert!(app.params.editing.is_some());
    app.update(Msg::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 5,
        row: 3,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(app.focus, Focus::Params);
    assert!(app.params.editing.is_some());
}

// ---- states that tell the truth ----------------------------------------------------------

#[test]
fn the_quit_question_goes_when_the_stack_ends() {
    let mut app = fixture();
    app.update(ch('a'));
    let effects = app.update(ch('s'));
    let [Effect::Stack { id, selection, .. }] = &effects[..] else {
        panic!("{effects:?}")
    };
    let (id, selection) = (*id, selection.clone());
    app.update(ch('q'));
    assert_eq!(app.overlay, Some(Overlay::ConfirmQuit(QuitRisk::Stacking)));
    let result = stack_result(&app, selection);
    app.update(Msg::Job(JobEvent::Stacked {
        id,
        result: Ok(result),
    }));
    assert_eq!(app.overlay, None, "no stack is running any more");
    // Untuned and unwritten: quitting loses nothing the settings do not hold.
    assert!(matches!(&app.update(ch('q'))[..], [Effect::Quit]));
}

#[test]
fn q_asks_before_losing_a_tuned_master_that_was_not_written() {
    let mut app = stacked();
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Right));
    let effects = app.update(Msg::Tick(Instant::now() + Duration::from_secs(1)));
    let [Effect::Stack { id, selection, .. }] = &effects[..] else {
        panic!("{effects:?}")
    };
    let mut result = stack_result(&app, selection.clone());
    Arc::get_mut(&mut result).unwrap().resolved.params = app.params.params;
    app.update(Msg::Job(JobEvent::Stacked {
        id: *id,
        result: Ok(result),
    }));
    assert!(app.update(ch('q')).is_empty());
    assert_eq!(app.overlay, Some(Overlay::ConfirmQuit(QuitRisk::Unwritten)));
    let screen = text_of(&mut app, 120, 40);
    assert!(screen.contains("has not been written"), "{screen}");
    app.update(ch('n'));
    // Written, it may go without a question.
    app.update(Msg::Job(JobEvent::Wrote(
        Ok(PathBuf::from("/out/m.fits")),
        None,
    )));
    assert!(matches!(&app.update(ch('q'))[..], [Effect::Quit]));
}

#[test]
fn declining_an_overwrite_says_nothing_was_written() {
    let mut app = stacked();
    app.update(Msg::Job(JobEvent::Wrote(
        Err(WriteFailure::Exists(PathBuf::from("/out/m.fits"))),
        None,
    )));
    assert!(matches!(
        app.overlay,
        Some(Overlay::ConfirmOverwrite { .. })
    ));
    app.update(ch('n'));
    let notice = app.notice.clone().unwrap();
    assert!(
        notice.text.contains("nothing written") && !notice.text.contains("wrote"),
        "{notice:?}"
    );
}

#[test]
fn the_qc_verdict_names_a_failure_and_never_claims_a_pass_without_ranges() {
    let mut app = stacked();
    let notice = app.notice.clone().unwrap().text;
    // The fixture's result fails FPN FRACMAX first (see the QC snapshot).
    assert!(
        notice.contains("FPN FRACMAX fails: 825.0161 outside (0, 3) (and 2 more)"),
        "{notice}"
    );
    assert!(!notice.contains("all QC pass"), "{notice}");
    // Without any range, nothing was judged.
    let effects = app.update(ch('s'));
    let [Effect::Stack { id, selection, .. }] = &effects[..] else {
        panic!("{effects:?}")
    };
    let mut result = stack_result(&app, selection.clone());
    for image in &mut Arc::get_mut(&mut result).unwrap().images {
        for value in &mut image.outcome.qc.values {
            value.range = None;
            value.pass = None;
        }
    }
    app.update(Msg::Job(JobEvent::Stacked {
        id: *id,
        result: Ok(result),
    }));
    let notice = app.notice.clone().unwrap().text;
    assert!(notice.contains("no QC ranges set"), "{notice}");
}

// ---- parameters that show what they hold; a layout that uses the terminal --------------

#[test]
fn parameters_show_their_values_whole_and_a_comma_is_refused() {
    let mut app = fixture();
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Enter));
    for _ in 0..3 {
        app.update(key(KeyCode::Backspace));
    }
    for c in "3,5".chars() {
        app.update(ch(c));
    }
    app.update(key(KeyCode::Enter));
    let notice = app.notice.clone().unwrap();
    assert!(notice.error && notice.text.contains("3.5"), "{notice:?}");
    assert_eq!(app.params.params.stacked_clipping_sigma, 4.0, "never 35");
    app.update(key(KeyCode::Enter));
    for _ in 0..3 {
        app.update(key(KeyCode::Backspace));
    }
    for c in "4.12345".chars() {
        app.update(ch(c));
    }
    app.update(key(KeyCode::Enter));
    for _ in 0..5 {
        app.update(key(KeyCode::Down));
    }
    app.update(key(KeyCode::Right));
    assert_eq!(app.params.modes.rejection.name(), "noise-model");
    let screen = text_of(&mut app, 80, 24);
    assert!(screen.contains("4.12345"), "{screen}");
    assert!(screen.contains("noise-model"), "{screen}");
}

#[test]
fn z_gives_the_results_the_whole_screen_and_back() {
    let mut app = stacked();
    app.update(ch('z'));
    assert_eq!(app.focus, Focus::Results);
    let screen = text_of(&mut app, 120, 40);
    assert!(
        !screen.contains("Files") && !screen.contains("Parameters"),
        "{screen}"
    );
    assert!(
        screen.contains("PATTERN AMP"),
        "the whole QC table fits: {screen}"
    );
    assert!(app.update(key(KeyCode::Tab)).is_empty());
    assert_eq!(app.focus, Focus::Results, "no hidden pane takes the keys");
    app.update(ch('z'));
    let screen = text_of(&mut app, 120, 40);
    assert!(
        screen.contains("Files") && screen.contains("Parameters"),
        "{screen}"
    );
}

// ---- a Files pane you can read ---------------------------------------------------------

/// Moves the files cursor to the entry named `name`.
fn cursor_to(app: &mut App, name: &str) {
    app.update(key(KeyCode::Home));
    for _ in 0..app.files.entries.len() {
        if app.files.current().is_some_and(|e| e.name == name) {
            return;
        }
        app.update(key(KeyCode::Down));
    }
    panic!("no entry {name} in the folder");
}

#[test]
fn the_cursor_row_s_reason_is_shown_whole() {
    let mut app = fixture();
    cursor_to(&mut app, "SOXS.2025-10-10T11:19:27.000.fits");
    let Mark::Error(reason) = app
        .files
        .mark(&PathBuf::from(NIGHT).join("SOXS.2025-10-10T11:19:27.000.fits"))
    else {
        panic!("the binned frame is refused")
    };
    let screen = text_of(&mut app, 80, 24);
    let tail: String = reason
        .chars()
        .rev()
        .take(20)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert!(
        screen.contains(tail.trim()),
        "{reason} not whole in:\n{screen}"
    );
}

#[test]
fn r_reads_the_folder_again_and_new_files_appear_by_themselves() {
    let mut app = fixture();
    cursor_to(&mut app, &bias_name(2));
    let effects = app.update(ch('r'));
    assert!(
        matches!(&effects[..], [Effect::OpenDir { dir, .. }] if dir == Path::new(NIGHT)),
        "{effects:?}"
    );
    let mut app = fixture();
    cursor_to(&mut app, &bias_name(2));
    let effects = app.update(Msg::Watch);
    let [Effect::Refresh { id, dir, known }] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(dir, Path::new(NIGHT));
    assert!(known.contains(&PathBuf::from(NIGHT).join(bias_name(0))));
    assert!(app.update(Msg::Watch).is_empty(), "one look at a time");
    // A new bias arrived: listed, its header read, the cursor stays where it was.
    let id = *id;
    let mut entries = app.files.entries.clone();
    let new = bias_name(5);
    entries.insert(
        8,
        Entry {
            name: new.clone(),
            path: PathBuf::from(NIGHT).join(&new),
            kind: EntryKind::Fits,
        },
    );
    app.update(Msg::Job(JobEvent::Listed {
        id,
        dir: PathBuf::from(NIGHT),
        entries: Ok(entries),
        select: None,
    }));
    app.update(Msg::Job(JobEvent::Scanned {
        id,
        frames: vec![(
            PathBuf::from(NIGHT).join(&new),
            Ok(frame_file(&new, 24, &[], (4096, 2098))),
        )],
    }));
    app.update(Msg::Job(JobEvent::ScanDone { id }));
    assert_eq!(app.files.current().unwrap().name, bias_name(2));
    assert_eq!(app.files.mark(&PathBuf::from(NIGHT).join(&new)), Mark::Ok);
    assert!(app.files.refreshing.is_none());
}

#[test]
fn i_shows_the_header_and_slash_searches_it() {
    let mut app = fixture();
    cursor_to(&mut app, &bias_name(1));
    app.update(ch('i'));
    let Some(Overlay::Header(view)) = &app.overlay else {
        panic!("{:?}", app.overlay)
    };
    assert!(view.lines.iter().any(|l| l.contains("ESO DET CHIP RON")));
    for c in "/temp301".chars() {
        app.update(ch(c));
    }
    app.update(key(KeyCode::Enter));
    let screen = text_of(&mut app, 120, 40);
    assert!(
        screen.contains("TEMP301") && screen.contains("'temp301' on line"),
        "{screen}"
    );
    app.update(key(KeyCode::Esc));
    assert!(app.overlay.is_none());
    cursor_to(&mut app, "observing.log");
    app.update(ch('i'));
    assert!(app.overlay.is_none(), "no header for a log file");
}

#[test]
fn a_selection_in_another_folder_is_said_to_be_there() {
    let mut app = fixture();
    app.update(ch('a'));
    let effects = app.update(key(KeyCode::Backspace));
    let [Effect::OpenDir { id, dir }] = &effects[..] else {
        panic!("{effects:?}")
    };
    app.update(Msg::Job(JobEvent::Listed {
        id: *id,
        dir: dir.clone(),
        entries: Ok(Vec::new()),
        select: None,
    }));
    let screen = text_of(&mut app, 120, 40);
    assert!(screen.contains("5 selected in another folder"), "{screen}");
}

#[test]
fn the_frames_tab_tells_frames_apart_and_spreads_the_drift_over_the_width() {
    let mut app = stacked();
    app.update(key(KeyCode::BackTab));
    app.update(ch('4'));
    let terminal = render(&mut app, 80, 24);
    let buffer = terminal.backend().buffer();
    let lines: Vec<String> = (0..24)
        .map(|y| (0..80).map(|x| buffer[(x, y)].symbol()).collect())
        .collect();
    for minute in 19..23 {
        let name = format!("…9:{minute}:27.000");
        assert!(
            lines.iter().any(|l| l.contains(&name)),
            "{name}:\n{}",
            lines.join("\n")
        );
    }
    // The bars reach the right edge of the pane (the last frame's bar ends there).
    let bars = &lines[21];
    let inner: Vec<&str> = bars.split('┃').collect();
    assert!(
        inner[inner.len() - 2].trim_end().chars().count() > 40,
        "{bars}"
    );
}

#[test]
fn a_click_on_the_detail_line_picks_no_row() {
    let mut app = fixture();
    cursor_to(&mut app, "SOXS.corrupt.fits");
    let screen = text_of(&mut app, 80, 24);
    let areas = app.areas();
    let detail_row = screen
        .chars()
        .collect::<Vec<_>>()
        .chunks(80)
        .position(|line| {
            line.iter()
                .collect::<String>()
                .contains("SOXS.corrupt.fits: not a FITS")
        })
        .expect("the detail line") as u16;
    app.update(Msg::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: areas.files.x + 10,
        row: detail_row,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(app.files.current().unwrap().name, "SOXS.corrupt.fits");
}

// ---- the image view: cursor, readout, zoom -----------------------------------------------

#[test]
fn the_preview_has_a_cursor_with_a_readout_and_zooms_on_it() {
    let mut app = stacked();
    app.update(key(KeyCode::BackTab));
    app.update(ch('3'));
    let master = app.results.shown().unwrap().outcome.master.clone();
    let (cols, rows) = (master.cols(), master.rows());
    let screen = text_of(&mut app, 120, 40);
    let (x, y) = (cols / 2, rows / 2);
    let readout = format!("x {} y {}  {:.3} e-", x + 1, y + 1, master.flux[[y, x]]);
    assert!(screen.contains(&readout), "{readout}\n{screen}");
    assert!(screen.contains("whole frame"), "{screen}");
    // → and ↑ move the cursor (up is the next FITS row); the tab stays.
    app.update(key(KeyCode::Right));
    app.update(key(KeyCode::Up));
    assert_eq!(app.results.cursor, Some((x + 1, y + 1)));
    assert_eq!(
        app.results.current_tab(),
        super::panes::results::Tab::Preview
    );
    // On a bad pixel, zoomed in: the readout says so and the image shows red.
    let (bad_row, bad_col) = master
        .qual
        .indexed_iter()
        .find(|(_, q)| **q != 0)
        .map(|(at, _)| at)
        .expect("the fixture's master has bad pixels");
    app.results.cursor = Some((bad_col, bad_row));
    for _ in 0..3 {
        app.update(ch('+'));
    }
    assert_eq!(app.results.zoom, 3);
    snapshot!("preview_zoom_8_on_a_bad_pixel", app);
    let terminal = render(&mut app, 120, 40);
    let buffer = terminal.backend().buffer();
    let text: String = buffer.content.iter().map(|c| c.symbol()).collect();
    assert!(text.contains("zoom ×8"), "{text}");
    assert!(text.contains("dots per px"), "{text}");
    let qual = master.qual[[bad_row, bad_col]];
    assert!(text.contains(&format!("QUAL {qual} ")), "{text}");
    assert!(
        image_cells(&mut app, 120, 40)
            .iter()
            .any(|(_, c)| c.fg == Color::Yellow),
        "the cursor is drawn on the image"
    );
    // Out to the whole frame, and no further.
    for _ in 0..10 {
        app.update(ch('-'));
    }
    assert_eq!(app.results.zoom, 0);
    // Elsewhere + only says where it works.
    app.update(ch('1'));
    app.update(ch('+'));
    assert!(app.notice.as_ref().unwrap().text.contains("Preview"));
}

#[test]
fn t_and_f_choose_the_preview_stretch() {
    let mut app = stacked();
    app.update(key(KeyCode::BackTab));
    app.update(ch('3'));
    let legend = |app: &mut App| text_of(app, 120, 40);
    assert!(legend(&mut app).contains("zscale linear"));
    app.update(ch('t'));
    assert!(legend(&mut app).contains("1–99 % linear"));
    app.update(ch('t'));
    app.update(ch('f'));
    let screen = legend(&mut app);
    assert!(screen.contains("min–max log"), "{screen}");
    // min–max spans every good pixel: the limits are the master's extremes.
    let master = &app.results.shown().unwrap().outcome.master;
    let good: Vec<f32> = master
        .flux
        .iter()
        .zip(master.qual.iter())
        .filter(|(_, q)| **q == 0)
        .map(|(v, _)| *v)
        .collect();
    let low = good.iter().copied().fold(f32::INFINITY, f32::min);
    assert!(screen.contains(&format!("{low:.1}–")), "{low}: {screen}");
    // Zoomed in twice, min–max and log: the snapshot keeps the drawing.
    app.update(ch('+'));
    app.update(ch('+'));
    snapshot!("preview_zoom_4_min_max_log", app);
    // T types the percentiles.
    app.update(ch('T'));
    type_in(&mut app, "0.5 99.5");
    assert!(legend(&mut app).contains("0.5–99.5 % log"));
    app.update(ch('T'));
    type_in(&mut app, "99 1");
    assert!(app.notice.as_ref().unwrap().error);
}

#[test]
fn v_shows_the_raw_frames_and_their_difference_from_the_master() {
    let mut app = stacked();
    app.update(key(KeyCode::BackTab));
    app.update(ch('3'));
    let image = app.results.shown().unwrap();
    let (master, frames) = (
        image.outcome.master.clone(),
        image.loaded.set.resident().unwrap_or_default().to_vec(),
    );
    let (cols, rows) = (master.cols(), master.rows());
    let (x, y) = (cols / 2, rows / 2);
    app.update(ch('v'));
    let screen = text_of(&mut app, 120, 40);
    let raw = frames[0].value(y * cols + x);
    assert!(
        screen.contains(&format!("raw 1/{}", frames.len())),
        "{screen}"
    );
    assert!(screen.contains(&format!("{raw:.3} e-")), "{raw}: {screen}");
    app.update(ch(']'));
    app.update(ch('v'));
    let screen = text_of(&mut app, 120, 40);
    let difference = frames[1].value(y * cols + x) - master.flux[[y, x]];
    assert!(
        screen.contains("raw 2/") && screen.contains("− master"),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("{difference:.3} e-")),
        "{difference}: {screen}"
    );
    app.update(ch('['));
    app.update(ch('['));
    assert_eq!(app.results.raw_frame, frames.len() - 1, "[ wraps round");
    app.update(ch('v'));
    let screen = text_of(&mut app, 120, 40);
    let used = master.used.as_ref().unwrap()[[y, x]];
    assert!(
        screen.contains("frames the stack left out")
            && screen.contains(&format!(
                "{} of {} frames left out",
                frames.len() - usize::from(used),
                frames.len()
            )),
        "{screen}"
    );
    app.update(ch('v'));
    assert!(text_of(&mut app, 120, 40).contains("master · zscale"));
}

// ---- the pixel-stack inspector, statistics, defects, the mouse on the image ------------

/// The stacked fixture on the Preview tab, focus on the results.
fn on_preview() -> App {
    let mut app = stacked();
    app.update(key(KeyCode::BackTab));
    app.update(ch('3'));
    app
}

#[test]
fn p_shows_the_cursor_pixel_s_stack_as_the_stack_computed_it() {
    let mut app = on_preview();
    let image = app.results.shown().unwrap();
    let master = image.outcome.master.clone();
    let loaded = image.loaded.clone();
    // The hot pixel at FITS (10, 8), which every frame's own clip masked.
    app.update(ch('g'));
    type_in(&mut app, "10 8");
    assert_eq!(app.results.cursor, Some((9, 7)));
    app.update(ch('p'));
    let screen = text_of(&mut app, 160, 48);
    assert!(screen.contains("Pixel stack x 10 y 8"), "{screen}");
    assert!(
        screen.contains("QUAL 1") && screen.contains("bad: every frame's own clip masked it"),
        "{screen}"
    );
    // A pixel where the stack dropped a frame: its line says in which round, and the
    // mean of the kept values is the master's.
    let used = master.used.as_ref().unwrap();
    let n = master.frames.len() as u16;
    let ((y, x), kept) = used
        .indexed_iter()
        .find(|(at, u)| **u < n && master.qual[*at] == 0)
        .map(|(at, u)| (at, *u))
        .expect("the stack rejected something");
    app.results.cursor = Some((x, y));
    let seen = image_inspection(&app, &loaded, (x, y));
    let screen = text_of(&mut app, 160, 48);
    assert!(
        screen.contains(&format!(
            "mean of {kept} kept {:+.3} e-",
            master.combined[[y, x]]
        )),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("FLUX {:.3} e-", master.flux[[y, x]])),
        "{screen}"
    );
    assert!(screen.contains("✗ round"), "{screen}");
    assert!(screen.contains("round 1: centre"), "{screen}");
    assert_eq!(seen.stack.unwrap().used, kept);
    // p again closes it.
    app.update(ch('p'));
    assert!(!text_of(&mut app, 160, 48).contains("Pixel stack"));
}

/// The cells of the Preview's image (not the rest of the screen) at `width × height`, with
/// where they are.
fn image_cells(app: &mut App, width: u16, height: u16) -> Vec<(Position, ratatui::buffer::Cell)> {
    let terminal = render(app, width, height);
    let image = app.results.image_area(app.areas().results);
    let buffer = terminal.backend().buffer();
    image
        .positions()
        .map(|at| (at, buffer[at].clone()))
        .collect()
}

/// The engine's inspection of `pixel` of the shown master.
fn image_inspection(
    app: &App,
    loaded: &Loaded,
    pixel: (usize, usize),
) -> mbias::algorithm::PixelInspection {
    app.results
        .shown()
        .unwrap()
        .outcome
        .inspect(loaded, pixel)
        .unwrap()
}

#[test]
fn m_gives_the_statistics_of_the_box_at_the_cursor_and_capital_m_of_a_section() {
    let mut app = on_preview();
    let master = app.results.shown().unwrap().outcome.master.clone();
    app.update(ch('g'));
    type_in(&mut app, "20 20");
    app.update(ch('m'));
    // The 11 × 11 box about (20, 20): x 15–25, y 15–25 (FITS); its good pixels' mean.
    let good: Vec<f64> = (14..25)
        .flat_map(|y| (14..25).map(move |x| (y, x)))
        .filter(|&at| master.qual[at] == 0)
        .map(|at| f64::from(master.flux[at]))
        .collect();
    let mean = good.iter().sum::<f64>() / good.len() as f64;
    let screen = text_of(&mut app, 160, 48);
    assert!(
        screen.contains(&format!("[15:25,15:25] 121 px: mean {mean:.3}")),
        "{mean}: {screen}"
    );
    app.update(ch('M'));
    type_in(&mut app, "[1:40,1:2]");
    let screen = text_of(&mut app, 160, 48);
    assert!(screen.contains("[1:40,1:2] 80 px: mean"), "{screen}");
    // A section off the frame is refused.
    app.update(ch('M'));
    type_in(&mut app, "[1:41,1:2]");
    assert!(app.notice.as_ref().unwrap().error);
    assert!(
        text_of(&mut app, 160, 48).contains("[1:40,1:2] 80 px: mean"),
        "the last good section stays"
    );
    // A section kept from a larger image keeps to this one's pixels.
    app.results.stats = Some(super::panes::results::StatsOf::Fixed(
        mbias::detector::Section {
            rows: 40..90,
            cols: 30..90,
        },
    ));
    assert!(text_of(&mut app, 160, 48).contains("[31:40,41:48] 80 px: mean"));
}

#[test]
fn the_defects_tab_lists_the_bad_pixels_and_enter_shows_one() {
    let mut app = on_preview();
    app.update(ch('6'));
    let master = app.results.shown().unwrap().outcome.master.clone();
    let bad = master.bad_pixels();
    let screen = text_of(&mut app, 120, 40);
    assert!(screen.contains(&format!("{bad} bad pixels")), "{screen}");
    app.update(key(KeyCode::Enter));
    assert_eq!(
        app.results.current_tab(),
        super::panes::results::Tab::Preview
    );
    let (x, y) = app.results.cursor.unwrap();
    assert_ne!(master.qual[[y, x]], 0, "the cursor is on a bad pixel");
    assert!(text_of(&mut app, 120, 40).contains("bad  QUAL"));
}

#[test]
fn a_bad_pixel_shows_red_at_every_zoom() {
    let mut app = on_preview();
    let master = app.results.shown().unwrap().outcome.master.clone();
    let (bad_y, bad_x) = master
        .qual
        .indexed_iter()
        .find(|(_, q)| **q != 0)
        .map(|(at, _)| at)
        .unwrap();
    // The cursor beside the bad pixel, not on it (the cursor is drawn over what it is on),
    // and zoomed in no further than keeps the bad pixel on the image.
    app.results.cursor = Some(((bad_x + 1).min(master.cols() - 1), bad_y));
    for zoom in 0..=4 {
        app.results.zoom = zoom;
        let image = app.results.image_area(app.areas().results);
        // The cells about the bad pixel, found by the mouse's mapping (a cell's upper dot;
        // its lower one lies a row or two below).
        let near = |(x, y): (usize, usize)| x.abs_diff(bad_x) <= 1 && y.abs_diff(bad_y) <= 2;
        let about: Vec<ratatui::buffer::Cell> = image_cells(&mut app, 120, 40)
            .into_iter()
            .filter(|(at, _)| app.results.pixel_at(*at, image).is_some_and(near))
            .map(|(_, cell)| cell)
            .collect();
        assert!(
            !about.is_empty(),
            "zoom {zoom}: the bad pixel is on the image"
        );
        assert!(
            about
                .iter()
                .any(|c| c.fg == Color::Red || c.bg == Color::Red),
            "zoom {zoom}: the bad pixel shows red"
        );
    }
}

#[test]
fn a_click_on_the_image_puts_the_cursor_there_and_the_wheel_zooms() {
    let mut app = on_preview();
    app.update(Msg::Resize(120, 40));
    let master = app.results.shown().unwrap().outcome.master.clone();
    let results = app.areas().results;
    let image = app.results.image_area(results);
    let click = |kind, x, y| {
        Msg::Mouse(MouseEvent {
            kind,
            column: x,
            row: y,
            modifiers: KeyModifiers::NONE,
        })
    };
    // The image's top line holds the last rows (ds9: row 1 at the bottom); a dot
    // there covers about one pixel of this 40 × 48 frame.
    let pixel = app
        .results
        .pixel_at(Position::new(image.x + image.width / 2, image.y), image)
        .expect("the top row of the image is on the frame");
    assert!(pixel.1 >= master.rows() - 2, "{pixel:?}");
    app.update(click(
        MouseEventKind::Down(MouseButton::Left),
        image.x + image.width / 2,
        image.y,
    ));
    assert_eq!(app.results.cursor, Some(pixel));
    app.update(click(
        MouseEventKind::ScrollUp,
        image.x + image.width / 2,
        image.y + image.height / 2,
    ));
    assert_eq!(app.results.zoom, 1, "the wheel zooms in");
    let on_centre = app.results.cursor.unwrap();
    assert!(
        on_centre.1 < master.rows() - 1,
        "on the pixel under the pointer"
    );
    app.update(click(
        MouseEventKind::ScrollDown,
        image.x + image.width / 2,
        image.y + image.height / 2,
    ));
    assert_eq!(app.results.zoom, 0);
}

// ---- graphics protocols -------------------------------------------------------------

/// A picker that speaks `protocol` whatever the terminal (the tests have none).
fn picker(protocol: ratatui_image::picker::ProtocolType) -> ratatui_image::picker::Picker {
    let mut picker = ratatui_image::picker::Picker::halfblocks();
    picker.set_protocol_type(protocol);
    picker
}

#[test]
fn the_preview_is_encoded_off_the_ui_thread_only_when_its_view_changes() {
    use ratatui_image::picker::ProtocolType;
    let mut app = on_preview();
    app.graphics = true;
    // The view is new: one image to make, and no second while it is being made.
    let effects = app.update(Msg::Resize(120, 40));
    let Some(Effect::EncodeImage { key, result }) = effects.into_iter().next() else {
        panic!("an image to encode");
    };
    assert!(app.update(Msg::Tick(Instant::now())).is_empty());
    // What the runtime's worker does, with kitty's protocol.
    let protocol = super::graphics::encode(
        &picker(ProtocolType::Kitty),
        result.image(key.extension).unwrap(),
        &key.look,
        key.area,
    );
    assert!(protocol.is_some());
    app.update(Msg::Encoded(super::graphics::Encoded {
        key: key.clone(),
        protocol,
    }));
    // Drawn with the protocol: kitty's escape sequence is in the buffer, not half blocks.
    let text = text_of(&mut app, 120, 40);
    assert!(text.contains("\u{1b}_G"), "kitty's image is drawn");
    assert!(!text.contains('▀'), "no half blocks under it");
    // Nothing changed: nothing to encode. A zoom is a new view.
    assert!(app.update(Msg::Tick(Instant::now())).is_empty());
    let effects = app.update(ch('+'));
    assert!(
        matches!(&effects[..], [Effect::EncodeImage { key: new, .. }] if new.look.zoom == 1),
        "{effects:?}"
    );
    // Until the new image comes, the half blocks show the new view.
    assert!(text_of(&mut app, 120, 40).contains('▀'));
    // Every protocol encodes the view.
    for protocol in [ProtocolType::Sixel, ProtocolType::Iterm2] {
        assert!(
            super::graphics::encode(
                &picker(protocol),
                result.image(key.extension).unwrap(),
                &key.look,
                key.area
            )
            .is_some(),
            "{protocol:?}"
        );
    }
}

#[test]
fn without_graphics_nothing_is_encoded() {
    let mut app = on_preview();
    assert!(!app.graphics);
    assert!(app.update(Msg::Resize(120, 40)).is_empty());
    assert!(app.update(ch('+')).is_empty());
}

// ---- amplifiers -----------------------------------------------------------------------

/// The stacked fixture with two amplifiers, L (columns 1–20) and R (21–40), on the
/// Preview.
fn two_amplifiers() -> App {
    let mut app = fixture();
    app.update(ch('a'));
    let effects = app.update(ch('s'));
    let Some(Effect::Stack { id, selection, .. }) = effects.into_iter().next() else {
        panic!("stack effect")
    };
    let half = |name: &str, cols: std::ops::Range<usize>| mbias::verify::AmplifierPlan {
        name: name.to_string(),
        data: mbias::detector::Section {
            rows: 0..48,
            cols: cols.clone(),
        },
        raw_data: mbias::detector::Section { rows: 0..48, cols },
        overscan: None,
        prescan: None,
        gain: 1.4,
        ron: 3.8,
    };
    let image = image_result_with(
        &app,
        None,
        1120.0,
        vec![half("L", 0..20), half("R", 20..40)],
    );
    app.update(Msg::Job(JobEvent::Stacked {
        id,
        result: Ok(result_of(vec![image], selection)),
    }));
    app.update(key(KeyCode::BackTab));
    app.update(ch('3'));
    app
}

#[test]
fn amplifiers_are_stretched_and_measured_each_on_its_own() {
    let mut app = two_amplifiers();
    let master = app.results.shown().unwrap().outcome.master.clone();
    app.update(ch('A'));
    let screen = text_of(&mut app, 160, 48);
    assert!(screen.contains("per amplifier (L "), "{screen}");
    assert!(screen.contains(", R "), "{screen}");
    // m: the box; m again: each amplifier's data.
    app.update(ch('m'));
    app.update(ch('m'));
    let mean = |cols: std::ops::Range<usize>| {
        let good: Vec<f64> = (0..48)
            .flat_map(|r| cols.clone().map(move |c| (r, c)))
            .filter(|&at| master.qual[at] == 0)
            .map(|at| f64::from(master.flux[at]))
            .collect();
        good.iter().sum::<f64>() / good.len() as f64
    };
    let screen = text_of(&mut app, 160, 48);
    for (label, cols) in [("L [1:20,1:48]", 0..20), ("R [21:40,1:48]", 20..40)] {
        let line = format!("{label} 960 px: mean {:.3}", mean(cols));
        assert!(screen.contains(&line), "{line}\n{screen}");
    }
    app.update(ch('m'));
    assert!(!text_of(&mut app, 160, 48).contains("L [1:20,1:48]"));
    // The QC tab lists each amplifier's figures after the others.
    app.update(ch('1'));
    let screen = text_of(&mut app, 160, 60);
    assert!(
        screen.contains("L LEVEL") && screen.contains("R STEP"),
        "{screen}"
    );
    // Without amplifiers, A says why it does nothing.
    let mut app = on_preview();
    app.update(ch('A'));
    assert!(
        app.notice
            .as_ref()
            .unwrap()
            .text
            .contains("names no amplifiers")
    );
}

#[test]
fn capital_p_drafts_a_profile_from_the_frame_s_headers() {
    let mut app = fixture();
    cursor_to(&mut app, &bias_name(1));
    app.update(ch('P'));
    let Some(Overlay::Header(view)) = &app.overlay else {
        panic!("{:?}", app.overlay)
    };
    assert!(
        view.title.starts_with("draft profile from"),
        "{}",
        view.title
    );
    assert!(
        view.lines
            .iter()
            .any(|l| l.contains("match: {INSTRUME: SOXS}")),
        "{:#?}",
        view.lines
    );
    assert!(view.lines.iter().any(|l| l.contains("mbias profile ")));
    app.update(key(KeyCode::Esc));
    cursor_to(&mut app, "observing.log");
    app.update(ch('P'));
    assert!(app.overlay.is_none());
    assert!(
        app.notice
            .as_ref()
            .unwrap()
            .text
            .contains("not a FITS frame")
    );
}

// ---- the Trend tab ---------------------------------------------------------------------

const HISTORY_FILE: &str = "/history/qc.sqlite";

/// The stacked fixture with a QC history, on the Trend tab (maximised, so its columns
/// fit): the tab asks for the history of the result's setup, which `history` answers.
fn trend_shown(history: impl FnOnce(Setup) -> TrendHistory) -> App {
    let mut app = stacked();
    app.history = Some(Location::File(PathBuf::from(HISTORY_FILE)));
    app.update(key(KeyCode::BackTab));
    app.update(ch('z'));
    let effects = app.update(ch('7'));
    let [
        Effect::LoadTrend {
            location, setup, ..
        },
    ] = &effects[..]
    else {
        panic!("the Trend tab reads the history: {effects:?}")
    };
    assert_eq!(*location, Location::File(PathBuf::from(HISTORY_FILE)));
    assert_eq!(setup.to_string(), "soxs-vis 1x1 read-out 1");
    let answer = history(setup.clone());
    assert!(app.update(Msg::Job(JobEvent::Trend(Ok(answer)))).is_empty());
    app
}

/// Ten nights of `name` about `centre`: offsets 0, ±1, ±2 of `step` (so the median is
/// `centre` and the robust σ 1.4826 × `step`), one night replaced by `spike` if given.
fn nights(setup: &Setup, name: &str, centre: f64, step: f64, spike: Option<f64>) -> Series {
    let offsets = [0.0, 1.0, -1.0, 2.0, -2.0, 0.0, 1.0, -1.0, 2.0, -2.0];
    Series {
        setup: setup.clone(),
        recipe: "soxspipe-0.19".into(),
        extension: String::new(),
        name: name.into(),
        points: offsets
            .iter()
            .enumerate()
            .map(|(i, o)| Point {
                night: format!("2025-09-{:02}", i + 1),
                mjd: None,
                value: match spike {
                    Some(v) if i == 4 => v,
                    _ => centre + o * step,
                },
                product: PathBuf::from(format!("/products/{i}.fits")),
            })
            .collect(),
    }
}

#[test]
fn snapshot_trend_tab_with_a_history() {
    let mut app = trend_shown(|setup| TrendHistory {
        recipe: "soxspipe-0.19".into(),
        series: vec![
            // One night far off: the robust median and σ do not follow it.
            nights(&setup, "MBIAS MEDIAN", 1120.5, 0.5, Some(1180.0)),
            // Tonight 2.2722: 3.7 σ off.
            nights(&setup, "RAW RON", 2.245, 0.005, None),
            nights(&setup, "MASTER RON", 1.28, 0.01, None),
            // Tonight 0.5072 e-/frame, where the nights drifted 0.05: far outside.
            nights(&setup, "LEVEL DRIFT", 0.05, 0.02, None),
        ],
        file: Some(PathBuf::from(HISTORY_FILE)),
        setup,
    });
    snapshot!("results_trend", app);
    // The scores in their colours; values without a history are new.
    let terminal = render(&mut app, 120, 40);
    let buffer = terminal.backend().buffer();
    let symbols: Vec<&str> = buffer.content.iter().map(|c| c.symbol()).collect();
    let colour_of = |word: &str| {
        // The word with a space either side, as the score column has it.
        let cells: Vec<String> = format!(" {word} ").chars().map(String::from).collect();
        let at = (0..symbols.len())
            .find(|&i| symbols[i..].iter().take(cells.len()).eq(cells.iter()))
            .unwrap_or_else(|| panic!("{word} on screen"));
        buffer.content[at + 1].fg
    };
    assert_eq!(colour_of("within"), Color::Green);
    assert_eq!(colour_of("near"), Color::Yellow);
    assert_eq!(colour_of("outside"), Color::Red);
    assert_eq!(colour_of("new"), Color::DarkGray);
    // Shown again, the tab keeps what it read: nothing is asked until the next stack.
    app.update(ch('1'));
    assert!(app.update(ch('7')).is_empty());
}

#[test]
fn snapshot_trend_tab_without_a_history() {
    let mut app = trend_shown(|setup| TrendHistory {
        recipe: "soxspipe-0.19".into(),
        setup,
        file: Some(PathBuf::from(HISTORY_FILE)),
        series: Vec::new(),
    });
    snapshot!("results_trend_empty", app);
    let off = text_of(
        &mut trend_shown(|setup| TrendHistory {
            recipe: "soxspipe-0.19".into(),
            setup,
            file: None,
            series: Vec::new(),
        }),
        120,
        40,
    );
    assert!(off.contains("the QC history is off"), "{off}");
}

#[test]
fn a_new_stack_reads_the_history_again_and_writes_are_recorded() {
    let mut app = trend_shown(|setup| TrendHistory {
        recipe: "soxspipe-0.19".into(),
        setup,
        file: Some(PathBuf::from(HISTORY_FILE)),
        series: Vec::new(),
    });
    // A history read for another setup (an older request) is not this result's.
    let effects = stack_again(&mut app);
    assert!(
        matches!(&effects[..], [Effect::LoadTrend { .. }]),
        "{effects:?}"
    );
    let other = Setup {
        profile: "xsh-uvb".into(),
        arm: "UVB".into(),
        binning: "1x1".into(),
        read_speed: String::new(),
    };
    app.update(Msg::Job(JobEvent::Trend(Ok(TrendHistory {
        recipe: "soxspipe-0.19".into(),
        setup: other,
        file: None,
        series: Vec::new(),
    }))));
    assert!(text_of(&mut app, 120, 40).contains("reading the QC history of soxs-vis 1x1"));
    app.update(Msg::Job(JobEvent::Trend(Err("disk I/O error".into()))));
    assert!(text_of(&mut app, 120, 40).contains("cannot read the QC history: disk I/O error"));
    // `w` carries the history with it; a failure to record is a note, not a failure.
    let effects = app.update(ch('w'));
    let [Effect::WriteProduct { history, .. }] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert!(matches!(history, Some((Location::File(_), _))));
    app.update(Msg::Job(JobEvent::Wrote(
        Ok(PathBuf::from("/out/m.fits")),
        Some("not recorded in the QC history: locked".into()),
    )));
    let notice = app.notice.clone().unwrap();
    assert_eq!(
        notice.text,
        "wrote /out/m.fits · not recorded in the QC history: locked"
    );
    // With the history off, nothing is recorded.
    app.history = Some(Location::Off);
    let effects = app.update(ch('w'));
    assert!(matches!(
        &effects[..],
        [Effect::WriteProduct { history: None, .. }]
    ));
}

// ---- `C`: the written master against the set-up's reference ---------------------------

/// Where the tests' `w` writes.
const WRITTEN: &str = "/out/m.fits";

/// A comparison of `tonight` as `mbias compare` makes one: a noise ratio past its inspect
/// limit and a few bad pixels more than the reference has.
fn inspect_comparison(tonight: &Path) -> Comparison {
    let limits = CompareLimits::default();
    let reason = |statistic, value| Reason {
        image: None,
        statistic,
        value,
        limit: limits.get(statistic).inspect(),
        verdict: Verdict::Inspect,
    };
    Comparison {
        tonight: tonight.to_path_buf(),
        reference: PathBuf::from("/ref/REFERENCE_MBIAS_SOXS.fits"),
        images: vec![ImageComparison {
            name: None,
            shape: (64, 64),
            difference: DifferenceStats {
                count: 4090,
                mean: -0.412,
                std: 2.9,
                robust_std: 2.514,
                max_abs: 31.5,
            },
            new_bad_pixels: 3,
            gone_bad_pixels: 1,
            reference_spread: 1.362,
            noise_ratio: 1.305,
            reference_bad_pixels: 4,
            bad_pixel_growth: 0.5,
            qc: Vec::new(),
        }],
        reasons: vec![
            reason(CompareStatistic::NoiseRatio, 1.305),
            reason(CompareStatistic::BadPixelGrowth, 0.5),
        ],
        limits,
        verdict: Verdict::Inspect,
    }
}

/// The stacked fixture on the Trend tab, its master written to [`WRITTEN`].
fn written(history: impl FnOnce(Setup) -> TrendHistory) -> App {
    let mut app = trend_shown(history);
    assert!(matches!(
        &app.update(ch('w'))[..],
        [Effect::WriteProduct { .. }]
    ));
    app.update(Msg::Job(JobEvent::Wrote(Ok(PathBuf::from(WRITTEN)), None)));
    app
}

#[test]
fn capital_c_compares_the_written_master_with_the_set_up_s_reference() {
    let no_nights = |setup| TrendHistory {
        recipe: "soxspipe-0.19".into(),
        setup,
        file: Some(PathBuf::from(HISTORY_FILE)),
        series: Vec::new(),
    };
    // `compare` reads product files: a master not written yet cannot be compared.
    let mut app = trend_shown(no_nights);
    assert!(app.update(ch('C')).is_empty());
    let notice = app.notice.clone().unwrap();
    assert!(notice.error);
    assert_eq!(notice.text, "write the master first (w), then compare");
    // Written, it is compared on a worker, with the settings' limits.
    let mut app = written(no_nights);
    app.update(ch('1'));
    let effects = app.update(ch('C'));
    let [
        Effect::Compare {
            location,
            product,
            limits,
            ..
        },
    ] = &effects[..]
    else {
        panic!("{effects:?}")
    };
    assert_eq!(*location, Location::File(PathBuf::from(HISTORY_FILE)));
    assert_eq!(product, Path::new(WRITTEN));
    assert_eq!(*limits, app.settings.compare_limits());
    // The answer is shown on the Trend tab, which comes to the front.
    app.update(Msg::Job(JobEvent::Compared(Ok(inspect_comparison(
        Path::new(WRITTEN),
    )))));
    assert_eq!(app.results.current_tab(), Tab::Trend);
    assert_eq!(
        app.notice.clone().unwrap().text,
        "m.fits against reference REFERENCE_MBIAS_SOXS.fits: inspect"
    );
    let text = text_of(&mut app, 120, 40);
    assert!(
        text.contains("against reference REFERENCE_MBIAS_SOXS.fits: verdict INSPECT"),
        "{text}"
    );
    // Errors go to the status line; the comparison shown stays.
    let none = "no reference master of soxs-vis 1x1 read-out 1 is certified in the QC history \
                /history/qc.sqlite; certify one with mbias history certify PRODUCT";
    app.update(Msg::Job(JobEvent::Compared(Err(none.into()))));
    let notice = app.notice.clone().unwrap();
    assert!(notice.error);
    assert_eq!(notice.text, format!("cannot compare: {none}"));
    assert!(app.results.comparison.is_some());
    // A new result is not the master written: it must be written to be compared, and a
    // comparison of the old one coming late is not shown with it.
    stack_again(&mut app);
    assert!(app.results.comparison.is_none());
    app.update(Msg::Job(JobEvent::Compared(Ok(inspect_comparison(
        Path::new(WRITTEN),
    )))));
    assert!(app.results.comparison.is_none());
    assert!(app.update(ch('C')).is_empty());
    assert_eq!(
        app.notice.clone().unwrap().text,
        "write the master first (w), then compare"
    );
    // Nor is the product of a write that ends after a newer result came.
    assert!(matches!(
        &app.update(ch('w'))[..],
        [Effect::WriteProduct { .. }]
    ));
    stack_again(&mut app);
    app.update(Msg::Job(JobEvent::Wrote(Ok(PathBuf::from(WRITTEN)), None)));
    assert!(app.update(ch('C')).is_empty());
    assert_eq!(
        app.notice.clone().unwrap().text,
        "write the master first (w), then compare"
    );
    // With the history off there is no reference to take.
    let mut app = written(no_nights);
    app.history = Some(Location::Off);
    assert!(app.update(ch('C')).is_empty());
    assert!(
        app.notice
            .clone()
            .unwrap()
            .text
            .contains("QC history is off")
    );
}

#[test]
fn snapshot_trend_tab_with_a_comparison() {
    let mut app = written(|setup| TrendHistory {
        recipe: "soxspipe-0.19".into(),
        series: vec![
            nights(&setup, "MBIAS MEDIAN", 1120.5, 0.5, None),
            nights(&setup, "RAW RON", 2.245, 0.005, None),
        ],
        file: Some(PathBuf::from(HISTORY_FILE)),
        setup,
    });
    let effects = app.update(ch('C'));
    assert!(
        matches!(&effects[..], [Effect::Compare { .. }]),
        "{effects:?}"
    );
    app.update(Msg::Job(JobEvent::Compared(Ok(inspect_comparison(
        Path::new(WRITTEN),
    )))));
    snapshot!("results_trend_compared", app);
    // The verdict in the theme's colour for it.
    let terminal = render(&mut app, 120, 40);
    let buffer = terminal.backend().buffer();
    let symbols: Vec<&str> = buffer.content.iter().map(|c| c.symbol()).collect();
    let word = ["I", "N", "S", "P", "E", "C", "T"];
    let at = (0..symbols.len())
        .find(|&i| symbols[i..].starts_with(&word))
        .expect("the verdict on screen");
    assert_eq!(buffer.content[at].fg, Color::Yellow);
}
