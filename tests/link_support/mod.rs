//! Helpers shared by the linker's integration tests: finding the ARM toolchain, QEMU and LLD
//! (skipping locally, failing in CI), running commands, and reading the fixtures' link lines.

#![allow(dead_code)] // Each test crate uses a different subset.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const NEWLIB: &str = "/usr/lib/arm-none-eabi/newlib/thumb/v7e-m+dp/hard";
pub const LIBGCC: &str = "/usr/lib/gcc/arm-none-eabi/12.2.1/thumb/v7e-m+dp/hard";
pub const CFLAGS: &[&str] = &[
    "-mcpu=cortex-m7",
    "-mthumb",
    "-mfloat-abi=hard",
    "-mfpu=fpv5-d16",
    "-O2",
    "-g",
    "-ffunction-sections",
    "-fdata-sections",
];

pub fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// True if the test can run; panics in CI when it cannot.
pub fn toolchain_or_skip(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !have(t)).collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but {missing:?} is missing: install gcc-arm-none-eabi, binutils-arm-none-eabi, libnewlib-arm-none-eabi, qemu-system-arm, lld");
    }
    eprintln!("skipping: {missing:?} not installed (set CI=1 to make this a failure)");
    false
}

/// Runs `cmd` and returns its output, whatever the exit status.
pub fn output(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs `cmd`, which must succeed; returns its stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn hotlink() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hotlink"))
}

/// Runs an image under QEMU's Cortex-M7 board; returns whether it exited 0, and what it printed
/// (semihosting output goes to stderr).
pub fn qemu_run(elf: &Path) -> (bool, String) {
    let out = output(
        Command::new("timeout")
            .args([
                "60",
                "qemu-system-arm",
                "-M",
                "mps2-an500",
                "-cpu",
                "cortex-m7",
            ])
            .args(["-global", "armv7m.init-nsvtor=0x60000000"])
            .args(["-semihosting-config", "enable=on,target=native"])
            .args([
                "-nographic",
                "-monitor",
                "none",
                "-serial",
                "none",
                "-kernel",
            ])
            .arg(elf),
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Runs a fixture's image under QEMU and panics with its output unless it passes. `rtos` depends
/// on where SysTick interrupts fall, and under QEMU about one run in eight of the committed
/// baseline image itself faults in PendSV, so it gets three tries.
pub fn assert_fixture_passes(elf: &Path, name: &str, who: &str) -> String {
    let tries = if name == "rtos" { 3 } else { 1 };
    let (mut ok, mut text) = qemu_run(elf);
    for _ in 1..tries {
        if ok {
            break;
        }
        (ok, text) = qemu_run(elf);
    }
    assert!(ok, "{name} linked by {who} fails in QEMU:\n{text}");
    text
}

/// A directory holding `ld` → hotlink, for `arm-none-eabi-gcc -B DIR`.
pub fn gcc_b_dir(parent: &Path) -> PathBuf {
    let dir = parent.join("hotlink-as-ld");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(hotlink(), dir.join("ld")).unwrap();
    dir
}

pub fn firmware_build_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/firmware/build")
}

/// A firmware fixture: its build directory and the ld arguments of its `.link` file, without
/// the recorded output and map.
pub struct Fixture {
    pub name: String,
    pub dir: PathBuf,
    pub args: Vec<String>,
}

/// The arguments of a fixture's `.link` file (one a line) without the recorded `-o` and `-Map`.
pub fn link_file_args(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut words = text.lines().map(str::trim).filter(|l| !l.is_empty());
    while let Some(w) = words.next() {
        if w == "-o" {
            words.next();
        } else if !w.starts_with("-Map") {
            args.push(w.to_string());
        }
    }
    args
}

/// Every fixture under `tests/firmware/build/` that has a `<name>.link` file, by name.
pub fn fixtures() -> Vec<Fixture> {
    let Ok(entries) = std::fs::read_dir(firmware_build_dir()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(text) = std::fs::read_to_string(entry.path().join(format!("{name}.link"))) else {
            continue;
        };
        let args = link_file_args(&text);
        out.push(Fixture {
            name,
            dir: entry.path(),
            args,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The contents of the `.ARM.attributes` section of the ELF file at `path` (None: no such
/// section).
pub fn arm_attributes(path: &Path) -> Option<Vec<u8>> {
    use object::{Object as _, ObjectSection as _};
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let section = file.section_by_name(".ARM.attributes")?;
    Some(section.data().unwrap().to_vec())
}

/// A description of how the `.ARM.attributes` sections of two images differ (None: same bytes).
pub fn arm_attributes_difference(reference: &Path, ours: &Path) -> Option<String> {
    let (want, got) = (arm_attributes(reference), arm_attributes(ours));
    (want != got).then(|| format!(".ARM.attributes: hotlink {got:02x?}, GNU ld {want:02x?}"))
}

/// The veneers' symbols of the ELF image at `path`: every local `__<name>_veneer` function and
/// the `$t`/`$d` mapping symbols inside one, as `name value size section`, sorted.
pub fn veneer_symbols(path: &Path) -> Vec<String> {
    use object::{Object as _, ObjectSection as _, ObjectSymbol as _};
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let describe = |s: &object::Symbol| {
        let section = s
            .section_index()
            .and_then(|i| file.section_by_index(i).ok())
            .map(|sec| sec.name().unwrap_or("?").to_string())
            .unwrap_or_default();
        format!(
            "{} {:#x} {} {section}",
            s.name().unwrap_or("?"),
            s.address(),
            s.size()
        )
    };
    let veneers: Vec<object::Symbol> = file
        .symbols()
        .filter(|s| {
            s.is_local()
                && s.name()
                    .is_ok_and(|n| n.starts_with("__") && n.ends_with("_veneer"))
        })
        .collect();
    let inside = |address: u64| {
        veneers
            .iter()
            .any(|v| (v.address() & !1..(v.address() & !1) + 8).contains(&address))
    };
    let mut out: Vec<String> = veneers.iter().map(describe).collect();
    out.extend(
        file.symbols()
            .filter(|s| matches!(s.name(), Ok("$t" | "$d")) && inside(s.address()))
            .map(|s| describe(&s)),
    );
    out.sort();
    out
}

/// How the veneers' symbols of two images differ (None: the same symbols at the same places).
pub fn veneer_symbols_difference(reference: &Path, ours: &Path) -> Option<String> {
    let (want, got) = (veneer_symbols(reference), veneer_symbols(ours));
    (want != got).then(|| format!("veneer symbols: hotlink {got:#?}, GNU ld {want:#?}"))
}
