//! Setup groups: the biases of a night taken in several modes, split as soxspipe's data
//! organiser splits them into SOFs (detector and arm, binning, read-out mode), and by gain,
//! which must agree within a set as well.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use super::frame::{Candidate, check_frame};
use super::set::number_text;
use super::{Collector, LeftOut, Verification, select_valid, unreadable};
use crate::detector::Detectors;
use crate::error::FitsError;
use crate::fits::FrameFile;

/// What the frames of one group share.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Setup {
    /// The detector profile; soxspipe's instruments have one per arm.
    pub profile: String,
    /// `1x1`, `2x2`, …
    pub binning: String,
    /// The read-out mode as its keyword says it; empty when the profile reads none.
    pub read_speed: String,
    /// e-/ADU as the header says it (one per extension, `/`-separated, for frames stacked
    /// extension by extension); empty when the header does not say.
    pub gain: String,
}

impl fmt::Display for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.profile, self.binning)?;
        if !self.read_speed.is_empty() {
            write!(f, ", read-out {}", self.read_speed)?;
        }
        if !self.gain.is_empty() {
            write!(f, ", gain {} e-/ADU", self.gain)?;
        }
        Ok(())
    }
}

impl Setup {
    fn of(candidate: &Candidate) -> Setup {
        let profile = candidate.profile;
        let (binning, read_speed) = candidate.first().map_or_else(Default::default, |frame| {
            let header = frame.merged_header();
            let (bx, by) = profile.binning.read(&header);
            let speed = profile.read_speed.as_ref().and_then(|k| header.text(k));
            (format!("{bx}x{by}"), speed.unwrap_or_default())
        });
        let gains: Vec<String> = candidate
            .image_names()
            .filter_map(|name| candidate.image(name))
            .filter_map(|image| profile.gain.read(&image.merged_header()))
            .map(number_text)
            .collect();
        Setup {
            profile: profile.name.clone(),
            binning,
            read_speed,
            gain: gains.join("/"),
        }
    }
}

/// The frames of one setup, in the order they were given.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub setup: Setup,
    pub files: Vec<PathBuf>,
}

/// Scanned frames grouped by setup, groups in the order of their first frame. A frame that
/// is no usable bias on its own (unreadable, of no known detector, not a bias, lacking a
/// keyword) is in no group: it is left out, with the reason.
pub fn group_by_setup(
    scanned: &[(PathBuf, Result<FrameFile, FitsError>)],
    detectors: &Detectors,
) -> (Vec<Group>, Vec<LeftOut>) {
    let mut groups: Vec<Group> = Vec::new();
    let mut left_out = Vec::new();
    for (path, frame) in scanned {
        let mut out = Collector::default();
        let candidate = match frame {
            Ok(frame) => check_frame(&mut out, path, frame, detectors),
            Err(e) => {
                out.push(unreadable(path, e));
                None
            }
        };
        let Some(candidate) = candidate else {
            let (findings, _) = out.finish();
            let verdict = Verification {
                findings,
                ..Verification::default()
            };
            left_out.extend(select_valid(std::slice::from_ref(path), &verdict).1);
            continue;
        };
        let setup = Setup::of(&candidate);
        match groups.iter_mut().find(|g| g.setup == setup) {
            Some(group) => group.files.push(path.clone()),
            None => groups.push(Group {
                setup,
                files: vec![path.clone()],
            }),
        }
    }
    (groups, left_out)
}
