//! `hotlink run` as a command: a reader that goes away (`hotlink run fw.elf | head`) ends the
//! report quietly instead of panicking: by success, or by SIGPIPE as `cat` does (the binary
//! restores the default SIGPIPE action; tests/closed_stdout.rs).

use std::process::{Command, Stdio};

#[test]
fn run_exits_quietly_when_stdout_is_closed() {
    let elf = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/firmware/build/vm/vm.elf"
    );
    for format in ["text", "json"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hotlink"))
            .args(["run", "--format", format, elf])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the read end before the simulation finishes and the report is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{format}: {stderr}");
        assert!(stderr.is_empty(), "{format}: quiet, got {stderr}");
        #[cfg(unix)]
        let by_sigpipe = std::os::unix::process::ExitStatusExt::signal(&out.status) == Some(13);
        #[cfg(not(unix))]
        let by_sigpipe = false;
        assert!(
            out.status.success() || by_sigpipe,
            "{format}: {:?}",
            out.status
        );
    }
}
