//! Property-based fuzzing of every parser mbias owns: SOF text, FITS/IRAF section strings,
//! settings (YAML text and `--set` assignments), header cards and the coercion of their
//! values, and FITS headers damaged byte by byte on their way through cfitsio.
//!
//! Each property runs a bounded number of random cases (the defaults below) inside the
//! normal test run; a longer run is `PROPTEST_CASES=100000 cargo test --release --test
//! fuzz_parsers`. A failure is shrunk to a minimal input and saved under
//! `proptest-regressions/`, which is replayed first on the next run.

mod common;

use mbias::detector::SectionSpec;
use mbias::fits::{Card, Header, Value};
use mbias::inputs::parse_sof;
use mbias::settings::Settings;
use proptest::prelude::*;

/// Cases per property: `PROPTEST_CASES` when set, else `default`.
fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// Text that looks like what a user could write, with the characters that matter to
/// each grammar over-represented.
fn text_with(specials: &'static str) -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        3 => proptest::sample::select(specials.chars().collect::<Vec<_>>()).prop_map(String::from),
        2 => "[a-zA-Z0-9_./-]{1,8}",
        1 => any::<String>(),
        1 => Just(".fits".to_string()),
        1 => Just("\n".to_string()),
    ];
    proptest::collection::vec(pieces, 0..40).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(config(4000))]

    #[test]
    fn sof_parsing_never_panics_and_keeps_only_fits_lines(text in text_with(" \t#~/.:fitsgz\n")) {
        let lines = text.lines().count();
        for entry in parse_sof(&text) {
            prop_assert!(entry.path.to_string_lossy().contains(".fits"));
            prop_assert!(entry.line >= 1 && entry.line <= lines);
            if let Some(tag) = &entry.tag {
                prop_assert!(!tag.is_empty() && tag.trim() == tag);
            }
        }
    }

    #[test]
    fn sections_parse_or_refuse_and_fit_where_they_say(
        text in text_with("[]:,*0123456789 -+"),
        rows in 0usize..5000,
        cols in 0usize..5000,
    ) {
        if let Ok(spec) = SectionSpec::parse(&text) {
            prop_assert_eq!(SectionSpec::parse(&spec.to_string()), Ok(spec));
            if let Some(section) = spec.within((rows, cols)) {
                prop_assert!(section.rows.start <= section.rows.end && section.rows.end <= rows);
                prop_assert!(section.cols.start <= section.cols.end && section.cols.end <= cols);
            }
        }
    }

    #[test]
    fn well_formed_sections_round_trip(
        x in (1usize..5000, 0usize..5000),
        y in (1usize..5000, 0usize..5000),
    ) {
        let text = format!("[{}:{}, {}:{}]", x.0, x.0 + x.1, y.0, y.0 + y.1);
        let spec = SectionSpec::parse(&text).unwrap();
        prop_assert_eq!(spec.cols, Some((x.0, x.0 + x.1)));
        prop_assert_eq!(spec.rows, Some((y.0, y.0 + y.1)));
    }

    #[test]
    fn header_cards_parse_without_panicking(record in text_with("=/' HIERARCHESO.-+0123456789ETF")) {
        let card = Card::parse(&record);
        let header = Header::from_records([record.clone()]);
        if let Some(v) = card.value.as_f64() {
            prop_assert!(v.is_finite(), "{record:?} coerced to {v}");
        }
        let _ = header.require_number(&card.key);
        let _ = header.require_text(&card.key);
    }

    #[test]
    fn header_values_coerce_to_finite_numbers_or_to_none(
        token in prop_oneof![
            "[-+]?[0-9]{0,5}(\\.[0-9]{0,5})?([EeDd][-+]?[0-9]{1,4})?",
            "(?i)[-+]?(nan|inf|infinity)",
            "[ -~]{0,12}",
        ],
        quoted in any::<bool>(),
    ) {
        let value = if quoted { format!("'{token}'") } else { token.clone() };
        let card = Card::parse(&format!("GAIN    = {value} / e-/ADU"));
        if let Some(v) = card.value.as_f64() {
            prop_assert!(v.is_finite(), "{value:?} coerced to {v}");
        }
        let header = Header::from_records([card.raw.clone()]);
        prop_assert_eq!(header.require_number("GAIN").ok(), card.value.as_f64());
    }

    #[test]
    fn numbers_written_as_cards_read_back_exactly(v in any::<f64>().prop_filter("finite", |v| v.is_finite())) {
        let card = Card::new("ESO DET OUT1 CONAD", Value::Float(v), "gain");
        prop_assert!(card.raw.len() <= 80);
        prop_assert_eq!(Card::parse(&card.raw).value.as_f64(), Some(v));
    }

    #[test]
    fn strings_written_as_cards_read_back(s in "[ -~]{0,40}") {
        let card = Card::new("OBJECT", Value::Str(s.clone()), "");
        prop_assert_eq!(Card::parse(&card.raw).value.as_text(), Some(s.trim().to_string()));
    }

    #[test]
    fn settings_text_never_panics(text in text_with(" :\n-[]{},'\"#&*!|>soxs-mbiasclippingsigmaiterationsframestackednumericsdetectors")) {
        if let Ok(settings) = Settings::parse(&text) {
            let _ = settings.check_profile();
        }
    }

    #[test]
    fn set_assignments_never_panic(assignment in text_with("=.:[]{} -soxs-mbiasstacked-clipping-sigmaframeiterationsnumericsexact0123456789")) {
        let mut settings = Settings::default();
        let _ = settings.apply_override(&assignment);
    }
}

/// Settings made of the keys mbias reads, holding values of every YAML type: the parser
/// must refuse or accept each, never panic.
fn yaml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("3".to_string()),
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("2.5e308".to_string()),
        Just(".nan".to_string()),
        Just("abc".to_string()),
        Just("~".to_string()),
        Just("[1, 2]".to_string()),
        Just("{a: 1}".to_string()),
        Just("true".to_string()),
        Just("[0, .inf]".to_string()),
        Just("\"[1:10,1:20]\"".to_string()),
    ]
}

fn yaml_key() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec![
        "stacked-clipping-sigma",
        "stacked-clipping-iterations",
        "frame-clipping-sigma",
        "frame-clipping-iterations",
        "qc-acceptable-ranges",
        "numerics",
        "rejection",
        "combine",
        "output-dir",
        "profile",
        "detectors",
        "match",
        "hdu",
        "bias",
        "gain",
        "read-noise",
        "window",
        "binning",
        "vis",
        "master-ron",
    ])
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn structured_settings_never_panic(
        entries in proptest::collection::vec((yaml_key(), yaml_key(), yaml_key(), yaml_value()), 0..6),
        block in proptest::sample::select(vec!["soxs-mbias", "mbias"]),
    ) {
        let mut text = format!("{block}:\n");
        for (a, b, c, value) in &entries {
            text.push_str(&format!("    {a}:\n        {b}:\n            {c}: {value}\n"));
        }
        if let Ok(settings) = Settings::parse(&text) {
            let _ = settings.check_profile();
            let _ = settings.resolve(mbias::detector::soxs_vis());
        }
        // The same values one level up, where most keys take them directly.
        let flat: String = entries
            .iter()
            .map(|(a, _, _, value)| format!("    {a}: {value}\n"))
            .collect();
        if let Ok(settings) = Settings::parse(&format!("{block}:\n{flat}")) {
            let _ = settings.resolve(mbias::detector::soxs_vis());
        }
    }
}

proptest! {
    #![proptest_config(config(300))]

    /// A valid frame with bytes of its header overwritten: read through cfitsio, the
    /// header either parses or is refused with an error; it must never crash or hang.
    #[test]
    fn damaged_fits_headers_are_read_or_refused(
        damage in proptest::collection::vec((0usize..2880, any::<u8>()), 1..12),
        cut in proptest::option::of(0usize..8000),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let frame = common::testcam::u16_frame(dir.path(), 0);
        let mut bytes = std::fs::read(&frame).unwrap();
        for (at, byte) in damage {
            bytes[at] = byte;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut);
        }
        std::fs::write(&frame, &bytes).unwrap();
        if let Ok(file) = mbias::fits::read_frame_header(&frame) {
            let (rows, cols) = file.image.shape;
            let _ = mbias::fits::read_window(&frame, file.image.index, 0..rows.min(4), 0..cols.min(4), true);
        }
    }
}
