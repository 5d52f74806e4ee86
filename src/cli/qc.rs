//! `mbias qc`: read back a product's QC keywords and check them against the settings.

use std::path::PathBuf;

use super::{SettingsArgs, Status, output};

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

pub fn run(args: &QcArgs) -> mbias::Result<Status> {
    let product = mbias::product::read_qc(&args.product)?;
    let settings = args.settings.load()?;
    // The product header is the first raw frame's, so it names the detector as the raw
    // frames did; a product of unknown origin is judged as SOXS VIS.
    let detectors = settings.detectors();
    let profile = detectors
        .detect(&product.header)
        .unwrap_or(mbias::detector::soxs_vis());
    let ranges = settings.resolve(profile)?.qc_ranges;
    let rows: Vec<_> = product
        .values
        .iter()
        .map(|(origin, name, value)| {
            let range = ranges
                .get(&name.to_ascii_lowercase().replace(' ', "-"))
                .copied();
            (origin, name, *value, range, range.map(|r| r.passes(*value)))
        })
        .collect();
    let failed = rows.iter().filter(|r| r.4 == Some(false)).count();
    if args.json {
        let values: Vec<_> = rows
            .iter()
            .map(|(o, n, v, r, p)| {
                serde_json::json!({ "name": n, "origin": o, "value": v, "range": r, "pass": p })
            })
            .collect();
        let doc = serde_json::json!({
            "product": args.product,
            "qc": values,
            "frames": product.frames,
            "qc_failures": failed,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        println!("{:<14} {:>22} {:<16} status", "QC", "value", "range");
        for (_, name, value, range, pass) in &rows {
            let range = range
                .map(|r| format!("({}, {})", r.low, r.high))
                .unwrap_or_else(|| "-".into());
            let status = match pass {
                Some(true) => "pass",
                Some(false) => "FAIL",
                None => "-",
            };
            println!("{name:<14} {value:>22} {range:<16} {status}");
        }
        if rows.is_empty() {
            println!("no QC keywords in {}", args.product.display());
        }
        if !product.frames.is_empty() {
            println!();
            print!("{}", output::frame_table(&product.frames));
        }
    }
    Ok(if failed > 0 && args.fail_on_qc {
        Status::QcOutOfRange
    } else {
        Status::Success
    })
}
