//! soxspipe 0.19's bias-distribution QC plot, as SVG: the raw frame's and the master's
//! pixel-flux histograms (log counts) on the same bins, a solid line at each mean and a
//! dotted one at each median, and the table of mean, median and RON below. SVG rather
//! than soxspipe's PDF: no maintained Rust crate writes PDF plots without a system
//! library, and every browser and image viewer shows SVG.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::qc::BiasDistribution;

/// The plot's file beside a product: soxspipe's name with `.svg` for `.pdf`, and the
/// extension's name for one image of a multi-extension product.
pub fn plot_path(product: &Path, extension: Option<&str>) -> PathBuf {
    let name = crate::fits::frame_name(product);
    let stem = name.strip_suffix(".fits").unwrap_or(&name);
    let part = extension.map(|e| format!("_{e}")).unwrap_or_default();
    product.with_file_name(format!("{stem}{part}_BIAS_DISTRIBUTION_QC_PLOT.svg"))
}

/// The plots that stand beside `product`, one per image (`extensions`: each image's
/// extension name, `None` for a single-image product).
pub fn plots_beside<'a>(
    product: &Path,
    extensions: impl ExactSizeIterator<Item = Option<&'a str>>,
) -> Vec<PathBuf> {
    let several = extensions.len() > 1;
    extensions
        .map(|e| plot_path(product, e.filter(|_| several)))
        .filter(|p| p.is_file())
        .collect()
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 560.0;
/// The axes' box.
const LEFT: f64 = 80.0;
const RIGHT: f64 = 610.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 350.0;
const RAW_COLOUR: &str = "#1f77b4";
const MASTER_COLOUR: &str = "#ff7f0e";

/// The plot of `d` for frames of `arm` (empty for a generic detector).
pub fn svg(d: &BiasDistribution, arm: &str) -> String {
    let mut out = String::new();
    let (low, high) = (d.edges[0], d.edges[d.edges.len() - 1]);
    let x = |v: f64| LEFT + (v - low) / (high - low) * (RIGHT - LEFT);
    let most = d
        .raw_counts
        .iter()
        .chain(&d.master_counts)
        .copied()
        .max()
        .unwrap_or(1)
        .max(1);
    let decades = (most as f64).log10().ceil().max(1.0);
    // Log counts from 1 (bottom) to the decade above the largest count.
    let y = |count: f64| BOTTOM - count.max(1.0).log10() / decades * (BOTTOM - TOP);
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
    );
    let title = format!("{arm} bias pixel-flux distribution (solid: mean, dotted: median)");
    let _ = writeln!(
        out,
        r#"<text x="{}" y="24" font-size="13" text-anchor="middle">{}</text>"#,
        (LEFT + RIGHT) / 2.0,
        escape(title.trim())
    );
    for (counts, colour) in [
        (&d.raw_counts, RAW_COLOUR),
        (&d.master_counts, MASTER_COLOUR),
    ] {
        let _ = writeln!(out, "{}", step_area(counts, &d.edges, colour, &x, &y));
    }
    for (mean, median, colour) in [
        (d.raw_mean, d.raw_median, RAW_COLOUR),
        (d.master_mean, d.master_median, MASTER_COLOUR),
    ] {
        for (value, dash) in [(mean, ""), (median, r#" stroke-dasharray="2,3""#)] {
            if (low..=high).contains(&value) {
                let _ = writeln!(
                    out,
                    r#"<line x1="{0:.2}" y1="{TOP}" x2="{0:.2}" y2="{BOTTOM}" stroke="{colour}" stroke-width="1"{dash}/>"#,
                    x(value)
                );
            }
        }
    }
    axes(&mut out, low, high, decades, &x, &y);
    legend(&mut out);
    table(&mut out, d);
    out.push_str("</svg>\n");
    out
}

/// A filled step outline of `counts` over `edges`.
fn step_area(
    counts: &[u64],
    edges: &[f64],
    colour: &str,
    x: &impl Fn(f64) -> f64,
    y: &impl Fn(f64) -> f64,
) -> String {
    let mut path = format!("M{:.2},{BOTTOM}", x(edges[0]));
    for (i, &count) in counts.iter().enumerate() {
        let top = if count == 0 { BOTTOM } else { y(count as f64) };
        let _ = write!(
            path,
            " L{:.2},{top:.2} L{:.2},{top:.2}",
            x(edges[i]),
            x(edges[i + 1])
        );
    }
    let _ = write!(path, " L{:.2},{BOTTOM} Z", x(edges[edges.len() - 1]));
    format!(r#"<path d="{path}" fill="{colour}" fill-opacity="0.4" stroke="none"/>"#)
}

/// The box, the flux ticks below and the decades of counts at the left.
fn axes(
    out: &mut String,
    low: f64,
    high: f64,
    decades: f64,
    x: &impl Fn(f64) -> f64,
    y: &impl Fn(f64) -> f64,
) {
    let _ = writeln!(
        out,
        r#"<rect x="{LEFT}" y="{TOP}" width="{}" height="{}" fill="none" stroke="black"/>"#,
        RIGHT - LEFT,
        BOTTOM - TOP
    );
    let step = nice_step((high - low) / 5.0);
    let mut tick = (low / step).ceil() * step;
    while tick <= high {
        let _ = writeln!(
            out,
            r#"<line x1="{0:.2}" y1="{BOTTOM}" x2="{0:.2}" y2="{1}" stroke="black"/><text x="{0:.2}" y="{2}" font-size="11" text-anchor="middle">{3}</text>"#,
            x(tick),
            BOTTOM + 5.0,
            BOTTOM + 18.0,
            trim_number(tick)
        );
        tick += step;
    }
    for decade in 0..=decades as u32 {
        let yy = y(10f64.powi(decade as i32));
        let _ = writeln!(
            out,
            r#"<line x1="{LEFT}" y1="{yy:.2}" x2="{}" y2="{yy:.2}" stroke="black"/><text x="{}" y="{:.2}" font-size="11" text-anchor="end">10^{decade}</text>"#,
            LEFT - 5.0,
            LEFT - 8.0,
            yy + 4.0
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" font-size="12" text-anchor="middle">flux (e-)</text>"#,
        (LEFT + RIGHT) / 2.0,
        BOTTOM + 36.0
    );
    let _ = writeln!(
        out,
        r#"<text x="20" y="{0}" font-size="12" text-anchor="middle" transform="rotate(-90 20 {0})">pixel count</text>"#,
        (TOP + BOTTOM) / 2.0
    );
}

fn legend(out: &mut String) {
    for (i, (label, colour)) in [
        ("raw frame (earliest by MJD-OBS)", RAW_COLOUR),
        ("master bias", MASTER_COLOUR),
    ]
    .iter()
    .enumerate()
    {
        let yy = TOP + 12.0 + 16.0 * i as f64;
        let _ = writeln!(
            out,
            r#"<rect x="{}" y="{}" width="14" height="9" fill="{colour}" fill-opacity="0.4"/><text x="{}" y="{}" font-size="10">{label}</text>"#,
            RIGHT - 190.0,
            yy - 8.0,
            RIGHT - 172.0,
            yy
        );
    }
}

/// soxspipe's table: mean, median and RON of the raw frame and the master, and the RAW
/// RON QC, to two decimals (a dash where a value does not apply).
fn table(out: &mut String, d: &BiasDistribution) {
    let dash = "\u{2014}".to_string();
    let two = |v: f64| format!("{v:.2}");
    let rows = [
        ["", "mean (e-)", "median (e-)", "RON (e-)"].map(str::to_string),
        [
            "raw frame".into(),
            two(d.raw_mean),
            two(d.raw_median),
            two(d.raw_ron),
        ],
        [
            "master bias".into(),
            two(d.master_mean),
            two(d.master_median),
            two(d.master_ron),
        ],
        [
            "RAW RON (QC)".into(),
            dash.clone(),
            dash.clone(),
            d.raw_ron_qc.map_or(dash, two),
        ],
    ];
    let (top, row_height) = (BOTTOM + 60.0, 22.0);
    let widths = [170.0, 120.0, 120.0, 120.0];
    for (r, row) in rows.iter().enumerate() {
        let yy = top + row_height * r as f64;
        let mut left = LEFT;
        for (c, cell) in row.iter().enumerate() {
            let _ = writeln!(
                out,
                r##"<rect x="{left}" y="{yy}" width="{}" height="{row_height}" fill="none" stroke="#cccccc" stroke-width="0.6"/>"##,
                widths[c]
            );
            let (anchor, tx) = if c == 0 {
                ("start", left + 5.0)
            } else {
                ("end", left + widths[c] - 5.0)
            };
            let weight = if r == 0 { r#" font-weight="bold""# } else { "" };
            let _ = writeln!(
                out,
                r#"<text x="{tx}" y="{}" font-size="11" text-anchor="{anchor}"{weight}>{}</text>"#,
                yy + 15.0,
                escape(cell)
            );
            left += widths[c];
        }
    }
}

/// 1, 2 or 5 times a power of ten, at least `rough`.
fn nice_step(rough: f64) -> f64 {
    if !(rough.is_finite() && rough > 0.0) {
        return 1.0;
    }
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&s| s >= rough)
        .unwrap_or(10.0 * power)
}

/// A tick label without a float's noise (`1120`, `1117.5`).
fn trim_number(v: f64) -> String {
    let text = format!("{v:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `text` safe inside SVG's text and attributes.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distribution() -> BiasDistribution {
        BiasDistribution {
            edges: (0..=100).map(|i| 1100.0 + 0.4 * f64::from(i)).collect(),
            raw_counts: (0..100)
                .map(|i| 1000 - (i as i64 - 50).unsigned_abs() * 20)
                .collect(),
            master_counts: (0..100)
                .map(|i| if (45..55).contains(&i) { 50_000 } else { 0 })
                .collect(),
            raw_mean: 1119.65,
            raw_median: 1120.0,
            raw_ron: 4.24,
            master_mean: 1121.2,
            master_median: 1121.2,
            master_ron: 1.74,
            raw_ron_qc: None,
        }
    }

    #[test]
    fn the_plot_holds_both_histograms_the_lines_and_the_table() {
        let svg = svg(&distribution(), "VIS");
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<path ").count(), 2);
        assert!(svg.contains("VIS bias pixel-flux distribution (solid: mean, dotted: median)"));
        for cell in [
            "1119.65",
            "1120.00",
            "4.24",
            "1121.20",
            "1.74",
            "RAW RON (QC)",
            "10^5",
        ] {
            assert!(svg.contains(cell), "{cell}");
        }
        // No RAW RON QC for a single frame: a dash.
        assert_eq!(svg.matches('\u{2014}').count(), 3);
    }

    #[test]
    fn the_file_takes_soxspipes_name() {
        let product = Path::new("/out/20251010T091927_VIS_1X1_1_MBIAS_SOXS.fits");
        assert_eq!(
            plot_path(product, None),
            Path::new("/out/20251010T091927_VIS_1X1_1_MBIAS_SOXS_BIAS_DISTRIBUTION_QC_PLOT.svg")
        );
        assert_eq!(
            plot_path(product, Some("AMP1")),
            Path::new(
                "/out/20251010T091927_VIS_1X1_1_MBIAS_SOXS_AMP1_BIAS_DISTRIBUTION_QC_PLOT.svg"
            )
        );
        assert_eq!(
            plot_path(Path::new("a/P.fits.gz"), None).with_extension("pdf"),
            Path::new("a/P_BIAS_DISTRIBUTION_QC_PLOT.pdf")
        );
        assert_eq!(nice_step(1.7), 2.0);
        assert_eq!(trim_number(1117.5), "1117.5");
    }
}
