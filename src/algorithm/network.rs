//! Sorting networks: fixed sequences of compare-exchanges, with no branch on the data.
//! With noisy data a branchy sort mispredicts on most comparisons, and a network sorts
//! neighbouring pixels' stacks side by side in SIMD lanes.

use std::sync::OnceLock;

/// Something a sorting network can order: a value, or a row of lanes ordered lane by lane.
pub(super) trait Sortable: Copy {
    /// (smaller, larger).
    fn order(a: Self, b: Self) -> (Self, Self);

    /// Sorts `values` with a network written out in full by the build script (9 to 64
    /// values, `UNROLLED` in `build.rs`), or returns `false`. Worth it for SIMD registers,
    /// whose rows then stay in registers; for plain values and arrays the code would only
    /// grow (and take long to compile) for little gain.
    fn sort_written_out(_values: &mut [Self]) -> bool {
        false
    }

    /// [`sort_v_shaped`] by a merge network written out in full, or `false`.
    fn merge_written_out(_values: &mut [Self]) -> bool {
        false
    }
}

impl Sortable for f64 {
    #[inline(always)]
    fn order(a: f64, b: f64) -> (f64, f64) {
        (a.min(b), a.max(b))
    }
}

#[inline(always)]
fn exchange<T: Sortable>(v: &mut [T], i: usize, j: usize) {
    (v[i], v[j]) = T::order(v[i], v[j]);
}

/// Runs a sorting network on a fixed-size copy, written out as straight-line
/// compare-exchanges so the values stay in registers.
macro_rules! network {
    ($values:expr, $n:literal: $(($i:literal, $j:literal)),*) => {{
        if let Ok(fixed) = <&mut [T; $n]>::try_from(&mut *$values) {
            let mut v = *fixed;
            $( exchange(&mut v, $i, $j); )*
            *fixed = v;
        }
    }};
}

/// The largest stack the networks serve (those of SIMD registers written out in full up
/// to 64 values by the build script, the others run from a comparator list); deeper
/// stacks sort by odd-even transposition. Up to 128 a Batcher network on eight pixels at
/// once (about n·log²n/4 comparators: 1.6 thousand for 101 frames) still beats sorting
/// each pixel with a comparison sort: 101 frames stack 2.7 times faster than that way.
pub(super) const MAX_NETWORK: usize = 128;

#[path = "../../build/sorting_networks.rs"]
mod sorting_networks;

use sorting_networks::{Comparators, bitonic_merge, odd_even_merge_sort};

include!(concat!(env!("OUT_DIR"), "/networks.rs"));

fn cached(
    cache: &'static OnceLock<Vec<Comparators>>,
    build: fn(usize) -> Comparators,
    n: usize,
) -> &'static [(u8, u8)] {
    let all = cache.get_or_init(|| (0..=MAX_NETWORK).map(build).collect());
    all.get(n).map_or(&[], Vec::as_slice)
}

#[inline(always)]
fn run<T: Sortable>(values: &mut [T], comparators: &[(u8, u8)]) {
    for &(i, j) in comparators {
        exchange(values, usize::from(i), usize::from(j));
    }
}

/// Sorts without a branch on the data. The networks for 2 to 8 values are the optimal
/// ones (Knuth, TAOCP 5.3.4); above, Batcher's odd-even merge sort, written out in full
/// by the build script up to 64 values (`build.rs`) for SIMD registers
/// ([`Sortable::sort_written_out`]). Inlined so that it is compiled for the caller's
/// instruction set.
#[inline(always)]
pub(super) fn sort_branchless<T: Sortable>(values: &mut [T]) {
    let n = values.len();
    match n {
        0 | 1 => {}
        2 => network!(values, 2: (0, 1)),
        3 => network!(values, 3: (0, 2), (0, 1), (1, 2)),
        4 => network!(values, 4: (0, 1), (2, 3), (0, 2), (1, 3), (1, 2)),
        5 => {
            network!(values, 5: (0, 1), (3, 4), (2, 4), (2, 3), (0, 3), (0, 2), (1, 4), (1, 3), (1, 2))
        }
        6 => {
            network!(values, 6: (1, 2), (4, 5), (0, 2), (3, 5), (0, 1), (3, 4), (1, 4), (0, 3), (2, 5), (1, 3),
            (2, 4), (2, 3))
        }
        7 => {
            network!(values, 7: (1, 2), (3, 4), (5, 6), (0, 2), (3, 5), (4, 6), (0, 1), (4, 5), (2, 6), (0, 4),
            (1, 5), (0, 3), (2, 5), (1, 3), (2, 4), (2, 3))
        }
        8 => {
            network!(values, 8: (0, 2), (1, 3), (4, 6), (5, 7), (0, 4), (1, 5), (2, 6), (3, 7), (0, 1), (2, 3),
            (4, 5), (6, 7), (2, 4), (3, 5), (1, 4), (3, 6), (1, 2), (3, 4), (5, 6))
        }
        _ if T::sort_written_out(values) => {}
        _ if n <= MAX_NETWORK => {
            static SORTS: OnceLock<Vec<Comparators>> = OnceLock::new();
            run(values, cached(&SORTS, odd_even_merge_sort, n));
        }
        _ => {
            // Odd-even transposition: n rounds of neighbour exchanges.
            for round in 0..n {
                for i in (round % 2..n - 1).step_by(2) {
                    exchange(values, i, i + 1);
                }
            }
        }
    }
}

/// Sorts values that fall, then rise (such as |x − m| over sorted x): a merge network of
/// n·log n / 2 comparators instead of a full sort.
#[inline(always)]
pub(super) fn sort_v_shaped<T: Sortable>(values: &mut [T]) {
    static MERGES: OnceLock<Vec<Comparators>> = OnceLock::new();
    if T::merge_written_out(values) {
        return;
    }
    if values.len() <= MAX_NETWORK {
        run(values, cached(&MERGES, bitonic_merge, values.len()));
    } else {
        sort_branchless(values);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Knuth's 0-1 principle: a network sorts every input iff it sorts every 0/1 input.
    fn sorts_every_binary_input(n: usize, comparators: &[(u8, u8)]) -> bool {
        (0u64..1 << n).all(|bits| {
            let mut v: Vec<f64> = (0..n).map(|i| ((bits >> i) & 1) as f64).collect();
            run(&mut v, comparators);
            v.windows(2).all(|w| w[0] <= w[1])
        })
    }

    #[test]
    fn batcher_networks_sort_by_the_zero_one_principle() {
        for n in 2..=20 {
            assert!(sorts_every_binary_input(n, &odd_even_merge_sort(n)), "{n}");
        }
        assert_eq!(odd_even_merge_sort(16).len(), 63);
        assert!(odd_even_merge_sort(21).len() < 21 * 20 / 2);
    }

    #[test]
    fn bitonic_merge_sorts_falling_then_rising_values() {
        for n in 2..=40 {
            let comparators = bitonic_merge(n);
            for turn in 0..n {
                let mut v: Vec<f64> = (0..n).map(|i| (i as f64 - turn as f64).abs()).collect();
                v[0] += 0.5;
                run(&mut v, &comparators);
                assert!(v.windows(2).all(|w| w[0] <= w[1]), "{n} {turn}");
            }
        }
    }

    #[test]
    fn every_size_sorts_random_values() {
        let mut seed = 12345u64;
        for n in 0..=MAX_NETWORK + 3 {
            let mut v: Vec<f64> = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (seed >> 11) as f64
                })
                .collect();
            let mut expected = v.clone();
            expected.sort_by(f64::total_cmp);
            sort_branchless(&mut v);
            assert_eq!(v, expected, "{n}");
        }
    }
}
