//! `mbias stack`: validate, prepare, stack, write the product, print the QC.

use std::path::PathBuf;

use mbias::pipeline::{Loaded, Outcome};
use mbias::settings::{Combine, Numerics, Rejection};

use super::output::{out, outln};
use super::{CommandResult, SettingsArgs, Status, output};

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

/// The per-frame table of one stacked image as JSON.
fn frames_json(outcome: &Outcome) -> Vec<serde_json::Value> {
    outcome
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
        .collect()
}

pub fn run(args: &StackArgs) -> CommandResult {
    let mut settings = args.settings.load()?;
    if let Some(n) = args.numerics {
        settings.numerics = Some(n);
    }
    settings.rejection = args.rejection.or(settings.rejection);
    settings.combine = args.combine.or(settings.combine);
    let (inputs, verification) = mbias::pipeline::validate(&args.inputs, &settings)?;
    let plans = verification.plans();
    let Some(&plan) = plans.first() else {
        output::print_findings(&verification)?;
        return Err(mbias::Error::Verification(verification.error_count()).into());
    };
    if !args.json {
        output::print_findings(&verification)?;
    } else {
        for f in &verification.findings {
            eprintln!("{f}");
        }
    }
    let resolved = mbias::pipeline::resolve(&settings, plan)?;
    let progress = output::progress();
    // One image after the other: each stack already keeps both cores busy.
    let mut stacked: Vec<(Loaded, Outcome)> = Vec::with_capacity(plans.len());
    for plan in &plans {
        let loaded = mbias::pipeline::load(plan, &progress)?;
        for warning in loaded.warnings() {
            output::clear_progress();
            eprintln!("warning: {warning}");
        }
        let outcome = mbias::pipeline::stack(&loaded, &resolved, &progress)?;
        stacked.push((loaded, outcome));
    }
    let folder = args
        .output
        .clone()
        .or_else(|| settings.output_dir.clone())
        .unwrap_or_else(|| PathBuf::from("."));
    let name = mbias::product::product_name(plan, inputs.sof.as_deref());
    let images: Vec<(&Loaded, &Outcome)> = stacked.iter().map(|(l, o)| (l, o)).collect();
    let path = mbias::pipeline::write_images(
        &folder,
        &name,
        args.overwrite,
        &inputs.files,
        &images,
        &progress,
    )?;
    output::clear_progress();
    let failed: usize = stacked.iter().map(|(_, o)| o.qc.failures().count()).sum();
    if args.json {
        let mut doc = serde_json::json!({
            "product": path,
            "profile": plan.profile.name,
            "settings": resolved,
            "qc_failures": failed,
            "findings": verification.findings,
        });
        match (&verification.plan, stacked.as_slice()) {
            (Some(_), [(_, outcome)]) => {
                doc["frames"] = frames_json(outcome).into();
                doc["qc"] = serde_json::json!(outcome.qc.values);
            }
            _ => {
                let extensions: Vec<_> = plans
                    .iter()
                    .zip(&stacked)
                    .map(|(plan, (_, outcome))| {
                        serde_json::json!({
                            "name": plan.extension,
                            "frames": frames_json(outcome),
                            "qc": outcome.qc.values,
                            "qc_failures": outcome.qc.failures().count(),
                        })
                    })
                    .collect();
                doc["extensions"] = extensions.into();
            }
        }
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default())?;
    } else {
        let p = &resolved.params;
        let names: Vec<&str> = plans
            .iter()
            .filter_map(|p| p.extension.as_deref())
            .collect();
        let extensions = if names.is_empty() {
            String::new()
        } else {
            format!(", {} extensions ({})", names.len(), names.join(", "))
        };
        outln!(
            "{} frames, {}{extensions}, numerics {}: frame clip {}σ ×{}, stack clip {} {}σ ×{}, {}",
            plan.frames.len(),
            plan.profile.name,
            resolved.numerics.name(),
            p.frame_clipping_sigma,
            p.frame_clipping_iterations,
            resolved.rejection.name(),
            p.stacked_clipping_sigma,
            p.stacked_clipping_iterations,
            resolved.combine.name()
        )?;
        outln!("wrote {}", path.display())?;
        for (plan, (_, outcome)) in plans.iter().zip(&stacked) {
            outln!()?;
            if let Some(extension) = &plan.extension {
                outln!("extension {extension}")?;
            }
            out!(
                "{}",
                output::qc_table(outcome.qc.values.iter().map(Into::into))
            )?;
            outln!()?;
            out!("{}", output::frame_table(&outcome.qc.frames))?;
        }
        if failed > 0 {
            outln!("\n{failed} QC value(s) outside the acceptable range")?;
        }
    }
    Ok(if failed > 0 && args.fail_on_qc {
        Status::QcOutOfRange
    } else {
        Status::Success
    })
}
