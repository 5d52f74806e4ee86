//! IRAF's `minmax` rejection through the binary: chosen and tuned from settings keys alone,
//! it drops exactly the counts asked for at every pixel, and the product records them.

mod common;

use common::{mbias, stderr, stdout};
use mbias::detector;
use mbias::simulate::{self, Spec};

#[test]
fn minmax_rejects_the_counts_asked_for_and_the_product_records_them() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let profile = detector::by_name("soxs-vis").unwrap();
    simulate::simulate(&raw, &Spec::biases(profile, 5, 7)).unwrap();
    let out = dir.path().join("out");
    let run = mbias(&[
        "stack",
        raw.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--json",
        "--set",
        "mbias.rejection=minmax",
        "--set",
        "mbias.minmax-low=2",
        // soxspipe 0.17's stack: every frame's value takes part at every pixel (0.19
        // leaves out those a frame's own clip masked, so a pixel may have fewer).
        "--recipe",
        "soxspipe-0.17",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    assert_eq!(doc["settings"]["rejection"], "minmax");

    // Two low and one high value go at every pixel of the five frames.
    let frames = doc["frames"].as_array().unwrap();
    let rejected: u64 = frames
        .iter()
        .map(|f| f["stack_rejected"].as_u64().unwrap())
        .sum();
    let product = doc["product"].as_str().unwrap();
    let header = mbias::fits::read_frame_header(product.as_ref()).unwrap();
    let pixels = header.image.shape.0 * header.image.shape.1;
    assert_eq!(rejected, 3 * pixels as u64);

    let params: Vec<(String, String)> = (1..=20)
        .filter_map(|i| {
            let name = header.header_value(&format!("ESO PRO REC1 PARAM{i} NAME"))?;
            let value = header.header_value(&format!("ESO PRO REC1 PARAM{i} VALUE"))?;
            Some((name.to_string(), value.to_string()))
        })
        .collect();
    for (key, value) in [
        ("rejection", "minmax"),
        ("minmax-low", "2"),
        ("minmax-high", "1"),
    ] {
        assert!(
            params
                .iter()
                .any(|(k, v)| k.contains(key) && v.contains(value)),
            "{key} = {value} in {params:?}"
        );
    }

    // A count that is not a whole number is refused by its key.
    let bad = mbias(&[
        "stack",
        raw.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--set",
        "mbias.rejection=minmax",
        "--set",
        "mbias.minmax-high=1.5",
    ]);
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("minmax-high = 1.5"),
        "{}",
        stderr(&bad)
    );
}
