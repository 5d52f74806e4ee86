//! Raw frames as the ESO archive ships them, `.fits.Z` (Unix compress): found in folders
//! and SOFs like `.fits.gz`, and stacked to the same product.

mod common;

use std::io::Read;

use common::{mbias, stderr, stdout};

#[test]
#[ignore = "needs ../shared (the soxspipe oracle data); .ci/run includes it when present"]
fn compressed_archive_frames_are_found_and_stack_like_their_gzip_copies() {
    let shared = common::shared();
    let raw = shared.join("oracle/soxs-vis-7/raw");
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    std::fs::create_dir(&archive).unwrap();
    for entry in std::fs::read_dir(&raw).unwrap() {
        let path = entry.unwrap().path();
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
            .read_to_end(&mut plain)
            .unwrap();
        let name = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".gz", ".Z");
        std::fs::write(archive.join(name), common::unix_compress(&plain)).unwrap();
    }

    let validate = mbias(&["validate", archive.to_str().unwrap()]);
    assert_eq!(validate.status.code(), Some(0), "{}", stdout(&validate));
    assert!(
        stdout(&validate).contains("ok: 7 bias frame(s)"),
        "{}",
        stdout(&validate)
    );

    let stack = |input: &std::path::Path, out: &str| {
        let out = dir.path().join(out);
        let run = mbias(&[
            "stack",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
        let product = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "fits"))
            .unwrap();
        let mut file = fitsio::FitsFile::open(&product).unwrap();
        let flux = file.hdu("FLUX").unwrap();
        let values: Vec<f32> = flux.read_image(&mut file).unwrap();
        let names: Vec<String> = (1..=7)
            .map(|i| {
                let primary = file.primary_hdu().unwrap();
                primary
                    .read_key::<String>(&mut file, &format!("HIERARCH ESO PRO REC1 RAW{i} NAME"))
                    .unwrap()
            })
            .collect();
        (values, names)
    };
    let (from_z, names) = stack(&archive, "from-z");
    let (from_gz, gz_names) = stack(&raw, "from-gz");
    assert!(
        from_z == from_gz,
        "the same master from .fits.Z as from .fits.gz"
    );
    assert_eq!(names, gz_names, "raw names without the compression suffix");
    assert!(names[0].ends_with(".fits"), "{names:?}");
}
