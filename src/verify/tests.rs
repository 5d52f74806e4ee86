//! Verification of single-image and multi-extension sets.
use super::*;
use crate::fits::{Card, Header, Value};

type Scanned = (PathBuf, Result<FrameFile, FitsError>);

fn soxs_cards(i: usize) -> Vec<(String, Value)> {
    let s = |v: &str| Value::Str(v.into());
    vec![
        ("INSTRUME".into(), s("SOXS")),
        (
            "DATE-OBS".into(),
            s(&format!("2025-10-10T09:{:02}:00.000", 19 + i)),
        ),
        ("MJD-OBS".into(), Value::Float(60958.38 + i as f64 * 1e-3)),
        ("EXPTIME".into(), Value::Float(0.0)),
        ("ESO DPR TYPE".into(), s("BIAS")),
        ("ESO DPR TECH".into(), s("IMAGE")),
        ("ESO DPR CATG".into(), s("CALIB")),
        ("ESO SEQ ARM".into(), s("VIS")),
        ("ESO DET BINX".into(), Value::Int(1)),
        ("ESO DET BINY".into(), Value::Int(1)),
        ("ESO DET READ CURID".into(), Value::Int(1)),
        ("ESO DET OUT1 CONAD".into(), Value::Float(1.4)),
        ("ESO DET OUT1 GAIN".into(), Value::Float(0.7143)),
        ("ESO DET CHIP RON".into(), Value::Float(4.2)),
        ("ESO INS TEMP104 VAL".into(), Value::Float(153.0)),
        ("ESO INS TEMP301 VAL".into(), Value::Float(15.0)),
    ]
}

/// A SOXS VIS bias frame `i`, with `edit` applied to its cards.
fn frame(i: usize, shape: (usize, usize), edit: impl Fn(&mut Vec<(String, Value)>)) -> Scanned {
    let mut cards = soxs_cards(i);
    edit(&mut cards);
    let header = Header {
        cards: cards
            .iter()
            .map(|(k, v)| Card::new(k, v.clone(), ""))
            .collect(),
    };
    let path = PathBuf::from(format!("/night/SOXS.{i}.fits"));
    (path.clone(), Ok(FrameFile::single(path, header, shape)))
}

fn good(i: usize) -> Scanned {
    frame(i, (4096, 2098), |_| {})
}

fn set(name: &str, value: Value) -> impl Fn(&mut Vec<(String, Value)>) {
    let name = name.to_string();
    move |cards| {
        cards.retain(|(k, _)| *k != name);
        cards.push((name.clone(), value.clone()));
    }
}

fn remove(name: &'static str) -> impl Fn(&mut Vec<(String, Value)>) {
    move |cards| cards.retain(|(k, _)| k != name)
}

/// Verified with soxspipe 0.17's detector tables, whose SOXS read-noise keyword
/// (`ESO DET CHIP RON`) the simulated frames carry.
fn run(frames: Vec<Scanned>) -> Verification {
    let detectors = Detectors {
        recipe: crate::params::RecipeVersion::Soxspipe017,
        ..Detectors::default()
    };
    verify(&frames, &[], &detectors)
}

fn only(v: &Verification, problem: Problem) -> &Finding {
    let hits: Vec<_> = v.findings.iter().filter(|f| f.problem == problem).collect();
    assert_eq!(hits.len(), 1, "{problem:?} in {:#?}", v.findings);
    hits[0]
}

#[test]
fn a_clean_set_gives_a_plan_in_mjd_order() {
    let frames = vec![good(2), good(0), good(1), good(4), good(3)];
    let v = run(frames);
    assert!(v.findings.is_empty(), "{:#?}", v.findings);
    let plan = v.plan.unwrap();
    assert_eq!(plan.profile.name, "soxs-vis");
    assert_eq!((plan.gain, plan.ron), (1.4, 4.2), "gain = max(CONAD, GAIN)");
    let order: Vec<_> = plan.frames.iter().map(|f| f.path.clone()).collect();
    assert_eq!(order[0], PathBuf::from("/night/SOXS.0.fits"));
    assert_eq!(order[4], PathBuf::from("/night/SOXS.4.fits"));
    assert_eq!((plan.rows.clone(), plan.cols.clone()), (0..4096, 50..858));
}

#[test]
fn unreadable_file_is_named() {
    let bad = PathBuf::from("/night/broken.fits");
    let error = FitsError::Open {
        path: bad.clone(),
        message: "not a FITS file, or truncated".into(),
    };
    let mut frames: Vec<Scanned> = (0..5).map(good).collect();
    frames.push((bad.clone(), Err(error)));
    let v = run(frames);
    let f = only(&v, Problem::Unreadable);
    assert_eq!(f.file.as_ref(), Some(&bad));
    assert!(f.message.contains("not a FITS file"));
    assert!(v.plan.is_none());
}

#[test]
fn non_fits_names_are_reported_but_do_not_block() {
    let frames: Vec<Scanned> = (0..5).map(good).collect();
    let v = verify(
        &frames,
        &[PathBuf::from("/night/notes.txt")],
        &Detectors::default(),
    );
    assert_eq!(only(&v, Problem::NotFitsName).severity, Severity::Warning);
    assert!(v.plan.is_some());
}

#[test]
fn flat_is_not_a_bias() {
    let mut frames: Vec<Scanned> = (0..5).map(good).collect();
    frames.push(frame(
        5,
        (4096, 2098),
        set("ESO DPR TYPE", Value::Str("FLAT".into())),
    ));
    let v = run(frames);
    let f = only(&v, Problem::NotBias);
    assert_eq!(f.keyword.as_deref(), Some("ESO DPR TYPE"));
    assert_eq!(
        (f.seen.as_deref(), f.expected.as_deref()),
        (Some("FLAT"), Some("BIAS"))
    );
    assert_eq!(f.file.as_deref(), Some(Path::new("/night/SOXS.5.fits")));
}

#[test]
fn missing_and_mistyped_keywords() {
    let mut frames: Vec<Scanned> = (0..5).map(good).collect();
    frames.push(frame(5, (4096, 2098), remove("ESO INS TEMP301 VAL")));
    frames.push(frame(
        6,
        (4096, 2098),
        set("MJD-OBS", Value::Str("yesterday".into())),
    ));
    let v = run(frames);
    let missing = only(&v, Problem::MissingKeyword);
    assert_eq!(missing.keyword.as_deref(), Some("ESO INS TEMP301 VAL"));
    assert!(missing.message.contains("is missing"));
    let typed = only(&v, Problem::WrongKeywordType);
    assert_eq!(typed.keyword.as_deref(), Some("MJD-OBS"));
    assert_eq!(typed.seen.as_deref(), Some("'yesterday'"));
    assert_eq!(typed.expected.as_deref(), Some("a number"));
}

#[test]
fn nir_and_unknown_instruments_are_refused() {
    let mut frames: Vec<Scanned> = (0..5).map(good).collect();
    frames.push(frame(
        5,
        (4096, 2098),
        set("ESO SEQ ARM", Value::Str("NIR".into())),
    ));
    let v = run(frames);
    let f = only(&v, Problem::UnsupportedDetector);
    assert!(f.message.contains("NIR"));
    assert_eq!(f.seen.as_deref(), Some("NIR"));
    let v = run(vec![frame(
        0,
        (4096, 2098),
        set("INSTRUME", Value::Str("ALFOSC".into())),
    )]);
    assert!(
        only(&v, Problem::UnsupportedDetector)
            .message
            .contains("ALFOSC")
    );
    only(&v, Problem::NoFrames);
}

#[test]
fn arm_differs() {
    let mut frames: Vec<Scanned> = (0..5).map(good).collect();
    frames.push(frame(5, (3000, 2144), |c| {
        set("INSTRUME", Value::Str("SHOOT".into()))(c);
        set("ESO SEQ ARM", Value::Str("UVB".into()))(c);
    }));
    let v = run(frames);
    let f = only(&v, Problem::ArmDiffers);
    assert_eq!(f.file.as_deref(), Some(Path::new("/night/SOXS.5.fits")));
    assert!(v.summary[0].starts_with("arm differs"), "{:?}", v.summary);
}

#[test]
fn binning_differs_names_the_odd_frames_and_summarises() {
    let mut frames: Vec<Scanned> = (0..5).map(good).collect();
    for i in 5..7 {
        frames.push(frame(i, (2048, 1049), |c| {
            set("ESO DET BINX", Value::Int(2))(c);
            set("ESO DET BINY", Value::Int(2))(c);
        }));
    }
    let v = run(frames);
    let hits: Vec<_> = v
        .findings
        .iter()
        .filter(|f| f.problem == Problem::BinningDiffers)
        .collect();
    assert_eq!(hits.len(), 2);
    assert_eq!(
        (hits[0].seen.as_deref(), hits[0].expected.as_deref()),
        (Some("2x2"), Some("1x1"))
    );
    assert!(
        v.summary
            .contains(&"binning differs: 1x1 ×5, 2x2 ×2".to_string()),
        "{:?}",
        v.summary
    );
}

#[test]
fn read_speed_gain_and_ron_must_agree() {
    let mut frames: Vec<Scanned> = (0..5).map(good).collect();
    frames.push(frame(
        5,
        (4096, 2098),
        set("ESO DET READ CURID", Value::Int(2)),
    ));
    frames.push(frame(
        6,
        (4096, 2098),
        set("ESO DET OUT1 CONAD", Value::Float(2.0)),
    ));
    frames.push(frame(
        7,
        (4096, 2098),
        set("ESO DET CHIP RON", Value::Float(8.0)),
    ));
    let v = run(frames);
    assert_eq!(
        only(&v, Problem::ReadSpeedDiffers).seen.as_deref(),
        Some("2")
    );
    let gain = only(&v, Problem::GainDiffers);
    assert_eq!(
        (gain.seen.as_deref(), gain.expected.as_deref()),
        (Some("2.0"), Some("1.4"))
    );
    assert_eq!(
        only(&v, Problem::RonDiffers).keyword.as_deref(),
        Some("ESO DET CHIP RON")
    );
    assert!(v.plan.is_none());
}

#[test]
fn image_size_must_agree_and_hold_the_window() {
    let mut frames: Vec<Scanned> = (0..5).map(good).collect();
    frames.push(frame(5, (4096, 800), |_| {}));
    let v = run(frames);
    assert_eq!(
        only(&v, Problem::ShapeDiffers).seen.as_deref(),
        Some("800x4096")
    );
    let w = only(&v, Problem::WindowOutsideImage);
    assert!(
        w.message
            .contains("too small for the soxs-vis science window [51:858,1:4096]"),
        "{}",
        w.message
    );
}

#[test]
fn missing_gain_and_ron_fall_back_to_the_detector_table() {
    let frames: Vec<Scanned> = (0..5)
        .map(|i| {
            frame(i, (4096, 2098), |c| {
                remove("ESO DET OUT1 CONAD")(c);
                remove("ESO DET CHIP RON")(c);
            })
        })
        .collect();
    let v = run(frames);
    let notes: Vec<_> = v
        .findings
        .iter()
        .filter(|f| f.problem == Problem::FallbackValue)
        .collect();
    assert_eq!(notes.len(), 2);
    assert!(notes.iter().all(|n| n.severity == Severity::Note));
    let plan = v.plan.unwrap();
    assert_eq!((plan.gain, plan.ron), (1.0, 3.8));
}

#[test]
fn no_frames_is_an_error_and_few_frames_a_warning() {
    let v = run(vec![]);
    assert_eq!(only(&v, Problem::NoFrames).severity, Severity::Error);
    let v = run((0..3).map(good).collect());
    let f = only(&v, Problem::FewFrames);
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.seen.as_deref(), Some("3"));
    assert!(v.plan.is_some(), "a warning does not block stacking");
}

/// A two-amplifier frame `i` of the simulated `sim-mef` detector: an empty primary, then
/// one extension per amplifier (`amps`: EXTNAME, gain, read noise).
fn mef_frame(i: usize, amps: &[(&str, f64, f64)]) -> Scanned {
    let primary = Header {
        cards: vec![
            Card::new("INSTRUME", Value::Str("MBIAS-SIM-MEF".into()), ""),
            Card::new("IMAGETYP", Value::Str("BIAS".into()), ""),
            Card::new("EXPTIME", Value::Float(0.0), ""),
            Card::new("MJD-OBS", Value::Float(60958.38 - i as f64 * 1e-3), ""),
        ],
    };
    let images = amps
        .iter()
        .enumerate()
        .map(|(k, (name, gain, ron))| crate::fits::ImageHdu {
            index: k + 1,
            shape: (64, 32),
            header: Header {
                cards: vec![
                    Card::new("EXTNAME", Value::Str(name.to_string()), ""),
                    Card::new("GAIN", Value::Float(*gain), ""),
                    Card::new("RDNOISE", Value::Float(*ron), ""),
                ],
            },
        })
        .collect::<Vec<_>>();
    let path = PathBuf::from(format!("/night/SIM.{i}.fits"));
    let frame = FrameFile {
        path: path.clone(),
        primary,
        image: images[0].clone(),
        images,
    };
    (path, Ok(frame))
}

const TWO_AMPS: [(&str, f64, f64); 2] = [("AMP1", 1.4, 4.2), ("AMP2", 1.1, 5.5)];

fn run_mef(frames: Vec<Scanned>, hdu: crate::detector::HduChoice) -> Verification {
    let profile = crate::detector::Profile {
        hdu,
        ..crate::simulate::MEF.clone()
    };
    let detectors = Detectors {
        generic: vec![profile],
        forced: None,
        ..Detectors::default()
    };
    verify(&frames, &[], &detectors)
}

#[test]
fn a_multi_extension_set_gives_one_plan_per_extension() {
    let frames = (0..5).map(|i| mef_frame(i, &TWO_AMPS)).collect();
    let v = run_mef(frames, crate::detector::HduChoice::Each);
    assert!(v.findings.is_empty(), "{:#?}", v.findings);
    assert!(v.plan.is_none(), "no single-image plan");
    let plans = v.plans();
    let names: Vec<_> = plans.iter().map(|p| p.extension.as_deref()).collect();
    assert_eq!(names, [Some("AMP1"), Some("AMP2")]);
    // Gain and read noise are each extension's own, looked up in its header.
    assert_eq!((plans[0].gain, plans[0].ron), (1.4, 4.2));
    assert_eq!((plans[1].gain, plans[1].ron), (1.1, 5.5));
    assert_eq!(plans[1].frames.len(), 5);
    assert_eq!(plans[1].frames[0].path, PathBuf::from("/night/SIM.4.fits"));
    assert_eq!(plans[1].frames[0].image.index, 2, "read from AMP2's HDU");
    assert_eq!(plans[1].shape(), (64, 32));
    assert!(plans[1].to_string().starts_with("AMP2: 5 bias frame(s)"));
}

#[test]
fn a_frame_missing_an_extension_is_named_with_the_extension() {
    let mut frames: Vec<Scanned> = (0..5).map(|i| mef_frame(i, &TWO_AMPS)).collect();
    frames.push(mef_frame(5, &TWO_AMPS[..1]));
    let v = run_mef(frames, crate::detector::HduChoice::Each);
    let f = only(&v, Problem::NoSuchHdu);
    assert_eq!(f.file.as_deref(), Some(Path::new("/night/SIM.5.fits")));
    assert_eq!(f.hdu.as_deref(), Some("AMP2"));
    assert!(f.message.contains("has no extension AMP2"), "{}", f.message);
    assert!(
        f.to_string()
            .starts_with("error: /night/SIM.5.fits, AMP2: "),
        "{f}"
    );
    assert!(v.plans().is_empty(), "an error blocks every extension");
    assert_eq!(
        v.summary,
        ["image extensions differ: AMP1, AMP2 ×5, AMP1 ×1"]
    );

    // A listed extension a frame lacks is found frame by frame.
    let list = crate::detector::HduChoice::List(vec![
        crate::detector::HduChoice::Name("amp1".into()),
        crate::detector::HduChoice::Name("AMP2".into()),
    ]);
    let mut frames: Vec<Scanned> = (0..5).map(|i| mef_frame(i, &TWO_AMPS)).collect();
    frames.push(mef_frame(5, &TWO_AMPS[..1]));
    let v = run_mef(frames, list);
    let f = only(&v, Problem::NoSuchHdu);
    assert_eq!(
        (f.file.as_deref(), f.hdu.as_deref()),
        (Some(Path::new("/night/SIM.5.fits")), Some("AMP2"))
    );
    assert!(
        f.message.contains("the extension named 'AMP2'"),
        "{}",
        f.message
    );
}

#[test]
fn extension_problems_name_the_extension_and_shared_ones_are_said_once() {
    let mut frames: Vec<Scanned> = (0..5).map(|i| mef_frame(i, &TWO_AMPS)).collect();
    // AMP2's gain differs in one frame; the frame's other amplifier is fine.
    frames.push(mef_frame(5, &[("AMP1", 1.4, 4.2), ("AMP2", 1.3, 5.5)]));
    // A keyword every extension inherits from the primary is missing.
    let (path, frame) = mef_frame(6, &TWO_AMPS);
    let mut frame = frame.unwrap();
    frame
        .images
        .iter_mut()
        .for_each(|i| i.header.cards.truncate(2));
    frames.push((path, Ok(frame)));
    let v = run_mef(frames, crate::detector::HduChoice::Each);
    let gain = only(&v, Problem::GainDiffers);
    assert_eq!(gain.hdu.as_deref(), Some("AMP2"));
    assert_eq!(gain.seen.as_deref(), Some("1.3"));
    let missing = only(&v, Problem::MissingKeyword);
    assert_eq!(missing.hdu.as_deref(), Some("AMP1, AMP2"));
    assert_eq!(missing.keyword.as_deref(), Some("RDNOISE"));
    assert!(
        v.summary
            .contains(&"AMP2: gain differs: 1.1 ×5, 1.3 ×1".to_string()),
        "{:?}",
        v.summary
    );
}

#[test]
fn valid_frames_are_those_verification_has_nothing_against() {
    let flat = frame(
        6,
        (4096, 2098),
        set("ESO DPR TYPE", Value::Str("FLAT".into())),
    );
    let binned = frame(7, (2048, 1049), set("ESO DET BINX", Value::Int(2)));
    let broken = (
        PathBuf::from("/night/broken.fits"),
        Err(FitsError::NoImage {
            path: PathBuf::from("/night/broken.fits"),
        }),
    );
    let mut frames: Vec<Scanned> = (0..5).map(good).collect();
    frames.extend([flat, binned, broken]);
    let v = run(frames.clone());
    let files: Vec<PathBuf> = frames.iter().map(|(p, _)| p.clone()).collect();
    let (valid, left_out) = select_valid(&files, &v);
    assert_eq!(valid, files[..5]);
    let reasons: Vec<String> = left_out.iter().map(ToString::to_string).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].starts_with("/night/SOXS.6.fits: not a bias frame"));
    assert!(reasons[1].starts_with("/night/SOXS.7.fits: binning is 2x1"));
    assert!(reasons[2].starts_with("/night/broken.fits: no HDU holds"));
    // The worst finding decides: a copy of frame 0 (a warning) read out otherwise (an
    // error).
    let datasum = |(path, frame): Scanned| -> Scanned {
        let frame = frame.map(|mut f| {
            let sum = Card::new("DATASUM", Value::Str("7".into()), "");
            for image in f.images.iter_mut().chain([&mut f.image]) {
                image.header.cards.push(sum.clone());
            }
            f.path.clone_from(&path);
            f
        });
        (path, frame)
    };
    let copy = frame(0, (4096, 2098), set("ESO DET READ CURID", Value::Int(2)));
    let copy = datasum((PathBuf::from("/night/copy.fits"), copy.1));
    let mut frames: Vec<Scanned> = vec![datasum(good(0)), copy];
    frames.extend((1..5).map(good));
    let v = run(frames);
    let problems =
        |file: &str| -> Vec<Problem> { v.for_file(Path::new(file)).map(|f| f.problem).collect() };
    assert_eq!(
        problems("/night/copy.fits"),
        [Problem::ReadSpeedDiffers, Problem::DuplicateFrame]
    );
    let worst = v.worst_by_file();
    assert_eq!(
        worst[Path::new("/night/copy.fits")].problem,
        Problem::ReadSpeedDiffers
    );
    assert_eq!(worst.len(), 1);
}

#[test]
fn frames_group_by_setup_and_what_is_no_bias_is_left_out() {
    let mut frames: Vec<Scanned> = (0..3).map(good).collect();
    frames.push(frame(3, (2048, 1049), set("ESO DET BINX", Value::Int(2))));
    frames.push(frame(
        4,
        (4096, 2098),
        set("ESO DET READ CURID", Value::Int(2)),
    ));
    frames.push(frame(
        5,
        (4096, 2098),
        set("ESO DET OUT1 CONAD", Value::Float(1.6)),
    ));
    frames.push(frame(
        6,
        (4096, 2098),
        set("ESO DPR TYPE", Value::Str("FLAT".into())),
    ));
    frames.push(frame(7, (4096, 2098), remove("MJD-OBS")));
    frames.push(frame(8, (2048, 1049), set("ESO DET BINX", Value::Int(2))));
    let (groups, left_out) = group_by_setup(&frames, &Detectors::default());
    let setups: Vec<String> = groups.iter().map(|g| g.setup.to_string()).collect();
    assert_eq!(
        setups,
        [
            "soxs-vis 1x1, read-out 1, gain 1.4 e-/ADU",
            "soxs-vis 2x1, read-out 1, gain 1.4 e-/ADU",
            "soxs-vis 1x1, read-out 2, gain 1.4 e-/ADU",
            "soxs-vis 1x1, read-out 1, gain 1.6 e-/ADU",
        ]
    );
    let sizes: Vec<usize> = groups.iter().map(|g| g.files.len()).collect();
    assert_eq!(sizes, [3, 2, 1, 1]);
    assert_eq!(groups[1].files[1], PathBuf::from("/night/SOXS.8.fits"));
    let left: Vec<String> = left_out.iter().map(ToString::to_string).collect();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        left[0].starts_with("/night/SOXS.6.fits: not a bias frame"),
        "{left:?}"
    );
    assert!(left[1].contains("keyword MJD-OBS"), "{left:?}");
}

/// A Kast-like frame `i`: 350 rows of 2112 columns, two amplifiers side by side and their
/// overscan strips at the right, `DATASEC` naming the data of both.
fn two_amp_frame(i: usize) -> Scanned {
    let header = Header {
        cards: vec![
            Card::new("VERSION", Value::Str("kastb".into()), ""),
            Card::new("OBJECT", Value::Str("Bias".into()), ""),
            Card::new("EXPTIME", Value::Float(0.0), ""),
            Card::new("MJD-OBS", Value::Float(60958.38 + i as f64 * 1e-3), ""),
            Card::new("DATASEC", Value::Str("[1:2048,1:350]".into()), ""),
            Card::new("GAIN2", Value::Float(1.3), ""),
        ],
    };
    let path = PathBuf::from(format!("/night/b{i}.fits"));
    (
        path.clone(),
        Ok(FrameFile::single(path, header, (350, 2112))),
    )
}

/// Verified with a two-amplifier profile whose amplifiers are `amps` (YAML), turned by
/// `rotation` with the science window `window` (of the turned frame).
fn run_amplifiers(amps: &str, rotation: u64, window: &str) -> Verification {
    let frames: Vec<Scanned> = (0..3).map(two_amp_frame).collect();
    let text = format!(
        "mbias:\n  detectors:\n    kast:\n      match: {{VERSION: kastb}}\n      \
         bias: {{keyword: OBJECT, values: [Bias]}}\n      gain: 1.2\n      read-noise: 3.7\n      \
         rotation: {rotation}\n      window: '{window}'\n      amplifiers: {amps}\n"
    );
    let settings = crate::settings::Settings::parse(&text).unwrap_or_else(|e| panic!("{e}"));
    verify(&frames, &[], &settings.detectors())
}

const KAST_AMPS: &str = "[{name: A1, data: '[1:1024,1:350]', overscan: '[2049:2080,1:350]'}, \
     {name: A2, data: '[1025:2048,1:350]', overscan: '[2081:2112,1:350]', gain: GAIN2}]";

#[test]
fn amplifiers_are_placed_in_the_master_with_their_own_gain() {
    let v = run_amplifiers(KAST_AMPS, 0, "[1:2048,1:350]");
    let plan = v.plan.unwrap_or_else(|| panic!("{:#?}", v.findings));
    let amps = &plan.amplifiers;
    assert_eq!(amps.len(), 2, "{:#?}", v.findings);
    assert_eq!(
        (amps[0].data.cols.clone(), amps[1].data.cols.clone()),
        (0..1024, 1024..2048)
    );
    assert_eq!(amps[1].data.rows, 0..350);
    assert_eq!(amps[0].overscan.as_ref().unwrap().cols, 2048..2080);
    assert_eq!((amps[0].gain, amps[1].gain, amps[1].ron), (1.2, 1.3, 3.7));
    // Turned by 180°, the first amplifier's data are the right half of the turned frame,
    // whose window then starts past the overscan strips.
    let v = run_amplifiers(KAST_AMPS, 180, "[65:2112,1:350]");
    let plan = v.plan.unwrap_or_else(|| panic!("{:#?}", v.findings));
    assert_eq!(plan.amplifiers[0].raw_data.cols, 1088..2112);
    assert_eq!(plan.amplifiers[0].data.cols, 1024..2048);
}

#[test]
fn amplifier_sections_that_do_not_fit_are_errors_that_name_them() {
    for (amps, says) in [
        (
            "[{name: A1, data: '[1:1024,1:350]'}, {name: A2, data: '[1000:2048,1:350]'}]",
            "A2 overlaps the data section of A1",
        ),
        (
            "[{name: A1, data: '[1:2100,1:350]'}]",
            "not inside the science window [1:2048,1:350]",
        ),
        (
            "[{name: A1, data: '[1:3000,1:350]'}]",
            "does not fit in the 2112x350 image",
        ),
        (
            "[{name: A1, data: '[1:1024,1:350]', overscan: '[1000:1100,1:350]'}]",
            "over the data or the window",
        ),
        (
            "[{name: A1, data: {keyword: BIASSEC}}]",
            "read from BIASSEC, which the header lacks",
        ),
    ] {
        let v = run_amplifiers(amps, 0, "[1:2048,1:350]");
        let finding = only(&v, Problem::AmplifierSection);
        assert!(
            finding.message.contains(says),
            "{amps}: {}",
            finding.message
        );
        assert_eq!(finding.severity, Severity::Error);
        assert!(v.plan.is_none(), "{amps}");
    }
    // A data section from the header.
    let v = run_amplifiers(
        "[{name: ALL, data: {keyword: DATASEC}}]",
        0,
        "[1:2048,1:350]",
    );
    assert_eq!(v.plan.unwrap().amplifiers[0].data.cols, 0..2048);
}
