//! The `mbias` binary: a thin front end over the library. Errors from the engine are
//! printed as one clear line; color-eyre only reports what should never happen.

mod cli;
mod console;
mod memory;
mod signals;

use std::process::ExitCode;

fn main() -> color_eyre::Result<ExitCode> {
    memory::keep_freed();
    color_eyre::config::HookBuilder::default()
        .display_env_section(false)
        .install()?;
    match cli::parse() {
        Ok(args) => cli::run(args),
        Err(status) => Ok(status),
    }
}
