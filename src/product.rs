//! The master-bias product (spec/soxspipe-mbias.md §6): FLUX/QUAL/ERRS, the first
//! frame's header plus PRO and QC keywords, sorted as soxspipe sorts them, checksums.
//!
//! Written atomically: a temporary file in the target folder, renamed into place only
//! when complete, so a crash or a full disk never leaves a half-written product and an
//! existing product is untouched unless overwriting was asked for.

use std::path::{Path, PathBuf};

use crate::algorithm::{MasterBias, PreparedSet};
use crate::error::{FitsError, ProductError, Result};
use crate::fits::header::format_float;
use crate::fits::{Card, Header, ImageData, ImageWriter, Value, read_frame_header};
use crate::qc::{
    FrameField, FrameQcValues, QcOrigin, QcReport, QcValue, frame_keyword, parse_frame_keyword,
};
use crate::verify::Plan;

/// Keywords the product sets itself or that describe the raw data layout.
const NOT_INHERITED: &[&str] = &[
    "SIMPLE",
    "BITPIX",
    "NAXIS",
    "NAXIS1",
    "NAXIS2",
    "EXTEND",
    "BZERO",
    "BSCALE",
    "PCOUNT",
    "GCOUNT",
    "XTENSION",
    "EXTNAME",
    "BUNIT",
    "CHECKSUM",
    "DATASUM",
    "END",
    // soxspipe's basic_header_scrubbing
    "ESO DPR TECH",
    "ESO DPR CATG",
    "ESO DPR TYPE",
    "ARCFILE",
];

pub const PIPELINE_ID: &str = concat!("mbias/v", env!("CARGO_PKG_VERSION"));

/// soxspipe's product name: the SOF's name, or what its data organiser would have named
/// the SOF: `<first DATE-OBS as YYYYMMDDTHHMMSS>_<ARM>_<BINX>X<BINY>_<ROSPEED>_MBIAS_<INSTRUMENT>`.
pub fn product_name(plan: &Plan, sof: Option<&Path>) -> String {
    if let Some(stem) = sof.and_then(Path::file_stem) {
        return format!("{}.fits", stem.to_string_lossy());
    }
    let date = plan
        .frames
        .first()
        .and_then(|f| f.merged_header().text("DATE-OBS"))
        .unwrap_or_default();
    let stamp: String = date
        .split('.')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    let (bx, by) = plan.binning;
    let tag = plan.profile.product_tag();
    match plan.profile.instrument {
        Some(_) => format!(
            "{stamp}_{}_{bx}X{by}_{}_MBIAS_{tag}.fits",
            plan.profile.arm, plan.read_speed
        ),
        // Generic profiles have no arm and often no read-out mode keyword.
        None if plan.read_speed.is_empty() => format!("{stamp}_{bx}X{by}_MBIAS_{tag}.fits"),
        None => format!("{stamp}_{bx}X{by}_{}_MBIAS_{tag}.fits", plan.read_speed),
    }
}

fn param_value(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        Value::Int(v as i64)
    } else {
        Value::Float(v)
    }
}

fn qc_value(v: &QcValue) -> Value {
    if v.integer && v.value.is_finite() {
        Value::Int(v.value as i64)
    } else {
        float_value(v.value)
    }
}

/// FITS has no NaN literal: a non-finite value goes in as text (`'NaN'`), which
/// [`read_qc`] parses back as a number.
fn float_value(v: f64) -> Value {
    if v.is_finite() {
        Value::Float(v)
    } else {
        Value::Str(format_float(v))
    }
}

/// The primary header: inherited cards and new cards, sorted by keyword like soxspipe's
/// `sort_keywords`.
pub fn primary_cards(set: &PreparedSet, master: &MasterBias, qc: &QcReport) -> Vec<Card> {
    let plan = &set.plan;
    let arm = plan.profile.arm.as_str();
    let first = set
        .frames
        .first()
        .map(|f| f.header.clone())
        .unwrap_or_default();
    let mut cards: Vec<Card> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for card in &first.cards {
        let key = card.key.to_ascii_uppercase();
        let commentary = matches!(key.as_str(), "COMMENT" | "HISTORY" | "");
        if NOT_INHERITED.contains(&key.as_str()) || (!commentary && !seen.insert(key)) {
            continue;
        }
        cards.push(card.clone());
    }
    let mut add = |key: &str, value: Value, comment: &str| {
        cards.retain(|c| !c.key.eq_ignore_ascii_case(key));
        cards.push(Card::new(key, value, comment));
    };
    let text = |s: &str| Value::Str(s.to_string());
    add("BUNIT", text("electron"), "");
    add("EXTNAME", text("FLUX"), "extension name");
    add("CHECKSUM", text("0000000000000000"), "HDU checksum");
    add("DATASUM", text("0"), "data unit checksum");
    let catg = if arm.is_empty() {
        "MASTER_BIAS".to_string()
    } else {
        add("ESO SEQ ARM", text(arm), "Arm");
        format!("MASTER_BIAS_{arm}")
    };
    add("ESO PRO TYPE", text("REDUCED"), "");
    add("ESO PRO CATG", text(&catg), "");
    add("ESO PRO TECH", text("IMAGE"), "");
    add("ESO PRO REC1 ID", text("soxs-mbias"), "");
    add("ESO PRO REC1 PIPE ID", text(PIPELINE_ID), "");
    for (i, frame) in set.frames.iter().enumerate() {
        add(
            &format!("ESO PRO REC1 RAW{} NAME", i + 1),
            text(&frame.name),
            "",
        );
        add(
            &format!("ESO PRO REC1 RAW{} CATG", i + 1),
            text(&format!("BIAS_{arm}")),
            "",
        );
    }
    let p = &master.params;
    let params = [
        (
            "stacked-clipping-sigma",
            param_value(p.stacked_clipping_sigma),
        ),
        (
            "stacked-clipping-iterations",
            Value::Int(i64::from(p.stacked_clipping_iterations)),
        ),
        ("frame-clipping-sigma", param_value(p.frame_clipping_sigma)),
        (
            "frame-clipping-iterations",
            Value::Int(i64::from(p.frame_clipping_iterations)),
        ),
        ("numerics", text(master.numerics.name())),
        ("rejection", text(master.method.rejection.name())),
        ("combine", text(master.method.combine.name())),
    ];
    // The read noise the noise-model rejection scaled its bounds with (e-).
    let noise_model = (master.method.rejection == crate::settings::Rejection::NoiseModel)
        .then_some(("noise-model-ron", Value::Float(master.method.read_noise)));
    for (i, (name, value)) in params.into_iter().chain(noise_model).enumerate() {
        add(&format!("ESO PRO REC1 PARAM{} NAME", i + 1), text(name), "");
        add(&format!("ESO PRO REC1 PARAM{} VALUE", i + 1), value, "");
    }
    for v in qc.values.iter().filter(|v| v.in_header) {
        add(&v.keyword(), qc_value(v), v.comment);
    }
    for (i, frame) in qc.frames.iter().enumerate() {
        for field in FrameField::ALL {
            add(
                &frame_keyword(i, field),
                float_value(field.of(frame)),
                field.comment(),
            );
        }
    }
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string();
    add("SXSPRE", text(&now), "UTC timestamp");
    cards.sort_by(|a, b| a.key.cmp(&b.key));
    cards
}

/// Where and how to write.
#[derive(Debug, Clone)]
pub struct WriteRequest<'a> {
    pub folder: &'a Path,
    pub name: &'a str,
    pub overwrite: bool,
    /// Input frames, which must never be written.
    pub inputs: &'a [PathBuf],
}

/// Removes the temporary file unless the write completed.
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Writes the product and returns its path.
pub fn write(
    request: &WriteRequest<'_>,
    set: &PreparedSet,
    master: &MasterBias,
    qc: &QcReport,
) -> Result<PathBuf> {
    std::fs::create_dir_all(request.folder).map_err(|e| ProductError::CreateDir {
        path: request.folder.to_path_buf(),
        source: e,
    })?;
    let target = request.folder.join(request.name);
    if request.inputs.iter().any(|input| same_file(input, &target)) {
        return Err(ProductError::WouldOverwriteInput(target).into());
    }
    if target.exists() && !request.overwrite {
        return Err(ProductError::Exists(target).into());
    }
    let temp = request
        .folder
        .join(format!(".{}.{}.tmp", request.name, std::process::id()));
    let _ = std::fs::remove_file(&temp);
    let mut guard = TempGuard(Some(temp.clone()));

    let shape = (master.rows, master.cols);
    let mut writer = ImageWriter::create(&temp)?;
    writer.add_image(
        shape,
        ImageData::F32(&master.flux),
        &primary_cards(set, master, qc),
    )?;
    writer.add_image(
        shape,
        ImageData::U8(&master.qual),
        &[Card::new(
            "EXTNAME",
            Value::Str("QUAL".into()),
            "extension name",
        )],
    )?;
    writer.add_image(
        shape,
        ImageData::F32(&master.errs),
        &[
            Card::new("EXTNAME", Value::Str("ERRS".into()), "extension name"),
            Card::new("UTYPE", Value::Str("StdDevUncertainty".into()), ""),
            Card::new("BUNIT", Value::Str("electron".into()), ""),
        ],
    )?;
    writer.finish()?;
    if target.exists() && !request.overwrite {
        return Err(ProductError::Exists(target).into());
    }
    std::fs::rename(&temp, &target).map_err(|e| ProductError::Io {
        path: target.clone(),
        source: e,
    })?;
    guard.0 = None;
    Ok(target)
}

/// QC keywords read back from a product's primary header.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductQc {
    pub header: Header,
    /// (origin, name without the `ESO QC ` or `MBIAS QC ` prefix, value): soxspipe's, then
    /// mbias's, each in the order mbias reports them (the header is sorted by keyword).
    pub values: Vec<(QcOrigin, String, f64)>,
    /// Per raw frame, in observing order; NaN where a keyword is missing.
    pub frames: Vec<FrameQcValues>,
}

pub fn read_qc(path: &Path) -> Result<ProductQc, FitsError> {
    let header = read_frame_header(path)?.primary;
    let mut values = Vec::new();
    let mut frames: Vec<FrameQcValues> = Vec::new();
    for card in &header.cards {
        let Some(value) = card.value.as_f64() else {
            continue;
        };
        if let Some((position, field)) = parse_frame_keyword(&card.key) {
            // Every frame has cards of its own, so a larger number is not a frame's
            // (and must not size an allocation).
            if position >= header.cards.len() {
                continue;
            }
            if frames.len() <= position {
                frames.resize_with(position + 1, || FrameQcValues {
                    name: String::new(),
                    level: f64::NAN,
                    rejected_fraction: f64::NAN,
                });
            }
            let frame = &mut frames[position];
            match field {
                FrameField::Level => frame.level = value,
                FrameField::RejectedFraction => frame.rejected_fraction = value,
            }
            continue;
        }
        for origin in [QcOrigin::Soxspipe, QcOrigin::Mbias] {
            if let Some(name) = card.key.strip_prefix(origin.prefix()) {
                values.push((origin, name.to_string(), value));
            }
        }
    }
    for (i, frame) in frames.iter_mut().enumerate() {
        frame.name = header
            .text(&format!("ESO PRO REC1 RAW{} NAME", i + 1))
            .unwrap_or_default();
    }
    values.sort_by_key(|(origin, name, _)| (*origin != QcOrigin::Soxspipe, report_order(name)));
    Ok(ProductQc {
        header,
        values,
        frames,
    })
}

/// Where `name` stands in a report; names mbias does not know go last.
fn report_order(name: &str) -> usize {
    crate::qc::SOXSPIPE_QC
        .iter()
        .chain(&crate::qc::MBIAS_QC)
        .position(|known| *known == name)
        .unwrap_or(usize::MAX)
}
