//! A generic profile's `amplifiers:` list: each output port read into the image, with its
//! data section, its overscan and prescan strips (sections, or keywords holding them), and
//! its own gain and read noise.

use yaml_serde::Value;

use super::profiles::{check_keys, quantity, text_of};
use crate::detector::{Amplifier, SectionSource, SectionSpec};
use crate::error::SettingsError;

const AMPLIFIER_KEYS: [&str; 6] = ["name", "data", "overscan", "prescan", "gain", "read-noise"];

const SECTION: &str = "a section like '[1:1024,1:350]', or {keyword: DATASEC}";

/// `'[1:1024,1:350]'` or `{keyword: DATASEC}`.
fn section_source(value: &Value, path: &str) -> Result<SectionSource, SettingsError> {
    match value {
        Value::String(text) => SectionSpec::parse(text)
            .map(SectionSource::Fixed)
            .map_err(|e| SettingsError::Invalid {
                file: None,
                key: path.to_string(),
                found: format!("'{text}'"),
                expected: format!("{SECTION} ({})", e.reason),
            }),
        Value::Mapping(m) => {
            check_keys(m, path, &["keyword"])?;
            m.get("keyword")
                .and_then(text_of)
                .map(SectionSource::Keyword)
                .ok_or_else(|| SettingsError::invalid(path, SECTION, value))
        }
        _ => Err(SettingsError::invalid(path, SECTION, value)),
    }
}

/// The `amplifiers:` list of a profile at `path`; an amplifier without a name is `OUTi`
/// (ESO's numbering, from 1).
pub(super) fn amplifiers(value: &Value, path: &str) -> Result<Vec<Amplifier>, SettingsError> {
    let Value::Sequence(items) = value else {
        return Err(SettingsError::invalid(
            path,
            "a list of amplifiers, each {name, data, overscan, …}",
            value,
        ));
    };
    let mut list: Vec<Amplifier> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("{path}[{i}]");
        let Value::Mapping(block) = item else {
            return Err(SettingsError::invalid(
                &path,
                "an amplifier {name, data, overscan, …}",
                item,
            ));
        };
        check_keys(block, &path, &AMPLIFIER_KEYS)?;
        let at = |key: &str| format!("{path}.{key}");
        let optional = |key: &str| {
            block
                .get(key)
                .map(|v| section_source(v, &at(key)))
                .transpose()
        };
        let name = block
            .get("name")
            .map(|v| text_of(v).ok_or_else(|| SettingsError::invalid(&at("name"), "a name", v)))
            .transpose()?
            .unwrap_or_else(|| format!("OUT{}", i + 1));
        if list.iter().any(|a| a.name.eq_ignore_ascii_case(&name)) {
            return Err(SettingsError::invalid(
                &at("name"),
                "a name no other amplifier has",
                &Value::String(name),
            ));
        }
        let data = block.get("data").ok_or_else(|| {
            SettingsError::invalid(&at("data"), "the amplifier's data section", &Value::Null)
        })?;
        list.push(Amplifier {
            name,
            data: section_source(data, &at("data"))?,
            overscan: optional("overscan")?,
            prescan: optional("prescan")?,
            gain: block
                .get("gain")
                .map(|v| quantity(v, &at("gain")))
                .transpose()?,
            ron: block
                .get("read-noise")
                .map(|v| quantity(v, &at("read-noise")))
                .transpose()?,
        });
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::Quantity;

    fn parsed(text: &str) -> Result<Vec<Amplifier>, SettingsError> {
        let value: Value = yaml_serde::from_str(text).unwrap();
        amplifiers(&value, "mbias.detectors.kast.amplifiers")
    }

    #[test]
    fn amplifiers_take_sections_or_keywords_and_name_themselves() {
        let amps = parsed(
            "[{name: A1, data: '[1:1024,1:350]', overscan: '[2049:2080,1:350]', gain: 1.2},
              {data: {keyword: DATASEC}, read-noise: RDNOISE}]",
        )
        .unwrap();
        assert_eq!(amps.len(), 2);
        assert_eq!(amps[0].name, "A1");
        assert_eq!(
            amps[0].overscan,
            Some(SectionSource::Fixed(
                SectionSpec::parse("[2049:2080,1:350]").unwrap()
            ))
        );
        assert_eq!(amps[0].gain, Some(Quantity::fixed(1.2)));
        assert_eq!(amps[1].name, "OUT2");
        assert_eq!(amps[1].data, SectionSource::Keyword("DATASEC".into()));
        assert_eq!(amps[1].ron.as_ref().unwrap().keywords, ["RDNOISE"]);
    }

    #[test]
    fn a_bad_amplifier_is_named_by_its_place() {
        for (text, place) in [
            ("[{overscan: '[1:2,1:2]'}]", "amplifiers[0].data"),
            ("[{data: '[1:2]'}]", "amplifiers[0].data"),
            ("[{data: '[1:2,1:2]', bias: 3}]", "amplifiers[0].bias"),
            (
                "[{name: A, data: '[1:2,1:2]'}, {name: a, data: '[3:4,1:2]'}]",
                "amplifiers[1].name",
            ),
            ("{data: '[1:2,1:2]'}", "amplifiers"),
        ] {
            let e = parsed(text).unwrap_err().to_string();
            assert!(e.contains(place), "{text}: {e}");
        }
    }
}
