//! Where each extension of a multi-extension set lies on the whole detector, from the
//! plans alone: known before anything is stacked, so that a set whose extensions cannot
//! be put together is refused before its work, and `assemble` places the masters after.

use crate::detector::{Placement, Section};

use super::Plan;
use super::amplifiers::overlap;

/// One extension's place in the assembled image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub extension: String,
    /// In the assembled image's pixels (binned as the masters are).
    pub section: Section,
    pub flip_cols: bool,
    pub flip_rows: bool,
}

/// Why the masters cannot be put together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssembleError {
    #[error("{first} and {second} claim the same detector pixels")]
    Overlap { first: String, second: String },
    #[error("{extension} is binned differently on the detector from {other}")]
    Binning { extension: String, other: String },
    #[error("{extension} does not start on the binned pixel grid of the others")]
    OffGrid { extension: String },
    #[error(
        "the extensions span {rows}x{cols} pixels but cover only {covered}: their detector \
         sections are far apart"
    )]
    Sparse {
        rows: usize,
        cols: usize,
        covered: usize,
    },
}

/// The assembled image may be this many times the area its pieces cover (gaps between
/// amplifiers are narrow; a section far off is a header mistake, and its image would be
/// enormous).
const MOST_SPREAD: usize = 4;

/// Where each extension of a set goes: the pieces and the assembled image's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub pieces: Vec<Piece>,
    pub rows: usize,
    pub cols: usize,
}

/// The layout of `plans` (one per extension) when every one has a place on the detector
/// and there are several; `None` otherwise. Known before anything is stacked, so that a
/// set whose extensions cannot be put together is refused before, not after, its work.
pub fn layout<'a>(
    plans: impl IntoIterator<Item = &'a Plan>,
) -> std::result::Result<Option<Layout>, AssembleError> {
    let placed: Option<Vec<(&Plan, &Placement)>> = plans
        .into_iter()
        .map(|plan| Some((plan, plan.placement.as_ref()?)))
        .collect();
    let Some(placed) = placed.filter(|p| p.len() > 1) else {
        return Ok(None);
    };
    let name = |plan: &Plan| plan.extension.clone().unwrap_or_default();
    // Detector pixels per master pixel along (rows, columns): the binning.
    let scale = |(plan, placement): &(&Plan, &Placement)| {
        (
            placement.on_chip.rows.len() / plan.rows.len().max(1),
            placement.on_chip.cols.len() / plan.cols.len().max(1),
        )
    };
    let binning = scale(&placed[0]);
    if let Some(other) = placed.iter().find(|p| scale(p) != binning) {
        return Err(AssembleError::Binning {
            extension: name(other.0),
            other: name(placed[0].0),
        });
    }
    let (by, bx) = (binning.0.max(1), binning.1.max(1));
    let origin = (
        placed
            .iter()
            .map(|p| p.1.on_chip.rows.start)
            .min()
            .unwrap_or(0),
        placed
            .iter()
            .map(|p| p.1.on_chip.cols.start)
            .min()
            .unwrap_or(0),
    );
    let mut pieces: Vec<Piece> = Vec::new();
    for (plan, placement) in &placed {
        let (down, across) = (
            placement.on_chip.rows.start - origin.0,
            placement.on_chip.cols.start - origin.1,
        );
        if !(down.is_multiple_of(by) && across.is_multiple_of(bx)) {
            return Err(AssembleError::OffGrid {
                extension: name(plan),
            });
        }
        let (top, left) = (down / by, across / bx);
        // The master is the stored window turned by the profile: a half turn reverses
        // both of its axes against DETSEC, which speaks of the stored image.
        let turned = plan.profile.rotation == 180;
        pieces.push(Piece {
            extension: name(plan),
            section: Section {
                rows: top..top + plan.rows.len(),
                cols: left..left + plan.cols.len(),
            },
            flip_cols: placement.flip_cols != turned,
            flip_rows: placement.flip_rows != turned,
        });
    }
    for (i, a) in pieces.iter().enumerate() {
        if let Some(b) = pieces[i + 1..]
            .iter()
            .find(|b| overlap(&a.section, &b.section))
        {
            return Err(AssembleError::Overlap {
                first: a.extension.clone(),
                second: b.extension.clone(),
            });
        }
    }
    let rows = pieces.iter().map(|p| p.section.rows.end).max().unwrap_or(0);
    let cols = pieces.iter().map(|p| p.section.cols.end).max().unwrap_or(0);
    let covered: usize = pieces.iter().map(|p| p.section.pixels()).sum();
    if rows
        .checked_mul(cols)
        .is_none_or(|area| area > covered.saturating_mul(MOST_SPREAD))
    {
        return Err(AssembleError::Sparse {
            rows,
            cols,
            covered,
        });
    }
    Ok(Some(Layout { pieces, rows, cols }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::Profile;

    /// A plan of a `rows × cols` window placed by `detsec`.
    fn plan(name: &str, (rows, cols): (usize, usize), detsec: Option<&str>) -> Plan {
        Plan {
            profile: Profile::generic("quad"),
            extension: Some(name.into()),
            frames: Vec::new(),
            gain: 1.0,
            ron: 1.0,
            binning: (1, 1),
            read_speed: String::new(),
            rows: 0..rows,
            cols: 0..cols,
            amplifiers: Vec::new(),
            placement: detsec.map(|d| Placement::parse(d).unwrap()),
        }
    }

    #[test]
    fn extensions_go_where_detsec_says_binned_and_flipped() {
        // 2x2-binned 4x4 windows of an 8x8-pixel detector, the right one read backwards.
        let plans = [
            plan("L", (4, 4), Some("[1:8,1:8]")),
            plan("R", (4, 4), Some("[16:9,1:8]")),
        ];
        let layout = layout(&plans).unwrap().unwrap();
        assert_eq!((layout.rows, layout.cols), (4, 8));
        assert_eq!(layout.pieces[1].section.cols, 4..8);
        assert!(layout.pieces[1].flip_cols && !layout.pieces[0].flip_cols);
    }

    #[test]
    fn nothing_to_assemble_without_places_or_with_one_extension() {
        let one = [plan("A", (4, 4), Some("[1:4,1:4]"))];
        assert_eq!(layout(&one), Ok(None));
        let unplaced = [
            plan("A", (4, 4), Some("[1:4,1:4]")),
            plan("B", (4, 4), None),
        ];
        assert_eq!(layout(&unplaced), Ok(None));
    }

    #[test]
    fn a_half_turned_master_is_flipped_back_and_far_or_off_grid_pieces_are_refused() {
        let mut turned = plan("R", (4, 4), Some("[8:5,1:4]"));
        turned.profile.rotation = 180;
        let plans = [plan("L", (4, 4), Some("[1:4,1:4]")), turned];
        let placed = layout(&plans).unwrap().unwrap();
        assert!(!placed.pieces[1].flip_cols && placed.pieces[1].flip_rows);
        let far = [
            plan("A", (4, 4), Some("[1:4,1:4]")),
            plan("B", (4, 4), Some("[1:4,4000000001:4000000004]")),
        ];
        assert!(matches!(layout(&far), Err(AssembleError::Sparse { .. })));
        let off_grid = [
            plan("A", (4, 4), Some("[1:8,1:8]")),
            plan("B", (4, 4), Some("[10:17,1:8]")),
        ];
        assert!(matches!(
            layout(&off_grid),
            Err(AssembleError::OffGrid { .. })
        ));
    }

    #[test]
    fn overlaps_and_mixed_binnings_are_refused() {
        let overlapping = [
            plan("A", (4, 4), Some("[1:4,1:4]")),
            plan("B", (4, 4), Some("[3:6,1:4]")),
        ];
        assert!(matches!(
            layout(&overlapping),
            Err(AssembleError::Overlap { .. })
        ));
        let mixed = [
            plan("A", (4, 4), Some("[1:4,1:4]")),
            plan("B", (4, 4), Some("[5:12,1:8]")),
        ];
        assert!(matches!(layout(&mixed), Err(AssembleError::Binning { .. })));
    }
}
