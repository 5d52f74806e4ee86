//! `mbias stack`: validate, prepare, stack, write the product, print the QC.

use std::path::PathBuf;

use mbias::settings::{Combine, Numerics, Rejection};

use super::{SettingsArgs, Status, output};

#[derive(Debug, clap::Args)]
pub struct StackArgs {
    /// Folders, SOF files or frames.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    settings: SettingsArgs,
    /// soxspipe (emulate its float32 sums; default for SOXS/X-shooter) or exact (float64).
    #[arg(long, value_parser = parse_numerics)]
    numerics: Option<Numerics>,
    /// Stack rejection: mad-sigma (soxspipe) or noise-model (median ± σ × read noise).
    #[arg(long, value_parser = parse_rejection)]
    rejection: Option<Rejection>,
    /// Combination of the surviving values: mean (soxspipe) or median.
    #[arg(long, value_parser = parse_combine)]
    combine: Option<Combine>,
    /// Output folder (default: the settings' output-dir, else the current folder).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    output: Option<PathBuf>,
    /// Replace an existing product.
    #[arg(long)]
    overwrite: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Exit with 3 when a QC value is outside its acceptable range.
    #[arg(long)]
    fail_on_qc: bool,
}

fn parse_numerics(s: &str) -> Result<Numerics, String> {
    Numerics::parse(s).ok_or_else(|| format!("'{s}': expected soxspipe or exact"))
}

fn parse_rejection(s: &str) -> Result<Rejection, String> {
    Rejection::parse(s).ok_or_else(|| format!("'{s}': expected mad-sigma or noise-model"))
}

fn parse_combine(s: &str) -> Result<Combine, String> {
    Combine::parse(s).ok_or_else(|| format!("'{s}': expected mean or median"))
}

pub fn run(args: &StackArgs) -> mbias::Result<Status> {
    let mut settings = args.settings.load()?;
    if let Some(n) = args.numerics {
        settings.numerics = Some(n);
    }
    settings.rejection = args.rejection.or(settings.rejection);
    settings.combine = args.combine.or(settings.combine);
    let (inputs, verification) = mbias::pipeline::validate(&args.inputs, &settings)?;
    let Some(plan) = verification.plan.as_ref() else {
        output::print_findings(&verification);
        return Err(mbias::Error::Verification(verification.error_count()));
    };
    if !args.json {
        output::print_findings(&verification);
    } else {
        for f in &verification.findings {
            eprintln!("{f}");
        }
    }
    let resolved = mbias::pipeline::resolve(&settings, plan)?;
    let progress = output::progress();
    let loaded = mbias::pipeline::load(plan, &progress)?;
    let outcome = mbias::pipeline::stack(&loaded, &resolved, &progress)?;
    let folder = args
        .output
        .clone()
        .or_else(|| settings.output_dir.clone())
        .unwrap_or_else(|| PathBuf::from("."));
    let name = mbias::product::product_name(plan, inputs.sof.as_deref());
    let path = mbias::pipeline::write_product(
        &folder,
        &name,
        args.overwrite,
        &inputs.files,
        &loaded,
        &outcome,
        &progress,
    )?;
    output::clear_progress();
    let failed = outcome.qc.failures().count();
    if args.json {
        let frames: Vec<_> = outcome
            .master
            .frames
            .iter()
            .zip(&outcome.qc.frames)
            .map(|(stats, qc)| {
                serde_json::json!({
                    "name": stats.name,
                    "level": stats.level,
                    "noise": stats.noise,
                    "frame_clipped": stats.frame_clipped,
                    "stack_rejected": stats.stack_rejected,
                    "rejected_fraction": qc.rejected_fraction,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "product": path,
            "profile": plan.profile.name,
            "frames": frames,
            "settings": resolved,
            "qc": outcome.qc.values,
            "qc_failures": failed,
            "findings": verification.findings,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        let p = &resolved.params;
        println!(
            "{} frames, {}, numerics {}: frame clip {}σ ×{}, stack clip {} {}σ ×{}, {}",
            plan.frames.len(),
            plan.profile.name,
            resolved.numerics.name(),
            p.frame_clipping_sigma,
            p.frame_clipping_iterations,
            resolved.rejection.name(),
            p.stacked_clipping_sigma,
            p.stacked_clipping_iterations,
            resolved.combine.name()
        );
        println!("wrote {}\n", path.display());
        print!("{}", output::qc_table(&outcome.qc));
        println!();
        print!("{}", output::frame_table(&outcome.qc.frames));
        if failed > 0 {
            println!("\n{failed} QC value(s) outside the acceptable range");
        }
    }
    Ok(if failed > 0 && args.fail_on_qc {
        Status::QcOutOfRange
    } else {
        Status::Success
    })
}
