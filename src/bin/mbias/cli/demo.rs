//! `mbias demo` and `mbias [DIR|SOF]`: the console, on a simulated night or on real data.
//! Without a terminal the demo prints a headless run instead (useful in scripts and CI).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use mbias::error::InputError;
use mbias::pipeline::{Frames, StackedImage};
use mbias::settings::Settings;

use super::output::{out, outln};
use super::{CommandResult, SettingsArgs, Status, output};
use crate::console::{self, Start};

fn interactive() -> bool {
    std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
}

fn console_error(e: color_eyre::Report) -> mbias::Error {
    mbias::Error::Input(InputError::Unreadable {
        path: PathBuf::from("terminal"),
        source: std::io::Error::other(e.to_string()),
    })
}

/// `mbias demo`: the console on a simulated night in a temporary folder, which goes when
/// the demo ends; what `w` and `S` write goes to `output` (default: the current folder),
/// which stays.
pub fn run(output: Option<&Path>) -> CommandResult {
    let output = console::absolute(output.unwrap_or(Path::new(".")));
    let dir = tempfile::Builder::new()
        .prefix("mbias-demo-")
        .tempdir()
        .map_err(|e| InputError::Unreadable {
            path: std::env::temp_dir(),
            source: e,
        })?;
    let profile = mbias::detector::soxs_vis();
    eprintln!(
        "simulating a night of SOXS VIS frames in {} …",
        dir.path().display()
    );
    mbias::simulate::demo_night(dir.path(), profile, 20251010)?;
    if interactive() {
        let signalled = console::run(
            Start::Folder(dir.path().to_path_buf()),
            Settings::default(),
            output.clone(),
            // Simulated frames make no night worth remembering.
            Some(mbias::history::Location::Off),
        )
        .map_err(console_error)?;
        eprintln!(
            "removed the demo's simulated frames ({}); what w and S wrote stays in {}",
            dir.path().display(),
            output.display()
        );
        return Ok(signalled.map_or(Status::Success, Status::Signalled));
    }
    super::stop_on_signals();
    headless(dir.path())
}

/// The demo without a terminal: validate the night, stack the valid biases, print the QC.
fn headless(dir: &Path) -> CommandResult {
    outln!("No terminal: showing the headless run instead of the console.\n")?;
    let (inputs, verification) =
        mbias::pipeline::validate(&[dir.to_path_buf()], &Settings::default())?;
    outln!("validation of the whole folder:")?;
    output::print_findings(&verification)?;
    let biases: Vec<_> = inputs
        .files
        .iter()
        .filter(|f| {
            !verification
                .for_file(f)
                .any(|x| x.severity == mbias::verify::Severity::Error)
        })
        .cloned()
        .collect();
    outln!("\nstacking the {} valid bias frames …", biases.len())?;
    let (_, clean) = mbias::pipeline::validate(&biases, &Settings::default())?;
    let Some(plan) = clean.plan.as_ref() else {
        output::print_findings(&clean)?;
        return Err(mbias::Error::Verification(clean.error_count()).into());
    };
    let resolved = mbias::settings::Resolved {
        stacks: mbias::settings::Stacks::Once,
        ..mbias::pipeline::resolve(&Settings::default(), plan)?
    };
    let progress = output::progress();
    let plans = [plan.clone()];
    let frames = Frames::Read {
        plans: &plans,
        reuse: &[],
    };
    let stacked = mbias::pipeline::run(frames, &resolved, &progress)?;
    let name = mbias::product::product_name(plan, None);
    let images: Vec<_> = stacked.iter().map(StackedImage::parts).collect();
    let path = mbias::pipeline::write(dir, &name, false, true, &images, &progress)?;
    output::clear_progress();
    outln!("wrote {} (removed when the demo ends)\n", path.display())?;
    for image in &stacked {
        out!(
            "{}",
            output::qc_table(image.outcome.qc.values.iter().map(Into::into))
        )?;
    }
    Ok(Status::Success)
}

/// `mbias [DIR|SOF]`: the console on a folder or a SOF.
pub fn open_console(
    input: Option<&Path>,
    output: Option<&Path>,
    args: &SettingsArgs,
) -> CommandResult {
    let input = input.map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let absolute = input
        .canonicalize()
        .map_err(|_| InputError::NotFound(input.clone()))?;
    let start = if absolute.is_dir() {
        Start::Folder(absolute)
    } else if mbias::inputs::is_sof(&absolute) {
        Start::Sof(absolute)
    } else {
        Start::Folder(
            absolute
                .parent()
                .map_or_else(|| PathBuf::from("/"), Path::to_path_buf),
        )
    };
    let settings = args.load()?;
    if !interactive() {
        eprintln!(
            "error: the console needs a terminal; use `mbias validate` or `mbias stack` in scripts"
        );
        return Ok(Status::InputError);
    }
    let output = output
        .map(Path::to_path_buf)
        .or_else(|| settings.output_dir.clone())
        .unwrap_or_else(|| PathBuf::from("."));
    let history = args.history_location(&settings);
    let signalled = console::run(start, settings, output, history).map_err(console_error)?;
    Ok(signalled.map_or(Status::Success, Status::Signalled))
}
