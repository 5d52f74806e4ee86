//! `mbias stack`: validate, prepare, stack, write the product, print the QC.

use std::path::PathBuf;

use mbias::night::Batch;
use mbias::params::{Combine, Numerics, Rejection};
use mbias::pipeline::{Frames, Outcome, StackedImage};
use mbias::settings::Settings;
use mbias::verify::Plan;

use super::night::{self, Select};
use super::output::{out, outln};
use super::{CommandResult, Failure, SettingsArgs, Status, output, print_error};

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
    /// Do not write the bias-distribution QC plot (an SVG) beside the product.
    #[arg(long)]
    no_plot: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Exit with 3 when a QC value is outside its acceptable range.
    #[arg(long)]
    fail_on_qc: bool,
    /// Which frames to stack; frames left out are listed with the reason.
    #[arg(long, value_enum, default_value_t = Select::All)]
    select: Select,
    /// One master per setup (detector and arm, binning, read-out mode, gain), named as
    /// soxspipe's data organiser names its sets; files that are no bias are left out.
    #[arg(long)]
    group: bool,
}

/// One stacked set, as the group summary and the JSON array need it.
struct Stacked {
    status: Status,
    product: PathBuf,
    frames: usize,
    qc_failures: usize,
    /// The `--json` document.
    doc: Option<serde_json::Value>,
}

fn parse_numerics(s: &str) -> Result<Numerics, String> {
    Numerics::parse(s).ok_or_else(|| format!("'{s}': expected soxspipe or exact"))
}

fn parse_rejection(s: &str) -> Result<Rejection, String> {
    Rejection::parse(s).ok_or_else(|| format!("'{s}': expected {}", Rejection::choices()))
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
    let choice = night::choice(args.select, args.group);
    let night = mbias::night::plan(&args.inputs, &settings, choice)?;
    let names = night.product_names();
    if !args.json {
        night::print_left_out(&night.left_out)?;
    }
    if args.group {
        return stack_groups(args, &settings, &night, &names);
    }
    // Not grouped, the frames make one set.
    let Some((batch, name)) = night.batches.first().zip(names.first()) else {
        return Err(mbias::Error::Verification(0).into());
    };
    let stacked = match stack_batch(args, &settings, batch, name.as_deref()) {
        Err(Failure::Engine(mbias::Error::Verification(n))) if choice == Default::default() => {
            eprintln!("hint: {SELECT_VALID_HINT}; --group stacks each setup on its own");
            return Err(mbias::Error::Verification(n).into());
        }
        other => other?,
    };
    if let Some(mut doc) = stacked.doc {
        if args.select == Select::Valid {
            doc["left_out"] = serde_json::json!(night.left_out);
        }
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default())?;
    }
    Ok(stacked.status)
}

const SELECT_VALID_HINT: &str =
    "--select valid stacks only the frames verification has nothing against";

/// One master per setup group, each reported as a single set is, then a summary line per
/// group; the exit status is the worst of the groups'.
fn stack_groups(
    args: &StackArgs,
    settings: &Settings,
    night: &mbias::night::Night,
    names: &[Option<String>],
) -> CommandResult {
    let total = night.batches.len();
    let mut status = Status::Success;
    if total == 0 {
        eprintln!("error: no bias frames of any setup to stack");
        status = Status::InputError;
    }
    let mut summary = Vec::with_capacity(total);
    let mut docs = Vec::with_capacity(total);
    let mut refused = false;
    for (i, (batch, name)) in night.batches.iter().zip(names).enumerate() {
        let setup = batch.setup.as_ref();
        if !args.json {
            outln!("{}", night::group_heading(i, total, batch))?;
        }
        match stack_batch(args, settings, batch, name.as_deref()) {
            Ok(stacked) => {
                status = night::worse(status, stacked.status);
                let verdict = match stacked.qc_failures {
                    0 => "no QC value outside its range".to_string(),
                    n => format!("{n} QC value(s) outside the acceptable range"),
                };
                summary.push(format!(
                    "{}: {} frame(s) → {}, {verdict}",
                    night::setup_label(batch),
                    stacked.frames,
                    stacked.product.display()
                ));
                if let Some(mut doc) = stacked.doc {
                    doc["setup"] = serde_json::json!(setup);
                    docs.push(doc);
                }
            }
            // Standard output gone: nothing more can be reported.
            Err(Failure::Output(e)) => return Err(Failure::Output(e)),
            Err(Failure::Engine(e)) => {
                status = night::worse(status, Status::InputError);
                // Verification's findings are printed already; anything else is not.
                refused |= matches!(e, mbias::Error::Verification(_));
                if !matches!(e, mbias::Error::Verification(_)) {
                    output::clear_progress();
                    print_error(&e);
                }
                summary.push(format!("{}: not stacked: {e}", night::setup_label(batch)));
                docs.push(serde_json::json!({
                    "setup": setup,
                    "error": e.to_string(),
                    "findings": batch.verification.findings,
                }));
            }
        }
        if !args.json {
            outln!()?;
        }
    }
    if args.json {
        let doc = serde_json::json!({ "groups": docs, "left_out": night.left_out });
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default())?;
    } else {
        outln!("{total} group(s):")?;
        for line in summary {
            outln!("  {line}")?;
        }
    }
    if refused && args.select == Select::All {
        eprintln!("hint: {SELECT_VALID_HINT} in each setup");
    }
    Ok(status)
}

/// Stacks one verified set and writes its product as `name`, printing the findings, the
/// QC table and the frame table (or, with `--json`, returning the document).
fn stack_batch(
    args: &StackArgs,
    settings: &Settings,
    batch: &Batch,
    name: Option<&str>,
) -> Result<Stacked, Failure> {
    let verification = &batch.verification;
    if !args.json {
        output::print_findings(verification)?;
    } else {
        for f in &verification.findings {
            eprintln!("{f}");
        }
    }
    let plans: Vec<Plan> = verification.plans().into_iter().cloned().collect();
    let (Some(plan), Some(name)) = (plans.first(), name) else {
        return Err(mbias::Error::Verification(verification.error_count()).into());
    };
    // Stacked once: a large set of uncompressed frames is read in bands.
    let resolved = mbias::settings::Resolved {
        stacks: mbias::settings::Stacks::Once,
        ..mbias::pipeline::resolve(settings, plan)?
    };
    let progress = output::progress();
    let frames = Frames::Read {
        plans: &plans,
        reuse: &[],
    };
    let stacked = mbias::pipeline::run(frames, &resolved, &progress)?;
    for warning in stacked.iter().flat_map(|image| image.loaded.warnings()) {
        output::clear_progress();
        eprintln!("warning: {warning}");
    }
    let folder = args
        .output
        .clone()
        .or_else(|| settings.output_dir.clone())
        .unwrap_or_else(|| PathBuf::from("."));
    let images: Vec<_> = stacked.iter().map(StackedImage::parts).collect();
    let path = mbias::pipeline::write(
        &folder,
        name,
        args.overwrite,
        !args.no_plot,
        &images,
        &progress,
    )?;
    output::clear_progress();
    let plots: Vec<PathBuf> = if args.no_plot {
        Vec::new()
    } else {
        mbias::qc_plot::plots_beside(&path, plans.iter().map(|p| p.extension.as_deref()))
    };
    let assembled = Some(mbias::assemble::assembled_path(&path)).filter(|p| p.is_file());
    let recorded = super::history::record_written(&args.settings, settings, &path);
    let failed: usize = stacked
        .iter()
        .map(|image| image.outcome.qc.failures().count())
        .sum();
    let mut json = None;
    if args.json {
        let mut doc = serde_json::json!({
            "product": path,
            "qc_plots": plots,
            "assembled": assembled,
            "profile": plan.profile.name,
            "settings": resolved,
            "bad_pixel_map": stacked.first().and_then(|i| i.loaded.set.bad_pixels.as_ref()).map(|m| &m.path),
            "qc_failures": failed,
            "history": recorded,
            "findings": verification.findings,
        });
        match (&verification.plan, stacked.as_slice()) {
            (Some(_), [StackedImage { outcome, loaded }]) => {
                doc["frames"] = frames_json(outcome).into();
                doc["qc"] = serde_json::json!(outcome.qc.values);
                doc["amplifiers"] = serde_json::json!(outcome.qc.amplifiers);
                doc["bias_distribution"] = serde_json::json!(outcome.distribution(loaded));
            }
            _ => {
                let extensions: Vec<_> = plans
                    .iter()
                    .zip(&stacked)
                    .map(|(plan, StackedImage { outcome, .. })| {
                        serde_json::json!({
                            "name": plan.extension,
                            "frames": frames_json(outcome),
                            "qc": outcome.qc.values,
                            "amplifiers": outcome.qc.amplifiers,
                            "qc_failures": outcome.qc.failures().count(),
                        })
                    })
                    .collect();
                doc["extensions"] = extensions.into();
            }
        }
        json = Some(doc);
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
            "{} frames, {}{extensions}, {}, numerics {}: frame clip {}σ ×{}, stack clip {} {}σ ×{}, {}",
            plan.frames.len(),
            plan.profile.name,
            resolved.recipe.name(),
            resolved.numerics.name(),
            p.frame_clipping_sigma,
            p.frame_clipping_iterations,
            resolved.rejection.name(),
            p.stacked_clipping_sigma,
            p.stacked_clipping_iterations,
            resolved.combine.name()
        )?;
        if let Some(map) = stacked
            .first()
            .and_then(|i| i.loaded.set.bad_pixels.as_ref())
        {
            outln!(
                "bad-pixel map: {} ({} bad pixels)",
                map.path.display(),
                map.count
            )?;
        }
        outln!("wrote {}", path.display())?;
        for plot in &plots {
            outln!("wrote {}", plot.display())?;
        }
        if let Some(assembled) = &assembled {
            outln!(
                "wrote {} (the extensions as on the detector)",
                assembled.display()
            )?;
        }
        if let Some(recorded) = &recorded {
            outln!("{recorded}")?;
        }
        for (plan, StackedImage { outcome, .. }) in plans.iter().zip(&stacked) {
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
            if !outcome.qc.amplifiers.is_empty() {
                outln!()?;
                out!("{}", output::amplifier_table(&outcome.qc.amplifiers))?;
            }
        }
        if failed > 0 {
            outln!("\n{failed} QC value(s) outside the acceptable range")?;
        }
    }
    Ok(Stacked {
        status: if failed > 0 && args.fail_on_qc {
            Status::QcOutOfRange
        } else {
            Status::Success
        },
        product: path,
        frames: plan.frames.len(),
        qc_failures: failed,
        doc: json,
    })
}
