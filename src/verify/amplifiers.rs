//! A profile's amplifiers resolved for a set: each section read (from the profile or a
//! header keyword), turned as the frame is turned, checked against the image, the
//! science window and the other amplifiers, and placed in the master's pixels.

use std::ops::Range;

use super::{AmplifierPlan, Collector, Finding, Problem, Severity};
use crate::detector::{Profile, Section, SectionSource, SectionSpec};
use crate::fits::{FrameFile, Header};

/// The image a section is checked against: its stored shape and the profile's turn.
struct Image {
    shape: (usize, usize),
    rotation: u16,
}

impl Image {
    /// A stored-image section as it lies in the rotated frame.
    fn rotated(&self, section: Section) -> Section {
        if self.rotation != 180 {
            return section;
        }
        section.half_turned(self.shape)
    }
}

/// Whether two ranges share an index.
fn meet(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// Whether two sections share a pixel.
pub(super) fn overlap(a: &Section, b: &Section) -> bool {
    meet(&a.rows, &b.rows) && meet(&a.cols, &b.cols)
}

/// The section `source` names for the frame of `header`, in the rotated frame, or the
/// finding that says why it cannot be had.
fn resolve(
    source: &SectionSource,
    what: &str,
    header: &Header,
    image: &Image,
) -> Result<Section, Box<Finding>> {
    let (spec, keyword) = match source {
        SectionSource::Fixed(spec) => (*spec, None),
        SectionSource::Keyword(keyword) => {
            let text = header.text(keyword).ok_or_else(|| {
                Box::new(
                    Finding::new(
                        Severity::Error,
                        Problem::AmplifierSection,
                        format!("the {what} is read from {keyword}, which the header lacks"),
                    )
                    .keyword(keyword),
                )
            })?;
            let spec = SectionSpec::parse(&text).map_err(|e| {
                Box::new(
                    Finding::new(
                        Severity::Error,
                        Problem::AmplifierSection,
                        format!("the {what}: {e}"),
                    )
                    .keyword(keyword)
                    .seen(text.clone()),
                )
            })?;
            (spec, Some(keyword.as_str()))
        }
    };
    let section = spec.within(image.shape).ok_or_else(|| {
        let (rows, cols) = image.shape;
        let finding = Finding::new(
            Severity::Error,
            Problem::AmplifierSection,
            format!("the {what} {spec} does not fit in the {cols}x{rows} image"),
        )
        .seen(spec.to_string())
        .expected(format!("a section inside [1:{cols},1:{rows}]"));
        Box::new(match keyword {
            Some(k) => finding.keyword(k),
            None => finding,
        })
    })?;
    Ok(image.rotated(section))
}

/// The amplifiers of `profile` for the set whose first frame is `first` and whose science
/// window is `window` (rows, columns of the rotated frame), with the set's `gain` and
/// `ron` where an amplifier gives none. Problems go to `out` as errors (tagged with the
/// frame); the amplifiers are then left out.
pub(super) fn plan_amplifiers(
    out: &mut Collector,
    profile: &Profile,
    first: &FrameFile,
    (window_rows, window_cols): (&Range<usize>, &Range<usize>),
    (gain, ron): (f64, f64),
) -> Vec<AmplifierPlan> {
    if profile.amplifiers.is_empty() {
        return Vec::new();
    }
    let header = first.merged_header();
    let image = Image {
        shape: first.image.shape,
        rotation: profile.rotation,
    };
    let window = Section {
        rows: window_rows.clone(),
        cols: window_cols.clone(),
    };
    let mut planned: Vec<AmplifierPlan> = Vec::new();
    let mut failed = false;
    let mut fail = |out: &mut Collector, finding: Finding| {
        out.push(finding.file(&first.path));
        failed = true;
    };
    for amp in &profile.amplifiers {
        let name = &amp.name;
        let data = match resolve(
            &amp.data,
            &format!("data section of {name}"),
            &header,
            &image,
        ) {
            Ok(data) => data,
            Err(finding) => {
                fail(out, *finding);
                continue;
            }
        };
        let strip = |source: &Option<SectionSource>, what: &str| {
            source
                .as_ref()
                .map(|s| resolve(s, &format!("{what} of {name}"), &header, &image))
                .transpose()
        };
        let (overscan, prescan) = match (
            strip(&amp.overscan, "overscan"),
            strip(&amp.prescan, "prescan"),
        ) {
            (Ok(o), Ok(p)) => (o, p),
            (Err(finding), _) | (_, Err(finding)) => {
                fail(out, *finding);
                continue;
            }
        };
        let inside = window.rows.start <= data.rows.start
            && data.rows.end <= window.rows.end
            && window.cols.start <= data.cols.start
            && data.cols.end <= window.cols.end;
        if !inside {
            fail(
                out,
                Finding::new(
                    Severity::Error,
                    Problem::AmplifierSection,
                    format!(
                        "the data section of {name} {} is not inside the science window {}: \
                         the master holds the window only",
                        data, window
                    ),
                )
                .seen(data.to_string())
                .expected(format!("inside {}", window)),
            );
            continue;
        }
        let strips = [&overscan, &prescan];
        let clash = planned
            .iter()
            .find(|other| overlap(&other.raw_data, &data))
            .map(|other| format!("overlaps the data section of {}", other.name))
            .or_else(|| {
                strips
                    .iter()
                    .flat_map(|s| s.iter())
                    .find(|s| overlap(s, &data) || overlap(s, &window))
                    .map(|s| format!("has its strip {} over the data or the window", s))
            });
        if let Some(clash) = clash {
            fail(
                out,
                Finding::new(
                    Severity::Error,
                    Problem::AmplifierSection,
                    format!("amplifier {name} {clash}"),
                ),
            );
            continue;
        }
        let value = |q: &Option<crate::detector::Quantity>, fallback: f64| {
            q.as_ref()
                .and_then(|q| q.read(&header).or(q.value))
                .unwrap_or(fallback)
        };
        planned.push(AmplifierPlan {
            name: name.clone(),
            data: Section {
                rows: data.rows.start - window.rows.start..data.rows.end - window.rows.start,
                cols: data.cols.start - window.cols.start..data.cols.end - window.cols.start,
            },
            raw_data: data,
            overscan,
            prescan,
            gain: value(&amp.gain, gain),
            ron: value(&amp.ron, ron),
        });
    }
    if failed { Vec::new() } else { planned }
}
