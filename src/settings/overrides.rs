//! `key=value` overrides: one setting changed on top of the settings file, as if the file
//! said so.
//!
//! The key is a path through the file's blocks (`soxs-mbias.vis.frame-clipping-sigma`,
//! `mbias.detectors.mycam.gain`), or the same path without the block's name when its first
//! key tells the block (`stacked-clipping-sigma`, `qc-acceptable-ranges.master-ron`,
//! `vis.frame-clipping-sigma`, `numerics`, `detectors.mycam.gain`). The value is merged into
//! what the file said: a QC range replaces the range of that name only, a key of a detector
//! profile that key only. What a file may hold for another soxspipe version, an override may
//! not: a key nothing reads is an error naming the keys that are read.

use yaml_serde::{Mapping, Value};

use super::{ARMS, MBIAS_BLOCK, RECIPE_BLOCK, RECIPE_KEYS, RecipeOverrides, Settings, mbias_keys};
use crate::error::SettingsError;

/// soxspipe's top-level key naming the instrument a file is for.
const INSTRUMENT: &str = "instrument";

impl Settings {
    /// Applies one `key=value` override on top of what these settings say.
    pub fn apply_override(&mut self, assignment: &str) -> Result<(), SettingsError> {
        let (key, raw) = assignment
            .split_once('=')
            .ok_or_else(|| SettingsError::BadAssignment(assignment.to_string()))?;
        let key = key.trim();
        let value: Value = yaml_serde::from_str(raw.trim()).map_err(|e| SettingsError::Syntax {
            file: None,
            message: format!("{key}: {e}"),
        })?;
        let mut overlay = full_path(key)?
            .into_iter()
            .rev()
            .fold(value, |inner, part| {
                let mut map = Mapping::new();
                map.insert(Value::String(part.to_string()), inner);
                Value::Mapping(map)
            });
        self.complete_detectors(&mut overlay);
        let (patch, strays) = Settings::from_value(&overlay)?;
        if let Some(stray) = strays.into_iter().next() {
            return Err(stray.into_error());
        }
        self.merge(patch);
        Ok(())
    }

    /// Makes each detector entry of `overlay` that names a profile these settings define
    /// a whole entry: the profile as written, with the overlay's keys merged in.
    fn complete_detectors(&self, overlay: &mut Value) {
        let Some(entries) = overlay
            .get_mut(MBIAS_BLOCK)
            .and_then(|block| block.get_mut("detectors"))
            .and_then(Value::as_mapping_mut)
        else {
            return;
        };
        for (name, entry) in entries.iter_mut() {
            let Some(defined) = name.as_str().and_then(|name| {
                self.detectors
                    .iter()
                    .find(|g| g.profile.name.eq_ignore_ascii_case(name))
            }) else {
                continue;
            };
            let mut whole = defined.source.clone();
            merge_value(&mut whole, std::mem::take(entry));
            *entry = whole;
        }
    }

    fn merge(&mut self, patch: Settings) {
        merge_overrides(&mut self.recipe, patch.recipe);
        for (arm, overrides) in patch.arms {
            merge_overrides(self.arms.entry(arm).or_default(), overrides);
        }
        if patch.instrument.is_some() {
            self.instrument = patch.instrument;
        }
        if patch.recipe_version.is_some() {
            self.recipe_version = patch.recipe_version;
        }
        if patch.numerics.is_some() {
            self.numerics = patch.numerics;
        }
        if patch.rejection.is_some() {
            self.rejection = patch.rejection;
        }
        self.rejection_parameters.extend(patch.rejection_parameters);
        if patch.combine.is_some() {
            self.combine = patch.combine;
        }
        if patch.output_dir.is_some() {
            self.output_dir = patch.output_dir;
        }
        if patch.graphics.is_some() {
            self.graphics = patch.graphics;
        }
        if patch.static_calibrations.is_some() {
            self.static_calibrations = patch.static_calibrations;
        }
        if patch.profile.is_some() {
            self.profile = patch.profile;
        }
        if patch.memory.is_some() {
            self.memory = patch.memory;
        }
        if patch.history.is_some() {
            self.history = patch.history;
        }
        self.compare_limits.extend(patch.compare_limits);
        // A changed profile keeps its place: profiles are tried in order, so moving it
        // would change which one claims a frame.
        for generic in patch.detectors {
            match self
                .detectors
                .iter_mut()
                .find(|g| g.profile.name.eq_ignore_ascii_case(&generic.profile.name))
            {
                Some(kept) => *kept = generic,
                None => self.detectors.push(generic),
            }
        }
    }
}

/// The key's path from the top of a settings file.
fn full_path(key: &str) -> Result<Vec<&str>, SettingsError> {
    let parts: Vec<&str> = key.split('.').collect();
    let first = parts.first().copied().unwrap_or_default();
    let block = if [RECIPE_BLOCK, MBIAS_BLOCK, INSTRUMENT].contains(&first) {
        None
    } else if RECIPE_KEYS.contains(&first) || ARMS.contains(&first.to_ascii_lowercase().as_str()) {
        Some(RECIPE_BLOCK)
    } else if mbias_keys().contains(&first) {
        Some(MBIAS_BLOCK)
    } else {
        let known: Vec<String> = RECIPE_KEYS
            .iter()
            .chain(&mbias_keys())
            .chain(&[INSTRUMENT])
            .map(|k| k.to_string())
            .chain(ARMS.iter().map(|arm| format!("{arm}.<recipe key>")))
            .chain([RECIPE_BLOCK, MBIAS_BLOCK].map(|block| format!("{block}.<key>")))
            .collect();
        return Err(SettingsError::UnknownKey {
            file: None,
            key: key.to_string(),
            known: known.join(", "),
        });
    };
    Ok(block.into_iter().chain(parts).collect())
}

/// `from` written over `into`, mapping by mapping: keys `from` lacks keep `into`'s values.
fn merge_value(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Mapping(into), Value::Mapping(from)) => {
            for (key, value) in from {
                match into.get_mut(&key) {
                    Some(existing) => merge_value(existing, value),
                    None => {
                        into.insert(key, value);
                    }
                }
            }
        }
        (into, from) => *into = from,
    }
}

fn merge_overrides(into: &mut RecipeOverrides, from: RecipeOverrides) {
    into.stacked_clipping_sigma = from.stacked_clipping_sigma.or(into.stacked_clipping_sigma);
    into.stacked_clipping_iterations = from
        .stacked_clipping_iterations
        .or(into.stacked_clipping_iterations);
    into.frame_clipping_sigma = from.frame_clipping_sigma.or(into.frame_clipping_sigma);
    into.frame_clipping_iterations = from
        .frame_clipping_iterations
        .or(into.frame_clipping_iterations);
    if let Some(ranges) = from.qc_acceptable_ranges {
        into.qc_acceptable_ranges
            .get_or_insert_default()
            .extend(ranges);
    }
}
