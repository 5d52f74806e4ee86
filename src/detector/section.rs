//! FITS/IRAF image sections such as `[1:2048,1:350]`: 1-based, inclusive, columns first,
//! the way `DATASEC` and `TRIMSEC` keywords and IRAF users write them.

use std::fmt;
use std::ops::Range;

/// A rectangle of an image in 0-based, end-exclusive row and column ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub rows: Range<usize>,
    pub cols: Range<usize>,
}

/// A parsed section before it meets an image: `None` axes span the whole image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionSpec {
    /// 1-based inclusive (first, last) column, or the whole axis.
    pub cols: Option<(usize, usize)>,
    pub rows: Option<(usize, usize)>,
}

/// Why a section string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not an image section like [1:2048,1:350] ({reason})")]
pub struct SectionError {
    pub text: String,
    pub reason: &'static str,
}

/// The two ranges of `[x1:x2,y1:y2]` (brackets optional, spaces allowed), 1-based, in
/// the order written; `*` (a whole axis) is `None`.
type Ranges = (Option<(usize, usize)>, Option<(usize, usize)>);

fn parse_ranges(text: &str) -> Result<Ranges, SectionError> {
    let fail = |reason| SectionError {
        text: text.to_string(),
        reason,
    };
    let inner = text.trim();
    let inner = inner
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(inner);
    let (x, y) = inner
        .split_once(',')
        .ok_or_else(|| fail("two ranges separated by a comma are needed"))?;
    let axis = |part: &str| -> Result<Option<(usize, usize)>, SectionError> {
        let part = part.trim();
        if part == "*" {
            return Ok(None);
        }
        let (a, b) = part
            .split_once(':')
            .ok_or_else(|| fail("each range is first:last"))?;
        let bound = |v: &str| {
            v.trim()
                .parse::<usize>()
                .map_err(|_| fail("bounds are whole numbers"))
        };
        let (a, b) = (bound(a)?, bound(b)?);
        if a == 0 || b == 0 {
            return Err(fail("bounds start at 1"));
        }
        Ok(Some((a, b)))
    };
    Ok((axis(x)?, axis(y)?))
}

impl SectionSpec {
    /// Parses `[x1:x2,y1:y2]` (brackets optional, spaces allowed). `*` stands for a whole
    /// axis, as in IRAF; it resolves against the image size in [`SectionSpec::within`].
    pub fn parse(text: &str) -> Result<SectionSpec, SectionError> {
        let (cols, rows) = parse_ranges(text)?;
        if [cols, rows].iter().flatten().any(|(a, b)| b < a) {
            return Err(SectionError {
                text: text.to_string(),
                reason: "flipped ranges are not supported",
            });
        }
        Ok(SectionSpec { cols, rows })
    }

    /// The section in an image of `shape` (rows, columns), or `None` if it does not fit.
    pub fn within(&self, shape: (usize, usize)) -> Option<Section> {
        let axis = |spec: Option<(usize, usize)>, size: usize| match spec {
            None => Some(0..size),
            Some((a, b)) if b <= size => Some(a - 1..b),
            Some(_) => None,
        };
        Some(Section {
            rows: axis(self.rows, shape.0)?,
            cols: axis(self.cols, shape.1)?,
        })
    }
}

impl Section {
    pub fn pixels(&self) -> usize {
        self.rows.len() * self.cols.len()
    }

    /// The same pixels once an image of `shape` (rows, columns) is turned by 180°.
    pub fn half_turned(&self, (rows, cols): (usize, usize)) -> Section {
        Section {
            rows: rows - self.rows.end..rows - self.rows.start,
            cols: cols - self.cols.end..cols - self.cols.start,
        }
    }
}

/// Where an image's pixels sit on the whole detector, as `DETSEC` says (1-based,
/// inclusive, columns first, in unbinned pixels as most instruments write it). A range
/// written high to low (`[2048:1025,1:4096]`, as LRIS writes its right-hand amplifiers)
/// means the image runs the other way on the chip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The detector pixels covered, 0-based, end-exclusive.
    pub on_chip: Section,
    /// Whether the image's columns (rows) run right to left (top to bottom) on the chip.
    pub flip_cols: bool,
    pub flip_rows: bool,
}

impl Placement {
    pub fn parse(text: &str) -> Result<Placement, SectionError> {
        match parse_ranges(text)? {
            (Some((x1, x2)), Some((y1, y2))) => Ok(Placement {
                on_chip: Section {
                    rows: y1.min(y2) - 1..y1.max(y2),
                    cols: x1.min(x2) - 1..x1.max(x2),
                },
                flip_cols: x2 < x1,
                flip_rows: y2 < y1,
            }),
            _ => Err(SectionError {
                text: text.to_string(),
                reason: "a detector section names both ranges, not *",
            }),
        }
    }
}

/// FITS's spelling, 1-based and inclusive: `[x1:x2,y1:y2]`.
impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}:{},{}:{}]",
            self.cols.start + 1,
            self.cols.end,
            self.rows.start + 1,
            self.rows.end
        )
    }
}

impl fmt::Display for SectionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let axis = |spec: Option<(usize, usize)>| match spec {
            None => "*".to_string(),
            Some((a, b)) => format!("{a}:{b}"),
        };
        write!(f, "[{},{}]", axis(self.cols), axis(self.rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iraf_sections_columns_first() {
        let spec = SectionSpec::parse("[1:2048,1:350]").unwrap();
        assert_eq!(spec.cols, Some((1, 2048)));
        assert_eq!(spec.rows, Some((1, 350)));
        let s = spec.within((350, 2112)).unwrap();
        assert_eq!((s.rows, s.cols), (0..350, 0..2048));
        assert_eq!(spec.to_string(), "[1:2048,1:350]");
        let spaced = SectionSpec::parse(" [ 5:10 , * ] ").unwrap();
        assert_eq!(spaced.within((20, 30)).unwrap().rows, 0..20);
        assert_eq!(spaced.within((20, 30)).unwrap().cols, 4..10);
    }

    #[test]
    fn a_half_turn_mirrors_both_ranges() {
        // A 10-column image whose data are columns 3-10: turned, they are columns 1-8.
        let data = SectionSpec::parse("[3:10,2:4]")
            .unwrap()
            .within((5, 10))
            .unwrap();
        let turned = data.half_turned((5, 10));
        assert_eq!((turned.rows.clone(), turned.cols.clone()), (1..4, 0..8));
        assert_eq!(turned.half_turned((5, 10)), data);
    }

    #[test]
    fn detector_sections_may_run_backwards() {
        let p = Placement::parse("[2048:1025,1:4096]").unwrap();
        assert_eq!(p.on_chip.cols, 1024..2048);
        assert_eq!(p.on_chip.rows, 0..4096);
        assert!(p.flip_cols && !p.flip_rows);
        assert!(Placement::parse("[*,1:5]").is_err());
        assert!(SectionSpec::parse("[2048:1025,1:4096]").is_err());
    }

    #[test]
    fn refuses_nonsense_and_sections_outside_the_image() {
        for bad in [
            "",
            "[]",
            "[1:2]",
            "[0:5,1:2]",
            "[5:1,1:2]",
            "[a:b,1:2]",
            "[1-5,1:2]",
        ] {
            assert!(SectionSpec::parse(bad).is_err(), "{bad}");
        }
        let spec = SectionSpec::parse("[1:2048,1:350]").unwrap();
        assert_eq!(spec.within((350, 2000)), None);
    }
}
