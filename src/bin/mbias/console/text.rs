//! Text fitted to the cells it is drawn in.

/// Shortens `text` to `width` characters by taking out its middle: frame names differ
/// at their ends (the instrument at the start, the time or the number at the end).
pub fn middle(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_string();
    }
    if width < 3 {
        return text.chars().take(width).collect();
    }
    let tail = (width - 1) / 2;
    let head = width - 1 - tail;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(count - tail).collect();
    format!("{start}…{end}")
}

/// A path's file name, where the whole path is too long to say (the path itself when it
/// has none).
pub fn file_name(path: &std::path::Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Names shortened to `width` so that they stay apart: what they all begin with goes
/// first (ESO names share the instrument and the date; the time tells them apart), then,
/// where that is not enough, their middle.
pub fn apart(names: &[&str], width: usize) -> Vec<String> {
    let shared = names
        .iter()
        .map(|n| n.chars().collect::<Vec<_>>())
        .reduce(|a, b| {
            a.iter()
                .zip(&b)
                .take_while(|(x, y)| x == y)
                .map(|(x, _)| *x)
                .collect()
        })
        .map_or(0, |common| common.len());
    names
        .iter()
        .map(|name| {
            let chars: Vec<char> = name.chars().collect();
            if chars.len() <= width || width < 2 {
                return middle(name, width);
            }
            let start = shared.min(chars.len() + 1 - width);
            if start == 0 {
                return middle(name, width);
            }
            let rest: String = chars[start..].iter().collect();
            middle(&format!("…{rest}"), width)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_names_lose_their_middle() {
        assert_eq!(super::middle("SOXS.fits", 20), "SOXS.fits");
        assert_eq!(
            super::middle("SOXS.2025-10-10T09:19:27.000.fits.gz", 21),
            "SOXS.2025-…00.fits.gz"
        );
        let cut = super::middle("abcdefghijklmnopqrstuvwxyz", 9);
        assert_eq!(cut, "abcd…wxyz");
        assert_eq!(cut.chars().count(), 9);
    }

    #[test]
    fn names_stay_apart() {
        let names = [
            "SOXS.2025-10-10T09:19:27.000",
            "SOXS.2025-10-10T09:20:27.000",
        ];
        assert_eq!(super::apart(&names, 12), ["…9:19:27.000", "…9:20:27.000"]);
        assert_eq!(super::apart(&names, 40), names);
        assert_eq!(
            super::apart(&["a-very-long-name", "b"], 8),
            ["a-ve…ame", "b"]
        );
    }
}
