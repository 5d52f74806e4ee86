//! What each QC value is: who defines it, its unit, its header comment, how it is
//! printed. One table, so that the product, `mbias stack` and `mbias qc` (which has only
//! the names and numbers a product's header holds) agree on every row.

use super::QcOrigin;

/// One QC value's definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Definition {
    pub name: &'static str,
    pub origin: QcOrigin,
    pub unit: &'static str,
    /// The header comment (soxspipe's own for its values).
    pub comment: &'static str,
    /// Whether soxspipe writes it into the product header, under `ESO QC`. The ones it
    /// keeps in its QC table only (the temperatures) mbias writes under `MBIAS QC`, so
    /// that reading a product back gives every row of the table.
    pub in_header: bool,
    /// Integer-valued: written and printed without a decimal point.
    pub integer: bool,
}

const fn soxspipe(name: &'static str, unit: &'static str, comment: &'static str) -> Definition {
    Definition {
        name,
        origin: QcOrigin::Soxspipe,
        unit,
        comment,
        in_header: true,
        integer: false,
    }
}

const fn own(name: &'static str, unit: &'static str, comment: &'static str) -> Definition {
    Definition {
        origin: QcOrigin::Mbias,
        ..soxspipe(name, unit, comment)
    }
}

const fn table_only(definition: Definition) -> Definition {
    Definition {
        in_header: false,
        ..definition
    }
}

/// Every QC value, in the order reports list them: soxspipe's eight header values, its
/// table-only temperatures, then mbias's own.
pub const DEFINITIONS: [Definition; 18] = [
    soxspipe(
        "MBIAS MEDIAN",
        "e-",
        "[e-] Median flux level of master bias",
    ),
    soxspipe("RAW RON", "e-", "[e-] RON in single BIAS"),
    soxspipe("MASTER RON", "e-", "[e-] Combined RON in MBIAS"),
    soxspipe("FPN FRACMAX", "", "Max periodic pattern noise ratio"),
    soxspipe("STRUCTX", "e-/col", "Slope of BIAS in X direction"),
    soxspipe("STRUCTY", "e-/row", "Slope of BIAS in Y direction"),
    Definition {
        integer: true,
        ..soxspipe("BADPIX NUM", "px", "Number of bad pixels")
    },
    soxspipe("BADPIX FRAC", "", "Fraction of bad pixels"),
    table_only(soxspipe("DETECTOR TEMP", "K", "[K] Detector temperature")),
    table_only(soxspipe("CPATH TEMP", "C", "[C] Common path temperature")),
    own(
        "LEVEL MEDIAN",
        "e-",
        "[e-] Median of frames' clipped medians",
    ),
    own("RON DIFF", "e-", "[e-] RON of consecutive frame diffs"),
    own("RON DIFF ERR", "e-", "[e-] Error of RON DIFF"),
    own("LEVEL DRIFT", "e-/frame", "[e-/frame] Bias level trend"),
    own("LEVEL RANGE", "e-", "[e-] Max - min frame level"),
    own("PATTERN FREQX", "cyc/px", "[cycles/px] Pattern peak"),
    own("PATTERN FREQY", "cyc/px", "[cycles/px] Pattern peak"),
    own("PATTERN AMP", "e-", "[e-] Pattern amplitude"),
];

/// `N` names of [`DEFINITIONS`] from `first` on.
const fn names<const N: usize>(first: usize) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = DEFINITIONS[first + i].name;
        i += 1;
    }
    out
}

/// The eight QC values soxspipe writes into a master bias, in the order mbias lists them.
pub const SOXSPIPE_QC: [&str; 8] = names(0);

/// mbias's own QC names, in the order they follow soxspipe's.
pub const MBIAS_QC: [&str; 8] = names(10);

/// The definition of the value named `name`.
pub fn definition(name: &str) -> Option<&'static Definition> {
    DEFINITIONS.iter().find(|d| d.name == name)
}

/// Where `name` stands in a report; names not defined here go last.
pub fn report_order(name: &str) -> usize {
    DEFINITIONS
        .iter()
        .position(|d| d.name == name)
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_cut_the_table_where_its_origins_change() {
        assert!(
            SOXSPIPE_QC
                .iter()
                .all(|n| definition(n).is_some_and(|d| d.origin == QcOrigin::Soxspipe))
        );
        assert!(
            MBIAS_QC
                .iter()
                .all(|n| definition(n).is_some_and(|d| d.origin == QcOrigin::Mbias))
        );
        assert_eq!(SOXSPIPE_QC[0], "MBIAS MEDIAN");
        assert_eq!(MBIAS_QC[7], "PATTERN AMP");
    }

    #[test]
    fn every_temperature_a_profile_reports_is_defined() {
        for profile in crate::detector::BUILT_IN.iter() {
            for (name, _) in &profile.temperatures {
                assert!(definition(name).is_some_and(|d| !d.in_header), "{name}");
            }
        }
    }
}
