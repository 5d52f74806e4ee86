//! What the history keeps of one product, read from its headers alone: the product is
//! never opened past them, so a site can import years of masters in seconds.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::detector::{Detectors, Profile};
use crate::error::{FitsError, HistoryError};
use crate::fits::{FrameFile, Header, read_frame_header};
use crate::product::{ProductQc, qc_of, recipe_version};

/// The detector set-up a product belongs to: the series the trend compares it with.
/// Amplifiers (extensions) are series of their own inside one setup.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Setup {
    /// The detector profile (`soxs-vis`, `xsh-uvb`, a generic profile's name).
    pub profile: String,
    /// `ESO SEQ ARM` of a built-in profile; empty otherwise.
    pub arm: String,
    /// `1x1`, `2x2`, …
    pub binning: String,
    /// The read-out mode as its keyword says it; empty when the profile reads none.
    pub read_speed: String,
}

impl std::fmt::Display for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.profile, self.binning)?;
        if !self.read_speed.is_empty() {
            write!(f, " read-out {}", self.read_speed)?;
        }
        Ok(())
    }
}

/// One image's QC values: the product's only image (extension `""`) or one extension
/// (amplifier) of a multi-extension product.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageQc {
    pub extension: String,
    /// (QC name without its `ESO QC ` / `MBIAS QC ` prefix, value).
    pub values: Vec<(String, f64)>,
}

/// A master-bias product as the history records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Where the product was when it was recorded (made absolute).
    pub path: PathBuf,
    /// SHA-256 of every image header as written, which carries the product's QC, its
    /// parameters and (for mbias's products) the data checksums: the same product
    /// imported twice has the same one.
    pub checksum: String,
    pub setup: Setup,
    /// soxspipe's night-start date of the first raw frame: `DATE-OBS` − 15 h, `YYYY-MM-DD`.
    pub night: String,
    /// `MJD-OBS` of the first raw frame, which orders products within a night.
    pub mjd: Option<f64>,
    /// The soxspipe release the recipe followed (`soxspipe-0.19`), or the pipeline's id
    /// for a product of neither.
    pub recipe: String,
    /// The numerics (`soxspipe`, `exact`) as mbias's parameters record them; `soxspipe`
    /// for soxspipe's own products; empty for any other pipeline's.
    pub numerics: String,
    /// The recipe's parameters as the product lists them (`ESO PRO REC1 PARAMi`).
    pub params: Vec<(String, String)>,
    /// The raw frames' names (`ESO PRO REC1 RAWi NAME`).
    pub inputs: Vec<String>,
    pub images: Vec<ImageQc>,
}

/// Reads what the history keeps of the product at `path`. A file without QC keywords
/// (a raw frame, another pipeline's image) is refused as not a master bias.
pub fn read(path: &Path, detectors: &Detectors) -> Result<Entry, crate::Error> {
    let file = read_frame_header(path)?;
    let checksum = header_checksum(&file);
    let qc = qc_of(file);
    if qc.values.is_empty() && qc.extensions.is_empty() {
        return Err(HistoryError::NotAProduct(path.to_path_buf()).into());
    }
    let header = &qc.header;
    let unknown = Profile::generic("unknown");
    let profile = detectors.detect(header).unwrap_or(&unknown);
    let (bx, by) = profile.binning.read(header);
    let setup = Setup {
        profile: profile.name.clone(),
        arm: profile.arm.clone(),
        binning: format!("{bx}x{by}"),
        read_speed: profile
            .read_speed
            .as_ref()
            .and_then(|k| header.text(k))
            .unwrap_or_default(),
    };
    let absolute = std::path::absolute(path).map_err(|e| FitsError::Open {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let params = indexed_pairs(header, "PARAM", "NAME", "VALUE");
    let recorded = params.iter().find(|(name, _)| name == "numerics");
    let soxspipes = header
        .text("ESO PRO REC1 PIPE ID")
        .is_some_and(|id| id.starts_with("soxspipe/"));
    let numerics = match recorded {
        Some((_, value)) => value.clone(),
        None if soxspipes => "soxspipe".to_string(),
        None => String::new(),
    };
    Ok(Entry {
        path: absolute,
        checksum,
        setup,
        night: night_of(header).unwrap_or_default(),
        mjd: header.number("MJD-OBS"),
        recipe: recipe_of(header),
        numerics,
        params,
        inputs: indexed_pairs(header, "RAW", "NAME", "CATG")
            .into_iter()
            .map(|(name, _)| name)
            .collect(),
        images: images_of(&qc),
    })
}

/// The QC per image: the primary's for a single-image product, each extension's for a
/// multi-extension one.
fn images_of(qc: &ProductQc) -> Vec<ImageQc> {
    let values = |v: &crate::product::QcValues| {
        v.iter()
            .map(|(_, name, value)| (name.clone(), *value))
            .collect()
    };
    if qc.extensions.is_empty() {
        return vec![ImageQc {
            extension: String::new(),
            values: values(&qc.values),
        }];
    }
    qc.extensions
        .iter()
        .map(|e| ImageQc {
            extension: e.name.clone(),
            values: values(&e.values),
        })
        .collect()
}

fn header_checksum(file: &FrameFile) -> String {
    let mut hash = Sha256::new();
    let headers = std::iter::once(&file.primary).chain(file.images.iter().map(|i| &i.header));
    for header in headers {
        for card in &header.cards {
            hash.update(card.raw.as_bytes());
            hash.update(b"\n");
        }
        hash.update(b"END\n");
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// soxspipe's night-start date: the first frame's `DATE-OBS` less 15 hours (a night's
/// frames taken after midnight belong to the evening before), else from `MJD-OBS`.
pub fn night_of(header: &Header) -> Option<String> {
    let from_date = header.text("DATE-OBS").and_then(|text| {
        let text = text.trim();
        // FITS dates are UTC, written with or without a trailing Z.
        let time: jiff::civil::DateTime = text.parse().ok().or_else(|| {
            Some(
                text.parse::<jiff::Timestamp>()
                    .ok()?
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .datetime(),
            )
        })?;
        let shifted = time
            .checked_sub(jiff::SignedDuration::from_hours(15))
            .ok()?;
        Some(shifted.date().to_string())
    });
    from_date.or_else(|| {
        let mjd = header.number("MJD-OBS")?;
        let days = (mjd - 15.0 / 24.0).floor();
        // MJD 0 is 1858-11-17.
        let epoch = jiff::civil::date(1858, 11, 17);
        let span = jiff::Span::new().try_days(days as i64).ok()?;
        Some(epoch.checked_add(span).ok()?.to_string())
    })
}

fn recipe_of(header: &Header) -> String {
    match recipe_version(header) {
        Some(version) => version.name().to_string(),
        None => header.text("ESO PRO REC1 PIPE ID").unwrap_or_default(),
    }
}

/// `ESO PRO REC1 <stem>i <first>` / `<second>` pairs for i = 1, 2, … while present.
fn indexed_pairs(header: &Header, stem: &str, first: &str, second: &str) -> Vec<(String, String)> {
    (1..)
        .map_while(|i| {
            let key = |field: &str| format!("ESO PRO REC1 {stem}{i} {field}");
            let name = header.text(&key(first))?;
            let value = header
                .get(&key(second))
                .map(|v| match v.as_text() {
                    Some(text) => text,
                    None => v.as_f64().map(|n| n.to_string()).unwrap_or_default(),
                })
                .unwrap_or_default();
            Some((name, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fits::{Card, Value};

    fn header(cards: &[(&str, Value)]) -> Header {
        Header {
            cards: cards
                .iter()
                .map(|(k, v)| Card::new(k, v.clone(), ""))
                .collect(),
        }
    }

    #[test]
    fn the_night_starts_fifteen_hours_before() {
        let h = header(&[("DATE-OBS", Value::Str("2025-10-10T09:19:27.000".into()))]);
        assert_eq!(night_of(&h).as_deref(), Some("2025-10-09"));
        let h = header(&[("DATE-OBS", Value::Str("2025-10-10T16:00:00".into()))]);
        assert_eq!(night_of(&h).as_deref(), Some("2025-10-10"));
        let h = header(&[("DATE-OBS", Value::Str("2025-10-10T09:19:27Z".into()))]);
        assert_eq!(night_of(&h).as_deref(), Some("2025-10-09"));
        // MJD 60958.388 is 2025-10-10T09:18.
        let h = header(&[("MJD-OBS", Value::Float(60958.388))]);
        assert_eq!(night_of(&h).as_deref(), Some("2025-10-09"));
        assert_eq!(night_of(&header(&[])), None);
    }
}
