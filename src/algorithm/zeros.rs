//! Large zeroed buffers, written on every core.
//!
//! `vec![0; n]` asks the allocator for zeroed memory. glibc hands a big block from the
//! top of its heap, which this program pads ahead of need (`M_TOP_PAD`, see the
//! binary's `memory.rs`), and clears the padded part itself: one thread runs a `memset`
//! over the whole block and takes every fresh page's fault on its own, while the other
//! core waits for the stack to start. Collected in parallel, the same zeros are written,
//! and the same pages faulted, by both cores (W1, whole process: A/B 0.985).

use rayon::prelude::*;

/// `n` zeros (`T::default()`), written in parallel.
pub fn zeros<T: Default + Send>(n: usize) -> Vec<T> {
    (0..n).into_par_iter().map(|_| T::default()).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn zeros_are_zeros_of_the_length_asked() {
        let v: Vec<u16> = super::zeros(100_003);
        assert_eq!(v.len(), 100_003);
        assert!(v.iter().all(|&x| x == 0));
        assert!(super::zeros::<f32>(0).is_empty());
    }
}
