//! What comes into the browser: key-map actions, clicks, and the folder scan's news.

use std::path::PathBuf;

use mbias::error::FitsError;
use mbias::fits::FrameFile;
use ratatui::layout::{Position, Rect};

use super::FilesPane;
use crate::console::keymap::{Action, Context};
use crate::console::msg::{Entry, EntryKind, JobId};
use crate::console::panes::{Input, Request};
use crate::console::status::Notice;

impl Input for FilesPane {
    fn context(&self) -> Context {
        Context::Files
    }

    fn hints(&self) -> &'static str {
        "Space select · a all valid · s stack · Enter open · Tab pane · ? help · q quit"
    }

    fn on_action(&mut self, action: Action, area: Rect) -> Request {
        let page = self.page(area) as isize;
        match action {
            Action::Up => self.move_cursor(-1),
            Action::Down => self.move_cursor(1),
            Action::PageUp => self.move_cursor(-page),
            Action::PageDown => self.move_cursor(page),
            Action::Top => self.move_cursor(isize::MIN / 2),
            Action::Bottom => self.move_cursor(isize::MAX / 2),
            Action::Enter => return self.enter(),
            Action::Back => {
                if let Some(parent) = self.dir.parent().map(PathBuf::from) {
                    return self.open(parent);
                }
            }
            Action::Toggle => {
                if let Some(entry) = self.current().cloned() {
                    self.move_cursor(1);
                    if entry.kind == EntryKind::Fits {
                        self.toggle(&entry.path);
                        return self.chosen_by_hand();
                    }
                }
            }
            Action::SelectAll => {
                self.select_all_when_read = self.scanning.is_some();
                return self.select_valid_biases();
            }
            Action::SelectNone => {
                self.select_only(Vec::new());
                return self.chosen_by_hand();
            }
            Action::Reread => {
                // Every file is read afresh: a frame a stack could not read may be whole now.
                self.failed.clear();
                for entry in &self.entries {
                    self.headers.remove(&entry.path);
                }
                return Request::OpenDir(self.dir.clone());
            }
            Action::ShowHeader => return self.header_of_cursor(),
            Action::DraftProfile => return self.profile_of_cursor(),
            _ => {}
        }
        Request::Nothing
    }

    fn on_click(&mut self, at: Position, area: Rect) {
        if let Some(i) = self.row_at(area, at)
            && i < self.entries.len()
        {
            self.table.select(Some(i));
        }
    }
}

impl FilesPane {
    /// Enter on the entry under the cursor: folders and SOFs open; frames are chosen
    /// with Space, which Enter says rather than toggling them.
    fn enter(&mut self) -> Request {
        let Some(entry) = self.current().cloned() else {
            return Request::Nothing;
        };
        match entry.kind {
            EntryKind::Dir | EntryKind::Parent => self.open(entry.path),
            EntryKind::Sof => {
                // The SOF's frames are the selection: an `a` waiting for a scan is void.
                self.select_all_when_read = false;
                self.sof = Some(entry.path.clone());
                Request::OpenSof(entry.path)
            }
            EntryKind::Fits => Request::Notice(Notice::info("Space selects or unselects a frame")),
            EntryKind::Other => {
                Request::Notice(Notice::info(format!("{} is not a FITS frame", entry.name)))
            }
        }
    }

    /// `i`: the header of the frame under the cursor, every HDU's cards.
    fn header_of_cursor(&self) -> Request {
        self.about_cursor_frame("no header to show", |path, frame| {
            let mut lines: Vec<String> =
                frame.primary.cards.iter().map(|c| c.raw.clone()).collect();
            for hdu in frame.images.iter().filter(|h| h.index > 0) {
                lines.push(String::new());
                lines.push(format!("── HDU {} ──", hdu.index));
                lines.extend(hdu.header.cards.iter().map(|c| c.raw.clone()));
            }
            Request::ShowHeader {
                title: path.display().to_string(),
                lines,
            }
        })
    }

    /// `P`: a draft detector profile from the frame under the cursor's headers, for a CCD
    /// no profile knows yet.
    fn profile_of_cursor(&self) -> Request {
        self.about_cursor_frame("no profile to draft", |path, frame| {
            let draft = mbias::settings::draft::draft_of(frame);
            let mut lines: Vec<String> = draft.yaml.lines().map(str::to_string).collect();
            if !draft.open.is_empty() {
                lines.push(String::new());
                lines.push("# To decide before stacking with it:".into());
                lines.extend(draft.open.iter().map(|item| format!("#   - {item}")));
            }
            lines.push(String::new());
            lines.push(format!(
                "# mbias profile {} > my-ccd.yaml writes it; start mbias with --settings my-ccd.yaml",
                path.display()
            ));
            Request::ShowHeader {
                title: format!("draft profile from {}", path.display()),
                lines,
            }
        })
    }

    /// What `show` makes of the frame under the cursor whose header is read, or a notice
    /// (`nothing` leading its reason) when there is none.
    fn about_cursor_frame(
        &self,
        nothing: &str,
        show: impl FnOnce(&std::path::Path, &FrameFile) -> Request,
    ) -> Request {
        let Some(entry) = self.current() else {
            return Request::Nothing;
        };
        match self.headers.get(&entry.path) {
            Some(Ok(frame)) => show(&entry.path, frame),
            Some(Err(e)) => Request::Notice(Notice::error(format!("{nothing}: {e}"))),
            None if entry.kind == EntryKind::Fits => {
                Request::Notice(Notice::info("its header is still being read"))
            }
            None => Request::Notice(Notice::info(format!("{} is not a FITS frame", entry.name))),
        }
    }

    /// Another folder: an `a` waiting for this one's scan no longer applies.
    fn open(&mut self, dir: PathBuf) -> Request {
        self.select_all_when_read = false;
        Request::OpenDir(dir)
    }

    /// The user picked frames themselves: a SOF no longer names them, and an `a` waiting
    /// for the scan is overruled.
    fn chosen_by_hand(&mut self) -> Request {
        self.sof = None;
        self.select_all_when_read = false;
        Request::Selected(None)
    }

    /// `a`: the frames verified valid, never one still without a verdict. During a scan
    /// the rest join when their headers are verified (see
    /// [`FilesPane::select_all_when_read`]).
    fn select_valid_biases(&mut self) -> Request {
        let valid = self.valid_biases();
        let n = valid.len();
        let pending = self.pending();
        self.select_only(valid);
        self.sof = None;
        let notice = match (n, pending) {
            (_, p) if p > 0 && self.select_all_when_read => Notice::info(format!(
                "selected {n} valid bias frame(s); {p} file(s) still being read join when verified"
            )),
            (0, _) => Notice::error("no valid bias frames in this folder"),
            _ => Notice::info(format!("selected {n} valid bias frame(s); s stacks them")),
        };
        Request::Selected(Some(notice))
    }

    /// The listing job `id` made of `dir`; with `select`, the frames of the SOF opened.
    /// News of any other job is stale: the user has moved on.
    pub fn on_listed(
        &mut self,
        id: JobId,
        dir: PathBuf,
        entries: Result<Vec<Entry>, String>,
        select: Option<Vec<PathBuf>>,
    ) -> Request {
        if self.refreshing == Some(id) {
            // A failed look for new files changes nothing (the next one may succeed), nor
            // does a folder that has not changed: the rows are not verified again for it.
            if let Ok(entries) = entries
                && entries != self.entries
            {
                self.set_entries(dir, entries);
            }
            return Request::Nothing;
        }
        if self.scanning != Some(id) {
            return Request::Nothing;
        }
        match entries {
            Ok(entries) => {
                self.set_entries(dir, entries);
                match select {
                    Some(paths) => {
                        let n = paths.len();
                        self.select_only(paths);
                        Request::Selected(Some(Notice::info(format!(
                            "opened the SOF: {n} frame(s) selected"
                        ))))
                    }
                    None => Request::Nothing,
                }
            }
            Err(e) => {
                self.scanning = None;
                Request::Notice(Notice::error(e))
            }
        }
    }

    /// Headers job `id` has read.
    pub fn on_scanned(&mut self, id: JobId, frames: Vec<(PathBuf, Result<FrameFile, FitsError>)>) {
        if self.scanning == Some(id) || self.refreshing == Some(id) {
            self.add_headers(frames, false);
        }
    }

    /// Job `id` has read every header: the last ones are verified, and an `a` pressed
    /// during the scan takes the valid frames now.
    pub fn on_scan_done(&mut self, id: JobId) -> Request {
        if self.refreshing == Some(id) {
            self.refreshing = None;
            if self.unchecked > 0 {
                self.add_headers(Vec::new(), true);
            }
            return Request::Nothing;
        }
        if self.scanning != Some(id) {
            return Request::Nothing;
        }
        self.scanning = None;
        self.add_headers(Vec::new(), true);
        if std::mem::take(&mut self.select_all_when_read) {
            return self.select_valid_biases();
        }
        Request::Nothing
    }
}
