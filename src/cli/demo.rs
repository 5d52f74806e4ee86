//! `mbias demo`: a simulated night, validated and stacked. The interactive console is
//! not built yet; until it is, the demo runs the recipe headlessly and says so.

use std::path::Path;

use mbias::settings::Settings;

use super::{Status, output};

const CONSOLE_PENDING: &str =
    "The interactive console is not built yet (next milestone); showing the headless run instead.";

pub fn run() -> mbias::Result<Status> {
    let dir = tempfile::Builder::new()
        .prefix("mbias-demo-")
        .tempdir()
        .map_err(|e| mbias::error::InputError::Unreadable {
            path: std::env::temp_dir(),
            source: e,
        })?;
    let profile = mbias::detector::by_name("soxs-vis").unwrap_or(&mbias::detector::BUILT_IN[0]);
    println!("{CONSOLE_PENDING}\n");
    println!(
        "simulating a night of SOXS VIS frames in {} …",
        dir.path().display()
    );
    mbias::simulate::demo_night(dir.path(), profile, 20251010)?;
    let (inputs, verification) = mbias::pipeline::validate(&[dir.path().to_path_buf()])?;
    println!("\nvalidation of the whole folder:");
    output::print_findings(&verification);

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
    println!("\nstacking the {} valid bias frames …", biases.len());
    let (_, clean) = mbias::pipeline::validate(&biases)?;
    let Some(plan) = clean.plan.as_ref() else {
        output::print_findings(&clean);
        return Err(mbias::Error::Verification(clean.error_count()));
    };
    let resolved = mbias::pipeline::resolve(&Settings::default(), plan)?;
    let progress = output::progress();
    let loaded = mbias::pipeline::load(plan, &progress)?;
    let outcome = mbias::pipeline::stack(&loaded, &resolved, &progress)?;
    let name = mbias::product::product_name(plan, None);
    let path = mbias::pipeline::write_product(
        dir.path(),
        &name,
        false,
        &biases,
        &loaded,
        &outcome,
        &progress,
    )?;
    output::clear_progress();
    println!("wrote {} (removed when the demo ends)\n", path.display());
    print!("{}", output::qc_table(&outcome.qc));
    Ok(Status::Success)
}

/// `mbias [DIR|SOF]` will open the console; for now it validates what was named.
pub fn console_placeholder(input: Option<&Path>) -> mbias::Result<Status> {
    println!("{CONSOLE_PENDING}");
    let Some(input) = input else {
        println!(
            "Try `mbias demo`, `mbias validate DIR` or `mbias stack DIR -o OUT`; `mbias --help` lists everything."
        );
        return Ok(Status::Success);
    };
    let (_, verification) = mbias::pipeline::validate(&[input.to_path_buf()])?;
    output::print_findings(&verification);
    Ok(if verification.has_errors() {
        Status::InputError
    } else {
        Status::Success
    })
}
