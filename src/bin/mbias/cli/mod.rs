//! Command-line front end: argument parsing and dispatch. Each subcommand lives in its
//! own module and only calls the library.
//!
//! Standard output is written only through [`output::out!`] and [`output::outln!`], which
//! return the write's error: `println!` panics when the reader has gone (`| head -1`).
#![deny(clippy::print_stdout)]

mod bench;
mod compare;
mod demo;
mod history;
mod night;
mod output;
mod profile;
mod qc;
mod simulate;
mod stack;
mod validate;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mbias::error::{FitsError, HistoryError, InputError, ProductError, SettingsError};
use mbias::settings::Settings;

/// Exit codes of `spec/product.md` §3, and the shell's 128 + signal number when a
/// signal ended the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    InputError,
    QcOutOfRange,
    /// `mbias compare --fail-on inspect`: the master wants a look before it is used.
    Inspect,
    Signalled(i32),
}

impl Status {
    /// Standard output's reader has gone: the status of a tool that SIGPIPE ended, as the
    /// shell reports it.
    const OUTPUT_CLOSED: Status = Status::Signalled(signal_hook::consts::SIGPIPE);
}

fn closed(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> ExitCode {
        ExitCode::from(match s {
            Status::Success => 0,
            Status::InputError => 1,
            Status::QcOutOfRange => 3,
            Status::Inspect => 4,
            Status::Signalled(signal) => u8::try_from(128 + signal).unwrap_or(u8::MAX),
        })
    }
}

/// Why a command ended before its status was known.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Engine(#[from] mbias::Error),
    /// Standard output could not be written: its reader has gone, or its disk is full.
    #[error("cannot write to standard output: {0}")]
    Output(#[from] std::io::Error),
}

/// The library's errors of one kind convert as they do into its `Error`, so `?` works on
/// them in a command as in the library.
macro_rules! engine_errors {
    ($($kind:ty),*) => {$(
        impl From<$kind> for Failure {
            fn from(e: $kind) -> Failure {
                Failure::Engine(e.into())
            }
        }
    )*};
}

engine_errors!(
    InputError,
    FitsError,
    SettingsError,
    HistoryError,
    ProductError
);

/// Prints an engine error as one line, and then the flag that gets past it: the library's
/// messages name settings, not this command line's flags.
pub fn print_error(e: &mbias::Error) {
    eprintln!("error: {e}");
    match e {
        mbias::Error::Product(ProductError::Exists(_)) => {
            eprintln!("hint: use --overwrite to replace it")
        }
        mbias::Error::History(HistoryError::NoReference { .. }) => {
            eprintln!("hint: mbias history certify PRODUCT makes a master its set-up's reference")
        }
        _ => {}
    }
}

/// What each subcommand returns.
pub type CommandResult = Result<Status, Failure>;

/// Headless commands stop at once on a signal, removing any half-written product first
/// (the computation has nothing worth finishing, and exit skips destructors).
pub fn stop_on_signals() {
    let Ok(mut signals) = signal_hook::iterator::Signals::new(crate::signals::STOP_SIGNALS) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            mbias::atomic::remove_unfinished();
            output::clear_progress();
            eprintln!("mbias: stopped by signal {signal}; nothing was written");
            std::process::exit(128 + signal);
        }
    });
}

#[derive(Debug, Parser)]
#[command(
    name = "mbias",
    version,
    about = "Build and vet CCD master-bias frames, faithfully to soxspipe's soxs_mbias",
    after_help = "\
Exit codes:
  0        success
  1        input or validation error
  2        usage error
  3        a QC value out of its acceptable range, with --fail-on-qc; a compare
           verdict of reject, with --fail-on; a trend scored outside, with
           --fail-on-outside
  4        a compare verdict of inspect, with --fail-on inspect
  128 + N  stopped by signal N: 130 Ctrl-C (SIGINT), 143 SIGTERM, 129 SIGHUP;
           141 (SIGPIPE) when standard output's reader has gone, as in `mbias qc P | head -1`"
)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Folder or SOF to open in the console (default: the current folder).
    input: Option<PathBuf>,
    /// Where the console writes products and settings (default: settings' output-dir, else the current folder).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    output: Option<PathBuf>,
    #[command(flatten)]
    settings: SettingsArgs,
}

/// Options shared by the commands that read settings.
#[derive(Debug, clap::Args)]
pub struct SettingsArgs {
    /// Settings file (soxspipe format accepted); default: $MBIAS_SETTINGS, then the user's config folder.
    #[arg(long, value_name = "FILE")]
    settings: Option<PathBuf>,
    /// Override one setting by its key or dotted path, e.g. --set stacked-clipping-sigma=5,
    /// --set qc-acceptable-ranges.master-ron=[0,5], --set vis.frame-clipping-sigma=4 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// The soxspipe release to reproduce: soxspipe-0.19 (default; its defaults, statistics
    /// and product cards) or soxspipe-0.17 (0.17.4's). Same as --set mbias.recipe=….
    #[arg(long, value_name = "VERSION", value_parser = parse_recipe)]
    recipe: Option<mbias::params::RecipeVersion>,
    /// The most memory a set's frames may take, e.g. 800MiB or 4GiB (default: half the
    /// machine's). A larger set is stacked in bands of rows read from disk; `mbias stack`,
    /// which stacks once, reads uncompressed frames that way beyond 128 MiB already. Same
    /// as --set mbias.memory=….
    #[arg(long, value_name = "SIZE", value_parser = parse_memory)]
    memory: Option<u64>,
    /// The QC history file products are recorded in and trends read, or `off`
    /// (default: $MBIAS_HISTORY, then mbias.history, then the user's data folder).
    #[arg(long, value_name = "FILE")]
    history: Option<PathBuf>,
}

fn parse_memory(s: &str) -> Result<u64, String> {
    mbias::settings::parse_memory(s)
        .ok_or_else(|| format!("'{s}': expected {}", mbias::settings::MEMORY_EXPECTED))
}

pub(crate) fn parse_recipe(s: &str) -> Result<mbias::params::RecipeVersion, String> {
    mbias::params::RecipeVersion::parse(s)
        .ok_or_else(|| format!("'{s}': expected soxspipe-0.19 or soxspipe-0.17"))
}

impl SettingsArgs {
    fn load(&self) -> mbias::Result<Settings> {
        let mut settings = Settings::discover(self.settings.as_deref())?;
        for warning in &settings.warnings {
            eprintln!("warning: {warning}");
        }
        for assignment in &self.set {
            settings.apply_override(assignment)?;
        }
        if let Some(version) = self.recipe {
            settings.recipe_version = Some(version);
        }
        if let Some(bytes) = self.memory {
            settings.memory = Some(bytes);
        }
        settings.check_profile()?;
        Ok(settings)
    }

    /// Where the QC history is, for these arguments and `settings`.
    fn history_location(&self, settings: &Settings) -> Option<mbias::history::Location> {
        let folder = match &settings.source {
            mbias::settings::SettingsSource::File(file) => file.parent(),
            mbias::settings::SettingsSource::BuiltIn => None,
        };
        mbias::history::Location::resolve(
            self.history.as_deref(),
            settings.history.as_ref(),
            folder,
        )
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Stack raw bias frames into a master bias and print its QC.
    Stack(stack::StackArgs),
    /// Check raw frames the way soxspipe would, without stacking.
    Validate(validate::ValidateArgs),
    /// Read back the QC values of a master-bias product.
    Qc(qc::QcArgs),
    /// Compare a master bias with a reference master: difference statistics, ΔQC, bad
    /// pixels, verdict.
    Compare(compare::CompareArgs),
    /// Write realistic simulated raw frames.
    Simulate(simulate::SimulateArgs),
    /// Simulate a night of frames and run the whole recipe on it.
    Demo {
        /// Where the console writes products and settings; the simulated frames are removed
        /// when the demo ends, this folder stays (default: the current folder).
        #[arg(short = 'o', long = "output", value_name = "DIR")]
        output: Option<PathBuf>,
    },
    /// Time the engine on simulated workloads, stage by stage.
    Bench(bench::BenchArgs),
    /// Draft a detector profile for a new CCD from one raw frame's headers.
    Profile(profile::ProfileArgs),
    /// Keep the QC history: import existing master biases, certify a reference.
    History(history::HistoryArgs),
    /// Tonight's QC against the nights before, per setup: median, robust spread, score.
    Trend(history::TrendArgs),
}

/// The command line, or the status to exit with once clap has printed help, the version
/// or a usage error. A closed standard output ends as it does for every command (clap
/// itself would report success).
pub fn parse() -> Result<Args, ExitCode> {
    Args::try_parse().map_err(|e| match e.print() {
        Err(io) if closed(&io) => Status::OUTPUT_CLOSED.into(),
        _ => ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2)),
    })
}

pub fn run(args: Args) -> color_eyre::Result<ExitCode> {
    // The console (also `mbias demo` on a terminal) turns signals into messages itself.
    if args
        .command
        .as_ref()
        .is_some_and(|c| !matches!(c, Command::Demo { .. }))
    {
        stop_on_signals();
    }
    let result = match args.command {
        Some(Command::Stack(a)) => stack::run(&a),
        Some(Command::Validate(a)) => validate::run(&a),
        Some(Command::Qc(a)) => qc::run(&a),
        Some(Command::Compare(a)) => compare::run(&a),
        Some(Command::Simulate(a)) => simulate::run(&a),
        Some(Command::Demo { output }) => demo::run(output.as_deref().or(args.output.as_deref())),
        Some(Command::Bench(a)) => bench::run(&a),
        Some(Command::Profile(a)) => profile::run(&a),
        Some(Command::History(a)) => history::run_history(&a),
        Some(Command::Trend(a)) => history::run_trend(&a),
        None => demo::open_console(
            args.input.as_deref(),
            args.output.as_deref(),
            &args.settings,
        ),
    };
    // What is still buffered must reach the reader too, or fail as a write would.
    let result = result.and_then(|status| Ok(std::io::stdout().flush().map(|()| status)?));
    if std::env::var_os(bench::PEAK_MEMORY_ENV).is_some() {
        bench::report_peak_memory();
    }
    Ok(match result {
        Ok(status) => status,
        Err(Failure::Engine(mbias::Error::Verification(_))) => Status::InputError,
        // The reader has gone (`mbias qc P | head -1`): stop quietly, as a Unix tool that
        // SIGPIPE ends does, and with the status the shell gives one. A product written
        // before is complete (it is renamed into place only then); none is written after.
        Err(Failure::Output(e)) if closed(&e) => Status::OUTPUT_CLOSED,
        Err(Failure::Engine(e)) => {
            print_error(&e);
            Status::InputError
        }
        Err(e) => {
            eprintln!("error: {e}");
            Status::InputError
        }
    }
    .into())
}
