//! numpy's `histogram` binning on given edges, and the same bins found for float32
//! values by a table of their order keys.
//!
//! The distribution QC bins every good pixel of a master (16.7 M for a 4k detector).
//! numpy's placement (a guess from the value's position, corrected against the edges)
//! took 2.3 ns a value there, more than the rest of the pass; a value's bin read off a
//! table indexed by its order key takes a fraction of that, and is the same bin.

use crate::algorithm::numerics::{from_order_key, order_key};

/// The bins between increasing `edges`, as numpy's `histogram` places values in them.
pub(super) struct Bins<'a> {
    edges: &'a [f64],
    first: f64,
    last: f64,
    scale: f64,
}

impl<'a> Bins<'a> {
    pub(super) fn new(edges: &'a [f64]) -> Bins<'a> {
        let count = edges.len() - 1;
        let (first, last) = (edges[0], edges[count]);
        Bins {
            edges,
            first,
            last,
            scale: count as f64 / (last - first),
        }
    }

    pub(super) fn count(&self) -> usize {
        self.edges.len() - 1
    }

    /// The bin of `v`: half-open, the last closed; `None` outside the edges.
    #[inline(always)]
    pub(super) fn of(&self, v: f64) -> Option<usize> {
        if !(self.first..=self.last).contains(&v) {
            return None;
        }
        let bins = self.count();
        // The bin the value's position suggests, corrected against the edges themselves.
        let mut i = (((v - self.first) * self.scale) as usize).min(bins - 1);
        if v < self.edges[i] {
            i -= 1;
        } else if i + 1 < bins && v >= self.edges[i + 1] {
            i += 1;
        }
        Some(i)
    }
}

/// [`Bins`] of float32 values placed at `position(v)`, found from each value's order key.
///
/// A value's bin is a non-decreasing step function of its key: `position` keeps the
/// values' order, and so do strictly increasing edges. The keys of the values inside the
/// edges are cut into at most [`MOST_CELLS`] runs of equal length (cells); a cell whose
/// first and last keys fall in the same bin lies wholly in that bin, and the table gives
/// it. Only values in the few cells an edge crosses are placed by [`Bins::of`].
pub(super) struct KeyBins<'a, P> {
    bins: Bins<'a>,
    position: P,
    /// Keys of the lowest and highest finite values inside the edges.
    first_key: u32,
    last_key: u32,
    shift: u32,
    /// Each cell's bin, or [`CROSSED`].
    cells: Vec<u8>,
}

/// A cell an edge crosses.
const CROSSED: u8 = u8::MAX;

/// Cells of the table at most (a 64 KiB table stays in the core's cache).
const MOST_CELLS: u64 = 1 << 16;

impl<'a, P: Fn(f32) -> f64> KeyBins<'a, P> {
    /// The bins of `edges` for values placed at `position`, which must keep their order.
    pub(super) fn new(edges: &'a [f64], position: P) -> KeyBins<'a, P> {
        let bins = Bins::new(edges);
        let (lowest, highest) = (order_key(f32::NEG_INFINITY), order_key(f32::INFINITY));
        let at = |key: u32| position(from_order_key(key));
        let (low_edge, high_edge) = (edges[0], edges[edges.len() - 1]);
        let first_key = first_key_where(lowest, highest, |k| at(k) >= low_edge);
        let above = first_key_where(lowest, highest, |k| at(k) > high_edge);
        let increasing = edges.windows(2).all(|w| w[0] < w[1]);
        let (usable, last_key) = match above.checked_sub(1) {
            Some(last) if increasing && bins.count() < usize::from(CROSSED) => {
                (first_key <= last && last <= highest, last)
            }
            _ => (false, 0),
        };
        if !usable {
            // No finite value inside the edges, or edges this table cannot describe:
            // every value goes to `Bins::of`, which places it.
            return KeyBins {
                bins,
                position,
                first_key: 1,
                last_key: 0,
                shift: 0,
                cells: Vec::new(),
            };
        }
        let span = u64::from(last_key - first_key) + 1;
        let shift = (0..32).find(|&s| span >> s < MOST_CELLS).unwrap_or(32);
        let cells = (0..=(span - 1) >> shift)
            .map(|cell| {
                let start = u64::from(first_key) + (cell << shift);
                let end = (start + (1 << shift) - 1).min(u64::from(last_key));
                let bin_at = |key: u64| bins.of(at(key as u32));
                match (bin_at(start), bin_at(end)) {
                    (Some(a), Some(b)) if a == b => a as u8,
                    _ => CROSSED,
                }
            })
            .collect();
        KeyBins {
            bins,
            position,
            first_key,
            last_key,
            shift,
            cells,
        }
    }

    pub(super) fn count(&self) -> usize {
        self.bins.count()
    }

    /// The bin of `v` at its position, as [`Bins::of`] places it.
    #[inline(always)]
    pub(super) fn of(&self, v: f32) -> Option<usize> {
        let key = order_key(v);
        if key < self.first_key || key > self.last_key {
            // Outside the table: outside the edges (or no table at all).
            return match self.cells.is_empty() {
                true => self.bins.of((self.position)(v)),
                false => None,
            };
        }
        match self.cells[((key - self.first_key) >> self.shift) as usize] {
            CROSSED => self.bins.of((self.position)(v)),
            bin => Some(usize::from(bin)),
        }
    }
}

/// The first key in `low..=high` where `holds`, which holds from some key on; `high + 1`
/// when it never does.
fn first_key_where(low: u32, high: u32, holds: impl Fn(u32) -> bool) -> u32 {
    let (mut low, mut high) = (u64::from(low), u64::from(high) + 1);
    while low < high {
        let middle = (low + high) / 2;
        if holds(middle as u32) {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    low as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Values around and between the edges, and the float32 neighbours of each edge.
    fn probes(edges: &[f64], position_inverse: impl Fn(f64) -> f32) -> Vec<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (low, high) = (edges[0], edges[edges.len() - 1]);
        let width = high - low;
        let mut values: Vec<f32> = (0..200_000)
            .map(|_| position_inverse(low - 0.1 * width + rng.random::<f64>() * 1.2 * width))
            .collect();
        for &edge in edges {
            let near = position_inverse(edge);
            let mut v = near;
            for _ in 0..4 {
                v = v.next_down();
            }
            for _ in 0..9 {
                values.push(v);
                v = v.next_up();
            }
            values.push(near);
        }
        values.extend([f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0]);
        values
    }

    fn edges(low: f64, high: f64, count: usize) -> Vec<f64> {
        let step = (high - low) / count as f64;
        let mut edges: Vec<f64> = (0..=count).map(|i| i as f64 * step + low).collect();
        edges[count] = high;
        edges
    }

    /// Edges, where a value is placed, and the float32 placed nearest a position.
    type Case<'a> = (Vec<f64>, &'a dyn Fn(f32) -> f64, &'a dyn Fn(f64) -> f32);

    #[test]
    fn a_values_bin_by_its_key_is_numpys() {
        let level = 1119.2508081009278;
        let cases: [Case; 5] = [
            // A bias master in electrons, and a raw frame's noise values put on its level.
            (edges(1102.7, 1135.8, 100), &f64::from, &|x| x as f32),
            (
                edges(1102.7, 1135.8, 100),
                &|v| f64::from(v) + level,
                &|x| (x - level) as f32,
            ),
            // Edges about zero (both signs of keys), narrow ones, and wide ones.
            (edges(-3.5, 2.25, 100), &f64::from, &|x| x as f32),
            (edges(1122.4, 1122.5, 100), &f64::from, &|x| x as f32),
            (edges(-1e30, 3e31, 100), &f64::from, &|x| x as f32),
        ];
        for (edges, position, inverse) in cases {
            let plain = Bins::new(&edges);
            let keyed = KeyBins::new(&edges, position);
            assert!(!keyed.cells.is_empty(), "{:?}", &edges[..2]);
            for v in probes(&edges, inverse) {
                assert_eq!(
                    keyed.of(v),
                    plain.of(position(v)),
                    "{v} in {:?}",
                    &edges[..2]
                );
            }
        }
    }

    #[test]
    fn edges_no_table_can_describe_are_placed_as_numpy_places_them() {
        // Edges that do not increase: every value is placed by numpy's rule.
        let flat = [5.0, 5.0, 6.0];
        let keyed = KeyBins::new(&flat, f64::from);
        assert!(keyed.cells.is_empty());
        for v in [4.0f32, 5.0, 5.5, 6.0, 7.0] {
            assert_eq!(keyed.of(v), Bins::new(&flat).of(f64::from(v)));
        }
        // Edges no finite float32 falls between.
        let beyond = [1e300, 2e300];
        assert_eq!(KeyBins::new(&beyond, f64::from).of(f32::MAX), None);
    }
}
