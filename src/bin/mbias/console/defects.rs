//! A master's bad pixels grouped as an instrument scientist names them: bad columns (and
//! rows), clusters, and single pixels, for the Defects tab's list.

use mbias::algorithm::standard;
use mbias::detector::Section;
use ndarray::Array2;
use rayon::prelude::*;

/// What kind of defect a group of bad pixels is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefectKind {
    /// A run of bad pixels down one column.
    Column,
    /// A run of bad pixels along one row.
    Row,
    /// Touching bad pixels that are neither.
    Cluster,
    /// A bad pixel alone.
    Pixel,
}

impl DefectKind {
    pub fn name(self) -> &'static str {
        match self {
            DefectKind::Column => "column",
            DefectKind::Row => "row",
            DefectKind::Cluster => "cluster",
            DefectKind::Pixel => "pixel",
        }
    }
}

/// One group of bad pixels: its kind, its bounding box, how many bad pixels it holds,
/// and one of them to show it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defect {
    pub kind: DefectKind,
    pub section: Section,
    pub count: usize,
    /// A bad pixel of the group (column, row): the first from the middle of a line, the
    /// first in FITS order of a cluster.
    pub at: (usize, usize),
}

/// Bad pixels in a line at least this long make a bad column (or row).
pub const LINE_RUN: usize = 8;

/// Good pixels a bad column may hold in a row and still be one column (a real bad column
/// has a few pixels that happen to fall within the clip).
const LINE_GAP: usize = 3;

/// The bad pixels of `qual` (non-zero = bad) grouped: columns and rows first (runs of at
/// least [`LINE_RUN`], gaps of up to [`LINE_GAP`] good pixels bridged), then what is left
/// as 8-connected clusters, largest first, then single pixels in FITS order (by row, then
/// column).
///
/// Bad pixels are few, so each step works on the list of them (and on bit maps of the bad
/// and the already grouped ones) rather than on the whole image: scanning a 4096² master
/// column by column missed the cache for 200 ms of every console re-stack.
pub fn group(qual: &Array2<u8>) -> Vec<Defect> {
    let (rows, cols) = qual.dim();
    let bad = BadPixels::of(qual);
    let mut taken = BitMap::new(rows * cols);
    let mut defects = Vec::new();
    // Columns: each column's bad rows, in order.
    let mut by_column: Vec<Vec<usize>> = vec![Vec::new(); cols];
    for &p in &bad.list {
        by_column[p % cols].push(p / cols);
    }
    for (x, ys) in by_column.iter().enumerate() {
        for line in lines(ys) {
            let (y0, y1) = line.span;
            defects.push(defect(
                DefectKind::Column,
                (x, x),
                line.span,
                line.count,
                (x, line.shown),
            ));
            for &y in ys.iter().filter(|&&y| (y0..=y1).contains(&y)) {
                taken.set(y * cols + x);
            }
        }
    }
    // Rows: each row's bad pixels no column took, in order.
    for row in bad.list.chunk_by(|a, b| a / cols == b / cols) {
        let y = row[0] / cols;
        let xs: Vec<usize> = row
            .iter()
            .filter(|&&p| !taken.get(p))
            .map(|&p| p % cols)
            .collect();
        for line in lines(&xs) {
            let (x0, x1) = line.span;
            defects.push(defect(
                DefectKind::Row,
                line.span,
                (y, y),
                line.count,
                (line.shown, y),
            ));
            for &x in xs.iter().filter(|&&x| (x0..=x1).contains(&x)) {
                taken.set(y * cols + x);
            }
        }
    }
    let take = |y: usize, x: usize| {
        let p = y * cols + x;
        let free = bad.map.get(p) && !taken.get(p);
        if free {
            taken.set(p);
        }
        free
    };
    let starts = bad.list.iter().map(|&p| (p / cols, p % cols));
    defects.extend(clusters_and_pixels(starts, (rows, cols), take));
    defects
}

/// What the lines left: from each of `starts` (row, column) that `take` finds bad and not
/// yet grouped (and then marks), its 8-connected group; groups of several pixels
/// (largest first), then single pixels, each in the order of its start.
fn clusters_and_pixels(
    starts: impl Iterator<Item = (usize, usize)>,
    (rows, cols): (usize, usize),
    mut take: impl FnMut(usize, usize) -> bool,
) -> Vec<Defect> {
    let mut clusters = Vec::new();
    let mut singles = Vec::new();
    let mut stack = Vec::new();
    for (y, x) in starts {
        if !take(y, x) {
            continue;
        }
        let mut found = defect(DefectKind::Cluster, (x, x), (y, y), 0, (x, y));
        stack.push((y, x));
        while let Some((y, x)) = stack.pop() {
            found.count += 1;
            let area = &mut found.section;
            area.cols = area.cols.start.min(x)..area.cols.end.max(x + 1);
            area.rows = area.rows.start.min(y)..area.rows.end.max(y + 1);
            for ny in y.saturating_sub(1)..=(y + 1).min(rows - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(cols - 1) {
                    if take(ny, nx) {
                        stack.push((ny, nx));
                    }
                }
            }
        }
        if found.count == 1 {
            found.kind = DefectKind::Pixel;
            singles.push(found);
        } else {
            clusters.push(found);
        }
    }
    clusters.sort_by_key(|c| std::cmp::Reverse(c.count));
    clusters.extend(singles);
    clusters
}

/// A bad column (or row) among the bad pixels of one column (row).
struct Line {
    /// First and last bad position, inclusive.
    span: (usize, usize),
    count: usize,
    /// The bad position it is shown by: the first from its middle on.
    shown: usize,
}

/// The lines among the increasing bad `positions` of one column (or row).
fn lines(positions: &[usize]) -> impl Iterator<Item = Line> + '_ {
    runs(positions.iter().copied())
        .into_iter()
        .map(move |(first, last, count)| {
            let middle = (first + last) / 2;
            let shown = positions
                .get(positions.partition_point(|&p| p < middle))
                .copied()
                .unwrap_or(first);
            Line {
                span: (first, last),
                count,
                shown,
            }
        })
}

/// One bit per pixel, in row-major order.
struct BitMap(Vec<u64>);

impl BitMap {
    fn new(pixels: usize) -> BitMap {
        BitMap(vec![0; pixels.div_ceil(64)])
    }

    fn set(&mut self, p: usize) {
        self.0[p / 64] |= 1 << (p % 64);
    }

    fn get(&self, p: usize) -> bool {
        self.0[p / 64] >> (p % 64) & 1 == 1
    }
}

/// The bad pixels of a QUAL image: their row-major indices in increasing order, and as a
/// bit map.
struct BadPixels {
    list: Vec<usize>,
    map: BitMap,
}

impl BadPixels {
    fn of(qual: &Array2<u8>) -> BadPixels {
        /// Pixels tested at once for any bad one (most pieces hold none).
        const PIECE: usize = 64;
        let values = standard(qual);
        let list: Vec<usize> = values
            .par_chunks(PIECE * 1024)
            .enumerate()
            .flat_map_iter(|(k, chunk)| {
                let start = k * PIECE * 1024;
                chunk
                    .chunks(PIECE)
                    .enumerate()
                    .filter(|(_, piece)| piece.iter().fold(0, |any, &q| any | q) != 0)
                    .flat_map(move |(j, piece)| {
                        piece
                            .iter()
                            .enumerate()
                            .filter(|(_, q)| **q != 0)
                            .map(move |(i, _)| start + j * PIECE + i)
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut map = BitMap::new(values.len());
        for &p in &list {
            map.set(p);
        }
        BadPixels { list, map }
    }
}

/// A defect of `kind` over the given box holding `count` bad pixels, shown by `at`.
fn defect(
    kind: DefectKind,
    (x0, x1): (usize, usize),
    (y0, y1): (usize, usize),
    count: usize,
    at: (usize, usize),
) -> Defect {
    Defect {
        kind,
        section: Section {
            rows: y0..y1 + 1,
            cols: x0..x1 + 1,
        },
        count,
        at,
    }
}

/// The runs (start, end inclusive, bad count) at least [`LINE_RUN`] long among the
/// increasing indices `bad`, bridging up to [`LINE_GAP`] indices that are not.
fn runs(bad: impl Iterator<Item = usize>) -> Vec<(usize, usize, usize)> {
    let mut found = Vec::new();
    // The open run: its start, its last bad index, its bad count.
    let mut open: Option<(usize, usize, usize)> = None;
    for i in bad {
        open = match open {
            Some((start, last, count)) if i - last - 1 <= LINE_GAP => Some((start, i, count + 1)),
            previous => {
                found.extend(previous.filter(|(s, e, _)| e - s + 1 >= LINE_RUN));
                Some((i, i, 1))
            }
        };
    }
    found.extend(open.filter(|(s, e, _)| e - s + 1 >= LINE_RUN));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The grouping as it was first written, scanning the whole image: the reference the
    /// list-based [`group`] must agree with.
    fn group_by_scanning(qual: &Array2<u8>) -> Vec<Defect> {
        let (rows, cols) = qual.dim();
        let mut taken = Array2::from_elem((rows, cols), false);
        let mut defects = Vec::new();
        for x in 0..cols {
            for (y0, y1, count) in dense_runs(rows, |y| qual[[y, x]] != 0) {
                let middle = ((y0 + y1) / 2..=y1)
                    .find(|&y| qual[[y, x]] != 0)
                    .unwrap_or(y0);
                defects.push(defect(
                    DefectKind::Column,
                    (x, x),
                    (y0, y1),
                    count,
                    (x, middle),
                ));
                (y0..=y1).for_each(|y| taken[[y, x]] = qual[[y, x]] != 0);
            }
        }
        for y in 0..rows {
            for (x0, x1, count) in dense_runs(cols, |x| qual[[y, x]] != 0 && !taken[[y, x]]) {
                let middle = ((x0 + x1) / 2..=x1)
                    .find(|&x| qual[[y, x]] != 0 && !taken[[y, x]])
                    .unwrap_or(x0);
                defects.push(defect(
                    DefectKind::Row,
                    (x0, x1),
                    (y, y),
                    count,
                    (middle, y),
                ));
                (x0..=x1).for_each(|x| taken[[y, x]] |= qual[[y, x]] != 0);
            }
        }
        let take = |y: usize, x: usize| {
            let free = qual[[y, x]] != 0 && !taken[[y, x]];
            taken[[y, x]] |= free;
            free
        };
        let starts = qual.indexed_iter().map(|(at, _)| at);
        defects.extend(clusters_and_pixels(starts, (rows, cols), take));
        defects
    }

    /// [`runs`] over `0..len`, where `bad` holds.
    fn dense_runs(len: usize, bad: impl Fn(usize) -> bool) -> Vec<(usize, usize, usize)> {
        runs((0..len).filter(|&i| bad(i)))
    }

    #[test]
    fn columns_rows_clusters_and_single_pixels() {
        let mut qual = Array2::<u8>::zeros((30, 40));
        // A bad column x 5 (FITS 6), rows 2–21 but for a good pixel at row 9; a row y 25,
        // x 10–19; a 2 × 2 cluster at
        // (30, 10); an L of three at (35, 3); single pixels at (0, 0) and (39, 29); a short
        // run of 3 in column 20 is a cluster, not a column.
        (2..22).for_each(|y| qual[[y, 5]] = u8::from(y != 9));
        (10..20).for_each(|x| qual[[25, x]] = 1);
        for (y, x) in [
            (10, 30),
            (10, 31),
            (11, 30),
            (11, 31),
            (3, 35),
            (4, 35),
            (4, 36),
        ] {
            qual[[y, x]] = 1;
        }
        (14..17).for_each(|y| qual[[y, 20]] = 1);
        qual[[0, 0]] = 1;
        qual[[29, 39]] = 1;
        let found = group(&qual);
        let summary: Vec<(DefectKind, usize, usize, usize)> = found
            .iter()
            .map(|d| (d.kind, d.section.cols.start, d.section.rows.start, d.count))
            .collect();
        assert_eq!(
            summary,
            [
                (DefectKind::Column, 5, 2, 19),
                (DefectKind::Row, 10, 25, 10),
                (DefectKind::Cluster, 30, 10, 4),
                (DefectKind::Cluster, 35, 3, 3),
                (DefectKind::Cluster, 20, 14, 3),
                (DefectKind::Pixel, 0, 0, 1),
                (DefectKind::Pixel, 39, 29, 1),
            ]
        );
        let total: usize = found.iter().map(|d| d.count).sum();
        assert_eq!(total, qual.iter().filter(|&&q| q != 0).count());
        assert_eq!(found[0].at, (5, 11));
        assert!(found.iter().all(|d| qual[[d.at.1, d.at.0]] != 0));
    }

    #[test]
    fn grouping_the_list_of_bad_pixels_agrees_with_scanning_the_image() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for case in 0..200 {
            let (rows, cols) = (rng.random_range(1..60), rng.random_range(1..80));
            let mut qual = Array2::<u8>::zeros((rows, cols));
            let density = [0.002, 0.02, 0.1, 0.4][case % 4];
            qual.iter_mut()
                .for_each(|q| *q = u8::from(rng.random_bool(density)));
            // Lines with gaps, along columns and rows.
            for _ in 0..rng.random_range(0..4) {
                let (x, y) = (rng.random_range(0..cols), rng.random_range(0..rows));
                for k in 0..rng.random_range(1..40) {
                    let gap = rng.random_bool(0.15);
                    if rng.random_bool(0.5) && y + k < rows {
                        qual[[y + k, x]] = u8::from(!gap);
                    } else if x + k < cols {
                        qual[[y, x + k]] = u8::from(!gap);
                    }
                }
            }
            assert_eq!(group(&qual), group_by_scanning(&qual), "case {case}");
        }
    }
}
