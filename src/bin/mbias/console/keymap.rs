//! The key map: one table from keys to actions per context. The help overlay and the
//! README's key table are generated from it, so they cannot drift apart.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ForceQuit,
    Quit,
    Help,
    NextPane,
    PrevPane,
    Stack,
    Cancel,
    Write,
    CompareReference,
    SaveSettings,
    Maximise,
    ShowTab,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Left,
    Right,
    Enter,
    Back,
    Toggle,
    SelectAll,
    SelectNone,
    Reread,
    ShowHeader,
    DraftProfile,
    ToggleAxis,
    MeanProfile,
    NextExtension,
    ZoomIn,
    ZoomOut,
    NextLimits,
    NextTransfer,
    NextImage,
    PreviousFrame,
    NextFrame,
    NextBadMarks,
    InspectPixel,
    GoTo,
    Band,
    Unit,
    Section,
    PerAmplifier,
    TypePercentiles,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Global,
    Files,
    Params,
    Results,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Files => "Files",
            Context::Params => "Parameters",
            Context::Results => "Results",
        }
    }
}

/// A key, with Ctrl when `ctrl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn k(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

const fn c(ch: char) -> Key {
    Key {
        code: KeyCode::Char(ch),
        ctrl: false,
    }
}

pub struct Binding {
    pub context: Context,
    pub keys: &'static [Key],
    /// How the keys are written in the help.
    pub label: &'static str,
    pub action: Action,
    pub help: &'static str,
}

const fn bind(
    context: Context,
    keys: &'static [Key],
    label: &'static str,
    action: Action,
    help: &'static str,
) -> Binding {
    Binding {
        context,
        keys,
        label,
        action,
        help,
    }
}

use Context::{Files, Global, Params, Results};

pub const BINDINGS: &[Binding] = &[
    bind(
        Global,
        &[Key {
            code: KeyCode::Char('c'),
            ctrl: true,
        }],
        "Ctrl-C",
        Action::ForceQuit,
        "quit at once",
    ),
    bind(
        Global,
        &[c('q')],
        "q",
        Action::Quit,
        "quit (asks if a stack or a tuned master would be lost)",
    ),
    bind(
        Global,
        &[c('?'), k(KeyCode::F(1))],
        "? F1",
        Action::Help,
        "this help",
    ),
    bind(
        Global,
        &[k(KeyCode::Tab)],
        "Tab",
        Action::NextPane,
        "next pane",
    ),
    bind(
        Global,
        &[k(KeyCode::BackTab)],
        "Shift-Tab",
        Action::PrevPane,
        "previous pane",
    ),
    bind(
        Global,
        &[c('s')],
        "s",
        Action::Stack,
        "stack the selected frames",
    ),
    bind(
        Global,
        &[k(KeyCode::Esc)],
        "Esc",
        Action::Cancel,
        "cancel the stack",
    ),
    bind(
        Global,
        &[c('w')],
        "w",
        Action::Write,
        "write the master bias",
    ),
    bind(
        Global,
        &[c('C')],
        "C",
        Action::CompareReference,
        "compare the written master with its reference",
    ),
    bind(
        Global,
        &[c('S')],
        "S",
        Action::SaveSettings,
        "save parameters as settings",
    ),
    bind(
        Global,
        &[c('z')],
        "z",
        Action::Maximise,
        "results on the whole screen, or back",
    ),
    bind(
        Global,
        &[c('1'), c('2'), c('3'), c('4'), c('5'), c('6'), c('7')],
        "1 … 7",
        Action::ShowTab,
        "results tab, QC … trend",
    ),
    bind(
        Files,
        &[k(KeyCode::Up), c('k')],
        "↑ k",
        Action::Up,
        "previous entry",
    ),
    bind(
        Files,
        &[k(KeyCode::Down), c('j')],
        "↓ j",
        Action::Down,
        "next entry",
    ),
    bind(
        Files,
        &[k(KeyCode::PageUp)],
        "PgUp",
        Action::PageUp,
        "page up",
    ),
    bind(
        Files,
        &[k(KeyCode::PageDown)],
        "PgDn",
        Action::PageDown,
        "page down",
    ),
    bind(
        Files,
        &[k(KeyCode::Home), c('g')],
        "Home g",
        Action::Top,
        "first entry",
    ),
    bind(
        Files,
        &[k(KeyCode::End), c('G')],
        "End G",
        Action::Bottom,
        "last entry",
    ),
    bind(
        Files,
        &[k(KeyCode::Enter), k(KeyCode::Right), c('l')],
        "Enter → l",
        Action::Enter,
        "open folder; a SOF selects",
    ),
    bind(
        Files,
        &[k(KeyCode::Backspace), k(KeyCode::Left), c('h')],
        "Bksp ← h",
        Action::Back,
        "parent folder",
    ),
    bind(
        Files,
        &[c(' ')],
        "Space",
        Action::Toggle,
        "select or unselect a frame",
    ),
    bind(
        Files,
        &[c('a')],
        "a",
        Action::SelectAll,
        "select all valid biases",
    ),
    bind(
        Files,
        &[c('n')],
        "n",
        Action::SelectNone,
        "clear the selection",
    ),
    bind(
        Files,
        &[c('r')],
        "r",
        Action::Reread,
        "read the folder again",
    ),
    bind(
        Files,
        &[c('i')],
        "i",
        Action::ShowHeader,
        "the frame's header; / searches",
    ),
    bind(
        Files,
        &[c('P')],
        "P",
        Action::DraftProfile,
        "a draft detector profile from the frame's headers",
    ),
    bind(
        Params,
        &[k(KeyCode::Up), c('k')],
        "↑ k",
        Action::Up,
        "previous parameter",
    ),
    bind(
        Params,
        &[k(KeyCode::Down), c('j')],
        "↓ j",
        Action::Down,
        "next parameter",
    ),
    bind(
        Params,
        &[k(KeyCode::Left), c('h'), c('-')],
        "← h -",
        Action::Left,
        "decrease the value",
    ),
    bind(
        Params,
        &[k(KeyCode::Right), c('l'), c('+')],
        "→ l +",
        Action::Right,
        "increase the value",
    ),
    bind(
        Params,
        &[k(KeyCode::Enter)],
        "Enter",
        Action::Enter,
        "type; Enter keeps, Esc drops",
    ),
    bind(
        Results,
        &[k(KeyCode::Left), c('h')],
        "← h",
        Action::Left,
        "previous tab (Preview, Profile: cursor left)",
    ),
    bind(
        Results,
        &[k(KeyCode::Right), c('l')],
        "→ l",
        Action::Right,
        "next tab (Preview, Profile: cursor right)",
    ),
    bind(
        Results,
        &[k(KeyCode::Up), c('k')],
        "↑ k",
        Action::Up,
        "previous row/column or line (Preview: cursor up)",
    ),
    bind(
        Results,
        &[k(KeyCode::Down), c('j')],
        "↓ j",
        Action::Down,
        "next row/column or line (Preview: cursor down)",
    ),
    bind(
        Results,
        &[k(KeyCode::PageUp)],
        "PgUp",
        Action::PageUp,
        "100 rows/columns back",
    ),
    bind(
        Results,
        &[k(KeyCode::PageDown)],
        "PgDn",
        Action::PageDown,
        "100 rows/columns on",
    ),
    bind(
        Results,
        &[c('x')],
        "x",
        Action::ToggleAxis,
        "profile along rows/columns",
    ),
    bind(
        Results,
        &[c('m')],
        "m",
        Action::MeanProfile,
        "collapsed mean profile; Preview: statistics of a box at the cursor",
    ),
    bind(
        Results,
        &[c('e')],
        "e",
        Action::NextExtension,
        "next extension (MEF frames)",
    ),
    bind(
        Results,
        &[c('+'), c('=')],
        "+",
        Action::ZoomIn,
        "Preview: zoom in on the cursor",
    ),
    bind(
        Results,
        &[c('-')],
        "-",
        Action::ZoomOut,
        "Preview: zoom out",
    ),
    bind(
        Results,
        &[c('t')],
        "t",
        Action::NextLimits,
        "Preview: zscale, 1–99 %, min–max",
    ),
    bind(
        Results,
        &[c('T')],
        "T",
        Action::TypePercentiles,
        "Preview: stretch between typed percentiles",
    ),
    bind(
        Results,
        &[c('f')],
        "f",
        Action::NextTransfer,
        "Preview: linear, log, asinh",
    ),
    bind(
        Results,
        &[c('b')],
        "b",
        Action::NextBadMarks,
        "bad pixels: Preview red any/dense/none; Profile in/out",
    ),
    bind(
        Results,
        &[c('v')],
        "v",
        Action::NextImage,
        "Preview: master/raw/raw − master/rejections; Profile: raw",
    ),
    bind(
        Results,
        &[c('p')],
        "p",
        Action::InspectPixel,
        "Preview: the cursor pixel's stack, frame by frame",
    ),
    bind(
        Results,
        &[c('g')],
        "g",
        Action::GoTo,
        "go to a typed pixel (Preview) or row/column (Profile)",
    ),
    bind(
        Results,
        &[c('a')],
        "a",
        Action::Band,
        "Profile: average a band of rows/columns (width typed)",
    ),
    bind(Results, &[c('u')], "u", Action::Unit, "Profile: e- or ADU"),
    bind(
        Results,
        &[k(KeyCode::Enter)],
        "Enter",
        Action::Enter,
        "Defects: show the chosen one in the Preview",
    ),
    bind(
        Results,
        &[c('M')],
        "M",
        Action::Section,
        "Preview: statistics of a typed section [x1:x2,y1:y2]",
    ),
    bind(
        Results,
        &[c('A')],
        "A",
        Action::PerAmplifier,
        "Preview: stretch each amplifier on its own",
    ),
    bind(
        Results,
        &[c('[')],
        "[",
        Action::PreviousFrame,
        "Preview: the previous raw frame",
    ),
    bind(
        Results,
        &[c(']')],
        "]",
        Action::NextFrame,
        "Preview: the next raw frame",
    ),
];

fn matches(key: &Key, event: &KeyEvent) -> bool {
    let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
    key.ctrl == ctrl && key.code == event.code
}

/// The action of a key in `context`, falling back to the global bindings.
pub fn action(context: Context, event: &KeyEvent) -> Option<Action> {
    let find = |ctx: Context| {
        BINDINGS
            .iter()
            .filter(|b| b.context == ctx)
            .find(|b| b.keys.iter().any(|k| matches(k, event)))
            .map(|b| b.action)
    };
    find(context).or_else(|| find(Context::Global))
}

/// Help rows grouped by context, in table order.
pub fn help_sections() -> Vec<(Context, Vec<&'static Binding>)> {
    [Global, Files, Params, Results]
        .into_iter()
        .map(|ctx| (ctx, BINDINGS.iter().filter(|b| b.context == ctx).collect()))
        .collect()
}

/// The key table as Markdown (for the README; a test keeps the README in step).
#[cfg(test)]
pub fn markdown_table() -> String {
    let mut out = String::from("| where | keys | what |\n|---|---|---|\n");
    for (ctx, bindings) in help_sections() {
        for b in bindings {
            out.push_str(&format!(
                "| {} | `{}` | {} |\n",
                ctx.title(),
                b.label,
                b.help
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keys_win_over_global_ones() {
        let left = KeyEvent::from(KeyCode::Left);
        assert_eq!(action(Context::Params, &left), Some(Action::Left));
        assert_eq!(action(Context::Files, &left), Some(Action::Back));
        let q = KeyEvent::from(KeyCode::Char('q'));
        assert_eq!(action(Context::Files, &q), Some(Action::Quit));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(Context::Results, &ctrl_c), Some(Action::ForceQuit));
        assert_eq!(
            action(Context::Files, &KeyEvent::from(KeyCode::Char('c'))),
            None
        );
    }

    #[test]
    fn readme_key_table_is_generated_from_the_key_map() {
        let readme = include_str!("../../../../README.md");
        assert!(
            readme.contains(&markdown_table()),
            "README key table is stale; paste:\n{}",
            markdown_table()
        );
    }
}
