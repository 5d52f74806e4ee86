//! Writes the sorting networks of the stack clip as straight-line code: with every index
//! a constant, a stack's rows stay in registers instead of going through memory for each
//! compare-exchange.

use std::fmt::Write as _;
use std::path::PathBuf;

#[path = "build/sorting_networks.rs"]
mod sorting_networks;

use sorting_networks::{Comparators, bitonic_merge, odd_even_merge_sort};

/// Networks for stacks up to this many frames are written out in full. Each instruction
/// set compiles them once (`simd.rs`), about a minute of a release build for 25 to 48.
const UNROLLED: usize = 64;

fn arms(out: &mut String, build: fn(usize) -> Comparators) {
    for n in 9..=UNROLLED {
        let pairs: Vec<String> = build(n)
            .iter()
            .map(|(i, j)| format!("({i}, {j})"))
            .collect();
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "        {n} => network!(values, {n}: {}),",
            pairs.join(", ")
        );
    }
}

fn main() {
    let mut out = String::new();
    out.push_str(
        "/// Straight-line sorts for 9 to UNROLLED values; `false` for other lengths.\n\
         #[inline(always)]\n\
         pub(super) fn sort_unrolled<T: Sortable>(values: &mut [T]) -> bool {\n    match values.len() {\n",
    );
    arms(&mut out, odd_even_merge_sort);
    out.push_str("        _ => return false,\n    }\n    true\n}\n\n");
    out.push_str(
        "/// Straight-line merges of falling-then-rising values for 9 to UNROLLED values;\n\
         /// `false` for other lengths.\n\
         #[inline(always)]\n\
         pub(super) fn merge_unrolled<T: Sortable>(values: &mut [T]) -> bool {\n    match values.len() {\n",
    );
    arms(&mut out, bitonic_merge);
    out.push_str("        _ => return false,\n    }\n    true\n}\n");
    let out = out.replace("UNROLLED", &UNROLLED.to_string());
    let Some(dir) = std::env::var_os("OUT_DIR") else {
        panic!("cargo sets OUT_DIR for build scripts");
    };
    if let Err(e) = std::fs::write(PathBuf::from(dir).join("networks.rs"), out) {
        panic!("cannot write the generated networks: {e}");
    }
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=build/sorting_networks.rs");
}
