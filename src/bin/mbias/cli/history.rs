//! `mbias history` (import, certify) and `mbias trend`: the QC history on the command
//! line, and the recording of every product `mbias stack` writes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use mbias::history::trend::{Limits, Score, Trend, deviation_text, judge, mark_stale, series};
use mbias::history::{Filter, Location, Recorded};
use mbias::settings::Settings;

use super::output::{out, outln};
use super::{CommandResult, SettingsArgs, Status};

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    command: HistoryCommand,
}

#[derive(Debug, clap::Subcommand)]
enum HistoryCommand {
    /// Read existing master biases (mbias's or soxspipe's) into the history, from their
    /// headers alone; folders are searched through. A product already there is not added
    /// again.
    Import {
        /// Product files or folders holding them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        settings: SettingsArgs,
        #[arg(long)]
        json: bool,
    },
    /// Make a master bias the reference of its setup, which `mbias compare TONIGHT`
    /// (without a second file) and the console's C compare tonight's master with (it is
    /// imported if need be).
    Certify {
        product: PathBuf,
        #[command(flatten)]
        settings: SettingsArgs,
    },
}

#[derive(Debug, clap::Args)]
pub struct TrendArgs {
    /// Only this detector profile (soxs-vis, xsh-uvb, a generic profile's name).
    #[arg(long, value_name = "PROFILE")]
    detector: Option<String>,
    /// Only these QC values, by name as `mbias qc` prints them (repeatable; default all).
    #[arg(long = "qc", value_name = "NAME")]
    names: Vec<String>,
    /// Only nights from this date on (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    since: Option<String>,
    /// Also write one SVG chart per QC series into this folder.
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
    #[arg(long)]
    json: bool,
    /// Exit with 3 when tonight's value of any series scores "outside".
    #[arg(long)]
    fail_on_outside: bool,
    #[command(flatten)]
    settings: SettingsArgs,
}

fn parse_date(text: &str) -> Result<String, String> {
    text.parse::<jiff::civil::Date>()
        .map(|d| d.to_string())
        .map_err(|_| format!("'{text}': expected a date as YYYY-MM-DD"))
}

/// The history `args` and `settings` name; an error when there is none to use.
pub(super) fn location(args: &SettingsArgs, settings: &Settings) -> Result<Location, mbias::Error> {
    args.history_location(settings)
        .ok_or_else(|| mbias::error::HistoryError::NoDataFolder.into())
}

/// Where `mbias stack` recorded its product.
#[derive(Debug, serde::Serialize)]
pub struct Recording {
    pub file: PathBuf,
    /// `added`, or `known` when the same product was there already.
    pub recorded: &'static str,
}

impl std::fmt::Display for Recording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.recorded {
            "added" => write!(f, "history: recorded in {}", self.file.display()),
            _ => write!(f, "history: already in {}", self.file.display()),
        }
    }
}

/// Records the product `mbias stack` has just written; a failure is a warning, never a
/// failed stack (the product is there either way). `None` when nothing was recorded.
pub fn record_written(
    args: &SettingsArgs,
    settings: &Settings,
    product: &Path,
) -> Option<Recording> {
    let Some(location) = args.history_location(settings) else {
        eprintln!(
            "warning: the product was not recorded in the QC history: {}",
            mbias::error::HistoryError::NoDataFolder
        );
        return None;
    };
    let Location::File(file) = &location else {
        return None;
    };
    match mbias::history::record_product(&location, product, &settings.detectors()) {
        Ok(recorded) => Some(Recording {
            file: file.clone(),
            recorded: match recorded {
                Some(Recorded::Added) => "added",
                _ => "known",
            },
        }),
        Err(e) => {
            eprintln!("warning: the product was not recorded in the QC history: {e}");
            None
        }
    }
}

pub fn run_history(args: &HistoryArgs) -> CommandResult {
    match &args.command {
        HistoryCommand::Import {
            paths,
            settings,
            json,
        } => import(paths, settings, *json),
        HistoryCommand::Certify { product, settings } => certify(product, settings),
    }
}

fn import(paths: &[PathBuf], args: &SettingsArgs, json: bool) -> CommandResult {
    let settings = args.load()?;
    let mut history = location(args, &settings)?.open()?;
    let (files, unreadable) = mbias::history::product_files(paths);
    let mut imported = mbias::history::import(&mut history, &files, &settings.detectors())?;
    imported.skipped.extend(unreadable);
    for (_, reason) in &imported.skipped {
        eprintln!("skipped: {reason}");
    }
    if json {
        let skipped: Vec<_> = imported
            .skipped
            .iter()
            .map(|(path, reason)| serde_json::json!({"path": path, "reason": reason}))
            .collect();
        let doc = serde_json::json!({
            "history": history.path(),
            "added": imported.added,
            "known": imported.known,
            "skipped": skipped,
        });
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default())?;
    } else {
        outln!(
            "{} product(s) added, {} already known, {} file(s) skipped; {} product(s) in {}",
            imported.added.len(),
            imported.known.len(),
            imported.skipped.len(),
            history.product_count()?,
            history.path().display()
        )?;
    }
    Ok(Status::Success)
}

fn certify(product: &Path, args: &SettingsArgs) -> CommandResult {
    let settings = args.load()?;
    let mut history = location(args, &settings)?.open()?;
    let entry = mbias::history::read(product, &settings.detectors())?;
    history.record(std::slice::from_ref(&entry))?;
    history.certify(&entry.checksum, product)?;
    outln!(
        "{} is the reference of {} (night {})",
        product.display(),
        entry.setup,
        entry.night
    )?;
    Ok(Status::Success)
}

/// The QC ranges of the profile named `profile` (the settings' unscoped ranges for a
/// profile these settings do not know).
fn ranges(settings: &Settings, profile: &str) -> Option<mbias::params::QcRanges> {
    let detectors = settings.detectors();
    let unknown = mbias::detector::Profile::generic(profile);
    let found = detectors.find(profile).unwrap_or(&unknown);
    settings.resolve(found).ok().map(|r| r.qc_ranges)
}

pub fn run_trend(args: &TrendArgs) -> CommandResult {
    let settings = args.settings.load()?;
    let history = location(&args.settings, &settings)?.open_existing()?;
    let filter = Filter {
        profile: args.detector.clone(),
        since: args.since.clone(),
        recipe: args.settings.recipe.map(|r| r.name().to_string()),
        names: args.names.clone(),
    };
    let limits = Limits::default();
    let mut ranges_of = std::collections::HashMap::new();
    let mut trends: Vec<Trend> = series(history.values(&filter)?)
        .into_iter()
        .map(|s| {
            let ranges = ranges_of
                .entry(s.setup.profile.clone())
                .or_insert_with(|| ranges(&settings, &s.setup.profile));
            let range = ranges
                .as_ref()
                .and_then(|r| r.get(&mbias::qc::range_key(&s.name)).copied());
            judge(s, range, &limits)
        })
        .collect();
    mark_stale(&mut trends);
    if trends.is_empty() {
        // A mistyped --detector or --qc must not pass a health check by finding nothing.
        eprintln!(
            "error: no QC values in {} for this selection (record products with mbias stack, \
             or mbias history import DIR)",
            history.path().display()
        );
        return Ok(Status::InputError);
    }
    let mut plots = Vec::new();
    if let Some(folder) = &args.plot {
        std::fs::create_dir_all(folder).map_err(|source| {
            mbias::error::ProductError::CreateDir {
                path: folder.clone(),
                source,
            }
        })?;
        for trend in &trends {
            let path = mbias::history::plot::plot_path(folder, trend);
            let svg = mbias::history::plot::svg(trend, &limits);
            mbias::atomic::write_bytes(&path, true, svg.as_bytes())?;
            plots.push(path);
        }
    }
    if args.json {
        let doc = serde_json::json!({
            "history": history.path(),
            "limits": limits,
            "trends": trends,
            "plots": plots,
        });
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default())?;
    } else {
        out!("{}", trend_table(&trends))?;
        if !plots.is_empty() {
            outln!(
                "{} chart(s) in {}",
                plots.len(),
                args.plot.as_deref().unwrap_or(Path::new(".")).display()
            )?;
        }
    }
    let outside = trends.iter().any(|t| t.score == Score::Outside);
    Ok(if outside && args.fail_on_outside {
        Status::QcOutOfRange
    } else {
        Status::Success
    })
}

/// The trends as tables, one per setup and amplifier.
pub fn trend_table(trends: &[Trend]) -> String {
    let mut text = String::new();
    let mut current = None;
    for t in trends {
        let s = &t.series;
        let group = (&s.setup, &s.recipe, &s.extension);
        if current != Some(group) {
            current = Some(group);
            let amplifier = if s.extension.is_empty() {
                String::new()
            } else {
                format!(", {}", s.extension)
            };
            let nights = (s.points.first(), s.points.last());
            let span = match nights {
                (Some(a), Some(b)) => format!(", nights {} … {}", a.night, b.night),
                _ => String::new(),
            };
            if !text.is_empty() {
                text.push('\n');
            }
            let _ = writeln!(text, "{}, {}{amplifier}{span}", s.setup, s.recipe);
            let _ = writeln!(
                text,
                "  {:<26} {:>5} {:>13} {:>11} {:>13} {:>10}  score",
                "QC", "n", "median", "robust σ", "tonight", "deviation"
            );
        }
        let number = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.6}"));
        let deviation = deviation_text(t.deviation);
        let _ = writeln!(
            text,
            "  {:<26} {:>5} {:>13} {:>11} {:>13} {:>10}  {}",
            s.name,
            s.points.len(),
            number(t.median),
            number(t.spread),
            number(t.tonight.as_ref().map(|p| p.value)),
            deviation,
            t.score.name()
        );
    }
    text
}
