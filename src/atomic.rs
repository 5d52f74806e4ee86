//! Files that appear whole or not at all. Everything mbias writes (products, settings) goes
//! to a temporary file in the target's folder and is renamed into place when complete, so
//! a crash, a full disk or a signal never leaves a half-written file under the real name.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::ProductError;

/// Temporary files being written now, so a signal handler can remove them before the
/// process ends (destructors do not run then).
static UNFINISHED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes every temporary file still being written: what a front end calls when it is
/// told to stop (SIGTERM, SIGINT, SIGHUP) and will exit without unwinding.
pub fn remove_unfinished() {
    if let Ok(mut pending) = UNFINISHED.lock() {
        for path in pending.drain(..) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A temporary file beside `target`, removed unless [`TempFile::commit`] renames it into
/// place.
#[derive(Debug)]
pub struct TempFile {
    temp: Option<PathBuf>,
    target: PathBuf,
}

impl TempFile {
    /// Claims `.NAME.PID.tmp` in `target`'s folder (a stale one from an earlier crash of
    /// the same process id is removed first).
    pub fn beside(target: &Path) -> TempFile {
        let name = target.file_name().unwrap_or_default().to_string_lossy();
        let temp = target.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let _ = std::fs::remove_file(&temp);
        if let Ok(mut pending) = UNFINISHED.lock() {
            pending.push(temp.clone());
        }
        TempFile {
            temp: Some(temp),
            target: target.to_path_buf(),
        }
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        self.temp.as_deref().unwrap_or(&self.target)
    }

    /// Whether committing would replace an existing file (as things stand now).
    pub fn replaces(&self) -> bool {
        self.target.exists()
    }

    /// Renames the written file into place. An existing target is replaced only when
    /// `overwrite`; it is checked again here because writing may have taken a while.
    pub fn commit(mut self, overwrite: bool) -> Result<PathBuf, ProductError> {
        if self.target.exists() && !overwrite {
            return Err(ProductError::Exists(self.target.clone()));
        }
        let Some(temp) = self.temp.take() else {
            return Ok(self.target.clone());
        };
        forget(&temp);
        std::fs::rename(&temp, &self.target).map_err(|source| {
            let _ = std::fs::remove_file(&temp);
            ProductError::Io {
                path: self.target.clone(),
                source,
            }
        })?;
        Ok(self.target.clone())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = std::fs::remove_file(&temp);
            forget(&temp);
        }
    }
}

fn forget(temp: &Path) {
    if let Ok(mut pending) = UNFINISHED.lock() {
        pending.retain(|p| p != temp);
    }
}

/// Writes `bytes` to `target` whole or not at all; an existing file is replaced only when
/// `overwrite`. The folder is created if needed.
pub fn write_bytes(target: &Path, overwrite: bool, bytes: &[u8]) -> Result<PathBuf, ProductError> {
    if let Some(folder) = target.parent().filter(|f| !f.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|source| ProductError::CreateDir {
            path: folder.to_path_buf(),
            source,
        })?;
    }
    if target.exists() && !overwrite {
        return Err(ProductError::Exists(target.to_path_buf()));
    }
    let temp = TempFile::beside(target);
    std::fs::write(temp.path(), bytes).map_err(|source| ProductError::Io {
        path: target.to_path_buf(),
        source,
    })?;
    temp.commit(overwrite)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfinished_temporary_files_are_removed_on_request_and_committed_ones_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let busy = TempFile::beside(&dir.path().join("a.fits"));
        let done = TempFile::beside(&dir.path().join("b.fits"));
        std::fs::write(busy.path(), b"x").unwrap();
        std::fs::write(done.path(), b"x").unwrap();
        let kept = done.commit(false).unwrap();
        remove_unfinished();
        assert!(!busy.path().exists(), "the unfinished file is gone");
        assert!(kept.is_file(), "the committed file stays");
        std::mem::forget(busy);
    }

    #[test]
    fn bytes_are_written_whole_and_an_existing_file_only_replaced_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/folder/settings.yaml");
        assert_eq!(write_bytes(&path, false, b"one").unwrap(), path);
        assert!(matches!(
            write_bytes(&path, false, b"two"),
            Err(ProductError::Exists(p)) if p == path
        ));
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_bytes(&path, true, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
    }
}
