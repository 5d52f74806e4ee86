//! Data the result views draw, derived from a master on the worker thread so that drawing
//! stays proportional to the screen, not to the image.

use mbias::algorithm::MasterBias;

/// The longest side of the preview grid: enough for any terminal, small to redraw.
const PREVIEW_CELLS: usize = 256;

/// A profile runs along the columns (x, one value per column) or along the rows (y).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    Columns,
    Rows,
}

/// Block means of the master, for the image preview.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub cols: usize,
    pub rows: usize,
    /// The master's size in pixels (the blocks at the right and top edges may be
    /// partial): the shape the image is drawn with.
    pub width: usize,
    pub height: usize,
    /// Row-major block means of the good pixels (NaN where a block has none); row 0 is
    /// the master's first row (FITS row 1).
    pub values: Vec<f32>,
    /// Blocks holding any bad pixel: a single bad pixel must show at every scale.
    pub bad: Vec<bool>,
    /// The 1st and 99th percentiles of the block means: the display stretch.
    pub low: f32,
    pub high: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResultView {
    /// Mean over rows of the good pixels, one point per column.
    pub along_columns: Vec<(f64, f64)>,
    /// Mean over columns of the good pixels, one point per row.
    pub along_rows: Vec<(f64, f64)>,
    pub preview: Preview,
}

pub fn compute(master: &MasterBias) -> ResultView {
    let (rows, cols) = (master.rows(), master.cols());
    let mut col_sum = vec![0f64; cols];
    let mut col_n = vec![0u32; cols];
    let mut row_sum = vec![0f64; rows];
    let mut row_n = vec![0u32; rows];
    for r in 0..rows {
        for c in 0..cols {
            if master.qual[[r, c]] == 0 {
                let v = f64::from(master.flux[[r, c]]);
                col_sum[c] += v;
                col_n[c] += 1;
                row_sum[r] += v;
                row_n[r] += 1;
            }
        }
    }
    let mean = |sums: &[f64], counts: &[u32]| -> Vec<(f64, f64)> {
        sums.iter()
            .zip(counts)
            .enumerate()
            .filter(|(_, (_, n))| **n > 0)
            .map(|(i, (s, n))| (i as f64, s / f64::from(*n)))
            .collect()
    };
    ResultView {
        along_columns: mean(&col_sum, &col_n),
        along_rows: mean(&row_sum, &row_n),
        preview: preview(master),
    }
}

fn preview(master: &MasterBias) -> Preview {
    let (rows, cols) = (master.rows(), master.cols());
    let by = rows.div_ceil(PREVIEW_CELLS).max(1);
    let bx = cols.div_ceil(PREVIEW_CELLS).max(1);
    let (prows, pcols) = (rows.div_ceil(by), cols.div_ceil(bx));
    let mut values = vec![f32::NAN; prows * pcols];
    let mut bad = vec![false; prows * pcols];
    for pr in 0..prows {
        for pc in 0..pcols {
            let (mut sum, mut good, mut masked) = (0f64, 0u32, 0u32);
            for r in pr * by..((pr + 1) * by).min(rows) {
                for c in pc * bx..((pc + 1) * bx).min(cols) {
                    if master.qual[[r, c]] == 0 {
                        sum += f64::from(master.flux[[r, c]]);
                        good += 1;
                    } else {
                        masked += 1;
                    }
                }
            }
            let i = pr * pcols + pc;
            if good > 0 {
                values[i] = (sum / f64::from(good)) as f32;
            }
            bad[i] = masked > 0;
        }
    }
    let mut sorted: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_unstable_by(f32::total_cmp);
    let at = |q: f64| {
        sorted
            .get(((sorted.len().saturating_sub(1)) as f64 * q) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Preview {
        cols: pcols,
        rows: prows,
        width: cols,
        height: rows,
        values,
        bad,
        low: at(0.01),
        high: at(0.99),
    }
}

/// One row (`Axis::Columns`) or one column (`Axis::Rows`) of the master, bad pixels left out.
pub fn line(master: &MasterBias, axis: Axis, index: usize) -> Vec<(f64, f64)> {
    let (rows, cols) = (master.rows(), master.cols());
    let pixels: Box<dyn Iterator<Item = (usize, [usize; 2])>> = match axis {
        Axis::Columns => Box::new((0..cols).map(move |c| (c, [index.min(rows - 1), c]))),
        Axis::Rows => Box::new((0..rows).map(move |r| (r, [r, index.min(cols - 1)]))),
    };
    pixels
        .filter(|(_, at)| master.qual[*at] == 0)
        .map(|(x, at)| (x as f64, f64::from(master.flux[at])))
        .collect()
}
