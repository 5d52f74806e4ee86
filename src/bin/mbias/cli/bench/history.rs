//! The history workload: ten years of nightly master biases of one setup (3650 products,
//! every QC mbias writes), imported into a fresh QC history and trended, as a site
//! loading its archive would.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use mbias::fits::{Card, ImageData, ImageWriter, Value};
use mbias::history::{Location, product_files};

use super::median;
use crate::cli::output::outln;

/// Ten years of nights.
const NIGHTS: usize = 3650;
/// The products' images: only their headers matter here.
const SHAPE: (usize, usize) = (8, 8);

/// The header of night `night`'s product: a SOXS VIS 1×1 master with every QC value,
/// drifting slowly and noisy, as years of a real detector would read.
fn product_cards(night: usize) -> Vec<Card> {
    let start = jiff::civil::date(2016, 1, 1).at(23, 30, 0, 0);
    let date = start
        .checked_add(jiff::Span::new().days(night as i64))
        .unwrap_or(start);
    let text = |k: &str, v: &str| Card::new(k, Value::Str(v.to_string()), "");
    let mut cards = vec![
        text("INSTRUME", "SOXS"),
        text("ESO SEQ ARM", "VIS"),
        Card::new("ESO DET BINX", Value::Int(1), ""),
        Card::new("ESO DET BINY", Value::Int(1), ""),
        text("ESO DET READ CURID", "1"),
        text("DATE-OBS", &format!("{date}")),
        Card::new("MJD-OBS", Value::Float(57388.979 + night as f64), ""),
        text("ESO PRO CATG", "MASTER_BIAS_VIS"),
        text("ESO PRO REC1 PIPE ID", mbias::product::PIPELINE_ID),
        text("ESO PRO REC1 PARAM1 NAME", "recipe"),
        text("ESO PRO REC1 PARAM1 VALUE", "soxspipe-0.19"),
    ];
    for (i, d) in mbias::qc::DEFINITIONS.iter().enumerate() {
        // A level that drifts a little over the years, and noise of its own per value.
        let wobble = ((night * 7919 + i * 104_729) % 1000) as f64 / 1000.0 - 0.5;
        let value = 100.0 + i as f64 + night as f64 * 1e-4 + wobble;
        let key = format!("{}{}", d.origin.prefix(), d.name);
        cards.push(Card::new(&key, Value::Float(value), d.comment));
    }
    cards
}

fn write_products(dir: &Path) -> mbias::Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| mbias::error::ProductError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let pixels = vec![0f32; SHAPE.0 * SHAPE.1];
    for night in 0..NIGHTS {
        let path = dir.join(format!("MASTER_BIAS_{night:04}.fits"));
        let mut writer = ImageWriter::create(&path)?;
        writer.add_image(SHAPE, ImageData::F32(&pixels), &product_cards(night))?;
        writer.finish();
    }
    Ok(())
}

/// `mbias trend` on `history` as a user runs it: a process of its own, wall time; why
/// it could not be timed otherwise.
fn trend_seconds(history: &Path) -> Result<f64, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find mbias itself: {e}"))?;
    let started = Instant::now();
    let run = Command::new(&exe)
        .args(["trend", "--detector", "soxs-vis", "--json"])
        .arg("--history")
        .arg(history)
        .env_remove("MBIAS_SETTINGS")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    if !run.success() {
        return Err(format!("mbias trend failed ({run})"));
    }
    Ok(seconds)
}

/// Writes the products under `root`, imports them twice and times `mbias trend`.
pub fn run(root: &Path, repeats: u16) -> Result<(), super::super::Failure> {
    let dir = root.join("history-products");
    let started = Instant::now();
    write_products(&dir)?;
    let written = started.elapsed().as_secs_f64();
    let file = root.join("history.sqlite");
    let mut history = Location::File(file.clone()).open()?;
    let detectors = mbias::settings::Settings::default().detectors();
    let (files, _) = product_files(std::slice::from_ref(&dir));
    let started = Instant::now();
    let imported = mbias::history::import(&mut history, &files, &detectors)?;
    let import = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let again = mbias::history::import(&mut history, &files, &detectors)?;
    let reimport = started.elapsed().as_secs_f64();
    drop(history);
    let trend = (0..repeats)
        .map(|_| trend_seconds(&file))
        .collect::<Result<Vec<f64>, String>>()
        .map(median);
    let size = std::fs::metadata(&file).map_or(0, |m| m.len());
    outln!(
        "history: {NIGHTS} nightly masters of SOXS VIS 1x1, {} QC values each",
        mbias::qc::DEFINITIONS.len()
    )?;
    outln!(
        "  {:<16} {:>8.1} ms (the synthetic products)",
        "write",
        written * 1e3
    )?;
    outln!(
        "  {:<16} {:>8.1} ms ({} added, headers only: {:.0} µs a product)",
        "import",
        import * 1e3,
        imported.added.len(),
        import / NIGHTS as f64 * 1e6
    )?;
    outln!(
        "  {:<16} {:>8.1} ms ({} already known)",
        "import again",
        reimport * 1e3,
        again.known.len()
    )?;
    match trend {
        Ok(seconds) => outln!(
            "  {:<16} {:>8.1} ms (mbias trend --detector soxs-vis, the whole process)",
            "trend",
            seconds * 1e3
        )?,
        Err(why) => outln!("  {:<16} {why}", "trend")?,
    }
    outln!(
        "  {:<16} {:>8.1} MiB\n",
        "database",
        size as f64 / 1048576.0
    )?;
    Ok(())
}
