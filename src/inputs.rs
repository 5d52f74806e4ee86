//! Turning what the user named (folders, SOF files, frames) into a list of frame files.

use std::path::{Path, PathBuf};

use crate::error::InputError;
use crate::fits::has_fits_name;

/// The frames to work on, and what was passed over on the way.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputSet {
    pub files: Vec<PathBuf>,
    /// The SOF, when the set came from exactly one: soxspipe names the product after it.
    pub sof: Option<PathBuf>,
    /// Files in a scanned folder whose names are not FITS names.
    pub ignored: Vec<PathBuf>,
}

/// One `path TAG` line of a SOF.
#[derive(Debug, Clone, PartialEq)]
pub struct SofEntry {
    pub line: usize,
    pub path: PathBuf,
    pub tag: Option<String>,
}

/// Parses SOF text: one `path TAG` per line, `#` comments and blank lines skipped. As in
/// soxspipe only lines naming a `.fits` file are frames (the others are supplementary
/// products); unlike soxspipe, `.fits.gz` and `.fits.fz` keep their suffix.
pub fn parse_sof(text: &str) -> Vec<SofEntry> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let at = line.find(".fits")?;
            let end = line[at..]
                .find(char::is_whitespace)
                .map_or(line.len(), |e| at + e);
            let path = expand_home(line[..end].trim());
            let tag = line[end..].trim();
            Some(SofEntry {
                line: i + 1,
                path,
                tag: (!tag.is_empty()).then(|| tag.to_string()),
            })
        })
        .collect()
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), directories::BaseDirs::new()) {
        (Some(rest), Some(dirs)) => dirs.home_dir().join(rest),
        _ => PathBuf::from(path),
    }
}

/// Reads a SOF and resolves its paths: relative to the current folder first (soxspipe's
/// rule), then relative to the SOF's own folder.
pub fn read_sof(sof: &Path) -> Result<Vec<PathBuf>, InputError> {
    let text = std::fs::read_to_string(sof).map_err(|e| InputError::Unreadable {
        path: sof.to_path_buf(),
        source: e,
    })?;
    let entries = parse_sof(&text);
    if entries.is_empty() {
        return Err(InputError::EmptySof(sof.to_path_buf()));
    }
    let base = sof.parent().unwrap_or(Path::new(""));
    entries
        .into_iter()
        .map(|entry| {
            let beside = (!entry.path.is_absolute()).then(|| base.join(&entry.path));
            [Some(entry.path.clone()), beside]
                .into_iter()
                .flatten()
                .find(|candidate| candidate.exists())
                .ok_or(InputError::SofMissingFile {
                    sof: sof.to_path_buf(),
                    line: entry.line,
                    listed: entry.path,
                })
        })
        .collect()
}

pub fn is_sof(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("sof"))
}

/// Files of a folder: FITS names as frames, other visible files as ignored, sorted by name.
pub fn scan_folder(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), InputError> {
    let unreadable = |e| InputError::Unreadable {
        path: dir.to_path_buf(),
        source: e,
    };
    let mut frames = Vec::new();
    let mut ignored = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        // Folders are not frames; a FITS name that cannot be followed (a broken link, a
        // link loop) is kept, so reading it reports why instead of it vanishing.
        if hidden || std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        if has_fits_name(&path) {
            frames.push(path);
        } else if !is_sof(&path) {
            ignored.push(path);
        }
    }
    frames.sort();
    ignored.sort();
    Ok((frames, ignored))
}

/// Collects the frames named by `inputs` (folders, SOFs, frames, in any mix).
pub fn collect(inputs: &[PathBuf]) -> Result<InputSet, InputError> {
    if inputs.is_empty() {
        return Err(InputError::NoInputs);
    }
    let mut set = InputSet::default();
    let mut sofs = 0;
    for input in inputs {
        match std::fs::metadata(input) {
            Ok(m) if m.is_dir() => {
                let (frames, ignored) = scan_folder(input)?;
                set.files.extend(frames);
                set.ignored.extend(ignored);
            }
            Ok(m) if m.is_file() && is_sof(input) => {
                set.files.extend(read_sof(input)?);
                set.sof = Some(input.clone());
                sofs += 1;
            }
            // Anything else named is a frame: reading it says what is wrong with it.
            Ok(_) => set.files.push(input.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(InputError::NotFound(input.clone()));
            }
            Err(e) => {
                return Err(InputError::Unreadable {
                    path: input.clone(),
                    source: e,
                });
            }
        }
    }
    if sofs != 1 {
        set.sof = None;
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sof_lines_comments_tags_and_suffixes() {
        let text = "# a comment\n\n./raw/a.fits   BIAS_VIS\nraw/b.fits.gz BIAS_VIS\n  c.fits\n/data/DISP_MAP_VIS.csv DISP_MAP\nshort\n";
        let entries = parse_sof(text);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].path, PathBuf::from("./raw/a.fits"));
        assert_eq!(entries[0].tag.as_deref(), Some("BIAS_VIS"));
        assert_eq!(entries[0].line, 3);
        assert_eq!(entries[1].path, PathBuf::from("raw/b.fits.gz"));
        assert_eq!(entries[2].tag, None);
    }

    #[test]
    fn sof_paths_resolve_against_the_sof_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("raw")).unwrap();
        std::fs::write(dir.path().join("raw/a.fits"), b"x").unwrap();
        let sof = dir.path().join("set.sof");
        std::fs::write(&sof, "raw/a.fits BIAS_VIS\n").unwrap();
        assert_eq!(read_sof(&sof).unwrap(), vec![dir.path().join("raw/a.fits")]);
        std::fs::write(&sof, "raw/missing.fits BIAS_VIS\n").unwrap();
        let e = read_sof(&sof).unwrap_err();
        assert!(e.to_string().contains("line 1") && e.to_string().contains("missing.fits"));
        std::fs::write(&sof, "# nothing\n").unwrap();
        assert!(matches!(read_sof(&sof), Err(InputError::EmptySof(_))));
    }

    #[test]
    fn folders_list_fits_names_and_ignore_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "b.fits",
            "a.fits.gz",
            "notes.txt",
            ".hidden.fits",
            "x.fz",
            "c.fits.Z",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let set = collect(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<_> = set
            .files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.fits.gz", "b.fits", "c.fits.Z", "x.fz"]);
        assert_eq!(set.ignored, vec![dir.path().join("notes.txt")]);
        assert!(collect(&[dir.path().join("nope")]).is_err());
    }
}
