fn main() -> std::process::ExitCode {
    restore_sigpipe();
    hotlink::cli::main()
}

/// Rust starts programs with SIGPIPE ignored, so `print!` into a closed pipe (`hotlink boards |
/// head -1`) fails and panics. Every command prints through `print!`; restoring the default
/// action makes all of them end quietly, as `cat` and `ls` do, when the reader goes away. Files
/// are written through a temporary and renamed, so an interrupted command leaves no truncated
/// output.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to SIG_DFL before any thread starts has no
    // memory-safety preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
