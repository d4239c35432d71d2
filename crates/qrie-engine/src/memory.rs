//! The process's allocator, tuned so that memory stays flat over long sweeps.

/// Caps glibc's malloc at two arenas. glibc gives a thread that finds the
/// heap busy an arena of its own (up to eight per core), and a sweep's work
/// moves between the runtime's workers and the short-lived blocking threads
/// that make SQLite calls, so its allocations spread over many arenas; what
/// is freed in each stays there, and the resident size grows with the length
/// of a run rather than with what it holds (docs/performance.md: a
/// 1,000-account sweep's peak fell from 257 to 151 MB with two arenas, and
/// became flat in the number of accounts). Call it first thing in `main`. Elsewhere (musl, macOS) it does
/// nothing.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; M_ARENA_MAX takes
    // any positive count, and it is called before the threads it affects.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
