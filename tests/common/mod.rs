//! Helpers shared by the integration tests: where the firmware fixtures live,
//! finding external tools (ARM toolchain, QEMU) with the project's rule that a
//! missing tool skips a test locally but fails it in CI, and running a child
//! process with a time limit so a hung emulator fails a test instead of
//! hanging it.

// Each test crate compiles this module separately and uses a different subset.
#![allow(dead_code)]

use std::io::{self, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The `hotlink` package root (the workspace root).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/firmware`: fixture sources, Makefile and committed build outputs.
pub fn firmware_dir() -> PathBuf {
    repo_root().join("tests").join("firmware")
}

/// `tests/firmware/build`: one directory per fixture with `.o`, `.elf`, `.map`, `.link`.
pub fn firmware_build_dir() -> PathBuf {
    firmware_dir().join("build")
}

/// The linked image of fixture `name` (e.g. `vm`, `vm-rt1176`).
pub fn fixture_elf(name: &str) -> PathBuf {
    firmware_build_dir().join(name).join(format!("{name}.elf"))
}

/// True when running under CI (the `CI` environment variable is set and not empty).
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// True if `name --version` runs successfully.
pub fn tool_available(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether a test that needs tool `name` should run.
///
/// Returns true if the tool is on PATH. Otherwise, in CI it panics (a test must
/// never skip in CI); locally it prints why the test is skipped and returns false.
pub fn require_tool(name: &str) -> bool {
    if tool_available(name) {
        return true;
    }
    if in_ci() {
        panic!("`{name}` is required in CI but was not found on PATH");
    }
    eprintln!(
        "skipping: `{name}` not found on PATH; install it (see .ci/run) to run this test \
         (with CI set, this is a failure)"
    );
    false
}

/// Like [`require_tool`] for several tools at once; reports every missing one.
pub fn require_tools(names: &[&str]) -> bool {
    let found: Vec<bool> = names.iter().map(|n| require_tool(n)).collect();
    found.into_iter().all(|ok| ok)
}

/// What a child process did within its time limit.
#[derive(Debug)]
pub struct RunOutput {
    /// `None` if the process was killed at the time limit.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl RunOutput {
    pub fn timed_out(&self) -> bool {
        self.status.is_none()
    }

    /// The exit code, if the process exited normally.
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn wait_with_limit(child: &mut Child, limit: Duration) -> io::Result<Option<ExitStatus>> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if start.elapsed() >= limit {
            child.kill()?;
            child.wait()?;
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `cmd` with stdout and stderr captured, killing it after `limit`.
pub fn run_with_timeout(cmd: &mut Command, limit: Duration) -> io::Result<RunOutput> {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let status = wait_with_limit(&mut child, limit)?;
    Ok(RunOutput {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        elapsed: start.elapsed(),
    })
}

/// The QEMU command line that runs an RT1062-map fixture on the mps2-an500
/// Cortex-M7 board: RAM at 0x0, 0x2000_0000 and 0x6000_0000, vector table
/// fetched from 0x6000_0000, semihosting on, exit status = the program's.
pub fn qemu_command(elf: &std::path::Path) -> Command {
    let mut cmd = Command::new("qemu-system-arm");
    cmd.args([
        "-M",
        "mps2-an500",
        "-cpu",
        "cortex-m7",
        "-global",
        "armv7m.init-nsvtor=0x60000000",
        "-semihosting-config",
        "enable=on,target=native",
        "-nographic",
        "-monitor",
        "none",
        "-serial",
        "none",
        "-kernel",
    ]);
    cmd.arg(elf);
    cmd
}

/// Runs the hotlink binary under test; returns (success, stdout, stderr).
pub fn hotlink(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hotlink"))
        .args(args)
        .output()
        .expect("run hotlink");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the hotlink binary under test; returns its whole output (with the exit code).
pub fn hotlink_output(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hotlink"))
        .args(args)
        .output()
        .expect("run hotlink")
}

/// Runs hotlink expecting success; returns stdout.
pub fn ok(args: &[&str]) -> String {
    let out = hotlink_output(args);
    assert!(
        out.status.success(),
        "hotlink {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs hotlink expecting a clean failure (exit 1, not a panic); returns stderr.
pub fn fails(args: &[&str]) -> String {
    let out = hotlink_output(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "hotlink {args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// True when the Rust target for the Cortex-M7 is installed (see `.ci/run`).
fn thumb_target_installed() -> bool {
    let Ok(out) = Command::new("rustc")
        .args([
            "--print",
            "target-libdir",
            "--target",
            "thumbv7em-none-eabihf",
        ])
        .output()
    else {
        return false;
    };
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("libcore-"))
    })
}

/// Whether a test that builds the Rust fixtures should run: it needs the ARM toolchain and the
/// `thumbv7em-none-eabihf` Rust target (skipped locally with a message, failing in CI).
pub fn require_rust_fixture_tools() -> bool {
    if !require_tool("arm-none-eabi-ld") {
        return false;
    }
    if thumb_target_installed() {
        return true;
    }
    if in_ci() {
        panic!("the thumbv7em-none-eabihf Rust target is required in CI (rustup target add)");
    }
    eprintln!("skipping: `rustup target add thumbv7em-none-eabihf` to run this test");
    false
}

/// Runs `cargo` (a build of the Rust fixture `fixture`, e.g. `rust-imxrt`) so that it links
/// again: cargo does not track the linker or its arguments as inputs, so the fixture's
/// `src/main.rs` is rewritten first. Panics with cargo's stderr, labelled `what`, on failure.
pub fn cargo_relink(cmd: &mut Command, fixture: &str, what: &str) {
    let main_rs = firmware_dir().join(fixture).join("src/main.rs");
    let text = std::fs::read(&main_rs).unwrap();
    std::fs::write(&main_rs, text).unwrap();
    let out = cmd.output().expect("run cargo");
    assert!(
        out.status.success(),
        "{fixture} ({what}): cargo failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A sampled profile of `elf` in which every function is equally hot: 100 samples at its start
/// (the hardest plan for startup safety: everything wants to move).
pub fn every_function_hot(elf: &std::path::Path, out: &std::path::Path) {
    use hotlink::profile::{Capture, ElfIdentity, Method, Profile};
    use object::{Object, ObjectSymbol, SymbolKind};
    let bytes = std::fs::read(elf).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    let starts: Vec<(u32, u64)> = file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Text && s.size() > 0)
        .map(|s| ((s.address() & !1) as u32, 100))
        .collect();
    assert!(starts.len() > 10, "functions in {}", elf.display());
    let capture = Capture {
        method: Method::Pcsr,
        sample_period_cycles: Some(64),
        duration_ms: None,
        probe: None,
        runs: 1,
        partial: None,
        parameters: Default::default(),
    };
    let identity = ElfIdentity::of_bytes(&elf.display().to_string(), &bytes);
    let mut profile = Profile::new(identity, "imxrt1062", capture);
    profile.set_histogram(starts);
    profile.save(out).unwrap();
}

/// Fixture `name`'s link arguments (its `.link` file in `dir`, one per line) without its output
/// and map.
pub fn fixture_link_args(dir: &std::path::Path, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join(format!("{name}.link"))).unwrap();
    let mut args: Vec<String> = text.lines().map(str::to_string).collect();
    if let Some(i) = args.iter().position(|a| a == "-o") {
        args.drain(i..i + 2);
    }
    args.retain(|a| !a.starts_with("-Map="));
    args
}
