//! Handing a file's pages to the disk while it is still being written, for a file that
//! will be renamed over another.
//!
//! ext4 (with its default `auto_da_alloc`) flushes a file inside the rename that replaces
//! an existing one, so that a crash right after leaves the old file or the new one, never
//! an empty one. mbias keeps that rename ([`crate::atomic`]), but the flush then runs at
//! the very end of a stack, on one core, mostly waiting for the disk's queue: 60–70 ms for
//! a 4096² product. Asking for the written pages' writeback as the file grows, on a
//! thread of its own, lets the disk take them while the rest is encoded; the rename then
//! finds nothing left to flush. The same pages go to the disk either way, and the rename
//! keeps its guarantee: it still flushes whatever has not been handed over yet.
//!
//! Only a hint: where it cannot be given (another system, no thread), nothing changes.

use std::fs::File;
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;

/// Written bytes gathered before their writeback is asked for: large enough that a
/// request is a few large block-device writes, small enough that the disk starts early.
pub const STRIDE: u64 = 8 << 20;

/// A thread asking for the writeback of a file's ranges as they are reported written.
#[derive(Debug)]
pub struct Writeback {
    ranges: Option<Sender<(u64, u64)>>,
    thread: Option<JoinHandle<()>>,
    /// Bytes written so far, and how many of them were handed over.
    written: u64,
    handed: u64,
}

impl Writeback {
    /// Starts the thread for `file` (written from its start, in order), or says it
    /// cannot.
    pub fn start(file: &File) -> Option<Writeback> {
        if !cfg!(target_os = "linux") {
            return None;
        }
        let file = file.try_clone().ok()?;
        let (ranges, requests) = channel::<(u64, u64)>();
        let thread = std::thread::Builder::new()
            .name("mbias-writeback".into())
            .spawn(move || {
                for (offset, len) in requests {
                    start_writeback(&file, offset, len);
                }
            })
            .ok()?;
        Some(Writeback {
            ranges: Some(ranges),
            thread: Some(thread),
            written: 0,
            handed: 0,
        })
    }

    /// Notes that `len` more bytes were written; every [`STRIDE`] of them is handed over.
    pub fn wrote(&mut self, len: usize) {
        self.written += len as u64;
        if self.written - self.handed >= STRIDE {
            self.hand_over();
        }
    }

    fn hand_over(&mut self) {
        if let Some(ranges) = &self.ranges {
            // A thread that has ended only loses the hint.
            let _ = ranges.send((self.handed, self.written - self.handed));
        }
        self.handed = self.written;
    }

    /// Hands over the rest and waits until every range has been asked for, so that the
    /// rename that follows has nothing left to flush.
    pub fn finish(mut self) {
        if self.written > self.handed {
            self.hand_over();
        }
    }
}

impl Drop for Writeback {
    fn drop(&mut self) {
        // Closing the channel ends the thread once it has asked for every range.
        self.ranges = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Asks the system to start writing `len` bytes of `file` from `offset` to the disk,
/// without waiting for them to be written.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: the descriptor is open for the thread's whole life (the thread owns its
    // `File`); sync_file_range reads nothing from memory. An error (a full queue, an
    // unsupported file system) only loses the hint: write errors are the writes'.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn written_bytes_are_handed_over_a_stride_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = File::create(dir.path().join("f")).unwrap();
        let Some(mut writeback) = Writeback::start(&file) else {
            return;
        };
        let piece = vec![7u8; 3 << 20];
        for _ in 0..7 {
            file.write_all(&piece).unwrap();
            writeback.wrote(piece.len());
        }
        // Handed over at 9 and 18 MiB; the last 3 MiB by `finish`.
        assert_eq!(writeback.handed, 18 << 20);
        writeback.finish();
        assert_eq!(std::fs::read(dir.path().join("f")).unwrap().len(), 21 << 20);
    }
}
