//! What `stack` and `validate` share for a night folder: the options that choose what to
//! make of it, and how the files left out and the groups are reported.

use mbias::night::{Batch, Choice};
use mbias::verify::LeftOut;

use super::Status;
use super::output::outln;

/// The frames `stack` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Select {
    /// All of them; any problem refuses the set (soxspipe's rule).
    All,
    /// Those verification has nothing against, as the console's `a` selects them.
    Valid,
}

pub fn choice(select: Select, group: bool) -> Choice {
    Choice {
        valid_only: select == Select::Valid,
        by_setup: group,
    }
}

pub fn print_left_out(left_out: &[LeftOut]) -> std::io::Result<()> {
    if left_out.is_empty() {
        return Ok(());
    }
    outln!("left out {} file(s):", left_out.len())?;
    for file in left_out {
        outln!("  {file}")?;
    }
    outln!()
}

/// What a group's frames share, as reports name the group.
pub fn setup_label(batch: &Batch) -> String {
    batch
        .setup
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// The line that opens a group's report: `== group 1 of 2: soxs-vis 1x1, …: 5 frame(s)`.
pub fn group_heading(index: usize, total: usize, batch: &Batch) -> String {
    format!(
        "== group {} of {total}: {}: {} frame(s)",
        index + 1,
        setup_label(batch),
        batch.inputs.files.len()
    )
}

/// The worse of two outcomes: a set that could not be used is worse than a QC value out
/// of range, which is worse than a master to inspect, which is worse than success.
pub fn worse(a: Status, b: Status) -> Status {
    let rank = |s: Status| match s {
        Status::Success => 0,
        Status::Inspect => 1,
        Status::QcOutOfRange => 2,
        Status::InputError => 3,
        Status::Signalled(_) => 4,
    };
    if rank(b) > rank(a) { b } else { a }
}
