//! The whole recipe in a few calls, shared by the command line and the console.

use std::path::{Path, PathBuf};

use crate::algorithm::{self, MasterBias, PreparedSet};
use crate::error::{Error, Result};
use crate::inputs::{self, InputSet};
use crate::progress::{Progress, Stage};
use crate::qc::{self, FrameQc, QcReport};
use crate::settings::{Numerics, Resolved, Settings};
use crate::verify::{self, Plan, Verification};

/// Collects the inputs and verifies their headers.
pub fn validate(paths: &[PathBuf]) -> Result<(InputSet, Verification)> {
    let set = inputs::collect(paths)?;
    let scanned = verify::scan(&set.files);
    let verification = verify::verify(&scanned, &set.ignored);
    Ok((set, verification))
}

/// Settings resolved for a plan's profile and arm.
pub fn resolve(settings: &Settings, plan: &Plan) -> Result<Resolved> {
    Ok(settings.resolve(
        plan.profile.instrument,
        plan.profile.arm,
        Numerics::Soxspipe,
    )?)
}

/// Frames in memory plus the QC inputs that do not depend on parameters.
#[derive(Debug)]
pub struct Loaded {
    pub set: PreparedSet,
    pub frame_qc: FrameQc,
}

pub fn load(plan: &Plan, progress: &dyn Progress) -> Result<Loaded> {
    let set = algorithm::prepare(plan, progress)?;
    if progress.cancelled() {
        return Err(Error::Cancelled);
    }
    let frame_qc = qc::frame_qc(&set);
    Ok(Loaded { set, frame_qc })
}

/// A stacked master with its QC.
#[derive(Debug)]
pub struct Outcome {
    pub master: MasterBias,
    pub qc: QcReport,
}

pub fn stack(loaded: &Loaded, resolved: &Resolved, progress: &dyn Progress) -> Result<Outcome> {
    let master = algorithm::stack(&loaded.set, &resolved.params, resolved.numerics, progress)?;
    progress.report(Stage::Qc);
    let qc = qc::report(&loaded.set, &master, &loaded.frame_qc, &resolved.qc_ranges);
    Ok(Outcome { master, qc })
}

/// Writes the product of `outcome` into `folder`.
pub fn write_product(
    folder: &Path,
    name: &str,
    overwrite: bool,
    inputs: &[PathBuf],
    loaded: &Loaded,
    outcome: &Outcome,
    progress: &dyn Progress,
) -> Result<PathBuf> {
    progress.report(Stage::Writing);
    crate::product::write(
        &crate::product::WriteRequest {
            folder,
            name,
            overwrite,
            inputs,
        },
        &loaded.set,
        &outcome.master,
        &outcome.qc,
    )
}
