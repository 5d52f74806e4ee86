//! `mbias profile FILE`: a draft detector profile from one raw frame's headers, to paste
//! into a settings file and check.

use std::path::PathBuf;

use super::output::{out, outln};
use super::{CommandResult, Status};

#[derive(Debug, clap::Args)]
pub struct ProfileArgs {
    /// A raw bias frame of the CCD.
    file: PathBuf,
}

pub fn run(args: &ProfileArgs) -> CommandResult {
    let draft = mbias::settings::draft::draft(&args.file)?;
    out!("{}", draft.yaml)?;
    if !draft.open.is_empty() {
        outln!()?;
        outln!("# To decide before stacking with it:")?;
        for item in &draft.open {
            outln!("#   - {item}")?;
        }
    }
    Ok(Status::Success)
}
