//! Settings: soxspipe settings files as they are, plus an `mbias` block of our own.
//!
//! A soxspipe settings file holds many recipes; only `soxs-mbias` (with its per-arm
//! sub-blocks and `qc-acceptable-ranges`) is read, every other key is ignored so a user
//! can point mbias at the file they already use. Values absent from the file fall back to
//! the defaults soxspipe ships for the frames' instrument, so X-shooter frames get
//! X-shooter defaults and SOXS frames SOXS defaults.
//!
//! The values are [`crate::params`] types, checked there; this module only reads them from
//! YAML, merges the levels of a file, and writes them back.

mod amplifiers;
pub mod draft;
mod overrides;
mod profiles;

pub use profiles::GenericProfile;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use yaml_serde::{Mapping, Value};

use crate::detector::{Detectors, Instrument, Profile};
use crate::error::SettingsError;
use crate::params::{
    self, ClipParams, ClipValues, Combine, CompareLimit, CompareLimits, CompareStatistic, Numerics,
    QcRange, QcRanges, RecipeVersion, Rejection,
};

/// The recipe values a settings block may set; `None` means "not given here".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecipeOverrides {
    pub stacked_clipping_sigma: Option<f64>,
    pub stacked_clipping_iterations: Option<u32>,
    pub frame_clipping_sigma: Option<f64>,
    pub frame_clipping_iterations: Option<u32>,
    pub qc_acceptable_ranges: Option<QcRanges>,
}

impl RecipeOverrides {
    fn apply(&self, params: &mut ClipValues, ranges: &mut QcRanges) {
        if let Some(v) = self.stacked_clipping_sigma {
            params.stacked_clipping_sigma = v;
        }
        if let Some(v) = self.stacked_clipping_iterations {
            params.stacked_clipping_iterations = v;
        }
        if let Some(v) = self.frame_clipping_sigma {
            params.frame_clipping_sigma = v;
        }
        if let Some(v) = self.frame_clipping_iterations {
            params.frame_clipping_iterations = v;
        }
        // A range given here replaces the range of that name only: the others keep the
        // values of the level below (the instrument's defaults, then the top-level block).
        if let Some(r) = &self.qc_acceptable_ranges {
            ranges.extend(r.iter().map(|(name, range)| (name.clone(), *range)));
        }
    }
}

/// Where the settings came from, for messages and the product header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsSource {
    BuiltIn,
    File(PathBuf),
}

/// Parsed settings: what the file says, before the instrument's defaults fill the gaps.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Top level of the `soxs-mbias` block.
    pub recipe: RecipeOverrides,
    /// Per-arm sub-blocks (`vis:`, `uvb:`), keyed by lower-case arm name.
    pub arms: BTreeMap<String, RecipeOverrides>,
    /// soxspipe's top-level `instrument:`; its recipe values then apply only to frames of
    /// that instrument (soxspipe keeps one settings file per instrument).
    pub instrument: Option<Instrument>,
    /// `mbias.recipe`: which soxspipe release to reproduce; `None` = soxspipe 0.19.
    pub recipe_version: Option<RecipeVersion>,
    /// `mbias.numerics`; `None` = the profile's default (soxspipe for built-in profiles).
    pub numerics: Option<Numerics>,
    /// `mbias.rejection`; `None` = soxspipe's `mad-sigma`.
    pub rejection: Option<Rejection>,
    /// The rejection methods' own parameters (`mbias.<key>` for each of
    /// [`Rejection::PARAMETER_KEYS`]), applied to whichever method is chosen.
    pub rejection_parameters: BTreeMap<String, f64>,
    /// `mbias.combine`; `None` = soxspipe's `mean`.
    pub combine: Option<Combine>,
    /// `mbias.output-dir`: where `stack` writes when no `-o` is given.
    pub output_dir: Option<PathBuf>,
    /// `mbias.graphics`: how the console draws images; `None` = [`Graphics::Auto`].
    pub graphics: Option<Graphics>,
    /// `mbias.static-calibrations`: a soxspipe `resources/static_calibrations` folder
    /// (with `soxs/` and `xsh/`), whose bad-pixel maps soxspipe uses.
    pub static_calibrations: Option<PathBuf>,
    /// `mbias.detectors`: generic profiles for CCDs soxspipe does not know.
    pub detectors: Vec<GenericProfile>,
    /// `mbias.profile`: use this profile for every frame instead of detecting one.
    pub profile: Option<String>,
    /// `mbias.memory`: the memory budget for a set's frames, bytes; `None` = sized to the
    /// machine. A set larger than it is stacked in bands of rows read from disk.
    pub memory: Option<u64>,
    /// `mbias.history`: the QC history's file, or `off`; `None` = the user's data folder.
    pub history: Option<crate::params::HistoryLocation>,
    /// `mbias.compare-limits`: the limits of `mbias compare` given here, each replacing
    /// the default of its statistic ([`Settings::compare_limits`]).
    pub compare_limits: BTreeMap<CompareStatistic, CompareLimit>,
    pub source: SettingsSource,
    /// Keys of the `soxs-mbias` block this version does not know. soxspipe ignores them,
    /// so a file for a newer soxspipe still loads; a typo still deserves a word.
    pub warnings: Vec<String>,
}

/// A key of the `soxs-mbias` block nothing reads (a recipe key, an arm block or a QC range
/// name), with the names that would have been read in its place. In a settings file it is
/// a warning, because soxspipe ignores such keys and a file for another soxspipe version
/// must still load; in an override it is an error.
#[derive(Debug, Clone, PartialEq)]
struct Stray {
    key: String,
    known: Vec<String>,
}

impl Stray {
    fn new(key: String, known: impl IntoIterator<Item = impl Into<String>>) -> Stray {
        Stray {
            key,
            known: known.into_iter().map(Into::into).collect(),
        }
    }

    fn warning(&self) -> String {
        format!(
            "unknown key {} is ignored (known: {})",
            self.key,
            self.known.join(", ")
        )
    }

    fn into_error(self) -> SettingsError {
        SettingsError::UnknownKey {
            file: None,
            key: self.key,
            known: self.known.join(", "),
        }
    }
}

/// Settings resolved for one set of frames: everything the engine needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolved {
    /// The instrument the values were resolved for (written into saved settings files).
    pub instrument: Option<Instrument>,
    pub params: ClipParams,
    pub qc_ranges: QcRanges,
    /// The soxspipe release reproduced.
    pub recipe: RecipeVersion,
    /// soxspipe's static calibrations folder, for its bad-pixel maps.
    pub static_calibrations: Option<PathBuf>,
    pub numerics: Numerics,
    pub rejection: Rejection,
    pub combine: Combine,
    /// The memory budget for a set's frames, bytes (`None`: sized to the machine and to
    /// `stacks`).
    pub memory: Option<u64>,
    /// How often the set is stacked: not a setting, but what the front end will do with
    /// it; it decides the budget when none is set.
    #[serde(skip)]
    pub stacks: Stacks,
}

/// How often a set of frames is stacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stacks {
    /// Again and again as parameters change (the console): frames are kept in memory, up
    /// to half the machine's, so that a re-stack need not read them.
    #[default]
    Repeatedly,
    /// Once (the command line): a large set of uncompressed frames is read in bands of
    /// rows, which costs no more time and keeps memory from growing with the frames.
    Once,
}

/// The environment variable that names a settings file.
pub const SETTINGS_ENV: &str = "MBIAS_SETTINGS";

const RECIPE_BLOCK: &str = "soxs-mbias";
/// The arms a `soxs-mbias` block may hold a sub-block for: soxspipe's (NIR frames are not
/// stacked by mbias, but soxspipe's files carry `nir:` blocks).
const ARMS: [&str; 3] = ["uvb", "vis", "nir"];
const MBIAS_BLOCK: &str = "mbias";
const RECIPE_KEYS: [&str; 5] = [
    "stacked-clipping-sigma",
    "stacked-clipping-iterations",
    "frame-clipping-sigma",
    "frame-clipping-iterations",
    "qc-acceptable-ranges",
];
const MBIAS_KEYS: [&str; 12] = [
    "recipe",
    "static-calibrations",
    "numerics",
    "rejection",
    "combine",
    "output-dir",
    "graphics",
    "profile",
    "detectors",
    "memory",
    "history",
    "compare-limits",
];

/// How the console draws images: through the terminal's graphics protocol where it has
/// one, or always with half blocks (two pixels a character cell, which works anywhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Graphics {
    /// kitty, iTerm2 or sixel when the terminal says it has one, half blocks otherwise.
    #[default]
    Auto,
    HalfBlocks,
    Kitty,
    Iterm2,
    Sixel,
}

impl Graphics {
    pub const EXPECTED: &'static str = "auto, half-blocks, kitty, iterm2 or sixel";

    pub fn from_name(name: &str) -> Option<Graphics> {
        Some(match name {
            "auto" => Graphics::Auto,
            "half-blocks" => Graphics::HalfBlocks,
            "kitty" => Graphics::Kitty,
            "iterm2" => Graphics::Iterm2,
            "sixel" => Graphics::Sixel,
            _ => return None,
        })
    }
}

/// Every key of the `mbias` block: its own and the rejection methods' parameters.
fn mbias_keys() -> Vec<&'static str> {
    MBIAS_KEYS
        .into_iter()
        .chain(Rejection::PARAMETER_KEYS)
        .collect()
}

/// The example settings file shipped with the project; a test proves it equals the defaults.
pub const EXAMPLE: &str = include_str!("../../settings.example.yaml");

impl Default for Settings {
    fn default() -> Self {
        Settings {
            recipe: RecipeOverrides::default(),
            arms: BTreeMap::new(),
            instrument: None,
            recipe_version: None,
            numerics: None,
            rejection: None,
            rejection_parameters: BTreeMap::new(),
            combine: None,
            output_dir: None,
            graphics: None,
            static_calibrations: None,
            detectors: Vec::new(),
            profile: None,
            memory: None,
            history: None,
            compare_limits: BTreeMap::new(),
            source: SettingsSource::BuiltIn,
            warnings: Vec::new(),
        }
    }
}

/// The shipped defaults of `soxs-mbias` in the soxspipe release `version`
/// (`soxs_default_settings.yaml`, `xsh_default_settings.yaml`). 0.19 swapped SOXS's σ
/// (frame 3, stacked 4) and widened its STRUCT ranges; X-shooter's did not change. They
/// are constants within the rules of [`params`], so checking them cannot fail (a test
/// builds them for every instrument and version).
pub fn instrument_defaults(
    instrument: Instrument,
    version: RecipeVersion,
) -> (ClipParams, QcRanges) {
    let (frame_sigma, stacked_sigma, structx, structy) = match version {
        RecipeVersion::Soxspipe017 => (4.0, 3.0, (-3.0, 1.0), (-0.01, 0.6)),
        RecipeVersion::Soxspipe019 => (3.0, 4.0, (-5.0, 5.0), (-0.8, 0.8)),
    };
    let (values, ranges): (_, &[(&str, f64, f64)]) = match instrument {
        Instrument::Soxs => (
            ClipValues {
                stacked_clipping_sigma: stacked_sigma,
                stacked_clipping_iterations: 3,
                frame_clipping_sigma: frame_sigma,
                frame_clipping_iterations: 3,
            },
            &[
                ("master-ron", 0.0, 10.0),
                ("fpn-fracmax", 0.0, 3.0),
                ("mbias-median", 0.0, 2000.0),
                ("raw-ron", 0.0, 15.0),
                ("structx", structx.0, structx.1),
                ("structy", structy.0, structy.1),
                ("detector-temp", 0.0, 165.0),
            ],
        ),
        Instrument::Xshooter => (
            ClipValues {
                stacked_clipping_sigma: 5.0,
                stacked_clipping_iterations: 3,
                frame_clipping_sigma: 3.0,
                frame_clipping_iterations: 1,
            },
            &[],
        ),
    };
    let params = ClipParams::new(values).expect("soxspipe's clipping defaults are valid");
    let ranges = ranges
        .iter()
        .map(|&(name, low, high)| {
            let range = QcRange::new(low, high).expect("soxspipe's ranges let values pass");
            (name.to_string(), range)
        })
        .collect();
    (params, ranges)
}

impl Settings {
    /// Finds and loads the settings: `explicit` (a file the user named), else `$MBIAS_SETTINGS`, else
    /// `settings.yaml` in the user's config folder, else the built-in defaults.
    pub fn discover(explicit: Option<&Path>) -> Result<Settings, SettingsError> {
        if let Some(path) = explicit {
            return Settings::load(path);
        }
        if let Some(path) = std::env::var_os(SETTINGS_ENV).filter(|p| !p.is_empty()) {
            return Settings::load(Path::new(&path));
        }
        if let Some(path) = user_settings_path().filter(|p| p.is_file()) {
            return Settings::load(&path);
        }
        Ok(Settings::default())
    }

    pub fn load(path: &Path) -> Result<Settings, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|e| SettingsError::Read {
            path: path.to_path_buf(),
            source: e,
        })?;
        let mut settings = Settings::parse(&text).map_err(|e| e.in_file(path))?;
        for warning in &mut settings.warnings {
            *warning = format!("settings file {}: {warning}", path.display());
        }
        settings.source = SettingsSource::File(path.to_path_buf());
        Ok(settings)
    }

    /// Parses settings text (no file involved; errors name the key).
    pub fn parse(text: &str) -> Result<Settings, SettingsError> {
        let value: Value = if text.trim().is_empty() {
            Value::Mapping(Mapping::new())
        } else {
            yaml_serde::from_str(text).map_err(|e| SettingsError::Syntax {
                file: None,
                message: e.to_string(),
            })?
        };
        let (mut settings, strays) = Settings::from_value(&value)?;
        settings.warnings = strays.iter().map(Stray::warning).collect();
        Ok(settings)
    }

    /// The settings a YAML document holds, and the keys of its `soxs-mbias` block that
    /// nothing reads.
    fn from_value(value: &Value) -> Result<(Settings, Vec<Stray>), SettingsError> {
        let mut settings = Settings::default();
        let mut strays = Vec::new();
        let root = match value {
            Value::Mapping(m) => m,
            Value::Null => return Ok((settings, strays)),
            other => return Err(SettingsError::invalid("(top level)", "a mapping", other)),
        };
        if let Some(value) = root.get("instrument") {
            settings.instrument = match value.as_str().map(str::to_ascii_lowercase).as_deref() {
                Some("soxs") => Some(Instrument::Soxs),
                Some("xsh") => Some(Instrument::Xshooter),
                _ => return Err(SettingsError::invalid("instrument", "soxs or xsh", value)),
            };
        }
        if let Some(block) = root.get(RECIPE_BLOCK) {
            let block = as_mapping(block, RECIPE_BLOCK)?;
            settings.recipe = parse_recipe(block, RECIPE_BLOCK, &mut strays)?;
            for (key, sub) in block {
                let name = key_text(key);
                if RECIPE_KEYS.contains(&name.as_str()) {
                    continue;
                }
                let path = format!("{RECIPE_BLOCK}.{name}");
                let arm = name.to_ascii_lowercase();
                let Some(sub) = sub.as_mapping().filter(|_| ARMS.contains(&arm.as_str())) else {
                    strays.push(Stray::new(path, RECIPE_KEYS.iter().chain(&ARMS).copied()));
                    continue;
                };
                let overrides = parse_recipe(sub, &path, &mut strays)?;
                for arm_key in sub.keys().map(key_text) {
                    if !RECIPE_KEYS.contains(&arm_key.as_str()) {
                        strays.push(Stray::new(format!("{path}.{arm_key}"), RECIPE_KEYS));
                    }
                }
                settings.arms.insert(arm, overrides);
            }
        }
        if let Some(block) = root.get(MBIAS_BLOCK) {
            let block = as_mapping(block, MBIAS_BLOCK)?;
            for (key, v) in block {
                let name = key.as_str().unwrap_or_default();
                let path = format!("{MBIAS_BLOCK}.{name}");
                match name {
                    "recipe" => {
                        settings.recipe_version = match v {
                            Value::Null => None,
                            _ => Some(v.as_str().and_then(RecipeVersion::parse).ok_or_else(
                                || {
                                    SettingsError::invalid(
                                        &path,
                                        "soxspipe-0.19 or soxspipe-0.17",
                                        v,
                                    )
                                },
                            )?),
                        }
                    }
                    "numerics" => {
                        settings.numerics = match v {
                            Value::Null => None,
                            Value::String(s) if s == "auto" => None,
                            Value::String(s) => Some(Numerics::parse(s).ok_or_else(|| {
                                SettingsError::invalid(&path, "soxspipe, exact or auto", v)
                            })?),
                            _ => return Err(SettingsError::invalid(&path, "a string", v)),
                        }
                    }
                    "rejection" => {
                        settings.rejection =
                            Some(v.as_str().and_then(Rejection::parse).ok_or_else(|| {
                                SettingsError::invalid(&path, &Rejection::choices(), v)
                            })?)
                    }
                    key if Rejection::PARAMETER_KEYS.contains(&key) => {
                        let value = v
                            .as_f64()
                            .ok_or_else(|| SettingsError::invalid(&path, "a number", v))?;
                        settings.rejection_parameters.insert(key.to_string(), value);
                    }
                    "combine" => {
                        settings.combine =
                            Some(v.as_str().and_then(Combine::parse).ok_or_else(|| {
                                SettingsError::invalid(&path, "mean or median", v)
                            })?)
                    }
                    "static-calibrations" => {
                        settings.static_calibrations = match v {
                            Value::Null => None,
                            Value::String(s) => Some(PathBuf::from(s)),
                            _ => return Err(SettingsError::invalid(&path, "a folder path", v)),
                        }
                    }
                    "output-dir" => {
                        settings.output_dir = match v {
                            Value::Null => None,
                            Value::String(s) => Some(PathBuf::from(s)),
                            _ => return Err(SettingsError::invalid(&path, "a folder path", v)),
                        }
                    }
                    "graphics" => {
                        settings.graphics = match v {
                            Value::Null => None,
                            Value::String(s) => Some(Graphics::from_name(s).ok_or_else(|| {
                                SettingsError::invalid(&path, Graphics::EXPECTED, v)
                            })?),
                            _ => return Err(SettingsError::invalid(&path, Graphics::EXPECTED, v)),
                        }
                    }
                    "memory" => {
                        settings.memory = match v {
                            Value::Null => None,
                            Value::String(s) => Some(parse_memory(s).ok_or_else(|| {
                                SettingsError::invalid(&path, MEMORY_EXPECTED, v)
                            })?),
                            _ => return Err(SettingsError::invalid(&path, MEMORY_EXPECTED, v)),
                        }
                    }
                    "history" => {
                        settings.history = match v {
                            Value::Null => None,
                            Value::String(s) => {
                                Some(crate::params::HistoryLocation::parse(s.as_ref()))
                            }
                            _ => {
                                return Err(SettingsError::invalid(&path, "a file path or off", v));
                            }
                        }
                    }
                    "compare-limits" => {
                        settings.compare_limits = parse_compare_limits(v, &path)?;
                    }
                    "profile" => {
                        settings.profile = match v {
                            Value::Null => None,
                            Value::String(s) => Some(s.clone()),
                            _ => return Err(SettingsError::invalid(&path, "a profile name", v)),
                        }
                    }
                    "detectors" => {
                        if let Value::Null = v {
                            continue;
                        }
                        for (name, entry) in as_mapping(v, &path)? {
                            let name = name.as_str().unwrap_or_default();
                            let entry_path = format!("{path}.{name}");
                            // soxspipe's detectors are fixed; a simulated CCD's profile
                            // may be spelt out (simulate::GENERIC_SETTINGS).
                            if crate::detector::BUILT_IN
                                .iter()
                                .any(|p| p.name.eq_ignore_ascii_case(name))
                            {
                                return Err(SettingsError::invalid(
                                    &entry_path,
                                    "a name other than a built-in profile's",
                                    &Value::String(name.to_string()),
                                ));
                            }
                            settings.detectors.push(profiles::parse_profile(
                                name,
                                entry,
                                &entry_path,
                            )?);
                        }
                    }
                    _ => {
                        return Err(SettingsError::UnknownKey {
                            file: None,
                            key: path,
                            known: mbias_keys().join(", "),
                        });
                    }
                }
            }
        }
        Ok((settings, strays))
    }

    /// Refuses a forced `mbias.profile` that names no profile: one clear settings error
    /// instead of the same finding on every frame.
    pub fn check_profile(&self) -> Result<(), SettingsError> {
        let Some(name) = &self.profile else {
            return Ok(());
        };
        if self.detectors().find(name).is_some() {
            return Ok(());
        }
        let known: Vec<&str> = crate::detector::built_in()
            .map(|p| p.name.as_str())
            .chain(self.detectors.iter().map(|g| g.profile.name.as_str()))
            .collect();
        Err(SettingsError::Invalid {
            file: None,
            key: "mbias.profile".to_string(),
            found: format!("'{name}'"),
            expected: format!(
                "a built-in or settings-defined profile ({})",
                known.join(", ")
            ),
        })
    }

    /// The limits `mbias compare` judges by: the defaults, with each one these settings
    /// give in its place.
    pub fn compare_limits(&self) -> CompareLimits {
        CompareLimits::default().with(&self.compare_limits)
    }

    /// The profiles these settings make available, for detection.
    pub fn detectors(&self) -> Detectors {
        Detectors {
            generic: self.detectors.iter().map(|g| g.profile.clone()).collect(),
            forced: self.profile.clone(),
            recipe: self.recipe_version.unwrap_or(RecipeVersion::DEFAULT),
        }
    }

    /// The values for frames of `profile`. Built-in profiles: the instrument's defaults,
    /// then the file's top-level recipe values, then its arm sub-block (soxspipe's
    /// `get_recipe_settings` order). Generic profiles: SOXS's clipping defaults without
    /// QC ranges (soxspipe's ranges are for SOXS detectors), then the top-level recipe
    /// values unless the file is scoped to an instrument, then the profile's own block.
    pub fn resolve(&self, profile: &Profile) -> Result<Resolved, SettingsError> {
        let version = self.recipe_version.unwrap_or(RecipeVersion::DEFAULT);
        let (values, qc_ranges) = match profile.instrument {
            Some(instrument) => {
                let (params, mut qc_ranges) = instrument_defaults(instrument, version);
                let mut params = *params;
                if self.instrument.is_none_or(|i| i == instrument) {
                    self.recipe.apply(&mut params, &mut qc_ranges);
                    if let Some(arm_block) = self.arms.get(&profile.arm.to_ascii_lowercase()) {
                        arm_block.apply(&mut params, &mut qc_ranges);
                    }
                }
                (params, qc_ranges)
            }
            None => {
                let mut params = *instrument_defaults(Instrument::Soxs, version).0;
                let mut qc_ranges = QcRanges::new();
                if self.instrument.is_none() {
                    self.recipe.apply(&mut params, &mut qc_ranges);
                }
                if let Some(own) = self
                    .detectors
                    .iter()
                    .find(|g| g.profile.name.eq_ignore_ascii_case(&profile.name))
                {
                    own.recipe.apply(&mut params, &mut qc_ranges);
                }
                (params, qc_ranges)
            }
        };
        Ok(Resolved {
            instrument: profile.instrument,
            // The blocks' values were checked when parsed, but `Settings` may have been
            // assembled in code.
            params: ClipParams::new(values)?,
            qc_ranges,
            recipe: version,
            static_calibrations: self.static_calibrations.clone(),
            numerics: self.numerics.unwrap_or(profile.default_numerics),
            rejection: self.rejection_parameters.iter().try_fold(
                self.rejection.unwrap_or(Rejection::MadSigma),
                |rejection, (key, &value)| rejection.with_parameter(key, value),
            )?,
            combine: self.combine.unwrap_or(Combine::Mean),
            memory: self.memory,
            stacks: Stacks::default(),
        })
    }

    /// Settings text that soxspipe accepts as it is and that reproduces `resolved` for
    /// frames of `profile`: with these settings' definition of a generic profile (without
    /// its own recipe block, so that the values written here are the ones that apply) and
    /// their forced profile, if any.
    pub fn to_soxspipe_yaml(&self, resolved: &Resolved, profile: &Profile) -> String {
        let mut out = Settings::recipe_yaml(resolved);
        let generic = self
            .detectors
            .iter()
            .find(|g| g.profile.name.eq_ignore_ascii_case(&profile.name));
        if let Some(generic) = generic {
            let mut entry = generic.source.clone();
            if let Some(own) = entry.as_mapping_mut() {
                own.remove(RECIPE_BLOCK);
            }
            let mut detectors = Mapping::new();
            detectors.insert(Value::String(generic.profile.name.clone()), entry);
            let mut block = Mapping::new();
            block.insert(Value::String("detectors".into()), Value::Mapping(detectors));
            let text = yaml_serde::to_string(&Value::Mapping(block)).unwrap_or_default();
            for line in text.lines() {
                out.push_str(&format!("    {line}\n"));
            }
        }
        if let Some(forced) = &self.profile {
            out.push_str(&format!("    profile: {}\n", yaml_string(forced)));
        }
        out
    }

    /// The recipe's values as settings text, ending inside the `mbias` block.
    fn recipe_yaml(resolved: &Resolved) -> String {
        let mut out = String::from(
            "# Written by mbias. soxspipe reads the soxs-mbias block; mbias also reads the mbias block.\n",
        );
        if let Some(instrument) = resolved.instrument {
            out.push_str(&format!("instrument: {}\n", instrument.settings_name()));
        }
        out.push_str(&format!("{RECIPE_BLOCK}:\n"));
        let p = &resolved.params;
        for (key, value) in [
            (
                "stacked-clipping-sigma",
                p.stacked_clipping_sigma.to_string(),
            ),
            (
                "stacked-clipping-iterations",
                p.stacked_clipping_iterations.to_string(),
            ),
            ("frame-clipping-sigma", p.frame_clipping_sigma.to_string()),
            (
                "frame-clipping-iterations",
                p.frame_clipping_iterations.to_string(),
            ),
        ] {
            out.push_str(&format!("    {key}: {value}\n"));
        }
        if !resolved.qc_ranges.is_empty() {
            out.push_str("    qc-acceptable-ranges:\n");
            for (k, r) in &resolved.qc_ranges {
                out.push_str(&format!("        {k}: [{}, {}]\n", r.low(), r.high()));
            }
        }
        out.push_str(&format!(
            "{MBIAS_BLOCK}:\n    recipe: {}\n    numerics: {}\n    rejection: {}\n    combine: {}\n",
            resolved.recipe.name(),
            resolved.numerics.name(),
            resolved.rejection.name(),
            resolved.combine.name()
        ));
        for (key, value) in resolved.rejection.parameters() {
            out.push_str(&format!("    {key}: {value}\n"));
        }
        if let Some(folder) = &resolved.static_calibrations {
            out.push_str(&format!(
                "    static-calibrations: {}\n",
                yaml_string(&folder.display().to_string())
            ));
        }
        out
    }
}

/// What `mbias.memory` takes.
pub const MEMORY_EXPECTED: &str = "a size such as 800MiB or 2GiB";

/// A memory size as people write it (`2GiB`, `800 MiB`, `1.5G`), in bytes; `None` for
/// anything else or nothing at all.
pub fn parse_memory(text: &str) -> Option<u64> {
    let size: bytesize::ByteSize = text.trim().parse().ok()?;
    Some(size.as_u64()).filter(|&bytes| bytes > 0)
}

/// `text` as a YAML scalar that reads back as the same string (quoted, JSON escapes,
/// which YAML's double-quoted style accepts).
fn yaml_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// `settings.yaml` in the platform's config folder (`~/.config/mbias/` on Linux).
pub fn user_settings_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("org", "mbias", "mbias")
        .map(|dirs| dirs.config_dir().join("settings.yaml"))
}

/// A YAML key as the user wrote it (keys need not be strings).
fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => yaml_serde::to_string(other)
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
    }
}

fn as_mapping<'a>(value: &'a Value, path: &str) -> Result<&'a Mapping, SettingsError> {
    value
        .as_mapping()
        .ok_or_else(|| SettingsError::invalid(path, "a mapping", value))
}

/// One recipe block (`soxs-mbias`, an arm's, a generic profile's); range names nothing
/// reports go to `strays`.
fn parse_recipe(
    block: &Mapping,
    path: &str,
    strays: &mut Vec<Stray>,
) -> Result<RecipeOverrides, SettingsError> {
    // Checked here, not only when resolving, so the message names the file and the block.
    let sigma = |key| {
        recipe_value(block, path, key, params::SIGMA_RULE, |v| {
            v.as_f64().and_then(params::valid_sigma)
        })
    };
    let count = |key| {
        recipe_value(block, path, key, params::ITERATIONS_RULE, |v| {
            v.as_u64().and_then(params::valid_iterations)
        })
    };
    let qc_acceptable_ranges = match block.get("qc-acceptable-ranges") {
        None | Some(Value::Null) => None,
        Some(v) => Some(parse_ranges(
            v,
            &format!("{path}.qc-acceptable-ranges"),
            strays,
        )?),
    };
    Ok(RecipeOverrides {
        stacked_clipping_sigma: sigma("stacked-clipping-sigma")?,
        stacked_clipping_iterations: count("stacked-clipping-iterations")?,
        frame_clipping_sigma: sigma("frame-clipping-sigma")?,
        frame_clipping_iterations: count("frame-clipping-iterations")?,
        qc_acceptable_ranges,
    })
}

/// The value of `key` in a recipe block: `None` when absent or null (not given here), else
/// what `valid` makes of it, or an error naming the key's path and the `rule` it breaks.
fn recipe_value<T>(
    block: &Mapping,
    path: &str,
    key: &str,
    rule: &str,
    valid: impl Fn(&Value) -> Option<T>,
) -> Result<Option<T>, SettingsError> {
    match block.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => valid(v)
            .map(Some)
            .ok_or_else(|| SettingsError::invalid(&format!("{path}.{key}"), rule, v)),
    }
}

/// `compare-limits`: `statistic: [inspect, reject]`, each a [`CompareLimit`]. Unlike a QC range
/// name, an unknown statistic is an error: the block is mbias's own, so no other
/// version's file has keys this one does not know.
fn parse_compare_limits(
    value: &Value,
    path: &str,
) -> Result<BTreeMap<CompareStatistic, CompareLimit>, SettingsError> {
    if let Value::Null = value {
        return Ok(BTreeMap::new());
    }
    let mut limits = BTreeMap::new();
    for (name, limit) in as_mapping(value, path)? {
        let name = key_text(name);
        let item_path = format!("{path}.{name}");
        let statistic =
            CompareStatistic::from_key(&name).ok_or_else(|| SettingsError::UnknownKey {
                file: None,
                key: item_path.clone(),
                known: CompareStatistic::ALL.map(CompareStatistic::key).join(", "),
            })?;
        let checked = limit
            .as_sequence()
            .filter(|s| s.len() == 2)
            .and_then(|s| CompareLimit::new(s[0].as_f64()?, s[1].as_f64()?))
            .ok_or_else(|| SettingsError::invalid(&item_path, CompareLimit::EXPECTED, limit))?;
        limits.insert(statistic, checked);
    }
    Ok(limits)
}

/// `qc-acceptable-ranges`: `name: [low, high]`, each a [`QcRange`].
fn parse_ranges(
    value: &Value,
    path: &str,
    strays: &mut Vec<Stray>,
) -> Result<QcRanges, SettingsError> {
    let known = crate::qc::range_names();
    let mut ranges = QcRanges::new();
    for (name, range) in as_mapping(value, path)? {
        let name = key_text(name);
        let item_path = format!("{path}.{name}");
        let checked = range
            .as_sequence()
            .filter(|s| s.len() == 2)
            .and_then(|s| QcRange::new(s[0].as_f64()?, s[1].as_f64()?))
            .ok_or_else(|| {
                SettingsError::invalid(&item_path, "[low, high] with low below high", range)
            })?;
        if !known.contains(&name) {
            strays.push(Stray::new(item_path, &known));
        }
        ranges.insert(name, checked);
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soxs(settings: &Settings) -> Resolved {
        settings.resolve(crate::detector::soxs_vis()).unwrap()
    }

    #[test]
    fn the_memory_budget_reads_sizes_as_people_write_them() {
        assert_eq!(parse_memory("2GiB"), Some(2 << 30));
        assert_eq!(parse_memory(" 800 MiB "), Some(800 << 20));
        assert_eq!(parse_memory("1.5G"), Some(1_500_000_000));
        assert_eq!(parse_memory("0"), None);
        assert_eq!(parse_memory("lots"), None);
        let settings = Settings::parse("mbias:\n    memory: 512MiB\n").unwrap();
        assert_eq!(soxs(&settings).memory, Some(512 << 20));
        assert!(Settings::parse("mbias:\n    memory: 12\n").is_err());
        let mut overridden = Settings::default();
        overridden.apply_override("memory=1GiB").unwrap();
        assert_eq!(overridden.memory, Some(1 << 30));
    }

    #[test]
    fn the_history_is_a_file_or_off_in_the_file_and_with_set() {
        use crate::params::HistoryLocation;
        let settings = Settings::parse("mbias:\n    history: /data/qc.sqlite\n").unwrap();
        assert_eq!(
            settings.history,
            Some(HistoryLocation::File("/data/qc.sqlite".into()))
        );
        let mut overridden = settings.clone();
        overridden.apply_override("history=OFF").unwrap();
        assert_eq!(overridden.history, Some(HistoryLocation::Off));
        assert!(Settings::parse("mbias:\n    history: 3\n").is_err());
    }

    #[test]
    fn compare_limits_replace_the_defaults_one_statistic_at_a_time() {
        let limit = |inspect, reject| CompareLimit::new(inspect, reject).unwrap();
        let mut settings = Settings::parse(
            "mbias:\n    compare-limits: {mean: [1, 3], bad-pixel-growth: [0.1, 0.5]}\n",
        )
        .unwrap();
        settings
            .apply_override("compare-limits.noise-ratio=[1.1, 1.5]")
            .unwrap();
        settings
            .apply_override("compare-limits.mean=[1.5, 3]")
            .unwrap();
        let limits = settings.compare_limits();
        assert_eq!(limits.mean, limit(1.5, 3.0));
        assert_eq!(limits.noise_ratio, limit(1.1, 1.5));
        assert_eq!(
            limits.bad_pixel_growth,
            limit(0.1, 0.5),
            "kept from the file"
        );
        assert_eq!(
            Settings::default().compare_limits(),
            CompareLimits::default()
        );

        let unknown = Settings::parse("mbias:\n    compare-limits: {median: [1, 2]}\n")
            .unwrap_err()
            .to_string();
        assert!(
            unknown.contains(
                "unknown key mbias.compare-limits.median (known: mean, noise-ratio, bad-pixel-growth)"
            ),
            "{unknown}"
        );
        for bad in ["[5, 2]", "[1]", "[-1, 2]", "3"] {
            let text = format!("mbias:\n    compare-limits: {{mean: {bad}}}\n");
            let message = Settings::parse(&text).unwrap_err().to_string();
            assert!(
                message.contains("mbias.compare-limits.mean is")
                    && message.contains(CompareLimit::EXPECTED),
                "{bad}: {message}"
            );
        }
        assert!(
            Settings::default()
                .apply_override("compare-limits.max=[1, 2]")
                .is_err()
        );
    }

    #[test]
    fn built_in_defaults_are_soxspipes() {
        let r = soxs(&Settings::default());
        assert_eq!(r.recipe, RecipeVersion::Soxspipe019);
        assert_eq!(r.params.stacked_clipping_sigma, 4.0);
        assert_eq!(r.params.frame_clipping_sigma, 3.0);
        assert_eq!(r.params.frame_clipping_iterations, 3);
        assert_eq!(r.qc_ranges["structy"], range(-0.8, 0.8));
        let old = Settings {
            recipe_version: Some(RecipeVersion::Soxspipe017),
            ..Settings::default()
        };
        let r = soxs(&old);
        assert_eq!(r.params.stacked_clipping_sigma, 3.0);
        assert_eq!(r.params.frame_clipping_sigma, 4.0);
        assert_eq!(r.qc_ranges["structy"], range(-0.01, 0.6));
        let mut chosen = Settings::default();
        chosen.apply_override("mbias.recipe=soxspipe-0.17").unwrap();
        assert_eq!(soxs(&chosen), r);
        assert!(chosen.apply_override("mbias.recipe=0.18").is_err());
        let x = Settings::default()
            .resolve(crate::detector::by_name("xsh-uvb").unwrap())
            .unwrap();
        assert_eq!(x.params.stacked_clipping_sigma, 5.0);
        assert_eq!(x.params.frame_clipping_iterations, 1);
        assert!(x.qc_ranges.is_empty());
    }

    #[test]
    fn a_soxspipe_settings_file_is_accepted_as_it_is() {
        let text = "
version: 1
workspace-root-dir: ./
soxs-mdark:
    frame-clipping-sigma: 99
soxs-mbias:
    stacked-clipping-sigma: 4
    frame-clipping-sigma: 5
    some-future-key: true
    vis:
        frame-clipping-sigma: 6
    qc-acceptable-ranges:
        master-ron: [0, 12]
";
        let s = Settings::parse(text).unwrap();
        let vis = soxs(&s);
        assert_eq!(vis.params.stacked_clipping_sigma, 4.0);
        assert_eq!(vis.params.frame_clipping_sigma, 6.0, "arm block overrides");
        assert_eq!(vis.params.frame_clipping_iterations, 3, "default kept");
        assert_eq!(vis.qc_ranges["master-ron"], range(0.0, 12.0));
        assert_eq!(vis.qc_ranges.len(), 7, "the other built-in ranges kept");
        let uvb = s
            .resolve(crate::detector::by_name("xsh-uvb").unwrap())
            .unwrap();
        assert_eq!(
            uvb.params.frame_clipping_sigma, 5.0,
            "no uvb block: top level"
        );
    }

    #[test]
    fn mbias_block_and_overrides_merge() {
        let mut s = Settings::parse("mbias:\n    numerics: exact\n").unwrap();
        assert_eq!(soxs(&s).numerics, Numerics::Exact);
        s.apply_override("numerics=soxspipe").unwrap();
        s.apply_override("stacked-clipping-sigma=2.5").unwrap();
        s.apply_override("soxs-mbias.vis.frame-clipping-iterations=1")
            .unwrap();
        let r = soxs(&s);
        assert_eq!(r.numerics, Numerics::Soxspipe);
        assert_eq!(r.params.stacked_clipping_sigma, 2.5);
        assert_eq!(r.params.frame_clipping_iterations, 1);
        assert_eq!(r.params.stacked_clipping_iterations, 3);
    }

    #[test]
    fn unknown_recipe_keys_warn_and_bad_values_are_refused_at_parse() {
        let s = Settings::parse(
            "soxs-mbias:\n    frame-clipping-sigmaa: 3\n    vis:\n        stacked-clip: 2\nsoxs-mdark: {x: 1}\n",
        )
        .unwrap();
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
        assert!(s.warnings[0].contains("soxs-mbias.frame-clipping-sigmaa"));
        assert!(s.warnings[1].contains("soxs-mbias.vis.stacked-clip"));
        let mut s = Settings::default();
        assert!(s.apply_override("soxs-mbias.vis.nonsense=3").is_err());
        for (text, key) in [
            ("stacked-clipping-sigma: 0", "stacked-clipping-sigma"),
            ("frame-clipping-sigma: -2", "frame-clipping-sigma"),
            ("frame-clipping-sigma: .nan", "frame-clipping-sigma"),
            (
                "stacked-clipping-iterations: 0",
                "stacked-clipping-iterations",
            ),
        ] {
            let e = Settings::parse(&format!("soxs-mbias:\n    {text}\n")).unwrap_err();
            assert!(e.to_string().contains(key), "{e}");
        }
    }

    fn range(low: f64, high: f64) -> QcRange {
        QcRange::new(low, high).unwrap()
    }

    #[test]
    fn a_users_range_replaces_that_range_only_at_every_level() {
        let text = "
soxs-mbias:
    qc-acceptable-ranges:
        master-ron: [0, 12]
    vis:
        qc-acceptable-ranges:
            raw-ron: [1, 20]
";
        let mut s = Settings::parse(text).unwrap();
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        let r = soxs(&s);
        assert_eq!(r.qc_ranges["master-ron"], range(0.0, 12.0), "top level");
        assert_eq!(r.qc_ranges["raw-ron"], range(1.0, 20.0), "arm block");
        assert_eq!(r.qc_ranges["structy"], range(-0.8, 0.8), "built-in kept");
        assert_eq!(r.qc_ranges.len(), 7);

        s.apply_override("qc-acceptable-ranges.structx=[-5, 5]")
            .unwrap();
        s.apply_override("soxs-mbias.qc-acceptable-ranges={ron-diff: [0, 9]}")
            .unwrap();
        s.apply_override("vis.qc-acceptable-ranges.fpn-fracmax=[0, 4]")
            .unwrap();
        let r = soxs(&s);
        assert_eq!(r.qc_ranges["structx"], range(-5.0, 5.0));
        assert_eq!(r.qc_ranges["ron-diff"], range(0.0, 9.0));
        assert_eq!(r.qc_ranges["fpn-fracmax"], range(0.0, 4.0));
        assert_eq!(r.qc_ranges["master-ron"], range(0.0, 12.0), "file's kept");
        assert_eq!(r.qc_ranges["raw-ron"], range(1.0, 20.0), "arm's kept");
        assert_eq!(r.qc_ranges.len(), 8);
        // Generic profiles have no built-in ranges; the user's apply all the same.
        let generic = Settings::parse(crate::simulate::GENERIC_SETTINGS).unwrap();
        let mut generic = generic.clone();
        generic
            .apply_override("qc-acceptable-ranges.master-ron=[0, 5]")
            .unwrap();
        let profile = generic.detectors().find("sim-4k").unwrap().clone();
        let r = generic.resolve(&profile).unwrap();
        assert_eq!(r.qc_ranges.keys().collect::<Vec<_>>(), ["master-ron"]);
    }

    #[test]
    fn every_key_can_be_set_by_its_dotted_path() {
        let mut s = Settings::parse(crate::simulate::GENERIC_SETTINGS).unwrap();
        for assignment in [
            "mbias.rejection=noise-model",
            "combine=median",
            "soxs-mbias.vis.frame-clipping-sigma=6",
            "uvb.frame-clipping-iterations=2",
            "instrument=soxs",
            "mbias.detectors.sim-4k.gain=2.5",
            "detectors.sim-4k.soxs-mbias.stacked-clipping-sigma=7",
        ] {
            s.apply_override(assignment)
                .unwrap_or_else(|e| panic!("{assignment}: {e}"));
        }
        assert_eq!(s.rejection, Some(Rejection::NoiseModel));
        assert_eq!(s.combine, Some(Combine::Median));
        assert_eq!(soxs(&s).params.frame_clipping_sigma, 6.0);
        assert_eq!(s.arms["uvb"].frame_clipping_iterations, Some(2));
        assert_eq!(s.instrument, Some(Instrument::Soxs));
        let sim = s.detectors().find("sim-4k").unwrap().clone();
        assert_eq!(sim.gain.value, Some(2.5), "the changed key");
        assert!(
            !sim.matcher.rules.is_empty(),
            "the profile's other keys kept"
        );
        assert_eq!(s.resolve(&sim).unwrap().params.stacked_clipping_sigma, 7.0);
    }

    #[test]
    fn unknown_keys_and_range_names_are_errors_on_set_and_warnings_in_files() {
        for (assignment, unknown, known) in [
            (
                "qc-acceptable-ranges.mastr-ron=[0, 5]",
                "mastr-ron",
                "master-ron",
            ),
            (
                "soxs-mbias.vis.qc-acceptable-ranges={mastr-ron: [0, 5]}",
                "mastr-ron",
                "ron-diff",
            ),
            ("mastr-ron=[0, 5]", "mastr-ron", "qc-acceptable-ranges"),
            ("soxs-mbias.vsi.frame-clipping-sigma=3", "vsi", "vis"),
            ("vis.frame-clip=3", "frame-clip", "frame-clipping-sigma"),
            ("mbias.rejecton=noise-model", "rejecton", "rejection"),
            ("detectors.sim-4k.gian=2", "gian", "gain"),
            (
                "detectors.sim-4k.soxs-mbias.qc-acceptable-ranges.mastr-ron=[0, 1]",
                "mastr-ron",
                "master-ron",
            ),
        ] {
            let mut s = Settings::parse(crate::simulate::GENERIC_SETTINGS).unwrap();
            let e = s.apply_override(assignment).unwrap_err().to_string();
            assert!(
                e.contains(unknown) && e.contains(known),
                "{assignment}: {e}"
            );
        }
        let s = Settings::parse(
            "soxs-mbias:
    qc-acceptable-ranges:
        mastr-ron: [0, 5]
    vsi:
        frame-clipping-sigma: 3
    nir:
        frame-clipping-sigma: 3
",
        )
        .unwrap();
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
        assert!(s.warnings[0].contains("qc-acceptable-ranges.mastr-ron"));
        assert!(s.warnings[0].contains("master-ron, fpn-fracmax"));
        assert!(s.warnings[1].contains("soxs-mbias.vsi") && s.warnings[1].contains("vis"));
        assert_eq!(soxs(&s).qc_ranges.len(), 8, "the stray range kept, unused");
        for bad in ["[5, 0]", "[1, 1]", "[.nan, 2]", "[1]"] {
            let e = Settings::default()
                .apply_override(&format!("qc-acceptable-ranges.master-ron={bad}"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("low below high"), "{bad}: {e}");
        }
    }

    #[test]
    fn wrong_types_and_unknown_keys_are_named() {
        let e = Settings::parse("soxs-mbias:\n    stacked-clipping-sigma: abc\n").unwrap_err();
        assert!(
            e.to_string().contains("soxs-mbias.stacked-clipping-sigma"),
            "{e}"
        );
        let e = Settings::parse("mbias:\n    numerix: exact\n").unwrap_err();
        assert!(e.to_string().contains("mbias.numerix"), "{e}");
        let e = Settings::parse("soxs-mbias: [1, 2]\n").unwrap_err();
        assert!(e.to_string().contains("soxs-mbias"), "{e}");
        let e = Settings::default().apply_override("sigma").unwrap_err();
        assert_eq!(
            e.to_string(),
            "settings override 'sigma': expected key=value"
        );
        assert!(Settings::default().apply_override("nonsense=1").is_err());
    }

    #[test]
    fn zero_or_negative_overrides_are_refused() {
        for bad in [
            "stacked-clipping-sigma=0",
            "frame-clipping-sigma=-1",
            "stacked-clipping-iterations=0",
        ] {
            let e = Settings::default().apply_override(bad).unwrap_err();
            assert!(
                e.to_string().contains(bad.split('=').next().unwrap()),
                "{e}"
            );
        }
    }

    #[test]
    fn an_instrument_file_leaves_the_other_instrument_at_its_defaults() {
        let s = Settings::parse("instrument: soxs\nsoxs-mbias:\n    stacked-clipping-sigma: 4\n")
            .unwrap();
        assert_eq!(soxs(&s).params.stacked_clipping_sigma, 4.0);
        let x = s
            .resolve(crate::detector::by_name("xsh-vis").unwrap())
            .unwrap();
        assert_eq!(x.params.stacked_clipping_sigma, 5.0);
        assert!(Settings::parse("instrument: nirspec\n").is_err());
    }

    #[test]
    fn example_file_equals_the_built_in_defaults() {
        let example = Settings::parse(EXAMPLE).unwrap();
        let builtin = Settings::default();
        for profile in crate::detector::BUILT_IN.iter() {
            let resolve = |s: &Settings| s.resolve(profile).unwrap();
            assert_eq!(resolve(&example), resolve(&builtin), "{}", profile.name);
        }
        assert_eq!(example.numerics, builtin.numerics);
        assert_eq!(example.rejection, Some(Rejection::MadSigma));
        assert_eq!(example.combine, Some(Combine::Mean));
        assert_eq!(example.output_dir, builtin.output_dir);
        assert_eq!(example.graphics, Some(Graphics::Auto));
        assert_eq!(example.compare_limits(), CompareLimits::default());
    }

    #[test]
    fn an_overridden_profile_keeps_its_place() {
        let mut s = Settings::parse(
            "mbias:\n  detectors:\n    a: {match: {X: y}, read-noise: 3}\n    \
             b: {match: {X: y}, read-noise: 4}\n",
        )
        .unwrap();
        s.apply_override("detectors.a.gain=2").unwrap();
        let names: Vec<&str> = s
            .detectors
            .iter()
            .map(|g| g.profile.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b"], "a still claims the frames both match");
        assert_eq!(
            s.detectors[0].profile.gain,
            crate::detector::Quantity::fixed(2.0)
        );
    }

    #[test]
    fn graphics_take_their_names_and_refuse_others() {
        let mut s = Settings::default();
        s.apply_override("graphics=half-blocks").unwrap();
        assert_eq!(s.graphics, Some(Graphics::HalfBlocks));
        let e = s.apply_override("graphics=vga").unwrap_err().to_string();
        assert!(e.contains("half-blocks"), "{e}");
    }

    #[test]
    fn written_settings_read_back_identically() {
        let mut s = Settings::default();
        s.apply_override("stacked-clipping-sigma=3.5").unwrap();
        let r = soxs(&s);
        let text = s.to_soxspipe_yaml(&r, crate::detector::soxs_vis());
        assert_eq!(soxs(&Settings::parse(&text).unwrap()), r);
    }

    #[test]
    fn written_settings_carry_the_generic_profile_with_the_tuned_values() {
        // The profile's own recipe block would override the top-level values it is
        // written with: it is left out, and the tuned values apply.
        let s = Settings::parse(
            "mbias:\n    detectors:\n        cam:\n            match: {INSTRUME: CAM}\n            \
             bias: {keyword: IMAGETYP, values: [BIAS]}\n            gain: 1.5\n            \
             read-noise: 4\n            soxs-mbias: {stacked-clipping-sigma: 7}\n",
        )
        .unwrap();
        let cam = s.detectors[0].profile.clone();
        assert_eq!(s.resolve(&cam).unwrap().params.stacked_clipping_sigma, 7.0);
        // Tuned in the console's Parameters pane.
        let mut tuned = s.resolve(&cam).unwrap();
        tuned.params = tuned
            .params
            .with(|p| p.stacked_clipping_sigma = 4.25)
            .unwrap();
        assert_eq!(tuned.params.stacked_clipping_sigma, 4.25);
        let text = s.to_soxspipe_yaml(&tuned, &cam);
        let back = Settings::parse(&text).unwrap();
        assert_eq!(back.detectors.len(), 1, "{text}");
        assert_eq!(back.detectors[0].profile, cam, "{text}");
        assert_eq!(back.resolve(&cam).unwrap(), tuned, "{text}");
    }

    #[test]
    fn a_forced_profile_must_exist() {
        let mut s = Settings::default();
        s.apply_override("profile=xsh-vis").unwrap();
        assert!(s.check_profile().is_ok());
        s.apply_override("profile=nope").unwrap();
        let e = s.check_profile().unwrap_err().to_string();
        assert!(e.contains("mbias.profile") && e.contains("nope"), "{e}");
        let generic = Settings::parse(crate::simulate::GENERIC_SETTINGS).unwrap();
        let mut forced = generic.clone();
        forced.apply_override("profile=sim-4k").unwrap();
        assert!(forced.check_profile().is_ok());
    }
}
