//! FITS header cards: parsing, typed lookup and formatting.
//!
//! Headers are kept as the ordered list of 80-character cards so a product can inherit
//! the first frame's header card for card. Lookups accept `ESO DPR TYPE` and
//! `HIERARCH ESO DPR TYPE` alike; when a keyword appears twice the first card wins
//! (real headers do this, e.g. Lick Kast's two `OBSTYPE` cards).

use std::fmt;

/// A keyword's value as written in the card.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A keyword with no value (`KEY     =` followed by blanks) or a commentary card.
    Empty,
}

impl Value {
    /// The value as a number, accepting numeric strings (`'1.4'`) that some writers emit.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(s) => finite_number(s.trim()),
            Value::Bool(_) | Value::Empty => None,
        }
    }

    /// The value as text; strings are trimmed, numbers rendered as written.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s.trim().to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(format_float(*f)),
            Value::Bool(b) => Some(if *b { "T" } else { "F" }.to_string()),
            Value::Empty => None,
        }
    }

    /// The FITS type name, for messages about values of the wrong type.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Bool(_) => "a logical",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a real number",
            Value::Empty => "empty",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write!(f, "'{}'", s.trim_end()),
            other => write!(f, "{}", other.as_text().unwrap_or_default()),
        }
    }
}

/// One header card.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    /// Keyword without the `HIERARCH ` prefix, e.g. `ESO DET BINX` or `NAXIS1`.
    pub key: String,
    pub value: Value,
    pub comment: String,
    /// The card as read (or as formatted), at most 80 characters.
    pub raw: String,
}

impl Card {
    /// Parses an 80-character header record.
    pub fn parse(record: &str) -> Card {
        let raw = record.trim_end().to_string();
        let (key, rest) = if let Some(body) = record.strip_prefix("HIERARCH ") {
            match body.split_once('=') {
                Some((k, v)) => (k.trim().to_string(), Some(v)),
                None => (body.trim().to_string(), None),
            }
        } else {
            let key = record.get(..8).unwrap_or(record).trim().to_string();
            let rest = record.get(8..).and_then(|r| r.strip_prefix("= "));
            (key, rest)
        };
        let (value, comment) = match rest {
            Some(rest) => parse_value(rest),
            None => (
                Value::Empty,
                record.get(8..).unwrap_or("").trim().to_string(),
            ),
        };
        Card {
            key,
            value,
            comment,
            raw,
        }
    }

    /// Builds a card, formatting it the way astropy does (HIERARCH for long or spaced keys).
    pub fn new(key: &str, value: Value, comment: &str) -> Card {
        let value_text = match &value {
            Value::Str(s) => {
                let escaped = s.replace('\'', "''");
                format!("'{escaped:<8}'")
            }
            Value::Empty => String::new(),
            other => other.as_text().unwrap_or_default(),
        };
        let hierarch = key.len() > 8 || key.contains(' ');
        let mut raw = if hierarch {
            format!("HIERARCH {key} = {value_text}")
        } else if matches!(value, Value::Str(_)) {
            format!("{key:<8}= {value_text:<20}")
        } else {
            format!("{key:<8}= {value_text:>20}")
        };
        if raw.len() > 80 {
            // Only over-long string values get here; keep the closing quote.
            raw.truncate(79);
            raw.push('\'');
        }
        if !comment.is_empty() && raw.len() + 3 < 80 {
            raw.push_str(" / ");
            raw.push_str(comment);
            raw.truncate(80);
        }
        let raw = raw.trim_end().to_string();
        Card {
            key: key.to_string(),
            value,
            comment: comment.to_string(),
            raw,
        }
    }
}

fn parse_value(rest: &str) -> (Value, String) {
    let text = rest.trim_start();
    if let Some(body) = text.strip_prefix('\'') {
        let mut value = String::new();
        let mut chars = body.char_indices().peekable();
        let mut end = body.len();
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if matches!(chars.peek(), Some((_, '\''))) {
                    value.push('\'');
                    chars.next();
                } else {
                    end = i + 1;
                    break;
                }
            } else {
                value.push(c);
            }
        }
        let comment = comment_after(&body[end.min(body.len())..]);
        return (Value::Str(value.trim_end().to_string()), comment);
    }
    let (token, comment) = match text.split_once('/') {
        Some((t, c)) => (t.trim(), c.trim().to_string()),
        None => (text.trim(), String::new()),
    };
    let value = match token {
        "" => Value::Empty,
        "T" => Value::Bool(true),
        "F" => Value::Bool(false),
        t => {
            if let Ok(i) = t.parse::<i64>() {
                Value::Int(i)
            } else if let Some(f) = finite_number(&t.replace(['D', 'd'], "E")) {
                Value::Float(f)
            } else {
                Value::Str(t.to_string())
            }
        }
    };
    (value, comment)
}

/// Rust reads `nan`, `inf` and overflowing exponents as floats; FITS has no such
/// numbers, and a gain of NaN would poison every pixel.
fn finite_number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn comment_after(text: &str) -> String {
    text.split_once('/')
        .map(|(_, c)| c.trim().to_string())
        .unwrap_or_default()
}

/// Formats a real number as Python's `repr` does (shortest round-trip digits), with a FITS
/// exponent letter.
pub fn format_float(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let s = format!("{v:?}");
    s.replace('e', "E")
}

/// An ordered list of cards.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Header {
    pub cards: Vec<Card>,
}

/// Why a required keyword could not be used.
#[derive(Debug, Clone, PartialEq)]
pub enum KeywordProblem {
    Missing,
    WrongType {
        found: Value,
        expected: &'static str,
    },
}

impl fmt::Display for KeywordProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeywordProblem::Missing => write!(f, "is missing"),
            KeywordProblem::WrongType { found, expected } => {
                write!(f, "is {} ({found}), expected {expected}", found.kind())
            }
        }
    }
}

fn normalise(key: &str) -> String {
    let key = key.trim();
    let key = key.strip_prefix("HIERARCH ").unwrap_or(key);
    key.to_ascii_uppercase()
}

impl Header {
    pub fn from_records<I: IntoIterator<Item = String>>(records: I) -> Header {
        Header {
            cards: records.into_iter().map(|r| Card::parse(&r)).collect(),
        }
    }

    /// The first card with this keyword.
    pub fn card(&self, key: &str) -> Option<&Card> {
        let key = normalise(key);
        self.cards.iter().find(|c| c.key.eq_ignore_ascii_case(&key))
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.card(key).map(|c| &c.value)
    }

    pub fn text(&self, key: &str) -> Option<String> {
        self.get(key).and_then(Value::as_text)
    }

    pub fn number(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(Value::as_f64)
    }

    /// A number that must be present and numeric.
    pub fn require_number(&self, key: &str) -> Result<f64, KeywordProblem> {
        match self.get(key) {
            None | Some(Value::Empty) => Err(KeywordProblem::Missing),
            Some(v) => v.as_f64().ok_or_else(|| KeywordProblem::WrongType {
                found: v.clone(),
                expected: "a number",
            }),
        }
    }

    /// Text that must be present (numbers are accepted and rendered).
    pub fn require_text(&self, key: &str) -> Result<String, KeywordProblem> {
        match self.get(key) {
            None | Some(Value::Empty) => Err(KeywordProblem::Missing),
            Some(v) => v.as_text().ok_or_else(|| KeywordProblem::WrongType {
                found: v.clone(),
                expected: "a string",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_values_are_not_numbers() {
        for record in [
            "GAIN    = NaN",
            "GAIN    = 'inf'",
            "GAIN    = -Infinity",
            "GAIN    = 1E999",
        ] {
            let card = Card::parse(record);
            assert_eq!(card.value.as_f64(), None, "{record}: {:?}", card.value);
        }
        assert_eq!(Card::parse("GAIN    = 1.5D0").value.as_f64(), Some(1.5));
    }

    #[test]
    fn parses_standard_and_hierarch_cards() {
        let h = Header::from_records([
            "NAXIS1  =                 2098".to_string(),
            "DATE-OBS= '2025-10-10T09:19:27.000' / Date of observation".to_string(),
            "HIERARCH ESO DPR TYPE = 'BIAS    ' / Observation type".to_string(),
            "HIERARCH ESO DET OUT1 CONAD = 1.4 / Conversion from ADUs to electrons".to_string(),
            "SIMPLE  =                    T / conforms".to_string(),
            "OBJECT  = 'it''s / not a comment' / real comment".to_string(),
            "EXPO    =               1.5D+01".to_string(),
        ]);
        assert_eq!(h.number("NAXIS1"), Some(2098.0));
        assert_eq!(
            h.text("DATE-OBS").as_deref(),
            Some("2025-10-10T09:19:27.000")
        );
        assert_eq!(h.text("ESO DPR TYPE").as_deref(), Some("BIAS"));
        assert_eq!(h.text("HIERARCH ESO DPR TYPE").as_deref(), Some("BIAS"));
        assert_eq!(h.card("ESO DPR TYPE").unwrap().comment, "Observation type");
        assert_eq!(h.number("eso det out1 conad"), Some(1.4));
        assert_eq!(h.get("SIMPLE"), Some(&Value::Bool(true)));
        let object = h.card("OBJECT").unwrap();
        assert_eq!(object.value, Value::Str("it's / not a comment".into()));
        assert_eq!(object.comment, "real comment");
        assert_eq!(h.number("EXPO"), Some(15.0));
    }

    #[test]
    fn first_duplicate_wins_and_types_are_checked() {
        let h = Header::from_records([
            "OBSTYPE = 'DARK    '".to_string(),
            "OBSTYPE =                    0".to_string(),
            "GAIN    = 'fast    '".to_string(),
        ]);
        assert_eq!(h.text("OBSTYPE").as_deref(), Some("DARK"));
        assert!(matches!(
            h.require_number("GAIN"),
            Err(KeywordProblem::WrongType { .. })
        ));
        assert_eq!(h.require_number("RON"), Err(KeywordProblem::Missing));
    }

    #[test]
    fn formats_cards_like_astropy() {
        let c = Card::new("ESO PRO TYPE", Value::Str("REDUCED".into()), "");
        assert_eq!(c.raw, "HIERARCH ESO PRO TYPE = 'REDUCED '");
        let c = Card::new(
            "ESO QC MBIAS MEDIAN",
            Value::Float(1120.1572300758487),
            "[e-] Median flux level of master bias",
        );
        assert!(
            c.raw
                .starts_with("HIERARCH ESO QC MBIAS MEDIAN = 1120.1572300758487 / [e-] Median")
        );
        assert_eq!(c.raw.len(), 80);
        let c = Card::new("BUNIT", Value::Str("electron".into()), "");
        assert_eq!(c.raw, "BUNIT   = 'electron'");
        let c = Card::new("EXPTIME", Value::Float(0.0), "Integration time");
        assert_eq!(c.raw, "EXPTIME =                  0.0 / Integration time");
        assert_eq!(Card::parse(&c.raw).value, Value::Float(0.0));
        assert_eq!(format_float(1e-5), "1E-5");
    }
}
