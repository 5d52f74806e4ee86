//! The `mbias` binary: a thin front end over the library. Errors from the engine are
//! printed as one clear line; color-eyre only reports what should never happen.

mod cli;
mod console;

use std::process::ExitCode;

use clap::Parser;

/// Big buffers (frames, masters, spectra) come from the heap and go back to it, instead
/// of being mapped afresh each time: a fresh mapping costs a page fault per 4 KiB, and a
/// re-stack in the console would pay them all again for buffers of the same sizes.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_MMAP_THRESHOLD: i32 = -3;
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    // SAFETY: glibc's mallopt only sets allocator parameters; called before any thread
    // starts.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, i32::MAX);
        mallopt(M_TRIM_THRESHOLD, i32::MAX);
    }
}

fn main() -> color_eyre::Result<ExitCode> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    keep_freed_memory();
    color_eyre::config::HookBuilder::default()
        .display_env_section(false)
        .install()?;
    let args = cli::Args::parse();
    cli::run(args)
}
