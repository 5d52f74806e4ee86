//! The FITS readers across the formats raw frames come in, and what of a raw frame's
//! storage reaches the product.

mod common;

use std::path::Path;

use fitsio::FitsFile;
use fitsio::images::{ImageDescription, ImageType};
use mbias::fits::{read_frame_header, read_window};

const ROWS: usize = 6;
const COLS: usize = 5;

fn ramp() -> Vec<f64> {
    (0..ROWS * COLS)
        .map(|i| ((i / COLS) * 10 + i % COLS) as f64)
        .collect()
}

fn description(kind: ImageType) -> ImageDescription<'static> {
    ImageDescription {
        data_type: kind,
        dimensions: &[ROWS, COLS],
    }
}

/// Writes the ramp as `kind` into the primary HDU (or extension 1 when `extension`).
fn write(path: &str, kind: ImageType, extension: bool, scale: Option<(f64, f64)>) {
    let mut f = if extension {
        FitsFile::create(path).open().unwrap()
    } else {
        FitsFile::create(path)
            .with_custom_primary(&description(kind))
            .open()
            .unwrap()
    };
    let hdu = if extension {
        f.create_image("CHIP1", &description(kind)).unwrap()
    } else {
        f.hdu(0).unwrap()
    };
    let values = ramp();
    match kind {
        ImageType::UnsignedByte => {
            hdu.write_image(&mut f, &values.iter().map(|&v| v as u8).collect::<Vec<_>>())
        }
        ImageType::Short => hdu.write_image(
            &mut f,
            &values.iter().map(|&v| v as i16 - 20).collect::<Vec<_>>(),
        ),
        ImageType::UnsignedShort => hdu.write_image(
            &mut f,
            &values.iter().map(|&v| v as u16 + 40000).collect::<Vec<_>>(),
        ),
        ImageType::Long => hdu.write_image(
            &mut f,
            &values
                .iter()
                .map(|&v| v as i32 - 100000)
                .collect::<Vec<_>>(),
        ),
        ImageType::UnsignedLong => hdu.write_image(
            &mut f,
            &values
                .iter()
                .map(|&v| v as u32 + 3_000_000_000)
                .collect::<Vec<_>>(),
        ),
        ImageType::Float => hdu.write_image(
            &mut f,
            &values.iter().map(|&v| v as f32 + 0.5).collect::<Vec<_>>(),
        ),
        ImageType::Double => hdu.write_image(
            &mut f,
            &values.iter().map(|&v| v + 0.25).collect::<Vec<_>>(),
        ),
        other => panic!("{other:?} not used"),
    }
    .unwrap();
    hdu.write_key(&mut f, "HIERARCH ESO DPR TYPE", "BIAS")
        .unwrap();
    if let Some((bscale, bzero)) = scale {
        hdu.write_key(&mut f, "BSCALE", bscale).unwrap();
        hdu.write_key(&mut f, "BZERO", bzero).unwrap();
    }
}

/// The window rows 1..4, cols 2..5 of the ramp, transformed by `physical`.
fn expected(physical: impl Fn(f64) -> f64) -> Vec<f64> {
    let r = ramp();
    (1..4)
        .flat_map(|row| (2..5).map(move |col| (row, col)))
        .map(|(row, col)| physical(r[row * COLS + col]))
        .collect()
}

fn check(path: &Path, hdu: usize, physical: impl Fn(f64) -> f64) {
    let frame = read_frame_header(path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(frame.image.index, hdu, "{}", path.display());
    assert_eq!(frame.image.shape, (ROWS, COLS));
    assert_eq!(
        frame
            .header_value("ESO DPR TYPE")
            .and_then(|v| v.as_text())
            .as_deref(),
        Some("BIAS")
    );
    for integers in [false, true] {
        let window = match read_window(path, hdu, 1..4, 2..5, integers).unwrap() {
            mbias::fits::Pixels::U16(v) => v.into_iter().map(f64::from).collect(),
            mbias::fits::Pixels::F32(v) => v.into_iter().map(f64::from).collect(),
            mbias::fits::Pixels::F64(v) => v,
        };
        assert_eq!(window, expected(&physical), "{}", path.display());
    }
}

#[test]
fn every_bitpix_with_offsets_reads_as_physical_values() {
    let dir = tempfile::tempdir().unwrap();
    type Case = (&'static str, ImageType, fn(f64) -> f64);
    let cases: [Case; 7] = [
        ("u8.fits", ImageType::UnsignedByte, |v| v),
        ("i16.fits", ImageType::Short, |v| v - 20.0),
        ("u16.fits", ImageType::UnsignedShort, |v| v + 40000.0),
        ("i32.fits", ImageType::Long, |v| v - 100000.0),
        ("u32.fits", ImageType::UnsignedLong, |v| v + 3.0e9),
        ("f32.fits", ImageType::Float, |v| v + 0.5),
        ("f64.fits", ImageType::Double, |v| v + 0.25),
    ];
    for (name, kind, physical) in cases {
        let path = dir.path().join(name);
        write(path.to_str().unwrap(), kind, false, None);
        check(&path, 0, physical);
    }
}

#[test]
fn bscale_and_bzero_keywords_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scaled.fits");
    write(
        path.to_str().unwrap(),
        ImageType::Short,
        false,
        Some((2.0, 10.0)),
    );
    check(&path, 0, |v| (v - 20.0) * 2.0 + 10.0);
}

#[test]
fn image_in_an_extension_gzip_and_tile_compression() {
    let dir = tempfile::tempdir().unwrap();
    let ext = dir.path().join("mef.fits");
    write(ext.to_str().unwrap(), ImageType::UnsignedShort, true, None);
    check(&ext, 1, |v| v + 40000.0);

    let gz = dir.path().join("frame.fits.gz");
    write(gz.to_str().unwrap(), ImageType::UnsignedShort, false, None);
    let magic = std::fs::read(&gz).unwrap();
    assert_eq!(&magic[..2], &[0x1f, 0x8b], "cfitsio wrote gzip");
    check(&gz, 0, |v| v + 40000.0);

    let fz = dir.path().join("frame.fits.fz");
    let spec = format!("{}[compress R]", fz.display());
    write(&spec, ImageType::UnsignedShort, true, None);
    check(&fz, 1, |v| v + 40000.0);
}

#[test]
fn non_fits_and_headerless_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.fits");
    std::fs::write(&text, "hello").unwrap();
    let e = read_frame_header(&text).unwrap_err().to_string();
    assert!(e.contains("notes.fits"), "{e}");
    let empty = dir.path().join("empty.fits");
    FitsFile::create(empty.to_str().unwrap()).open().unwrap();
    let e = read_frame_header(&empty).unwrap_err().to_string();
    assert!(e.contains("no HDU holds a 2-D image"), "{e}");
    let bracket = dir.path().join("a[1].fits");
    assert!(
        read_frame_header(&bracket)
            .unwrap_err()
            .to_string()
            .contains("'['")
    );
}

/// Writes testcam frame `index` as 16-bit integers with a `BLANK` card: in the primary
/// HDU, or tile-compressed in an extension.
fn integer_frame_with_blank(dir: &Path, index: usize, compressed: bool) {
    let path = dir.join(format!("bias{index}.fits"));
    let description = ImageDescription {
        data_type: ImageType::UnsignedShort,
        dimensions: &[common::testcam::ROWS, common::testcam::COLS],
    };
    let (mut file, hdu) = if compressed {
        let spec = format!("{}.fz[compress R]", path.display());
        let mut file = FitsFile::create(spec).open().unwrap();
        let hdu = file.create_image("CHIP1", &description).unwrap();
        (file, hdu)
    } else {
        let mut file = FitsFile::create(&path)
            .with_custom_primary(&description)
            .open()
            .unwrap();
        let hdu = file.primary_hdu().unwrap();
        (file, hdu)
    };
    common::testcam::write_keys(&mut file, &hdu, index, &[("IMAGETYP", "BIAS")]);
    hdu.write_key(&mut file, "BLANK", 0i64).unwrap();
    let values: Vec<u16> = common::testcam::pixels(index)
        .iter()
        .map(|v| v.round() as u16)
        .collect();
    hdu.write_image(&mut file, &values).unwrap();
}

#[test]
fn a_product_carries_none_of_the_raw_storage_cards_blank_above_all() {
    for compressed in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("raw");
        std::fs::create_dir(&raw).unwrap();
        for i in 0..3 {
            integer_frame_with_blank(&raw, i, compressed);
        }
        let settings = dir.path().join("settings.yaml");
        std::fs::write(&settings, common::testcam::SETTINGS).unwrap();
        let out = dir.path().join("out");
        let run = common::mbias(&[
            "stack",
            raw.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--settings",
            settings.to_str().unwrap(),
            "--no-plot",
        ]);
        assert!(run.status.success(), "{}", common::stderr(&run));
        assert_eq!(common::listing(&out).len(), 1, "the product alone");
        let product = std::fs::read_dir(&out).unwrap().next().unwrap().unwrap();
        let file = read_frame_header(&product.path()).unwrap();
        assert_eq!(file.images.len(), 3, "FLUX, QUAL, ERRS");
        let first = read_frame_header(&raw.join(if compressed {
            "bias0.fits.fz"
        } else {
            "bias0.fits"
        }))
        .unwrap();
        assert!(
            first.images[0].header.get("BLANK").is_some(),
            "the raw has one"
        );
        for image in &file.images {
            let keys: Vec<&str> = image.header.cards.iter().map(|c| c.key.as_str()).collect();
            for key in [
                "BLANK", "BZERO", "BSCALE", "ZIMAGE", "ZBITPIX", "ZTILE1", "TFORM1",
            ] {
                assert!(
                    !keys.contains(&key),
                    "{key} in HDU {} (compressed raws: {compressed})",
                    image.index
                );
            }
        }
        let flux = &file.images[0].header;
        assert_eq!(
            flux.text("INSTRUME").as_deref(),
            Some("TESTCAM"),
            "the rest kept"
        );
    }
}
