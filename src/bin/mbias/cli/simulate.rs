//! `mbias simulate`: realistic raw frames for trying the tool without a telescope.

use std::path::PathBuf;

use mbias::detector;
use mbias::simulate::Spec;

use super::output::outln;
use super::{CommandResult, Status};

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Folder to write the frames into (created if missing).
    // `--out`, hidden: the name before every writing command took `-o/--output`, still
    // accepted so that older scripts run.
    #[arg(short = 'o', long = "output", alias = "out", value_name = "DIR")]
    output: PathBuf,
    /// Detector profile: soxs-vis, xsh-uvb, xsh-vis, sim-4k (4096×4096 frames of a
    /// generic CCD), sim-mef (an empty primary HDU and one 2048×1024 image extension per
    /// amplifier, AMP1 and AMP2, each with a level and read noise of its own) or sim-quad
    /// (four extensions Q1-Q4 with prescan and overscan columns, placed on a 1024×1024
    /// detector by DETSEC, two of them read from the right). Each is a built-in profile:
    /// `mbias stack` recognises its frames without settings.
    #[arg(long, default_value = "soxs-vis", value_parser = parse_profile)]
    profile: &'static detector::Profile,
    /// Number of bias frames.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u16).range(1..=500))]
    frames: u16,
    /// Random seed: the same seed gives the same frames.
    #[arg(long, default_value_t = 20251010)]
    seed: u64,
}

fn parse_profile(s: &str) -> Result<&'static detector::Profile, String> {
    detector::by_name(s).ok_or_else(|| {
        let names: Vec<&str> = detector::built_in().map(|p| p.name.as_str()).collect();
        format!("'{s}': expected one of {}", names.join(", "))
    })
}

pub fn run(args: &SimulateArgs) -> CommandResult {
    let files = mbias::simulate::simulate(
        &args.output,
        &Spec::biases(args.profile, usize::from(args.frames), args.seed),
    )?;
    for f in &files {
        outln!("{}", f.display())?;
    }
    Ok(Status::Success)
}
