//! `mbias bench`: simulated workloads, timed stage by stage, median of several runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mbias::params::RecipeVersion;
use mbias::pipeline::{Frames, StackedImage};
use mbias::progress::{Progress, Silent, Stage};
use mbias::settings::{Resolved, Settings};
use mbias::simulate::Spec;

mod history;
mod timeline;

use timeline::{Sampler, StageUse};

use super::output::outln;
use super::{CommandResult, Status};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Workloads to run: w1, w2, w3, w4 (41 frames of 4096²), w5 (101 frames of 4096²,
    /// 3.3 GB, under a 1 GiB memory budget), history (3650 nightly masters imported into a
    /// QC history and trended) (repeatable; default w1, w2 and w3).
    #[arg(long = "workload", value_name = "W")]
    workloads: Vec<String>,
    /// Also time astropy's sigma_clip and mean on the same frames with this Python (one
    /// with astropy installed), and print the ratio measured in the same run.
    #[arg(long, value_name = "PYTHON")]
    compare_python: Option<PathBuf>,
    /// Timed runs per workload after one warm-up; the median is reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=100))]
    repeats: u16,
    /// The soxspipe release the recipe follows (default: the settings' choice, soxspipe-0.19).
    #[arg(long, value_name = "VERSION", value_parser = super::parse_recipe)]
    recipe: Option<RecipeVersion>,
    /// Also show how busy the cores were in each stage of the last run (CPU time sampled
    /// every 2 ms; one character per 10 ms, from idle to every core busy).
    #[arg(long)]
    timeline: bool,
}

/// Records when each stage began.
struct StageClock {
    marks: Mutex<Vec<(std::mem::Discriminant<Stage>, Instant)>>,
}

impl Progress for StageClock {
    fn report(&self, stage: Stage) {
        let kind = std::mem::discriminant(&stage);
        if let Ok(mut marks) = self.marks.lock()
            && marks.last().is_none_or(|(k, _)| *k != kind)
        {
            marks.push((kind, Instant::now()));
        }
    }
}

impl StageClock {
    fn new() -> StageClock {
        StageClock {
            marks: Mutex::new(Vec::new()),
        }
    }

    /// When `stage` was first reported, and when the next stage was (or `end`).
    fn interval(&self, stage: Stage, end: Instant) -> Option<(Instant, Instant)> {
        let kind = std::mem::discriminant(&stage);
        let marks = self.marks.lock().map(|m| m.clone()).unwrap_or_default();
        let i = marks.iter().position(|(k, _)| *k == kind)?;
        Some((marks[i].1, marks.get(i + 1).map_or(end, |(_, t)| *t)))
    }

    /// Time from the first report of `stage` to the next stage's (or `end`).
    fn span(&self, stage: Stage, end: Instant) -> Duration {
        self.interval(stage, end)
            .map_or(Duration::ZERO, |(from, to)| to - from)
    }
}

const STAGES: [&str; 11] = [
    "read",
    "prepare",
    "frame QC (FFT)",
    "frame clip",
    "stack",
    "QC",
    "write",
    "write, replacing",
    "end-to-end CLI",
    "re-stack, stack σ",
    "re-stack, frame σ",
];

/// The machine's cores, as the thread pool sees them.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Set for the CLI child: it then reports what it used on stderr.
pub const PEAK_MEMORY_ENV: &str = "MBIAS_BENCH_PEAK_MEMORY";
const USAGE_TAG: &str = "mbias-bench-usage";

/// What a CLI run used.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    /// Peak resident memory, bytes.
    peak_rss: u64,
    /// CPU time, user and system, seconds.
    cpu: f64,
    minor_faults: u64,
    major_faults: u64,
}

/// Prints this process's peak resident memory (`VmHWM`), CPU time and page faults. A
/// child's `ru_maxrss` is no good here: it includes the parent's resident pages up to
/// the child's `exec`, because the child is spawned sharing the parent's memory; `VmHWM`
/// starts afresh at `exec`.
pub fn report_peak_memory() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    // SAFETY: getrusage writes the struct it is given, which is zeroed plain data.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        (libc::getrusage(libc::RUSAGE_SELF, &mut usage) == 0).then_some(usage)
    };
    if let Some(u) = usage {
        let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
        eprintln!(
            "{USAGE_TAG} {kib} {} {} {}",
            seconds(u.ru_utime) + seconds(u.ru_stime),
            u.ru_minflt,
            u.ru_majflt
        );
    }
}

/// The usage a child reported, if it did.
fn parse_usage(stderr: &str) -> Option<Usage> {
    let line = stderr.lines().find_map(|l| l.strip_prefix(USAGE_TAG))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [kib, cpu, minor, major] = fields[..] else {
        return None;
    };
    Some(Usage {
        peak_rss: kib.parse::<u64>().ok()? * 1024,
        cpu: cpu.parse().ok()?,
        minor_faults: minor.parse().ok()?,
        major_faults: major.parse().ok()?,
    })
}

/// Runs the CLI as a child process: wall time and what it used.
fn cli_run(
    dir: &Path,
    out: &Path,
    settings: &Path,
    recipe: Option<RecipeVersion>,
) -> mbias::Result<(f64, Usage)> {
    let exe = std::env::current_exe().map_err(|e| mbias::error::InputError::Unreadable {
        path: PathBuf::from("mbias"),
        source: e,
    })?;
    let started = Instant::now();
    let child = Command::new(exe)
        .args([
            "stack",
            &dir.to_string_lossy(),
            "-o",
            &out.to_string_lossy(),
            "--overwrite",
            "--settings",
            &settings.to_string_lossy(),
        ])
        .args(recipe.iter().flat_map(|r| ["--recipe", r.name()]))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .env_remove("MBIAS_SETTINGS")
        // A benchmark's products are no nights of the instrument's.
        .env(mbias::history::HISTORY_ENV, "off")
        .env(PEAK_MEMORY_ENV, "1")
        .output()
        .map_err(|e| mbias::error::InputError::Unreadable {
            path: dir.to_path_buf(),
            source: e,
        })?;
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&child.stderr);
    if !child.status.success() {
        eprint!("{stderr}");
        return Err(mbias::error::InputError::Unreadable {
            path: dir.to_path_buf(),
            source: std::io::Error::other(format!("mbias stack failed ({})", child.status)),
        }
        .into());
    }
    Ok((seconds, parse_usage(&stderr).unwrap_or_default()))
}

struct Run {
    seconds: [f64; 11],
    usage: Usage,
    /// The cores' use in each stage of the in-process stack and write.
    timeline: Vec<StageUse>,
    /// Whether the CLI read the frames in bands while the in-process stages, the
    /// console's, held them in memory (`mbias stack` stacks once: its default budget is
    /// smaller).
    cli_alone_streams: bool,
}

/// One workload: simulated frames and the settings file that describes their detector.
struct Workload {
    title: String,
    spec: Spec,
    settings: String,
}

/// Empties the output folder, so that a run writes a new product as a first run does.
/// (Replacing a product costs more on ext4, which flushes the new file inside the rename
/// that replaces the old one; "write, replacing" times that case.)
fn clear(out: &Path) {
    std::fs::remove_dir_all(out).ok();
}

fn run_once(
    dir: &Path,
    out: &Path,
    settings_file: &Path,
    recipe: Option<RecipeVersion>,
) -> mbias::Result<Run> {
    // The CLI child first, while this process holds no frames: a child counts the
    // parent's pages as its own until it execs.
    crate::memory::release_freed();
    clear(out);
    let (cli, usage) = cli_run(dir, out, settings_file, recipe)?;
    clear(out);
    let mut settings = Settings::load(settings_file)?;
    settings.recipe_version = recipe.or(settings.recipe_version);
    let (_, verification) = mbias::pipeline::validate(&[dir.to_path_buf()], &settings)?;
    let plan = verification.plan.ok_or(mbias::Error::Verification(0))?;
    let resolved = mbias::pipeline::resolve(&settings, &plan)?;
    let once = Resolved {
        stacks: mbias::settings::Stacks::Once,
        ..resolved.clone()
    };
    let cli_alone_streams =
        mbias::pipeline::streams(&plan, &once) && !mbias::pipeline::streams(&plan, &resolved);
    let clock = StageClock::new();
    let sampler = Sampler::start();
    let started = Instant::now();
    let (loaded, read, prepare, fft) = if mbias::pipeline::streams(&plan, &resolved) {
        // Frames beyond the memory budget are read once through, with their QC: one stage.
        let loaded = mbias::pipeline::load(&plan, &resolved, &clock)?;
        (loaded, started.elapsed().as_secs_f64(), 0.0, 0.0)
    } else {
        let set = mbias::load::load(&plan, mbias::pipeline::load_options(&resolved), &clock)?;
        let load_wall = started.elapsed().as_secs_f64();
        let work = (set.read_time + set.convert_time).as_secs_f64().max(1e-9);
        let (read, prepare) = (
            load_wall * set.read_time.as_secs_f64() / work,
            load_wall * set.convert_time.as_secs_f64() / work,
        );
        let started = Instant::now();
        let frame_qc = mbias::qc::frame_qc(&set);
        let fft = started.elapsed().as_secs_f64();
        (
            mbias::pipeline::Loaded::new(set, frame_qc),
            read,
            prepare,
            fft,
        )
    };
    // The stages the runner strings together are timed apart above; from here on the
    // bench runs the recipe as every front end does.
    let in_memory = [Arc::new(loaded)];
    let restack = |resolved: &Resolved, progress: &dyn Progress| {
        mbias::pipeline::run(Frames::InMemory(&in_memory), resolved, progress)
    };
    let frame_qc_done = started + Duration::from_secs_f64(read + prepare + fft);
    let outcome = restack(&resolved, &clock)?;
    let end = Instant::now();
    let mut stages = vec![
        (
            "read",
            started,
            started + Duration::from_secs_f64(read + prepare),
        ),
        (
            "frame QC (FFT)",
            started + Duration::from_secs_f64(read + prepare),
            frame_qc_done,
        ),
    ];
    for (name, stage) in [
        ("frame clip", Stage::FrameClip { done: 0, total: 0 }),
        ("stack", Stage::Stacking { done: 0, total: 0 }),
        ("QC", Stage::Qc),
    ] {
        if let Some((from, to)) = clock.interval(stage, end) {
            stages.push((name, from, to));
        }
    }
    let frame_clip = clock
        .span(Stage::FrameClip { done: 0, total: 0 }, end)
        .as_secs_f64();
    let stack = clock
        .span(Stage::Stacking { done: 0, total: 0 }, end)
        .as_secs_f64();
    let qc = clock.span(Stage::Qc, end).as_secs_f64();
    // Live tuning: what the console does after a parameter change, frames in memory. As
    // in the console, the result shown before is let go, and its buffers serve the next
    // stack. Timed before the writes, whose pages the system is still flushing after them.
    drop(outcome);
    let mut tuned = resolved.clone();
    tuned.params = tuned.params.with(|p| p.stacked_clipping_sigma += 0.1)?;
    let started = Instant::now();
    let restacked = restack(&tuned, &Silent)?;
    let restack_stack = started.elapsed().as_secs_f64();
    drop(restacked);
    tuned.params = tuned.params.with(|p| p.frame_clipping_sigma += 0.1)?;
    let started = Instant::now();
    let outcome = restack(&tuned, &Silent)?;
    let restack_frame = started.elapsed().as_secs_f64();
    let name = mbias::product::product_name(&plan, None);
    let write = || {
        let started = Instant::now();
        let images: Vec<_> = outcome.iter().map(StackedImage::parts).collect();
        mbias::pipeline::write(out, &name, true, true, &images, &Silent)
            .map(|_| (started, Instant::now()))
    };
    let (write_started, write_ended) = write()?;
    stages.push(("write", write_started, write_ended));
    let timeline = sampler.finish().stages(&stages, cores());
    let write_new = (write_ended - write_started).as_secs_f64();
    let (replacing_started, replacing_ended) = write()?;
    let write_replacing = (replacing_ended - replacing_started).as_secs_f64();
    Ok(Run {
        seconds: [
            read,
            prepare,
            fft,
            frame_clip,
            stack,
            qc,
            write_new,
            write_replacing,
            cli,
            restack_stack,
            restack_frame,
        ],
        usage,
        timeline,
        cli_alone_streams,
    })
}

fn workload(name: &str) -> Option<Workload> {
    let generic = |frames: usize, memory: &str| Workload {
        title: format!(
            "{}: {frames} frames 4096x4096 uint16, generic profile, exact numerics{memory}",
            name.to_uppercase()
        ),
        spec: Spec::biases(&mbias::simulate::GENERIC, frames, 1),
        settings: mbias::simulate::GENERIC_SETTINGS.to_string(),
    };
    match name {
        "w1" => Some(Workload {
            title: "W1: 7 SOXS VIS frames 4096x2098, soxspipe numerics".into(),
            spec: Spec::biases(mbias::detector::soxs_vis(), 7, 1),
            settings: String::new(),
        }),
        "w2" => Some(generic(11, "")),
        "w3" => Some(generic(21, "")),
        "w4" => Some(generic(41, "")),
        "w5" => {
            let mut w5 = generic(101, ", memory budget 1 GiB (streamed)");
            // The settings' `mbias:` block ends the generic settings text.
            w5.settings.push_str("    memory: 1GiB\n");
            Some(w5)
        }
        _ => None,
    }
}

/// astropy's sigma clip along the frames (median centre, MAD σ, the generic profile's
/// 4σ ×3) and mean: what an astronomer without mbias writes. It reads `sys.argv[1]`'s
/// frames and prints its own wall time.
const ASTROPY_STACK: &str = r#"
import sys, time, glob
t0 = time.perf_counter()
import numpy as np
from astropy.io import fits
from astropy.stats import sigma_clip
files = sorted(glob.glob(sys.argv[1] + "/*.fits"))
data = np.array([fits.getdata(f).astype(np.float32) for f in files])
clipped = sigma_clip(data, sigma=4, maxiters=3, cenfunc="median", stdfunc="mad_std", axis=0)
master = clipped.mean(axis=0).filled(np.nan)
fits.writeto(sys.argv[2], master.astype(np.float32), overwrite=True)
print(time.perf_counter() - t0)
"#;

/// The astropy stack's wall time on the frames in `dir` (seconds, the interpreter's start
/// included), or why it was not run.
fn astropy_run(python: &Path, dir: &Path, out: &Path, spec: &Spec) -> Result<f64, String> {
    let (rows, cols) = mbias::simulate::raw_shape(spec.profile);
    // float32 frames, astropy's float64 copies and masks.
    let needs = (spec.frames * rows * cols) as u64 * 20;
    let has = mbias::pipeline::default_budget() * 2;
    if needs > has * 3 / 4 {
        return Err(format!(
            "skipped: astropy would need about {} GB of the machine's {} GB",
            needs >> 30,
            has >> 30
        ));
    }
    let started = Instant::now();
    let output = Command::new(python)
        .args(["-c", ASTROPY_STACK])
        .arg(dir)
        .arg(out.join("astropy-master.fits"))
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "failed: {}",
            stderr.lines().last().unwrap_or("no message")
        ));
    }
    Ok(started.elapsed().as_secs_f64())
}

pub fn run(args: &BenchArgs) -> CommandResult {
    let names = if args.workloads.is_empty() {
        vec!["w1".to_string(), "w2".into(), "w3".into()]
    } else {
        args.workloads.clone()
    };
    let root = tempfile::Builder::new()
        .prefix("mbias-bench-")
        .tempdir()
        .map_err(|e| mbias::error::InputError::Unreadable {
            path: std::env::temp_dir(),
            source: e,
        })?;
    outln!(
        "mbias bench: {} logical CPUs, {} timed runs after a warm-up, median\n",
        cores(),
        args.repeats
    )?;
    for name in names {
        if name == "history" {
            history::run(root.path(), args.repeats)?;
            continue;
        }
        let dir = root.path().join(&name);
        let Some(workload) = workload(&name) else {
            outln!("{name}: unknown workload (w1, w2, w3, w4, w5, history)")?;
            continue;
        };
        mbias::simulate::simulate(&dir, &workload.spec)?;
        let settings = root.path().join(format!("{name}-settings.yaml"));
        std::fs::write(&settings, &workload.settings).map_err(|e| {
            mbias::error::InputError::Unreadable {
                path: settings.clone(),
                source: e,
            }
        })?;
        let out = root.path().join(format!("{name}-out"));
        run_once(&dir, &out, &settings, args.recipe)?;
        let runs: Vec<Run> = (0..args.repeats)
            .map(|_| run_once(&dir, &out, &settings, args.recipe))
            .collect::<mbias::Result<_>>()?;
        let astropy = args.compare_python.as_deref().map(|python| {
            std::fs::create_dir_all(&out).ok();
            astropy_run(python, &dir, &out, &workload.spec)
        });
        // The frames of one workload are not needed by the next: free the disk and cache.
        std::fs::remove_dir_all(&dir).ok();
        let recipe = args.recipe.unwrap_or(RecipeVersion::DEFAULT);
        outln!("{}, {}", workload.title, recipe.name())?;
        let medians: Vec<f64> = (0..STAGES.len())
            .map(|i| median(runs.iter().map(|r| r.seconds[i]).collect()))
            .collect();
        for (stage, m) in STAGES.iter().zip(&medians) {
            outln!("  {stage:<16} {:>8.1} ms", m * 1e3)?;
        }
        let cli = |f: fn(&Run) -> f64| median(runs.iter().map(f).collect());
        let spread = |f: fn(&Run) -> f64| {
            let values: Vec<f64> = runs.iter().map(f).collect();
            let low = values.iter().copied().fold(f64::INFINITY, f64::min);
            let high = values.iter().copied().fold(0.0, f64::max);
            (low, high)
        };
        let (low, high) = spread(|r| r.seconds[8]);
        outln!(
            "  {:<16} {:>8.1} – {:.1} ms (fastest – slowest CLI run)",
            "spread",
            low * 1e3,
            high * 1e3
        )?;
        let rss = runs.iter().map(|r| r.usage.peak_rss).max().unwrap_or(0);
        outln!(
            "  {:<16} {:>8.0} MiB (peak RSS of the CLI run)",
            "memory",
            rss as f64 / 1048576.0
        )?;
        if runs.iter().any(|r| r.cli_alone_streams) {
            outln!(
                "  {:<16} the CLI read the frames in bands (mbias stack holds at most {} MiB); \
                 the stages and re-stacks above held them in memory, as the console does",
                "frames",
                mbias::pipeline::ONCE_RESIDENT >> 20
            )?;
        }
        outln!(
            "  {:<16} {:>8.0} minor, {:.0} major (CLI run)",
            "page faults",
            cli(|r| r.usage.minor_faults as f64),
            cli(|r| r.usage.major_faults as f64),
        )?;
        outln!(
            "  {:<16} {:>8.2} of {} cores busy (CLI run: CPU time / wall time)",
            "CPU",
            cli(|r| r.usage.cpu / r.seconds[8].max(1e-9)),
            cores(),
        )?;
        if args.timeline
            && let Some(last) = runs.last()
        {
            outln!(
                "  timeline of the last run, in process (cores busy; a character is 10 ms, █ = all {} busy):",
                cores()
            )?;
            for stage in &last.timeline {
                outln!(
                    "    {:<15} {:>6.1} ms  {:.2} cores  {:>5.1} core-ms idle  {}",
                    stage.name,
                    stage.wall.as_secs_f64() * 1e3,
                    stage.cores,
                    stage.idle.as_secs_f64() * 1e3,
                    stage.bar
                )?;
            }
        }
        match astropy {
            Some(Ok(seconds)) => outln!(
                "  {:<16} {:>8.1} ms (astropy sigma_clip + mean, one run): mbias {:.1}× faster",
                "astropy",
                seconds * 1e3,
                seconds / medians[8].max(1e-9)
            )?,
            Some(Err(why)) => outln!("  {:<16} {why}", "astropy")?,
            None => {}
        }
        outln!()?;
    }
    Ok(Status::Success)
}
