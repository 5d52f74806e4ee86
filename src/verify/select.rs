//! The frames verification has nothing against: what the console's `a` selects and
//! `mbias stack --select valid` stacks, and what was left out and why.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Finding, Severity, Verification};

/// A file left out of what is stacked, and why: the text of its worst finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    pub file: PathBuf,
    pub reason: String,
}

impl fmt::Display for LeftOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.reason)
    }
}

impl Verification {
    /// Each file's worst finding (its first error, else its first warning), for every
    /// file verification has something against. Notes say where a value came from,
    /// nothing against a file.
    pub fn worst_by_file(&self) -> HashMap<&Path, &Finding> {
        let mut worst: HashMap<&Path, &Finding> = HashMap::new();
        for finding in &self.findings {
            let Some(file) = finding.file.as_deref() else {
                continue;
            };
            if finding.severity == Severity::Note {
                continue;
            }
            worst
                .entry(file)
                .and_modify(|w| {
                    if finding.severity > w.severity {
                        *w = finding;
                    }
                })
                .or_insert(finding);
        }
        worst
    }
}

/// `files` split into those `verification` has nothing against, in their order, and the
/// others with the reason each is left out.
pub fn select_valid(
    files: &[PathBuf],
    verification: &Verification,
) -> (Vec<PathBuf>, Vec<LeftOut>) {
    let worst = verification.worst_by_file();
    let mut valid = Vec::with_capacity(files.len());
    let mut left_out = Vec::new();
    for file in files {
        match worst.get(file.as_path()) {
            Some(finding) => left_out.push(LeftOut {
                file: file.clone(),
                reason: finding.text(),
            }),
            None => valid.push(file.clone()),
        }
    }
    (valid, left_out)
}
