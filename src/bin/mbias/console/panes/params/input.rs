//! What comes into the parameters pane: key-map actions, clicks, and the keys typed
//! while a value is being entered (which bypass the key map: they are the value).

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Position, Rect};

use super::{ParamsPane, draw};
use crate::console::keymap::{Action, Context};
use crate::console::panes::{Input, Request};
use crate::console::status::Notice;

impl Input for ParamsPane {
    fn context(&self) -> Context {
        Context::Params
    }

    fn hints(&self) -> &'static str {
        "↑↓ choose · ←→ change · Enter type · s stack · Tab pane · ? help"
    }

    fn on_action(&mut self, action: Action, _area: Rect) -> Request {
        match action {
            Action::Up => self.move_cursor(-1),
            Action::Down => self.move_cursor(1),
            Action::Left | Action::Right => {
                let direction = if action == Action::Right { 1 } else { -1 };
                let outcome = self.step(direction);
                return self.after_edit(outcome);
            }
            Action::Enter => self.editing = Some(self.value_text(self.field())),
            _ => {}
        }
        Request::Nothing
    }

    fn on_click(&mut self, at: Position, area: Rect) {
        if let Some(i) = draw::row_at(area, at) {
            self.cursor = i;
        }
    }
}

impl ParamsPane {
    /// A key while a value is being typed: Enter keeps the value (if valid), Esc drops
    /// it, Backspace erases.
    pub fn on_edit_key(&mut self, key: KeyEvent) -> Request {
        let Some(buffer) = self.editing.as_mut() else {
            return Request::Nothing;
        };
        match key.code {
            // Every character is kept, so that Enter can refuse a value it cannot read
            // (a comma dropped in silence would turn 3,5 into 35).
            KeyCode::Char(c) if !c.is_control() => buffer.push(c),
            KeyCode::Backspace => {
                buffer.pop();
            }
            KeyCode::Esc => {
                self.editing = None;
                return Request::Notice(Notice::info("edit dropped; value unchanged"));
            }
            KeyCode::Enter => {
                let text = self.editing.take().unwrap_or_default();
                let outcome = self.set_text(&text);
                return self.after_edit(outcome);
            }
            _ => {}
        }
        Request::Nothing
    }

    /// Carries an accepted value forward, or says why it was refused (the old one stays).
    fn after_edit(&self, outcome: Result<(), String>) -> Request {
        let field = self.field();
        let value = self.value_text(field);
        match outcome {
            Ok(()) => Request::Tuned(format!("{} = {value}", field.key())),
            Err(e) => Request::Notice(Notice::error(format!("{e}; kept {value}"))),
        }
    }
}
