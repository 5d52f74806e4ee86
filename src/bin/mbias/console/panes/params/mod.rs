//! The parameters pane: the soxspipe release reproduced, soxspipe's four clipping
//! parameters, the numerics mode, and the stack's rejection and combination.

mod draw;
mod input;

use mbias::detector::Instrument;
use mbias::params::{ClipParams, ClipValues, Combine, Numerics, RecipeVersion, Rejection};
use mbias::settings::{Resolved, Settings};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    StackSigma,
    StackIterations,
    FrameSigma,
    FrameIterations,
    Numerics,
    Rejection,
    Combine,
    Recipe,
}

pub const FIELDS: [Field; 8] = [
    Field::StackSigma,
    Field::StackIterations,
    Field::FrameSigma,
    Field::FrameIterations,
    Field::Numerics,
    Field::Rejection,
    Field::Combine,
    Field::Recipe,
];

/// The choices beside the four numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Modes {
    pub recipe: RecipeVersion,
    pub numerics: Numerics,
    pub rejection: Rejection,
    pub combine: Combine,
}

impl Modes {
    /// The modes a resolved run uses.
    pub fn of(resolved: &Resolved) -> Modes {
        Modes {
            recipe: resolved.recipe,
            numerics: resolved.numerics,
            rejection: resolved.rejection,
            combine: resolved.combine,
        }
    }
}

/// The next of `all` after `current` (or before, going down), wrapping around.
/// The choice after (or before) `current` in `all`, by name: a method whose own
/// parameters differ from the list's defaults is still found in it.
fn cycle<T: Copy, const N: usize>(
    all: [T; N],
    current: T,
    direction: i32,
    name: impl Fn(T) -> &'static str,
) -> T {
    let at = all
        .iter()
        .position(|x| name(*x) == name(current))
        .unwrap_or(0);
    let next = (at as i64 + i64::from(direction)).rem_euclid(N as i64) as usize;
    all[next]
}

impl Field {
    pub fn label(self) -> &'static str {
        match self {
            Field::Recipe => "soxspipe",
            Field::StackSigma => "stack σ",
            Field::StackIterations => "stack iterations",
            Field::FrameSigma => "frame σ",
            Field::FrameIterations => "frame iterations",
            Field::Numerics => "numerics",
            Field::Rejection => "rejection",
            Field::Combine => "combine",
        }
    }

    /// The soxspipe settings key (shown when the field is chosen).
    pub fn key(self) -> &'static str {
        match self {
            Field::Recipe => "mbias recipe",
            Field::StackSigma => "stacked-clipping-sigma",
            Field::StackIterations => "stacked-clipping-iterations",
            Field::FrameSigma => "frame-clipping-sigma",
            Field::FrameIterations => "frame-clipping-iterations",
            Field::Numerics => "mbias numerics",
            Field::Rejection => "mbias rejection",
            Field::Combine => "mbias combine",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParamsPane {
    pub cursor: usize,
    /// The text being typed, while a value is being entered.
    pub editing: Option<String>,
    pub params: ClipParams,
    pub modes: Modes,
    /// Whether the user changed anything (else a new set takes its instrument's defaults).
    pub touched: bool,
}

const MAX_ITERATIONS: u32 = 100;
/// The σ the pane takes: below, a clip rejects good pixels wholesale; above, it clips
/// nothing (a setting of 1000 is a typo, not a choice). Settings files may go beyond.
const SIGMA_RANGE: (f64, f64) = (0.5, 100.0);

impl ParamsPane {
    pub fn new(params: ClipParams, modes: Modes) -> ParamsPane {
        ParamsPane {
            cursor: 0,
            editing: None,
            params,
            modes,
            touched: false,
        }
    }

    /// The pane as `settings` start it: their values for SOXS, the instrument the console
    /// assumes until frames are selected (soxspipe's defaults where the settings do not
    /// resolve; the status bar shows their warnings).
    pub fn from_settings(settings: &Settings) -> ParamsPane {
        match settings.resolve(mbias::detector::soxs_vis()) {
            Ok(resolved) => ParamsPane::new(resolved.params, Modes::of(&resolved)),
            Err(_) => ParamsPane::new(
                mbias::settings::instrument_defaults(Instrument::Soxs, RecipeVersion::DEFAULT).0,
                Modes {
                    recipe: RecipeVersion::DEFAULT,
                    numerics: Numerics::Soxspipe,
                    rejection: Rejection::MadSigma,
                    combine: Combine::Mean,
                },
            ),
        }
    }

    /// The values a stack runs with: the instrument's `defaults`, with the pane's values
    /// in place of theirs. An untouched pane takes the defaults first, so it follows the
    /// instrument of the frames selected.
    pub fn resolve(&mut self, defaults: Resolved) -> Resolved {
        if !self.touched {
            self.params = defaults.params;
            self.modes = Modes::of(&defaults);
        }
        Resolved {
            params: self.params,
            recipe: self.modes.recipe,
            numerics: self.modes.numerics,
            rejection: self.modes.rejection,
            combine: self.modes.combine,
            ..defaults
        }
    }

    /// Whether `resolved` ran with values other than the pane's.
    pub fn differs(&self, resolved: &Resolved) -> bool {
        resolved.params != self.params || Modes::of(resolved) != self.modes
    }

    pub fn field(&self) -> Field {
        FIELDS[self.cursor.min(FIELDS.len() - 1)]
    }

    pub fn move_cursor(&mut self, delta: isize) {
        self.cursor = (self.cursor as isize + delta).clamp(0, FIELDS.len() as isize - 1) as usize;
    }

    pub fn value_text(&self, field: Field) -> String {
        let p = &self.params;
        match field {
            // Every digit the value holds (4.12345 is not 3.1), and a point always.
            Field::StackSigma => format!("{:?}", p.stacked_clipping_sigma),
            Field::StackIterations => p.stacked_clipping_iterations.to_string(),
            Field::FrameSigma => format!("{:?}", p.frame_clipping_sigma),
            Field::FrameIterations => p.frame_clipping_iterations.to_string(),
            Field::Recipe => self.modes.recipe.release().to_string(),
            Field::Numerics => self.modes.numerics.name().to_string(),
            Field::Rejection => self.modes.rejection.name().to_string(),
            Field::Combine => self.modes.combine.name().to_string(),
        }
    }

    fn apply(&mut self, candidate: ClipValues, modes: Modes) -> Result<(), String> {
        let params = ClipParams::new(candidate).map_err(|e| e.to_string())?;
        if params.stacked_clipping_iterations > MAX_ITERATIONS
            || params.frame_clipping_iterations > MAX_ITERATIONS
        {
            return Err(format!("at most {MAX_ITERATIONS} iterations"));
        }
        let (low, high) = SIGMA_RANGE;
        for sigma in [params.stacked_clipping_sigma, params.frame_clipping_sigma] {
            if !(low..=high).contains(&sigma) {
                return Err(format!(
                    "σ {sigma:?} is outside {low}–{high} (a settings file may set it)"
                ));
            }
        }
        self.params = params;
        self.modes = modes;
        self.touched = true;
        Ok(())
    }

    /// Steps the chosen value up (`+1`) or down (`-1`): σ by 0.1, iterations by 1.
    pub fn step(&mut self, direction: i32) -> Result<(), String> {
        let mut p = *self.params;
        let sigma = |v: f64| ((v * 10.0).round() + f64::from(direction)) / 10.0;
        let count = |v: u32| v.saturating_add_signed(direction);
        let mut modes = self.modes;
        match self.field() {
            Field::StackSigma => p.stacked_clipping_sigma = sigma(p.stacked_clipping_sigma),
            Field::StackIterations => {
                p.stacked_clipping_iterations = count(p.stacked_clipping_iterations)
            }
            Field::FrameSigma => p.frame_clipping_sigma = sigma(p.frame_clipping_sigma),
            Field::FrameIterations => {
                p.frame_clipping_iterations = count(p.frame_clipping_iterations)
            }
            Field::Recipe => {
                modes.recipe = cycle(
                    RecipeVersion::ALL,
                    modes.recipe,
                    direction,
                    RecipeVersion::name,
                )
            }
            Field::Numerics => {
                modes.numerics = cycle(
                    [Numerics::Soxspipe, Numerics::Exact],
                    modes.numerics,
                    direction,
                    Numerics::name,
                )
            }
            Field::Rejection => {
                modes.rejection = cycle(Rejection::ALL, modes.rejection, direction, Rejection::name)
            }
            Field::Combine => {
                modes.combine = cycle(Combine::ALL, modes.combine, direction, Combine::name)
            }
        }
        self.apply(p, modes)
    }

    /// Sets the chosen value from typed text; on error nothing changes.
    pub fn set_text(&mut self, text: &str) -> Result<(), String> {
        let text = text.trim();
        let mut p = *self.params;
        let mut modes = self.modes;
        if text.contains(',') {
            return Err(format!(
                "'{text}': decimals take a point, as in {}",
                text.replace(',', ".")
            ));
        }
        let bad = || format!("'{text}' is not a valid {}", self.field().label());
        match self.field() {
            Field::StackSigma => p.stacked_clipping_sigma = text.parse().map_err(|_| bad())?,
            Field::StackIterations => {
                p.stacked_clipping_iterations = text.parse().map_err(|_| bad())?
            }
            Field::FrameSigma => p.frame_clipping_sigma = text.parse().map_err(|_| bad())?,
            Field::FrameIterations => {
                p.frame_clipping_iterations = text.parse().map_err(|_| bad())?
            }
            Field::Recipe => modes.recipe = RecipeVersion::parse(text).ok_or_else(bad)?,
            Field::Numerics => modes.numerics = Numerics::parse(text).ok_or_else(bad)?,
            Field::Rejection => modes.rejection = Rejection::parse(text).ok_or_else(bad)?,
            Field::Combine => modes.combine = Combine::parse(text).ok_or_else(bad)?,
        }
        self.apply(p, modes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pane() -> ParamsPane {
        ParamsPane::from_settings(&Settings::default())
    }

    #[test]
    fn steps_and_typed_values() {
        let mut p = pane();
        p.step(1).unwrap();
        assert_eq!(p.params.stacked_clipping_sigma, 4.1);
        p.move_cursor(1);
        p.step(-1).unwrap();
        assert_eq!(p.params.stacked_clipping_iterations, 2);
        p.set_text("7").unwrap();
        assert_eq!(p.params.stacked_clipping_iterations, 7);
        p.move_cursor(3);
        assert_eq!(p.field(), Field::Numerics);
        p.step(1).unwrap();
        assert_eq!(p.modes.numerics, Numerics::Exact);
        p.move_cursor(1);
        p.step(1).unwrap();
        assert_eq!(p.modes.rejection, Rejection::NoiseModel);
        p.move_cursor(1);
        p.set_text("median").unwrap();
        assert_eq!(p.modes.combine, Combine::Median);
        p.step(1).unwrap();
        assert_eq!(p.modes.combine, Combine::Mean);
        p.move_cursor(1);
        assert_eq!(p.field(), Field::Recipe);
        assert_eq!(p.value_text(Field::Recipe), "0.19");
        p.step(1).unwrap();
        assert_eq!(p.modes.recipe, RecipeVersion::Soxspipe017);
        p.set_text("soxspipe-0.19").unwrap();
        assert_eq!(p.modes.recipe, RecipeVersion::Soxspipe019);
        assert!(p.touched);
    }

    #[test]
    fn values_show_every_digit_and_odd_ones_are_refused_with_a_reason() {
        let mut p = pane();
        p.set_text("4.12345").unwrap();
        assert_eq!(p.value_text(Field::StackSigma), "4.12345");
        assert_eq!(p.value_text(Field::FrameSigma), "3.0");
        let comma = p.set_text("3,5").unwrap_err();
        assert!(comma.contains("point") && comma.contains("3.5"), "{comma}");
        assert_eq!(p.params.stacked_clipping_sigma, 4.12345, "not read as 35");
        for odd in ["0.3", "150"] {
            let e = p.set_text(odd).unwrap_err();
            assert!(e.contains("outside 0.5–100"), "{e}");
        }
        p.set_text("0.5").unwrap();
        assert!(p.step(-1).is_err(), "no step below 0.5");
        assert_eq!(p.params.stacked_clipping_sigma, 0.5);
    }

    #[test]
    fn invalid_values_are_refused_and_the_old_one_kept() {
        let mut p = pane();
        assert!(p.set_text("abc").unwrap_err().contains("not a valid"));
        assert!(p.set_text("0").unwrap_err().contains("greater than 0"));
        assert!(p.set_text("0.2").unwrap_err().contains("outside"));
        assert!(p.set_text("-2").is_err());
        assert_eq!(p.params.stacked_clipping_sigma, 4.0);
        p.move_cursor(1);
        p.set_text("1").unwrap();
        assert!(p.step(-1).unwrap_err().contains("at least 1"));
        assert_eq!(p.params.stacked_clipping_iterations, 1);
        assert!(!pane().touched);
    }
}
