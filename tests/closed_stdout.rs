//! Every command that prints ends quietly when its reader has gone away (`hotlink boards | true`):
//! no "failed printing to stdout" panic, but the conventional end by SIGPIPE, as `cat` has.

#![cfg(unix)]

mod common;

use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

/// A pipe whose read end is already closed: every write to the returned end fails with EPIPE.
fn closed_pipe() -> OwnedFd {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe(2) returns.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe(2)");
    // SAFETY: both descriptors were just created and are owned here alone.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    write
}

#[test]
fn printing_commands_survive_a_closed_stdout() {
    let elf = common::fixture_elf("vm").display().to_string();
    let map = common::firmware_build_dir()
        .join("vm/vm.map")
        .display()
        .to_string();
    let profile = common::repo_root()
        .join("profiles/vm.imxrt1062.sim.json")
        .display()
        .to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["boards"],
        vec!["boards", "show", "imxrt1062"],
        vec!["inspect", "--symbols", &elf],
        vec!["heat", "--profile", &profile, "--map", &map, &elf],
        vec!["profile", "show", &profile],
        vec!["report", "--map", &map, &elf],
    ];
    for args in commands {
        let out = Command::new(env!("CARGO_BIN_EXE_hotlink"))
            .args(&args)
            .stdout(Stdio::from(closed_pipe()))
            .stderr(Stdio::piped())
            .output()
            .expect("hotlink runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "hotlink {args:?}: {stderr}");
        assert!(
            !stderr.contains("Broken pipe"),
            "hotlink {args:?}: {stderr}"
        );
        // Each command prints, so it hits the closed pipe and ends the way `cat` does.
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGPIPE),
            "hotlink {args:?} ended with {:?}: {stderr}",
            out.status
        );
    }
}
