//! A FITS file cfitsio reads from bytes in memory (`ffomem`, read-only): a frame
//! decompressed once, whose header, overscan and science-window reads then share the copy.

use std::ffi::{CString, c_void};
use std::path::Path;

use fitsio::FitsFile;
use fitsio::errors::check_status;
use fitsio::sys;

use super::{cfitsio_path, open_error};
use crate::error::FitsError;

/// Where cfitsio finds the bytes: it keeps pointers to both fields while the file is open,
/// so they live in a box that does not move.
struct Location {
    address: *mut c_void,
    size: usize,
}

/// Bytes opened as a FITS file.
pub struct MemoryFits {
    // Fields drop in order: the file is closed before what it reads goes.
    file: FitsFile,
    _location: Box<Location>,
    _bytes: Vec<u8>,
}

impl MemoryFits {
    /// Opens `bytes`, the decompressed contents of `path` (named in errors), read-only.
    pub fn open(path: &Path, mut bytes: Vec<u8>) -> Result<MemoryFits, FitsError> {
        let name = CString::new(cfitsio_path(path)?).map_err(|_| FitsError::Open {
            path: path.to_path_buf(),
            message: "file name contains a NUL byte".into(),
        })?;
        let mut location = Box::new(Location {
            address: bytes.as_mut_ptr().cast(),
            size: bytes.len(),
        });
        let mut raw = std::ptr::null_mut();
        let mut status = 0;
        // SAFETY: `name` is a NUL-terminated string; `location`'s fields are valid for
        // writes and stay where they are (boxed) as long as the file is open, as does the
        // buffer they point to (`bytes` is not touched again until the file is closed).
        // READONLY with no realloc function: cfitsio never writes to or resizes the buffer.
        unsafe {
            sys::ffomem(
                &mut raw,
                name.as_ptr(),
                sys::READONLY as i32,
                &mut location.address,
                &mut location.size,
                0,
                None,
                &mut status,
            );
        }
        if status != 0 || raw.is_null() {
            if !raw.is_null() {
                let mut ignored = 0;
                // SAFETY: `raw` is the handle ffomem opened and nothing else holds it.
                unsafe { sys::ffclos(raw, &mut ignored) };
            }
            let status = if status == 0 {
                sys::NULL_INPUT_PTR as i32
            } else {
                status
            };
            return Err(match check_status(status) {
                Err(error) => open_error(path, error),
                Ok(()) => FitsError::Open {
                    path: path.to_path_buf(),
                    message: "cfitsio cannot open it in memory".into(),
                },
            });
        }
        // SAFETY: `raw` is an open, valid handle that only the `FitsFile` will close.
        let file = match unsafe { FitsFile::from_raw(raw, fitsio::FileOpenMode::READONLY) } {
            Ok(file) => file,
            Err(error) => {
                let mut ignored = 0;
                // SAFETY: no `FitsFile` took `raw`; it is closed once, here.
                unsafe { sys::ffclos(raw, &mut ignored) };
                return Err(open_error(path, error));
            }
        };
        Ok(MemoryFits {
            file,
            _location: location,
            _bytes: bytes,
        })
    }

    pub fn file(&mut self) -> &mut FitsFile {
        &mut self.file
    }
}
