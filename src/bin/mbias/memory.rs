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
//! 438 MiB peak). The engine's threads allocate rarely and in large pieces, so they
//! seldom queue for the one arena's lock. They did when the heap grew: the thread
//! that grows it holds the lock through the system call, and a set of frames read on both
//! cores grew it dozens of times (W1 waited on it often enough to take 2 % longer). It
//! grows by at least 64 MiB at a time, which costs address space, not memory: pages count
//! only once written.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    pub const M_TRIM_THRESHOLD: i32 = -1;
    pub const M_MMAP_THRESHOLD: i32 = -3;
    pub const M_ARENA_MAX: i32 = -8;
    pub const M_TOP_PAD: i32 = -2;

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
        glibc::mallopt(glibc::M_TOP_PAD, 64 << 20);
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
