//! `mbias qc`: read back a product's QC keywords and check them against the settings.

use std::path::PathBuf;

use mbias::params::QcRanges;
use mbias::product::QcValues;
use mbias::qc::FrameQcValues;

use super::output::{QcRow, out, outln};
use super::{CommandResult, SettingsArgs, Status, output};

#[derive(Debug, clap::Args)]
pub struct QcArgs {
    /// A master-bias product written by mbias or soxspipe.
    product: PathBuf,
    #[command(flatten)]
    settings: SettingsArgs,
    #[arg(long)]
    json: bool,
    /// Exit with 3 when a QC value is outside its acceptable range.
    #[arg(long)]
    fail_on_qc: bool,
}

/// The values read back, each with its unit and precision from the QC definitions and
/// its verdict against `ranges`.
fn judge<'a>(values: &'a QcValues, ranges: &QcRanges) -> Vec<QcRow<'a>> {
    values
        .iter()
        .map(|(origin, name, value)| {
            let range = ranges.get(&mbias::qc::range_key(name)).copied();
            let definition = mbias::qc::definition(name);
            QcRow {
                name,
                origin: *origin,
                value: *value,
                unit: definition.map_or("", |d| d.unit),
                integer: definition.is_some_and(|d| d.integer),
                range,
                pass: range.map(|r| r.passes(*value)),
            }
        })
        .collect()
}

fn failures(rows: &[QcRow]) -> usize {
    rows.iter().filter(|r| r.pass == Some(false)).count()
}

fn print_frames(frames: &[FrameQcValues]) -> std::io::Result<()> {
    if !frames.is_empty() {
        outln!()?;
        out!("{}", output::frame_table(frames))?;
    }
    Ok(())
}

pub fn run(args: &QcArgs) -> CommandResult {
    let product = mbias::product::read_qc(&args.product)?;
    if product.values.is_empty() && product.extensions.is_empty() {
        // A raw frame or another pipeline's file: saying "no QC" and succeeding would
        // let a script take it for a product.
        eprintln!(
            "error: {}: no QC keywords (ESO QC …, MBIAS QC …); not a master-bias product",
            args.product.display()
        );
        return Ok(Status::InputError);
    }
    let mut settings = args.settings.load()?;
    // Judged by the ranges of the release the product was made as, unless asked otherwise.
    if settings.recipe_version.is_none() {
        settings.recipe_version = mbias::product::recipe_version(&product.header);
    }
    // The product header is the first raw frame's, so it names the detector as the raw
    // frames did. A product of a detector these settings do not know is judged as a
    // generic profile's would be: with the settings' unscoped ranges only, not with
    // SOXS's (whose MASTER RON or STRUCTX limits mean nothing for another CCD).
    let detectors = settings.detectors();
    let unknown = mbias::detector::Profile::generic("unknown");
    let profile = detectors.detect(&product.header).unwrap_or(&unknown);
    let ranges = settings.resolve(profile)?.qc_ranges;
    let rows = judge(&product.values, &ranges);
    let extensions: Vec<(&str, Vec<QcRow>, &[FrameQcValues])> = product
        .extensions
        .iter()
        .map(|e| (e.name.as_str(), judge(&e.values, &ranges), &e.frames[..]))
        .collect();
    let failed = failures(&rows) + extensions.iter().map(|e| failures(&e.1)).sum::<usize>();
    // The bias-distribution plots beside the product: mbias's SVG, soxspipe's PDF.
    let names: Vec<Option<&str>> = if extensions.is_empty() {
        vec![None]
    } else {
        extensions.iter().map(|e| Some(e.0)).collect()
    };
    let mut plots = mbias::qc_plot::plots_beside(&args.product, names.into_iter());
    let pdf = mbias::qc_plot::plot_path(&args.product, None).with_extension("pdf");
    plots.extend(pdf.is_file().then_some(pdf));
    let assembled = Some(mbias::assemble::assembled_path(&args.product)).filter(|p| p.is_file());
    if args.json {
        let mut doc = serde_json::json!({
            "product": args.product,
            "qc_plots": plots,
            "assembled": assembled,
            "qc": rows,
            "frames": product.frames,
            "qc_failures": failed,
        });
        if !extensions.is_empty() {
            let list: Vec<_> = extensions
                .iter()
                .map(|(name, rows, frames)| {
                    serde_json::json!({
                        "name": name,
                        "qc": rows,
                        "frames": frames,
                        "qc_failures": failures(rows),
                    })
                })
                .collect();
            doc["extensions"] = list.into();
        }
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default())?;
    } else if extensions.is_empty() {
        out!("{}", output::qc_table(rows))?;
        print_frames(&product.frames)?;
    } else {
        for (i, (name, rows, frames)) in extensions.iter().enumerate() {
            if i > 0 {
                outln!()?;
            }
            outln!("extension {name}")?;
            out!("{}", output::qc_table(rows.iter().copied()))?;
            print_frames(frames)?;
        }
    }
    if !args.json && !plots.is_empty() {
        outln!()?;
        for plot in &plots {
            outln!("plot: {}", plot.display())?;
        }
    }
    if let (false, Some(assembled)) = (args.json, &assembled) {
        outln!("assembled detector: {}", assembled.display())?;
    }
    Ok(if failed > 0 && args.fail_on_qc {
        Status::QcOutOfRange
    } else {
        Status::Success
    })
}
