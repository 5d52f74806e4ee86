//! `mbias validate`: header checks only, as text or JSON.

use std::path::PathBuf;

use super::output::outln;
use super::{CommandResult, Status, output};

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Folders, SOF files or frames.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Print the findings as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    settings: super::SettingsArgs,
}

pub fn run(args: &ValidateArgs) -> CommandResult {
    let (set, verification) = mbias::pipeline::validate(&args.inputs, &args.settings.load()?)?;
    let status = if verification.has_errors() {
        Status::InputError
    } else {
        Status::Success
    };
    if args.json {
        let frames: Vec<_> = set
            .files
            .iter()
            .map(|f| {
                let worst = verification.for_file(f).map(|x| x.severity).max();
                serde_json::json!({ "file": f, "worst": worst })
            })
            .collect();
        let plans = verification.plans();
        let mut doc = serde_json::json!({
            "ok": !verification.has_errors(),
            "frames": frames,
            "summary": verification.summary,
            "findings": verification.findings,
            "profile": plans.first().map(|p| p.profile.name.as_str()),
        });
        if !verification.extensions.is_empty() {
            let names: Vec<_> = plans.iter().map(|p| &p.extension).collect();
            doc["extensions"] = serde_json::json!(names);
        }
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default())?;
        return Ok(status);
    }
    output::print_findings(&verification)?;
    let plans = verification.plans();
    if plans.is_empty() {
        outln!("not stackable: {} problem(s)", verification.error_count())?;
    }
    for plan in plans {
        outln!("ok: {plan}")?;
    }
    Ok(status)
}
