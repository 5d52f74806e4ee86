//! `mbias validate`: header checks only, as text or JSON.

use std::path::PathBuf;

use super::{Status, output};

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

pub fn run(args: &ValidateArgs) -> mbias::Result<Status> {
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
        let doc = serde_json::json!({
            "ok": !verification.has_errors(),
            "frames": frames,
            "summary": verification.summary,
            "findings": verification.findings,
            "profile": verification.plan.as_ref().map(|p| p.profile.name.as_str()),
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return Ok(status);
    }
    output::print_findings(&verification);
    match &verification.plan {
        Some(plan) => println!("ok: {plan}"),
        None => println!("not stackable: {} problem(s)", verification.error_count()),
    }
    Ok(status)
}
