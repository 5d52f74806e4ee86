//! A night folder as a telescope leaves it: biases of several setups beside flats, arcs and
//! science frames. soxspipe stacks one set of one setup and refuses anything else, and that
//! stays the default; a [`Choice`] says what else to make of such a folder: only the frames
//! verification has nothing against (as the console's `a` selects them), one set per setup,
//! or both.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::error::{FitsError, Result};
use crate::fits::FrameFile;
use crate::inputs::{self, InputSet};
use crate::settings::Settings;
use crate::verify::{self, LeftOut, Setup, Verification};

/// What to make of the frames given; the default is soxspipe's: one set, all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Choice {
    /// Only the frames verification has nothing against; the others are left out.
    pub valid_only: bool,
    /// One set per setup; frames that are no usable bias are left out.
    pub by_setup: bool,
}

/// One set of frames to stack on its own, verified.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The setup its frames share; `None` when the frames were not grouped.
    pub setup: Option<Setup>,
    pub inputs: InputSet,
    pub verification: Verification,
}

/// The sets to stack, and the files given that are in none.
#[derive(Debug, Clone)]
pub struct Night {
    pub batches: Vec<Batch>,
    /// With the reason each is left out, in path order.
    pub left_out: Vec<LeftOut>,
}

type Scanned = Vec<(PathBuf, std::result::Result<FrameFile, FitsError>)>;

/// Collects the inputs, reads their headers and makes the sets `choice` asks for.
pub fn plan(paths: &[PathBuf], settings: &Settings, choice: Choice) -> Result<Night> {
    if choice == Choice::default() {
        let (inputs, verification) = crate::pipeline::validate(paths, settings)?;
        return Ok(Night {
            batches: vec![Batch {
                setup: None,
                inputs,
                verification,
            }],
            left_out: Vec::new(),
        });
    }
    let set = inputs::collect(paths)?;
    let scanned = verify::scan(&set.files);
    let detectors = settings.detectors();
    let mut left_out: Vec<LeftOut> = set
        .ignored
        .iter()
        .map(|file| LeftOut {
            file: file.clone(),
            reason: verify::not_fits_name(file).text(),
        })
        .collect();
    let sets: Vec<(Option<Setup>, Scanned)> = if choice.by_setup {
        let (groups, no_bias) = verify::group_by_setup(&scanned, &detectors);
        left_out.extend(no_bias);
        groups
            .into_iter()
            .map(|group| (Some(group.setup), only(&scanned, &group.files)))
            .collect()
    } else {
        vec![(None, scanned)]
    };
    // Products are named after a SOF only when it gives one set.
    let sof = if sets.len() == 1 { set.sof } else { None };
    let mut batches = Vec::with_capacity(sets.len());
    for (setup, mut scanned) in sets {
        let mut verification = verify::verify(&scanned, &[], &detectors);
        if choice.valid_only {
            let files: Vec<PathBuf> = scanned.iter().map(|(p, _)| p.clone()).collect();
            let (valid, invalid) = verify::select_valid(&files, &verification);
            left_out.extend(invalid);
            scanned = only(&scanned, &valid);
            verification = verify::verify(&scanned, &[], &detectors);
        }
        batches.push(Batch {
            setup,
            inputs: InputSet {
                files: scanned.into_iter().map(|(p, _)| p).collect(),
                sof: sof.clone(),
                ignored: Vec::new(),
            },
            verification,
        });
    }
    left_out.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(Night { batches, left_out })
}

/// The scanned frames among `files`, in scan order.
fn only(scanned: &Scanned, files: &[PathBuf]) -> Scanned {
    let wanted: HashSet<&PathBuf> = files.iter().collect();
    scanned
        .iter()
        .filter(|(path, _)| wanted.contains(path))
        .cloned()
        .collect()
}

impl Night {
    /// Each batch's product name, `None` for a batch verification refuses: soxspipe's
    /// (after the SOF, or as its data organiser names SOFs: first `DATE-OBS`, arm, binning,
    /// read-out mode), made unique.
    pub fn product_names(&self) -> Vec<Option<String>> {
        unique(self.batches.iter().map(|batch| {
            let plan = batch.verification.plans().into_iter().next()?;
            Some(crate::product::product_name(
                plan,
                batch.inputs.sof.as_deref(),
            ))
        }))
    }
}

/// Names with `_2`, `_3`, … added to one an earlier name has taken (setups that differ
/// only in gain, first exposed in the same second), so no product overwrites another.
fn unique(names: impl Iterator<Item = Option<String>>) -> Vec<Option<String>> {
    let mut taken: HashSet<String> = HashSet::new();
    names
        .map(|name| {
            let name = name?;
            let mut candidate = name.clone();
            for n in 2.. {
                if taken.insert(candidate.clone()) {
                    break;
                }
                candidate = match name.strip_suffix(".fits") {
                    Some(stem) => format!("{stem}_{n}.fits"),
                    None => format!("{name}_{n}"),
                };
            }
            Some(candidate)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_names_never_collide() {
        let names = ["A.fits", "B.fits", "A.fits", "A.fits", "A_2.fits"];
        let given = names.iter().map(|n| Some(n.to_string()));
        let given = given.chain([None]);
        assert_eq!(
            unique(given),
            [
                Some("A.fits"),
                Some("B.fits"),
                Some("A_2.fits"),
                Some("A_3.fits"),
                Some("A_2_2.fits"),
                None
            ]
            .map(|n| n.map(String::from))
        );
    }
}
