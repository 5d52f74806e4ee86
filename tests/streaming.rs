//! A set larger than the memory budget is stacked in bands of rows read from disk; its
//! master, QC and per-frame values must be the resident stack's, bit for bit.

use std::path::Path;

use mbias::detector::Profile;
use mbias::params::{ClipValues, RecipeVersion};
use mbias::pipeline::{Frames, StackedImage};
use mbias::progress::Silent;
use mbias::settings::{Resolved, Settings, Stacks};
use mbias::simulate::{Spec, simulate};

/// Settings of `text` for `version`.
fn settings(text: &str, version: RecipeVersion) -> Settings {
    Settings {
        recipe_version: Some(version),
        ..Settings::parse(text).unwrap()
    }
}

/// The recipe on the frames in `dir` under `settings`, with the memory budget `memory`
/// (bytes).
fn stack(dir: &Path, settings: &Settings, memory: Option<u64>) -> Vec<StackedImage> {
    stack_as(dir, settings, memory, Stacks::Repeatedly)
}

/// [`stack`] for a front end that stacks the set as `stacks` says.
fn stack_as(
    dir: &Path,
    settings: &Settings,
    memory: Option<u64>,
    stacks: Stacks,
) -> Vec<StackedImage> {
    let settings = Settings {
        memory,
        ..settings.clone()
    };
    let (_, verification) = mbias::pipeline::validate(&[dir.to_path_buf()], &settings).unwrap();
    let plans: Vec<_> = verification.plans().into_iter().cloned().collect();
    assert!(!plans.is_empty(), "the simulated frames verify");
    let resolved = Resolved {
        stacks,
        ..mbias::pipeline::resolve(&settings, &plans[0]).unwrap()
    };
    let frames = Frames::Read {
        plans: &plans,
        reuse: &[],
    };
    mbias::pipeline::run(frames, &resolved, &Silent).unwrap()
}

fn bits(values: &ndarray::Array2<f32>) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Every value a product carries, compared bit for bit.
fn assert_same(resident: &[StackedImage], streamed: &[StackedImage]) {
    assert_eq!(resident.len(), streamed.len());
    for (a, b) in resident.iter().zip(streamed) {
        assert!(a.loaded.set.resident().is_some());
        assert!(
            b.loaded.set.resident().is_none(),
            "the small budget streams"
        );
        let (ma, mb) = (&a.outcome.master, &b.outcome.master);
        assert_eq!(bits(&ma.flux), bits(&mb.flux), "FLUX");
        assert_eq!(ma.qual, mb.qual, "QUAL");
        assert_eq!(bits(&ma.errs_image()), bits(&mb.errs_image()), "ERRS");
        assert_eq!(bits(&ma.combined), bits(&mb.combined), "combined noise");
        assert_eq!(ma.used, mb.used, "frames kept per pixel");
        assert_eq!(ma.frames, mb.frames, "per-frame statistics");
        assert_eq!(ma.raw_ron.to_bits(), mb.raw_ron.to_bits(), "RAW RON");
        assert_eq!(
            ma.master_ron().to_bits(),
            mb.master_ron().to_bits(),
            "MASTER RON"
        );
        assert_eq!(a.loaded.frame_qc, b.loaded.frame_qc, "frame QC");
        for (qa, qb) in a.outcome.qc.values.iter().zip(&b.outcome.qc.values) {
            assert_eq!(qa.name, qb.name);
            assert_eq!(qa.value.to_bits(), qb.value.to_bits(), "QC {}", qa.name);
        }
        assert_eq!(a.outcome.qc.values.len(), b.outcome.qc.values.len());
        assert_eq!(
            a.outcome.distribution(&a.loaded),
            b.outcome.distribution(&b.loaded),
            "bias-distribution QC"
        );
        assert!(
            b.loaded
                .warnings()
                .iter()
                .any(|w| w.contains("more than the memory budget")),
            "the user is told that stacks read the frames again"
        );
    }
}

/// Simulated frames of `profile` stacked under `settings_text` resident and under a
/// 2 MiB budget (bands of a few rows), in both recipe versions, then re-stacked with
/// other clipping values.
fn streams_as_resident(profile: &'static Profile, frames: usize, settings_text: &str) {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path(), &Spec::biases(profile, frames, 7)).unwrap();
    for version in [RecipeVersion::Soxspipe019, RecipeVersion::Soxspipe017] {
        let settings = settings(settings_text, version);
        let resident = stack(dir.path(), &settings, None);
        let streamed = stack(dir.path(), &settings, Some(2 << 20));
        assert_same(&resident, &streamed);
        assert!(
            streamed[0].loaded.set.first_two().is_some(),
            "kept for re-stacks"
        );
        // Stacked once (the command line), a streamed set keeps no frame: 0.19's RAW RON
        // and the first frame's side of the distribution QC were measured as the frames
        // were read.
        let once = stack_as(dir.path(), &settings, Some(2 << 20), Stacks::Once);
        assert_same(&resident, &once);
        assert!(once[0].loaded.set.first_frame().is_none(), "{version:?}");
        // A re-stack with other clips: the streamed set reads its frames again.
        let mut resolved =
            mbias::pipeline::resolve(&settings, &resident[0].loaded.set.plan).unwrap();
        resolved.params = resolved
            .params
            .with(|p| {
                p.frame_clipping_sigma = 2.5;
                p.stacked_clipping_sigma = 3.5;
            })
            .unwrap();
        let again = |images: &[StackedImage], resolved: &mbias::settings::Resolved, memory| {
            let loaded: Vec<_> = images.iter().map(|i| i.loaded.clone()).collect();
            let resolved = mbias::settings::Resolved {
                memory,
                ..resolved.clone()
            };
            mbias::pipeline::run(Frames::InMemory(&loaded), &resolved, &Silent).unwrap()
        };
        assert_same(
            &again(&resident, &resolved, None),
            &again(&streamed, &resolved, Some(2 << 20)),
        );
        // Then the stack clip alone: the resident set reuses the clip masks the re-stack
        // before kept; then the frame clip again, which they no longer fit.
        let stack_clip: fn(&mut ClipValues) = |p| p.stacked_clipping_sigma = 3.0;
        let frame_clip: fn(&mut ClipValues) = |p| p.frame_clipping_sigma = 3.0;
        for change in [stack_clip, frame_clip] {
            resolved.params = resolved.params.with(change).unwrap();
            assert_same(
                &again(&resident, &resolved, None),
                &again(&streamed, &resolved, Some(2 << 20)),
            );
        }
    }
}

#[test]
fn an_x_shooter_set_turned_half_round_streams_to_the_resident_bits() {
    streams_as_resident(mbias::detector::by_name("xsh-uvb").unwrap(), 4, "");
}

#[test]
fn a_four_amplifier_camera_with_overscans_streams_to_the_resident_bits() {
    streams_as_resident(mbias::detector::by_name("sim-quad").unwrap(), 5, "");
}

/// The quad camera with each row's own overscan level: a band's rows take the levels of
/// their own lines.
const LINE_BY_LINE: &str = "\
mbias:
    profile: quad-lines
    detectors:
        quad-lines:
            match: {INSTRUME: MBIAS-SIM-QUAD}
            hdu: each
            bias: {keyword: IMAGETYP, values: [BIAS, ZERO], max-exptime: 0}
            gain: GAIN
            read-noise: RDNOISE
            window: {keyword: DATASEC}
            amplifiers:
                - {data: {keyword: DATASEC}, overscan: {keyword: BIASSEC}}
            overscan: line
";

#[test]
fn an_overscan_subtracted_line_by_line_streams_to_the_resident_bits() {
    streams_as_resident(
        mbias::detector::by_name("sim-quad").unwrap(),
        4,
        LINE_BY_LINE,
    );
}

#[test]
fn a_16_bit_camera_in_exact_numerics_streams_to_the_resident_bits() {
    streams_as_resident(mbias::detector::by_name("sim-mef").unwrap(), 3, "");
}

/// The plan of the frames in `dir`.
fn plan_of(dir: &Path) -> mbias::verify::Plan {
    let (_, verification) =
        mbias::pipeline::validate(&[dir.to_path_buf()], &Settings::default()).unwrap();
    verification.plans()[0].clone()
}

/// A set stacked once (the command line) has at most `pipeline::ONCE_BUDGET` (512 MiB)
/// when its frames are uncompressed, and is read in bands beyond `pipeline::ONCE_RESIDENT`
/// (128 MiB) already, whatever budget the user set (a budget is the most a set may hold);
/// packed frames keep the machine's budget or the user's (a band of a packed frame would
/// decompress all of it); a set stacked again and again (the console) always has the
/// machine's or the user's.
#[test]
fn a_set_stacked_once_has_its_own_budget_unless_its_frames_are_packed() {
    use mbias::pipeline::{ONCE_BUDGET, budget, default_budget, streams};
    use std::io::Write;

    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    let packed = dir.path().join("packed");
    std::fs::create_dir_all(&packed).unwrap();
    let profile = mbias::detector::by_name("sim-mef").unwrap();
    simulate(&plain, &Spec::biases(profile, 3, 7)).unwrap();
    for entry in std::fs::read_dir(&plain).unwrap() {
        let path = entry.unwrap().path();
        let name = format!("{}.gz", path.file_name().unwrap().to_string_lossy());
        let file = std::fs::File::create(packed.join(name)).unwrap();
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        gz.write_all(&std::fs::read(&path).unwrap()).unwrap();
        gz.finish().unwrap();
    }
    let (plain, packed) = (plan_of(&plain), plan_of(&packed));
    let tuned = mbias::pipeline::resolve(&Settings::default(), &plain).unwrap();
    let once = Resolved {
        stacks: Stacks::Once,
        ..tuned.clone()
    };
    assert_eq!(budget(&plain, &once), default_budget().min(ONCE_BUDGET));
    // A few small frames are held: far below ONCE_RESIDENT.
    assert!(!streams(&plain, &once));
    assert_eq!(budget(&packed, &once), default_budget());
    assert_eq!(budget(&plain, &tuned), default_budget());
    let small = Resolved {
        memory: Some(5 << 20),
        ..once.clone()
    };
    assert_eq!(budget(&packed, &small), 5 << 20, "a budget set is kept");
    assert_eq!(budget(&plain, &small), 5 << 20, "a budget set is kept");
    let storage = mbias::load::Storage::for_numerics(small.numerics);
    let held = mbias::pipeline::resident_bytes(&plain, storage);
    assert!(held > 5 << 20, "the set is larger than the small budget");
    assert!(streams(&plain, &small));
    // A large budget does not make the command line hold what it would read in bands.
    let large = Resolved {
        memory: Some(8 << 30),
        ..once
    };
    assert_eq!(budget(&plain, &large), ONCE_BUDGET);
    assert_eq!(budget(&packed, &large), 8 << 30);
    assert_eq!(
        streams(&plain, &large),
        held > mbias::pipeline::ONCE_RESIDENT
    );
}
