//! The master-bias product (spec/soxspipe-mbias.md §6): FLUX/QUAL/ERRS, the first
//! frame's header plus PRO and QC keywords, sorted as soxspipe sorts them, checksums.
//!
//! Written atomically: a temporary file in the target folder, renamed into place only
//! when complete, so a crash or a full disk never leaves a half-written product and an
//! existing product is untouched unless overwriting was asked for.

use std::path::{Path, PathBuf};

use crate::algorithm::{MasterBias, standard};
use crate::atomic::TempFile;
use crate::error::{Error, FitsError, ProductError, Result};
use crate::fits::header::format_float;
use crate::fits::{Card, Header, ImageData, ImageWriter, Value, read_frame_header};
use crate::load::FrameSet;
use crate::params::RecipeVersion;
use crate::qc::{
    FrameField, FrameQcValues, QcOrigin, QcReport, QcValue, frame_keyword, parse_frame_keyword,
    report_order,
};
use crate::verify::Plan;

/// Keywords the product sets itself, or that soxspipe scrubs.
const NOT_INHERITED: &[&str] = &[
    "EXTNAME",
    "BUNIT",
    "CHECKSUM",
    "DATASUM",
    // soxspipe's basic_header_scrubbing
    "ESO DPR TECH",
    "ESO DPR CATG",
    "ESO DPR TYPE",
    "ARCFILE",
];

/// How a raw HDU is laid out; the writer sets the product's own.
const STRUCTURE: &[&str] = &[
    "SIMPLE", "BITPIX", "NAXIS", "EXTEND", "PCOUNT", "GCOUNT", "XTENSION", "END",
];

/// The scaling and null value of integer data: invalid in a float image (astropy warns
/// "Invalid 'BLANK' keyword" on every product of a CCD whose raws carry one).
const INTEGER_ONLY: &[&str] = &["BZERO", "BSCALE", "BLANK"];

/// The binary table that holds a tile-compressed image, and its compression.
const TILE_COMPRESSION: &[&str] = &[
    "TFIELDS", "THEAP", "ZIMAGE", "ZBITPIX", "ZNAXIS", "ZCMPTYPE", "ZQUANTIZ", "ZDITHER0",
    "ZMASKCMP", "ZSIMPLE", "ZEXTEND", "ZBLOCKED", "ZTENSION", "ZPCOUNT", "ZGCOUNT", "ZHECKSUM",
    "ZDATASUM", "ZBLANK", "ZSCALE", "ZZERO",
];

/// Stems of the numbered ones of all these (`NAXIS1`, `TFORM1`, `ZTILE2`).
const NUMBERED: &[&str] = &[
    "NAXIS", "TTYPE", "TFORM", "TUNIT", "TNULL", "TSCAL", "TZERO", "TDISP", "TDIM", "TBCOL",
    "ZNAXIS", "ZTILE", "ZNAME", "ZVAL",
];

/// Whether `key` (upper case) says how a raw frame stored its pixels rather than what
/// they are. Copied into the product's float images such a card would describe data
/// that is not there, or make readers misread what is.
fn describes_raw_storage(key: &str) -> bool {
    [STRUCTURE, INTEGER_ONLY, TILE_COMPRESSION]
        .iter()
        .any(|list| list.contains(&key))
        || NUMBERED.iter().any(|stem| {
            key.strip_prefix(stem)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

pub const PIPELINE_ID: &str = concat!("mbias/v", env!("CARGO_PKG_VERSION"));

/// soxspipe's product name: the SOF's name, or what its data organiser would have named
/// the SOF: `<first DATE-OBS as YYYYMMDDTHHMMSS>_<ARM>_<BINX>X<BINY>_<ROSPEED>_MBIAS_<INSTRUMENT>`.
pub fn product_name(plan: &Plan, sof: Option<&Path>) -> String {
    if let Some(stem) = sof.and_then(Path::file_stem) {
        return format!("{}.fits", stem.to_string_lossy());
    }
    let first = plan.frames.first();
    let date = first
        .and_then(|f| f.merged_header().text("DATE-OBS"))
        .unwrap_or_default();
    let stamp: String = date
        .split('.')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    // Without a date the first frame's name keeps products of different sets apart.
    let stamp = match (stamp.is_empty(), first) {
        (true, Some(f)) => crate::fits::frame_name(&f.path)
            .trim_end_matches(".fits")
            .to_string(),
        _ => stamp,
    };
    let (bx, by) = plan.binning;
    let tag = plan.profile.product_tag();
    let name = match plan.profile.instrument {
        Some(_) => format!(
            "{stamp}_{}_{bx}X{by}_{}_MBIAS_{tag}",
            plan.profile.arm, plan.read_speed
        ),
        // Generic profiles have no arm and often no read-out mode keyword.
        None if plan.read_speed.is_empty() => format!("{stamp}_{bx}X{by}_MBIAS_{tag}"),
        None => format!("{stamp}_{bx}X{by}_{}_MBIAS_{tag}", plan.read_speed),
    };
    format!("{}.fits", file_name_safe(&name))
}

/// Header values become part of the name: anything but letters, digits and `._+-`
/// (a `/` in an old-style date, a space in a read-out mode) becomes `_`, so the product
/// lands in the folder asked for and nowhere else.
fn file_name_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn param_value(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        Value::Int(v as i64)
    } else {
        Value::Float(v)
    }
}

/// A QC value as the recipe writes it: soxspipe 0.19 keeps its QC table in float64, so
/// counts too are written as floats (`5392.0`).
fn qc_value(v: &QcValue, version: RecipeVersion) -> Value {
    if v.integer && v.value.is_finite() && !version.is_019() {
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

/// The two COMMENT cards that name the FITS standard, which cfitsio writes into every
/// primary HDU itself: inherited too, they would stand twice.
fn is_fits_standard_comment(text: &str) -> bool {
    text.contains("Flexible Image Transport System") || text.contains("2001A&A...376..359H")
}

/// Header cards being assembled: a card replaces an earlier one of its keyword, and the
/// result is sorted by keyword like soxspipe's `sort_keywords`.
struct Cards(Vec<Card>);

impl Cards {
    /// What a product keeps of a raw header: all but the raw storage's keywords and those
    /// soxspipe scrubs, each keyword once (commentary cards all).
    fn inherited(header: &Header) -> Cards {
        let mut cards: Vec<Card> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for card in &header.cards {
            let key = card.key.to_ascii_uppercase();
            let commentary = matches!(key.as_str(), "COMMENT" | "HISTORY" | "");
            let dropped = NOT_INHERITED.contains(&key.as_str())
                || describes_raw_storage(&key)
                || (key == "COMMENT" && is_fits_standard_comment(&card.raw));
            if dropped || (!commentary && !seen.insert(key)) {
                continue;
            }
            cards.push(card.clone());
        }
        Cards(cards)
    }

    fn add(&mut self, key: &str, value: Value, comment: &str) {
        self.0.retain(|c| !c.key.eq_ignore_ascii_case(key));
        self.0.push(Card::new(key, value, comment));
    }

    fn text(&mut self, key: &str, value: &str) {
        self.add(key, Value::Str(value.to_string()), "");
    }

    /// Placeholders the writer fills in once the HDU is complete.
    fn checksums(&mut self) {
        self.add(
            "CHECKSUM",
            Value::Str("0000000000000000".into()),
            "HDU checksum",
        );
        self.add("DATASUM", Value::Str("0".into()), "data unit checksum");
    }

    /// What makes an HDU a FLUX image: its name and unit.
    fn flux(&mut self, extname: &str) {
        self.add("BUNIT", Value::Str("electron".into()), "");
        self.add("EXTNAME", Value::Str(extname.into()), "extension name");
        self.checksums();
    }

    /// soxspipe's `ESO PRO` keywords: the product's type and the raw frames it came from.
    fn pro(&mut self, set: &FrameSet) {
        let arm = set.plan.profile.arm.as_str();
        let catg = if arm.is_empty() {
            "MASTER_BIAS".to_string()
        } else {
            self.add("ESO SEQ ARM", Value::Str(arm.into()), "Arm");
            format!("MASTER_BIAS_{arm}")
        };
        self.text("ESO PRO TYPE", "REDUCED");
        self.text("ESO PRO CATG", &catg);
        self.text("ESO PRO TECH", "IMAGE");
        // How many frames went in (soxspipe 0.19 writes it, and its later recipes read it).
        self.add("ESO PRO DATANCOM", Value::Int(set.frame_count() as i64), "");
        self.text("ESO PRO REC1 ID", "soxs-mbias");
        self.text("ESO PRO REC1 PIPE ID", PIPELINE_ID);
        for (i, name) in set.frame_names().iter().enumerate() {
            self.text(&format!("ESO PRO REC1 RAW{} NAME", i + 1), name);
            self.text(
                &format!("ESO PRO REC1 RAW{} CATG", i + 1),
                &format!("BIAS_{arm}"),
            );
        }
    }

    /// `ESO PRO REC1 PARAMi NAME/VALUE`, numbered from `first`.
    fn params(&mut self, first: usize, params: &[Param]) {
        for (i, (name, value)) in params.iter().enumerate() {
            let n = first + i;
            self.text(&format!("ESO PRO REC1 PARAM{n} NAME"), name);
            self.add(&format!("ESO PRO REC1 PARAM{n} VALUE"), value.clone(), "");
        }
    }

    /// The QC values, then each raw frame's.
    fn qc(&mut self, qc: &QcReport, version: RecipeVersion) {
        for v in &qc.values {
            self.add(&v.keyword(), qc_value(v, version), v.comment);
        }
        for (i, frame) in qc.frames.iter().enumerate() {
            for field in FrameField::ALL {
                self.add(
                    &frame_keyword(i, field),
                    float_value(field.of(frame)),
                    field.comment(),
                );
            }
        }
        for amp in &qc.amplifiers {
            self.text(&format!("MBIAS QC OUT{} NAME", amp.index), &amp.name);
            for (tag, value, _, comment) in amp.fields() {
                self.add(&amp.keyword(tag), float_value(value), comment);
            }
        }
    }

    /// soxspipe's timestamp of the product, then the order soxspipe writes.
    fn finish(mut self) -> Vec<Card> {
        let now = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%S%.6f")
            .to_string();
        self.add("SXSPRE", Value::Str(now), "UTC timestamp");
        self.sorted()
    }

    fn sorted(mut self) -> Vec<Card> {
        self.0.sort_by(|a, b| a.key.cmp(&b.key));
        self.0
    }
}

/// A stacking parameter's name and value.
type Param = (&'static str, Value);

/// The stacking parameters as `ESO PRO REC1 PARAM`s: those every image of a product
/// shares, and the read noise the noise-model rejection scaled its bounds with (e-),
/// which is each image's own.
fn params(set: &FrameSet, master: &MasterBias) -> (Vec<Param>, Option<Param>) {
    let p = &master.params;
    let text = |s: &str| Value::Str(s.to_string());
    let stacked = [
        (
            "stacked-clipping-sigma",
            param_value(p.stacked_clipping_sigma),
        ),
        (
            "stacked-clipping-iterations",
            Value::Int(i64::from(p.stacked_clipping_iterations)),
        ),
    ];
    let frame = [
        ("frame-clipping-sigma", param_value(p.frame_clipping_sigma)),
        (
            "frame-clipping-iterations",
            Value::Int(i64::from(p.frame_clipping_iterations)),
        ),
    ];
    // soxspipe numbers them in the order of its settings file: X-shooter's and SOXS's
    // since 0.19 list the frame clip first, SOXS's 0.17.4 the stacked clip.
    let soxs_017 = set.plan.profile.instrument == Some(crate::detector::Instrument::Soxs)
        && master.version == RecipeVersion::Soxspipe017;
    let clipping = if soxs_017 {
        [stacked, frame].concat()
    } else {
        [frame, stacked].concat()
    };
    let mbias = [
        ("recipe", text(master.version.name())),
        ("numerics", text(master.numerics.name())),
        ("rejection", text(master.method.rejection.name())),
        ("combine", text(master.method.combine.name())),
    ];
    // The overscan step soxspipe does not have, named when one ran.
    let overscan = set.plan.profile.overscan;
    let ran = overscan != crate::detector::OverscanMethod::None
        && set.plan.amplifiers.iter().any(|a| a.overscan.is_some());
    let overscan = ran.then(|| ("overscan", text(overscan.name())));
    let shared = clipping
        .into_iter()
        .chain(mbias)
        .chain(overscan)
        .chain(
            master
                .method
                .rejection
                .parameters()
                .into_iter()
                .map(|(key, value)| (key, param_value(value))),
        )
        .collect();
    let own = (master.method.rejection == crate::params::Rejection::NoiseModel)
        .then_some(("noise-model-ron", Value::Float(master.method.read_noise)));
    (shared, own)
}

/// The FLUX header of a single-image product, which is its primary: the first frame's
/// header plus PRO and QC keywords, as soxspipe writes it.
pub fn primary_cards(set: &FrameSet, master: &MasterBias, qc: &QcReport) -> Vec<Card> {
    let first = set
        .plan
        .frames
        .first()
        .map(|f| f.merged_header().into_owned())
        .unwrap_or_default();
    let mut cards = Cards::inherited(&first);
    cards.flux("FLUX");
    cards.pro(set);
    let (shared, own) = params(set, master);
    cards.params(1, &[shared, own.into_iter().collect()].concat());
    cards.qc(qc, master.version);
    cards.finish()
}

/// The data-less primary of a multi-extension product: the first frame's primary header
/// plus the PRO keywords every extension shares.
fn extensions_primary_cards(first: Image<'_>) -> Vec<Card> {
    let header = first
        .set
        .plan
        .frames
        .first()
        .map(|f| f.primary.clone())
        .unwrap_or_default();
    let mut cards = Cards::inherited(&header);
    cards.checksums();
    cards.pro(first.set);
    cards.params(1, &params(first.set, first.master).0);
    cards.finish()
}

/// The `<name>.FLUX` header of one extension: the raw extension's own keywords (DETSEC,
/// CCDSEC, its gain …), its own parameters and its QC.
fn extension_flux_cards(image: Image<'_>, name: &str) -> Vec<Card> {
    let header = image
        .set
        .plan
        .frames
        .first()
        .map(|f| f.image.header.clone())
        .unwrap_or_default();
    let mut cards = Cards::inherited(&header);
    cards.flux(&format!("{name}.FLUX"));
    let (shared, own) = params(image.set, image.master);
    cards.params(shared.len() + 1, &own.into_iter().collect::<Vec<_>>());
    cards.qc(image.qc, image.master.version);
    cards.sorted()
}

/// One stacked image of a product.
#[derive(Debug, Clone, Copy)]
pub struct Image<'a> {
    pub set: &'a FrameSet,
    pub master: &'a MasterBias,
    pub qc: &'a QcReport,
}

impl Image<'_> {
    /// The name its extensions carry in a multi-extension product.
    fn extension_name(&self, position: usize) -> String {
        self.set
            .plan
            .extension
            .clone()
            .unwrap_or_else(|| format!("IMAGE{}", position + 1))
    }

    /// FLUX with `flux_cards`, then QUAL and ERRS named `<prefix>QUAL`, `<prefix>ERRS`.
    fn write(
        &self,
        writer: &mut ImageWriter,
        flux_cards: &[Card],
        prefix: &str,
    ) -> Result<(), FitsError> {
        let master = self.master;
        let shape = master.flux.dim();
        let name = |n: &str| Value::Str(format!("{prefix}{n}"));
        writer.add_image(shape, ImageData::F32(standard(&master.flux)), flux_cards)?;
        writer.add_image(
            shape,
            ImageData::U8(standard(&master.qual)),
            &[Card::new("EXTNAME", name("QUAL"), "extension name")],
        )?;
        writer.add_image(
            shape,
            ImageData::F32Made {
                len: master.qual.len(),
                fill: &|pixels, out| master.errs_into(pixels, out),
            },
            &[
                Card::new("EXTNAME", name("ERRS"), "extension name"),
                Card::new("UTYPE", Value::Str("StdDevUncertainty".into()), ""),
                Card::new("BUNIT", Value::Str("electron".into()), ""),
            ],
        )
    }
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

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Bytes free for this user in the file system holding `folder`.
fn free_bytes(folder: &Path) -> Option<u64> {
    let stats = rustix::fs::statvfs(folder).ok()?;
    Some(stats.f_bavail.saturating_mul(stats.f_frsize))
}

/// The product's size: per image float32 FLUX and ERRS and uint8 QUAL, plus headers.
fn product_bytes(images: &[Image<'_>]) -> u64 {
    const HEADERS: u64 = 16 * 2880;
    images
        .iter()
        .map(|image| {
            let pixels = image.master.flux.len() as u64;
            pixels * 9 + 3 * HEADERS
        })
        .sum::<u64>()
        + HEADERS
}

/// Fails before anything is written when the folder refuses files (with the system's
/// reason, which cfitsio would lose) or lacks the space for the product.
fn check_writable(folder: &Path, temp: &Path, needed: u64) -> Result<(), ProductError> {
    let not_writable = |source| ProductError::NotWritable {
        folder: folder.to_path_buf(),
        source,
    };
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temp)
        .map_err(not_writable)?;
    std::fs::remove_file(temp).map_err(not_writable)?;
    match free_bytes(folder) {
        Some(available) if available < needed => Err(ProductError::NoSpace {
            folder: folder.to_path_buf(),
            needed,
            available,
        }),
        _ => Ok(()),
    }
}

/// The whole product into `temp`.
fn write_temp(temp: &TempFile, images: &[Image<'_>], first: Image<'_>) -> Result<()> {
    let mut writer = ImageWriter::create(temp.path())?.replacing(temp.replaces());
    match images {
        [only] if only.set.plan.extension.is_none() => only.write(
            &mut writer,
            &primary_cards(only.set, only.master, only.qc),
            "",
        )?,
        _ => {
            writer.add_empty_primary(&extensions_primary_cards(first))?;
            for (position, image) in images.iter().enumerate() {
                let name = image.extension_name(position);
                let flux = extension_flux_cards(*image, &name);
                image.write(&mut writer, &flux, &format!("{name}."))?;
            }
        }
    }
    writer.finish();
    Ok(())
}

/// Writes the product and returns its path. One image without an extension name is
/// soxspipe's layout (FLUX primary, QUAL, ERRS); otherwise a data-less primary is
/// followed by `<name>.FLUX`, `<name>.QUAL`, `<name>.ERRS` per image.
pub fn write(request: &WriteRequest<'_>, images: &[Image<'_>]) -> Result<PathBuf> {
    std::fs::create_dir_all(request.folder).map_err(|e| ProductError::CreateDir {
        path: request.folder.to_path_buf(),
        source: e,
    })?;
    let target = request.folder.join(request.name);
    let Some(&first) = images.first() else {
        return Err(ProductError::NoImages(target).into());
    };
    if request.inputs.iter().any(|input| same_file(input, &target)) {
        return Err(ProductError::WouldOverwriteInput(target).into());
    }
    if target.exists() && !request.overwrite {
        return Err(ProductError::Exists(target).into());
    }
    let temp = TempFile::beside(&target);
    let needed = product_bytes(images);
    check_writable(request.folder, temp.path(), needed)?;
    write_temp(&temp, images, first).map_err(|e| {
        // cfitsio's status says "error writing", not why: a full disk is the usual reason.
        match free_bytes(request.folder) {
            Some(available) if available < needed => ProductError::NoSpace {
                folder: request.folder.to_path_buf(),
                needed,
                available,
            },
            _ => ProductError::Failed {
                target: target.clone(),
                message: match e {
                    Error::Fits(FitsError::Write { message, .. }) => message,
                    other => other.to_string(),
                },
            },
        }
    })?;
    temp.commit(request.overwrite)?;
    Ok(target)
}

/// QC values: (origin, name without the `ESO QC ` or `MBIAS QC ` prefix, value), in the
/// order reports list them ([`crate::qc::DEFINITIONS`]), names mbias does not know last.
pub type QcValues = Vec<(QcOrigin, String, f64)>;

/// QC keywords read back from a product.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductQc {
    /// The primary header (the first raw frame's: it names the detector).
    pub header: Header,
    /// From the primary header: a single-image product's QC; empty for a
    /// multi-extension product, whose QC is per extension.
    pub values: QcValues,
    /// Per raw frame, in observing order; NaN where a keyword is missing.
    pub frames: Vec<FrameQcValues>,
    /// A multi-extension product's QC, one per `<name>.FLUX` extension in file order.
    pub extensions: Vec<ExtensionQc>,
}

/// The QC of one extension of a multi-extension product.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExtensionQc {
    /// `AMP1` for `AMP1.FLUX`.
    pub name: String,
    pub values: QcValues,
    pub frames: Vec<FrameQcValues>,
}

/// The soxspipe release a product's recipe followed: its `recipe` parameter (mbias), else
/// its pipeline (soxspipe's own products); mbias products older than the parameter were
/// all made as soxspipe 0.17.4 makes them. `None` for anything else.
pub fn recipe_version(header: &Header) -> Option<RecipeVersion> {
    let recorded = (1..=64).find_map(|i| {
        let name = header.text(&format!("ESO PRO REC1 PARAM{i} NAME"))?;
        (name == "recipe")
            .then(|| header.text(&format!("ESO PRO REC1 PARAM{i} VALUE")))
            .flatten()
    });
    if let Some(version) = recorded {
        return RecipeVersion::parse(&version);
    }
    let pipeline = header.text("ESO PRO REC1 PIPE ID")?;
    if pipeline.starts_with("soxspipe/v0.19") {
        Some(RecipeVersion::Soxspipe019)
    } else if pipeline.starts_with("soxspipe/v0.17") || pipeline.starts_with("mbias/") {
        Some(RecipeVersion::Soxspipe017)
    } else {
        None
    }
}

pub fn read_qc(path: &Path) -> Result<ProductQc, FitsError> {
    read_frame_header(path).map(qc_of)
}

/// The QC keywords of a product whose headers have been read.
pub fn qc_of(file: crate::fits::FrameFile) -> ProductQc {
    let header = file.primary;
    let (values, frames) = qc_values(&header, &header);
    let extensions = file
        .images
        .iter()
        .filter(|image| image.index > 0)
        .filter_map(|image| {
            let extname = image.header.text("EXTNAME")?;
            let name = strip_suffix_ignoring_case(&extname, ".FLUX")?.to_string();
            // The raw frames' names are the primary's PRO keywords, shared by all.
            let (values, frames) = qc_values(&image.header, &header);
            Some(ExtensionQc {
                name,
                values,
                frames,
            })
        })
        .collect();
    ProductQc {
        header,
        values,
        frames,
        extensions,
    }
}

/// `text` without `suffix` (any case), when it ends with it after a non-empty stem.
pub(crate) fn strip_suffix_ignoring_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = text.len().checked_sub(suffix.len())?;
    let (stem, tail) = (text.get(..cut)?, text.get(cut..)?);
    (!stem.is_empty() && tail.eq_ignore_ascii_case(suffix)).then_some(stem)
}

/// The QC values of one header, the frame names from `names`' PRO keywords.
fn qc_values(header: &Header, names: &Header) -> (QcValues, Vec<FrameQcValues>) {
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
        for namespace in [QcOrigin::Soxspipe, QcOrigin::Mbias] {
            if let Some(name) = card.key.strip_prefix(namespace.prefix()) {
                // soxspipe's table-only values are written under mbias's namespace.
                let origin = crate::qc::definition(name).map_or(namespace, |d| d.origin);
                values.push((origin, name.to_string(), value));
            }
        }
    }
    for (i, frame) in frames.iter_mut().enumerate() {
        frame.name = names
            .text(&format!("ESO PRO REC1 RAW{} NAME", i + 1))
            .unwrap_or_default();
    }
    values.sort_by_key(|(origin, name, _)| (report_order(name), *origin != QcOrigin::Soxspipe));
    (values, frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_cannot_steer_the_product_out_of_its_folder() {
        assert_eq!(file_name_safe("../../etc/x y:z"), ".._.._etc_x_y_z");
        assert!(!file_name_safe("25/02/23_1X1").contains('/'));
    }
}
