//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `../shared` beside the project. Users clone the project alone, so the tests that read
/// it are `#[ignore = "needs ../shared …"]`: a plain `cargo test` lists them as ignored,
/// with that reason, and `.ci/run` adds `--include-ignored` whenever `../shared` is there.
/// Missing data here means someone asked for those tests where the data is not.
pub fn shared() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    assert!(
        dir.join("oracle/soxs-vis-7/expected.json").is_file(),
        "this test reads ../shared (the soxspipe oracle data), which is not beside the project"
    );
    dir
}

/// The files in `dir`, hidden ones included; empty when it does not exist.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub fn mbias(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mbias"))
        .args(args)
        .env_remove("MBIAS_SETTINGS")
        .env("XDG_CONFIG_HOME", "/nonexistent-mbias-test-config")
        // Products are not recorded into the user's QC history.
        .env("MBIAS_HISTORY", "off")
        .output()
        .expect("the mbias binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `../shared/realdata` beside the project (see [`shared`]).
pub fn realdata() -> PathBuf {
    let dir = shared().join("realdata");
    assert!(
        dir.join("not-alfosc-1x2").is_dir() && dir.join("lick-kast-blue").is_dir(),
        "this test reads ../shared/realdata (the real raw frames), which is not there"
    );
    dir
}

/// Settings text holding the commented-out `detectors:` block of settings.example.yaml,
/// uncommented as the file tells a user to: "# " removed from every line from
/// `detectors:` to the end of the file.
pub fn example_detectors() -> String {
    let mut text = String::from("mbias:\n");
    let mut inside = false;
    for line in mbias::settings::EXAMPLE.lines() {
        let body = line.trim_start();
        inside |= body == "# detectors:";
        if !inside {
            continue;
        }
        let Some(rest) = body.strip_prefix("# ") else {
            break;
        };
        text.push_str(&line[..line.len() - body.len()]);
        text.push_str(rest);
        text.push('\n');
    }
    text
}

/// Small frames (40 × 56 pixels) of a generic CCD, `testcam`, which [`testcam::SETTINGS`]
/// defines: fast to write and to stack.
pub mod testcam {
    use std::path::{Path, PathBuf};

    use fitsio::FitsFile;
    use fitsio::hdu::FitsHdu;
    use fitsio::images::{ImageDescription, ImageType};

    pub const ROWS: usize = 40;
    pub const COLS: usize = 56;

    pub const SETTINGS: &str = "\
mbias:
    detectors:
        testcam:
            match: {INSTRUME: TESTCAM}
            bias: {keyword: IMAGETYP, values: [BIAS], max-exptime: 0}
            gain: GAIN
            read-noise: RDNOISE
            window: whole
";

    /// Pixels of frame `index`: a level, a column gradient and deterministic noise.
    pub fn pixels(index: usize) -> Vec<f32> {
        (0..ROWS * COLS)
            .map(|p| {
                let noise = ((p * 7919 + index * 104_729) % 97) as f32 / 97.0 * 8.0 - 4.0;
                1000.0 + (p % COLS) as f32 * 0.05 + index as f32 * 0.3 + noise
            })
            .collect()
    }

    pub enum Data {
        U16(Vec<u16>),
        F32(Vec<f32>),
    }

    /// Writes one frame with the keywords `testcam` reads and a DATASUM.
    pub fn write_frame(path: &Path, index: usize, data: Data, shape: (usize, usize)) {
        write_frame_with(path, index, data, shape, &[("IMAGETYP", "BIAS")]);
    }

    /// Writes one frame with the keywords `testcam` reads, `text` keywords (IMAGETYP among
    /// them) and a DATASUM.
    pub fn write_frame_with(
        path: &Path,
        index: usize,
        data: Data,
        shape: (usize, usize),
        text: &[(&str, &str)],
    ) {
        let kind = match data {
            Data::U16(_) => ImageType::UnsignedShort,
            Data::F32(_) => ImageType::Float,
        };
        let description = ImageDescription {
            data_type: kind,
            dimensions: &[shape.0, shape.1],
        };
        let mut file = FitsFile::create(path)
            .with_custom_primary(&description)
            .open()
            .unwrap();
        let hdu = file.primary_hdu().unwrap();
        write_keys(&mut file, &hdu, index, text);
        match data {
            Data::U16(values) => hdu.write_image(&mut file, &values).unwrap(),
            Data::F32(values) => hdu.write_image(&mut file, &values).unwrap(),
        }
        let mut status = 0;
        // SAFETY: the file is open on its primary HDU; DATASUM lets copies be recognised.
        unsafe { fitsio::sys::ffpcks(file.as_raw(), &mut status) };
        assert_eq!(status, 0);
    }

    /// The keywords `testcam` reads, for frame `index`, into `hdu`.
    /// The keywords `testcam` reads, with `text` keywords (IMAGETYP among them).
    pub fn write_keys(file: &mut FitsFile, hdu: &FitsHdu, index: usize, text: &[(&str, &str)]) {
        hdu.write_key(file, "INSTRUME", "TESTCAM").unwrap();
        for (key, value) in text {
            hdu.write_key(file, key, *value).unwrap();
        }
        hdu.write_key(file, "EXPTIME", 0.0f64).unwrap();
        hdu.write_key(file, "GAIN", 1.5f64).unwrap();
        hdu.write_key(file, "RDNOISE", 4.5f64).unwrap();
        hdu.write_key(file, "MJD-OBS", 60000.0 + index as f64 * 0.001)
            .unwrap();
        hdu.write_key(
            file,
            "DATE-OBS",
            format!("2023-02-25T00:0{index}:00.000").as_str(),
        )
        .unwrap();
    }

    pub fn u16_frame(dir: &Path, index: usize) -> PathBuf {
        let path = dir.join(format!("bias{index}.fits"));
        let values = pixels(index).iter().map(|v| v.round() as u16).collect();
        write_frame(&path, index, Data::U16(values), (ROWS, COLS));
        path
    }

    pub fn f32_frame(dir: &Path, index: usize, spoil: impl Fn(&mut Vec<f32>)) -> PathBuf {
        let path = dir.join(format!("bias{index}.fits"));
        let mut values = pixels(index);
        spoil(&mut values);
        write_frame(&path, index, Data::F32(values), (ROWS, COLS));
        path
    }
}

/// `bytes` in Unix `compress` (.Z) format, as the ESO archive ships raw frames. Only
/// literal codes, 9 bits wide, with a CLEAR code ending every group of 248 codes so the
/// width never grows (a valid stream every decoder reads: gzip, cfitsio); it does not
/// compress, which a test does not need.
pub fn unix_compress(bytes: &[u8]) -> Vec<u8> {
    const CLEAR: u16 = 256;
    // Flags: block mode (CLEAR codes allowed), at most 16-bit codes.
    let mut out = vec![0x1f, 0x9d, 0x90];
    let mut codes: Vec<u16> = Vec::with_capacity(bytes.len() * 248 / 247 + 1);
    for chunk in bytes.chunks(247) {
        codes.extend(chunk.iter().map(|&b| u16::from(b)));
        if chunk.len() == 247 {
            codes.push(CLEAR);
        }
    }
    let (mut acc, mut bits) = (0u32, 0);
    for code in codes {
        acc |= u32::from(code) << bits;
        bits += 9;
        while bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    if bits > 0 {
        out.push(acc as u8);
    }
    out
}
