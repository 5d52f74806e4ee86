//! A prepared frame as the algorithm takes it: the science window's pixels in electrons,
//! or as 16-bit ADU with the table that turns them into electrons. Reading and preparing
//! frames is `load`'s job; here they are arrays only.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use ndarray::{Array2, ArrayView2};

use super::histogram::AduHistogram;

/// The float32 electrons of every 16-bit ADU value at one gain ([`electrons_of`]), and
/// that gain, for kernels that compute a value in vector lanes faster than they look it
/// up (a gather).
#[derive(Debug, Clone)]
pub struct ElectronTable {
    gain: f64,
    /// 1 / gain, float32: an ADU value is its electrons times this to within 10⁻² ADU
    /// (three float32 roundings at 65535), so the nearest whole number is the only
    /// candidate for [`ElectronTable::adu_of`].
    per_electron: f32,
    values: Arc<[f32; 1 << 16]>,
}

impl ElectronTable {
    pub fn gain(&self) -> f64 {
        self.gain
    }

    /// The ADU value whose electrons `electrons` are, exactly (to the bit); `None` for a
    /// value the table does not hold. Frames kept as electrons (soxspipe numerics) are
    /// counted by value through it: a 16-bit frame's pixels are all the table's.
    #[inline(always)]
    pub fn adu_of(&self, electrons: f32) -> Option<u16> {
        // Rounded by adding a half and truncating (exact ties do not matter: the table
        // decides); negative values and NaN become 0 and large ones 65535, which the
        // table then refuses unless they are its own.
        let adu = ((electrons * self.per_electron + 0.5) as u32).min(u32::from(u16::MAX)) as u16;
        (self.values[usize::from(adu)].to_bits() == electrons.to_bits()).then_some(adu)
    }
}

impl std::ops::Deref for ElectronTable {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        &self.values[..]
    }
}

/// `e- = ADU × gain` as soxspipe computes it: a float64 product rounded once to float32.
#[inline(always)]
pub fn electrons_of(adu: u16, gain: f64) -> f32 {
    (f64::from(adu) * gain) as f32
}

/// [`electrons_of`] every 16-bit value.
pub fn electron_table(gain: f64) -> ElectronTable {
    let mut values = Box::new([0f32; 1 << 16]);
    for (adu, e) in (0..=u16::MAX).zip(values.iter_mut()) {
        *e = electrons_of(adu, gain);
    }
    ElectronTable {
        gain,
        per_electron: (1.0 / gain) as f32,
        values: Arc::from(values),
    }
}

/// A frame's pixels as kept in memory, row-major (`Array2` in standard layout).
#[derive(Debug, Clone)]
pub enum Samples {
    /// Electrons, as soxspipe holds them.
    Electrons(Array2<f32>),
    /// Raw 16-bit ADU: electrons are `table[adu]`, the very float32 values `Electrons`
    /// would hold, at half the memory; and a histogram makes whole-frame statistics
    /// independent of the frame size.
    Adu {
        adu: Array2<u16>,
        table: ElectronTable,
        histogram: HistogramCell,
    },
}

/// A 16-bit frame's [`AduHistogram`]: counted as a whole frame is read
/// ([`Samples::adu`]), else when first asked for. The rows of a streamed stack's band are
/// never counted: no statistic asks a band, and a count costs a pass over the pixels.
#[derive(Debug, Clone, Default)]
pub struct HistogramCell(OnceLock<AduHistogram>);

impl HistogramCell {
    /// The histogram of `adu`, the pixels this cell belongs to.
    pub fn counted(&self, adu: &Array2<u16>) -> &AduHistogram {
        self.0.get_or_init(|| AduHistogram::of(standard(adu)))
    }
}

impl Samples {
    /// 16-bit ADU pixels with the table of their electrons, their histogram counted now
    /// (while the frame is being read, on the core reading it).
    pub fn adu(adu: Array2<u16>, table: ElectronTable) -> Samples {
        let histogram = HistogramCell::default();
        histogram.counted(&adu);
        Samples::Adu {
            adu,
            table,
            histogram,
        }
    }

    /// [`Samples::adu`] with the histogram left until asked for: rows of a band, which
    /// no whole-frame statistic reads.
    pub fn adu_uncounted(adu: Array2<u16>, table: ElectronTable) -> Samples {
        Samples::Adu {
            adu,
            table,
            histogram: HistogramCell::default(),
        }
    }
}

/// A frame's electrons in row-major order ([`Frame::electron_values`]).
pub enum ElectronValues<'a> {
    Stored(std::slice::Iter<'a, f32>),
    Adu(std::slice::Iter<'a, u16>, &'a ElectronTable),
}

impl Iterator for ElectronValues<'_> {
    type Item = f32;

    #[inline]
    fn next(&mut self) -> Option<f32> {
        match self {
            ElectronValues::Stored(values) => values.next().copied(),
            ElectronValues::Adu(values, table) => values.next().map(|&a| table[usize::from(a)]),
        }
    }
}

/// One frame, science window only.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The frame's name, which the per-frame statistics carry.
    pub name: String,
    pub samples: Samples,
    /// NaN and infinite pixels (float frames only): every clip leaves them out, and the
    /// user is told, since a frame full of them is damaged, not noisy.
    pub non_finite: usize,
}

impl Frame {
    /// (rows, columns).
    pub fn shape(&self) -> (usize, usize) {
        match &self.samples {
            Samples::Electrons(data) => data.dim(),
            Samples::Adu { adu, .. } => adu.dim(),
        }
    }

    /// One pixel in electrons, by its row-major index, for code that visits a few windows
    /// of a frame.
    #[inline]
    pub fn value(&self, pixel: usize) -> f32 {
        match &self.samples {
            Samples::Electrons(data) => standard(data)[pixel],
            Samples::Adu { adu, table, .. } => table[usize::from(standard(adu)[pixel])],
        }
    }

    /// The frame's electrons one by one, row-major, a 16-bit frame's looked up as they
    /// come: a pass over the frame without a converted copy of it.
    pub fn electron_values(&self) -> ElectronValues<'_> {
        match &self.samples {
            Samples::Electrons(data) => ElectronValues::Stored(standard(data).iter()),
            Samples::Adu { adu, table, .. } => ElectronValues::Adu(standard(adu).iter(), table),
        }
    }

    /// The frame in electrons, row-major: borrowed when stored so, converted otherwise.
    pub fn electrons(&self) -> Cow<'_, [f32]> {
        match &self.samples {
            Samples::Electrons(data) => Cow::Borrowed(standard(data)),
            Samples::Adu { adu, table, .. } => Cow::Owned(
                standard(adu)
                    .iter()
                    .map(|&a| table[usize::from(a)])
                    .collect(),
            ),
        }
    }

    /// The electrons as stored, when stored as electrons.
    pub fn electron_array(&self) -> Option<ArrayView2<'_, f32>> {
        match &self.samples {
            Samples::Electrons(data) => Some(data.view()),
            Samples::Adu { .. } => None,
        }
    }

    pub fn len(&self) -> usize {
        let (rows, cols) = self.shape();
        rows * cols
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The row-major pixels of an array the engine made. Every image array of the engine is
/// built from a row-major vector (`Array2::from_shape_vec`) and never transposed or
/// sliced in place, so it is always in standard layout; the SIMD kernels read that slice
/// without a copy.
pub fn standard<T>(array: &Array2<T>) -> &[T] {
    array
        .as_slice()
        .expect("engine image arrays are built row-major and never re-laid")
}

/// `values` as a `rows × cols` image; `values` holds exactly `rows × cols` pixels.
pub fn image<T>(rows: usize, cols: usize, values: Vec<T>) -> Array2<T> {
    Array2::from_shape_vec((rows, cols), values)
        .expect("the engine builds an image from exactly rows × cols values")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_left_for_later_counts_the_same_pixels() {
        let adu = image(2, 3, vec![7u16, 9, 7, 8, 7, 9]);
        let histogram = |samples: &Samples| match samples {
            Samples::Adu { adu, histogram, .. } => histogram.counted(adu).clone(),
            Samples::Electrons(_) => unreachable!("made as ADU"),
        };
        let now = Samples::adu(adu.clone(), electron_table(1.0));
        let later = Samples::adu_uncounted(adu.clone(), electron_table(1.0));
        assert_eq!(histogram(&later), histogram(&now));
        assert_eq!(histogram(&now), AduHistogram::of(standard(&adu)));
        let counts: Vec<_> = histogram(&later).counts().collect();
        assert_eq!(counts, [(7, 3), (8, 1), (9, 2)]);
    }
}
