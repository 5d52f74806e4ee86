//! The values of an image window as the reading functions hand them over.

/// Pixels of a window, in the narrowest type that holds every value exactly.
#[derive(Debug, Clone, PartialEq)]
pub enum Pixels {
    /// Unsigned 8- and 16-bit integers (BZERO included), when asked for.
    U16(Vec<u16>),
    /// 8- and 16-bit integers (BZERO included) and float32 data.
    F32(Vec<f32>),
    /// 32-bit integers, float64 data and scaled images.
    F64(Vec<f64>),
}

impl Pixels {
    pub fn len(&self) -> usize {
        match self {
            Pixels::U16(v) => v.len(),
            Pixels::F32(v) => v.len(),
            Pixels::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
