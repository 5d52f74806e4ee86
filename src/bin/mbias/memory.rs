//! How the process holds on to memory it frees (glibc's allocator).
//!
//! Big buffers (frames, masters, spectra) come from the heap and go back to it, instead
//! of being mapped afresh each time: a fresh mapping costs a page fault per 4 KiB, and a
//! re-stack in the console would pay them all again for buffers of the same sizes.
//!
//! Every thread allocates from that one heap. glibc otherwise gives each worker thread
//! an arena of its own, whose heaps are at most 64 MiB and are unmapped once emptied: a
//! streamed stack reads each frame whole into such a buffer and frees it, so each frame
//! came in fresh pages (W3 streamed: 175 k page faults against 107 k, 665 against
//! 438 MiB peak). The engine's threads allocate rarely and in large pieces, so they do
//! not queue for the one arena's lock.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    pub const M_TRIM_THRESHOLD: i32 = -1;
    pub const M_MMAP_THRESHOLD: i32 = -3;
    pub const M_ARENA_MAX: i32 = -8;

    unsafe extern "C" {
        pub fn mallopt(param: i32, value: i32) -> i32;
        pub fn malloc_trim(pad: usize) -> i32;
    }
}

/// Keeps freed memory for the next allocations. Call before any thread starts.
pub fn keep_freed() {
    // SAFETY: mallopt only sets allocator parameters, here before other threads exist.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        glibc::mallopt(glibc::M_MMAP_THRESHOLD, i32::MAX);
        glibc::mallopt(glibc::M_TRIM_THRESHOLD, i32::MAX);
        glibc::mallopt(glibc::M_ARENA_MAX, 1);
    }
}

/// Hands the memory kept so far back to the system: before `mbias bench` starts a CLI
/// child, whose memory should come from pages the system has just had back, as it would
/// after any other program.
pub fn release_freed() {
    // SAFETY: malloc_trim only returns free heap memory to the system.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        glibc::malloc_trim(0);
    }
}
