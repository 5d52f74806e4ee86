//! `mbias.detectors`: generic detector profiles for CCDs soxspipe does not know.
//!
//! Each entry is strict about its keys (a misspelt `max-exptime` would silently accept
//! science frames as biases) and tolerant about the shapes a user would naturally write:
//! a keyword or a list of keywords, a number or a keyword for gain and read noise.

use std::path::PathBuf;

use yaml_serde::{Mapping, Value};

use super::{RECIPE_KEYS, RecipeOverrides, as_mapping, parse_recipe};
use crate::detector::{
    BiasRule, Binning, GenericBias, HduChoice, Matcher, OverscanMethod, Profile, Quantity,
    SectionSpec, Window,
};
use crate::error::SettingsError;
use crate::params::Numerics;

const PROFILE_KEYS: [&str; 16] = [
    "match",
    "assemble",
    "amplifiers",
    "overscan",
    "bad-pixel-map",
    "hdu",
    "window",
    "bias",
    "gain",
    "read-noise",
    "binning",
    "read-speed",
    "order-by",
    "rotation",
    "numerics",
    "soxs-mbias",
];
const BIAS_KEYS: [&str; 5] = [
    "keyword",
    "keywords",
    "values",
    "max-exptime",
    "exptime-keyword",
];

/// A generic profile and the recipe values that apply to its frames only.
#[derive(Debug, Clone, PartialEq)]
pub struct GenericProfile {
    pub profile: Profile,
    pub recipe: RecipeOverrides,
    /// The entry as written, so an override of one of its keys can keep the others.
    pub source: Value,
}

pub(super) fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A string or a list of strings (numbers accepted as text).
fn string_list(value: &Value, path: &str) -> Result<Vec<String>, SettingsError> {
    let items: Vec<&Value> = match value {
        Value::Sequence(items) => items.iter().collect(),
        single => vec![single],
    };
    let list: Option<Vec<String>> = items.into_iter().map(text_of).collect();
    match list {
        Some(list) if !list.is_empty() => Ok(list),
        _ => Err(SettingsError::invalid(
            path,
            "a keyword or a list of keywords",
            value,
        )),
    }
}

pub(super) fn check_keys(block: &Mapping, path: &str, known: &[&str]) -> Result<(), SettingsError> {
    for key in block.keys() {
        let name = key.as_str().unwrap_or_default();
        if !known.contains(&name) {
            return Err(SettingsError::UnknownKey {
                file: None,
                key: format!("{path}.{name}"),
                known: known.join(", "),
            });
        }
    }
    Ok(())
}

/// `gain: 0.16`, `gain: GAIN`, or `gain: {keyword: GAIN, fallback: 1.0}`.
pub(super) fn quantity(value: &Value, path: &str) -> Result<Quantity, SettingsError> {
    match value {
        Value::Number(n) => n
            .as_f64()
            .filter(|v| v.is_finite() && *v > 0.0)
            .map(Quantity::fixed)
            .ok_or_else(|| SettingsError::invalid(path, "a positive number", value)),
        Value::String(_) | Value::Sequence(_) => Ok(Quantity {
            keywords: string_list(value, path)?,
            value: None,
        }),
        Value::Mapping(m) => {
            check_keys(m, path, &["keyword", "fallback"])?;
            let keywords = match m.get("keyword") {
                Some(k) => string_list(k, &format!("{path}.keyword"))?,
                None => Vec::new(),
            };
            let value = match m.get("fallback") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    v.as_f64()
                        .filter(|x| x.is_finite() && *x > 0.0)
                        .ok_or_else(|| {
                            SettingsError::invalid(
                                &format!("{path}.fallback"),
                                "a positive number",
                                v,
                            )
                        })?,
                ),
            };
            if keywords.is_empty() && value.is_none() {
                return Err(SettingsError::invalid(
                    path,
                    "a keyword and/or a fallback value",
                    value_or_null(m),
                ));
            }
            Ok(Quantity { keywords, value })
        }
        _ => Err(SettingsError::invalid(
            path,
            "a number, a keyword, or {keyword, fallback}",
            value,
        )),
    }
}

fn value_or_null(m: &Mapping) -> &Value {
    m.get("keyword").unwrap_or(&Value::Null)
}

fn bias_rule(value: &Value, path: &str) -> Result<GenericBias, SettingsError> {
    let block = as_mapping(value, path)?;
    check_keys(block, path, &BIAS_KEYS)?;
    let mut rule = GenericBias {
        exptime_keyword: "EXPTIME".to_string(),
        ..GenericBias::default()
    };
    for key in ["keyword", "keywords"] {
        if let Some(v) = block.get(key) {
            rule.keywords
                .extend(string_list(v, &format!("{path}.{key}"))?);
        }
    }
    if let Some(v) = block.get("values") {
        rule.values = string_list(v, &format!("{path}.values"))?;
    }
    if let Some(v) = block.get("max-exptime") {
        rule.max_exptime = Some(v.as_f64().filter(|t| t.is_finite()).ok_or_else(|| {
            SettingsError::invalid(&format!("{path}.max-exptime"), "a number of seconds", v)
        })?);
    }
    if let Some(v) = block.get("exptime-keyword") {
        rule.exptime_keyword = text_of(v).ok_or_else(|| {
            SettingsError::invalid(&format!("{path}.exptime-keyword"), "a keyword", v)
        })?;
    }
    if rule.keywords.is_empty() != rule.values.is_empty() {
        return Err(SettingsError::invalid(
            path,
            "keywords and values given together",
            value,
        ));
    }
    if rule.keywords.is_empty() && rule.max_exptime.is_none() {
        return Err(SettingsError::invalid(
            path,
            "a keyword with accepted values and/or max-exptime",
            value,
        ));
    }
    Ok(rule)
}

/// One HDU: a number (0 = primary) or an `EXTNAME`.
fn one_hdu(value: &Value, path: &str) -> Result<HduChoice, SettingsError> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .map(|n| HduChoice::Index(n as usize))
            .ok_or_else(|| SettingsError::invalid(path, "an HDU number (0 = primary)", value)),
        Value::String(s) => Ok(HduChoice::Name(s.clone())),
        _ => Err(SettingsError::invalid(
            path,
            "an HDU number or an EXTNAME",
            value,
        )),
    }
}

/// `hdu: 1`, `hdu: im1`, `hdu: first`; or, for frames with one image per amplifier
/// stacked extension by extension, `hdu: each` or `hdu: [AMP1, AMP2]`.
fn hdu(value: &Value, path: &str) -> Result<HduChoice, SettingsError> {
    let keyword = |s: &str, word: &str| s.trim().eq_ignore_ascii_case(word);
    match value {
        Value::String(s) if keyword(s, "first") => Ok(HduChoice::FirstImage),
        Value::String(s) if keyword(s, "each") => Ok(HduChoice::Each),
        Value::Sequence(items) => {
            let expected = "a list of HDU numbers or EXTNAMEs, each once";
            let mut list = Vec::with_capacity(items.len());
            for item in items {
                let choice = one_hdu(item, path)?;
                let reserved = matches!(&choice, HduChoice::Name(s) if keyword(s, "first") || keyword(s, "each"));
                if reserved || list.contains(&choice) {
                    return Err(SettingsError::invalid(path, expected, value));
                }
                list.push(choice);
            }
            if list.is_empty() {
                return Err(SettingsError::invalid(path, expected, value));
            }
            Ok(HduChoice::List(list))
        }
        single => one_hdu(single, path),
    }
}

/// `'[1:2048,1:350]'`, `whole`, or `{keyword: DATASEC}`.
fn window(value: &Value, path: &str) -> Result<Window, SettingsError> {
    const EXPECTED: &str = "a section like '[1:2048,1:350]', 'whole', or {keyword: DATASEC}";
    if let Value::Mapping(m) = value {
        check_keys(m, path, &["keyword"])?;
        return m
            .get("keyword")
            .and_then(text_of)
            .map(Window::Keyword)
            .ok_or_else(|| SettingsError::invalid(path, EXPECTED, value));
    }
    let text = value
        .as_str()
        .ok_or_else(|| SettingsError::invalid(path, EXPECTED, value))?;
    if text.trim().eq_ignore_ascii_case("whole") {
        return Ok(Window::Section(SectionSpec {
            cols: None,
            rows: None,
        }));
    }
    SectionSpec::parse(text)
        .map(Window::Section)
        .map_err(|e| SettingsError::Invalid {
            file: None,
            key: path.to_string(),
            found: format!("'{text}'"),
            expected: format!("{EXPECTED} ({})", e.reason),
        })
}

fn matcher(value: &Value, path: &str) -> Result<Matcher, SettingsError> {
    let block = as_mapping(value, path)?;
    let mut rules = Vec::new();
    for (key, accepted) in block {
        let keyword = text_of(key).unwrap_or_default();
        rules.push((
            keyword.clone(),
            string_list(accepted, &format!("{path}.{keyword}"))?,
        ));
    }
    Ok(Matcher { rules })
}

/// A profile's own `soxs-mbias` block. It is mbias's, not a soxspipe file's, so a key or
/// range name nothing reads is an error here, as elsewhere in the `mbias` block.
fn own_recipe(value: &Value, path: &str) -> Result<RecipeOverrides, SettingsError> {
    let block = as_mapping(value, path)?;
    check_keys(block, path, &RECIPE_KEYS)?;
    let mut strays = Vec::new();
    let recipe = parse_recipe(block, path, &mut strays)?;
    match strays.into_iter().next() {
        Some(stray) => Err(stray.into_error()),
        None => Ok(recipe),
    }
}

/// One `mbias.detectors.<name>` entry.
pub(super) fn parse_profile(
    name: &str,
    value: &Value,
    path: &str,
) -> Result<GenericProfile, SettingsError> {
    let block = as_mapping(value, path)?;
    check_keys(block, path, &PROFILE_KEYS)?;
    let at = |key: &str| format!("{path}.{key}");
    let mut profile = Profile::generic(name);
    let mut recipe = RecipeOverrides::default();
    for (key, v) in block {
        let key = key.as_str().unwrap_or_default();
        let path = at(key);
        match key {
            "match" => profile.matcher = matcher(v, &path)?,
            "amplifiers" => profile.amplifiers = super::amplifiers::amplifiers(v, &path)?,
            "overscan" => {
                profile.overscan = v
                    .as_str()
                    .and_then(OverscanMethod::from_name)
                    .ok_or_else(|| SettingsError::invalid(&path, OverscanMethod::EXPECTED, v))?
            }
            "hdu" => profile.hdu = hdu(v, &path)?,
            "assemble" => {
                profile.assemble = Some(
                    text_of(v)
                        .ok_or_else(|| SettingsError::invalid(&path, "a keyword like DETSEC", v))?,
                )
            }
            "window" => profile.window = window(v, &path)?,
            "bias" => profile.bias = BiasRule::Generic(bias_rule(v, &path)?),
            "gain" => profile.gain = quantity(v, &path)?,
            "read-noise" => profile.ron = quantity(v, &path)?,
            "binning" => {
                profile.binning = match string_list(v, &path)?.as_slice() {
                    [one] => Binning::Combined(one.clone()),
                    [x, y] => Binning::Pair(x.clone(), y.clone()),
                    _ => {
                        return Err(SettingsError::invalid(
                            &path,
                            "CCDSUM-like keyword, or [x keyword, y keyword]",
                            v,
                        ));
                    }
                }
            }
            "read-speed" => {
                profile.read_speed =
                    Some(text_of(v).ok_or_else(|| SettingsError::invalid(&path, "a keyword", v))?)
            }
            "order-by" => profile.order_by = string_list(v, &path)?,
            "bad-pixel-map" => {
                profile.bad_pixel_map =
                    Some(PathBuf::from(text_of(v).ok_or_else(|| {
                        SettingsError::invalid(&path, "a FITS file", v)
                    })?))
            }
            "rotation" => {
                profile.rotation = match v.as_u64() {
                    Some(0) => 0,
                    Some(180) => 180,
                    _ => return Err(SettingsError::invalid(&path, "0 or 180", v)),
                }
            }
            "numerics" => {
                profile.default_numerics = v
                    .as_str()
                    .and_then(Numerics::parse)
                    .ok_or_else(|| SettingsError::invalid(&path, "soxspipe or exact", v))?
            }
            _ => recipe = own_recipe(v, &path)?,
        }
    }
    if profile.ron.keywords.is_empty() && profile.ron.value.is_none() {
        return Err(SettingsError::invalid(
            &at("read-noise"),
            "a read noise in e- or a keyword (the master's error map needs it)",
            &Value::Null,
        ));
    }
    Ok(GenericProfile {
        profile,
        recipe,
        source: value.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<HduChoice, SettingsError> {
        let value: Value = yaml_serde::from_str(text).unwrap();
        hdu(&value, "mbias.detectors.x.hdu")
    }

    #[test]
    fn hdu_takes_one_hdu_every_extension_or_a_list() {
        assert_eq!(parsed("first").unwrap(), HduChoice::FirstImage);
        assert_eq!(parsed("2").unwrap(), HduChoice::Index(2));
        assert_eq!(parsed("im1").unwrap(), HduChoice::Name("im1".into()));
        assert_eq!(parsed("Each").unwrap(), HduChoice::Each);
        assert_eq!(
            parsed("[AMP1, 2]").unwrap(),
            HduChoice::List(vec![HduChoice::Name("AMP1".into()), HduChoice::Index(2)])
        );
        for bad in ["[]", "[AMP1, AMP1]", "[first, 2]", "[[1]]", "-1"] {
            let e = parsed(bad).unwrap_err().to_string();
            assert!(e.contains("mbias.detectors.x.hdu"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_window_is_a_section_the_whole_image_or_a_keyword() {
        let parsed = |text: &str| {
            let value: Value = yaml_serde::from_str(text).unwrap();
            window(&value, "mbias.detectors.x.window")
        };
        assert_eq!(
            parsed("'{keyword: DATASEC}'").ok(),
            None,
            "a quoted mapping is a section string, and no section"
        );
        assert_eq!(
            parsed("{keyword: DATASEC}").unwrap(),
            Window::Keyword("DATASEC".into())
        );
        assert!(matches!(parsed("whole").unwrap(), Window::Section(_)));
        assert!(matches!(
            parsed("'[1:10,1:5]'").unwrap(),
            Window::Section(_)
        ));
        for bad in ["{key: DATASEC}", "{keyword: [A, B]}", "7"] {
            let e = parsed(bad).unwrap_err().to_string();
            assert!(e.contains("mbias.detectors.x.window"), "{bad}: {e}");
        }
    }
}
