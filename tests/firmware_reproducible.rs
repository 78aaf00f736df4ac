//! The committed fixture artefacts (`tests/firmware/build/`) must be exactly
//! what the sources and Makefile produce, and their `.link` files must describe
//! a link that another linker can repeat from the fixture's build directory.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// A full rebuild of every fixture takes about a minute on two cores.
const CHECK_LIMIT: Duration = Duration::from_secs(900);

#[test]
fn committed_artefacts_match_a_fresh_build() {
    if !common::require_tools(&["make", "python3", "arm-none-eabi-gcc", "arm-none-eabi-ld"]) {
        return;
    }
    let mut make = Command::new("make");
    make.arg("-j2")
        .arg("-C")
        .arg(common::firmware_dir())
        .arg("check");
    let out = common::run_with_timeout(&mut make, CHECK_LIMIT).expect("start make");
    assert!(
        !out.timed_out(),
        "`make -C tests/firmware check` did not finish within {CHECK_LIMIT:?}"
    );
    assert_eq!(
        out.code(),
        Some(0),
        "`make -C tests/firmware check` failed:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains("reproduced byte for byte"),
        "unexpected output from make check:\n{}",
        out.stdout
    );
}

/// Reads `<dir>/<name>.link`: one ld argument per line.
fn link_args(dir: &Path, name: &str) -> Vec<String> {
    let path = dir.join(format!("{name}.link"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines().map(str::to_owned).collect()
}

/// Needs no toolchain: every input a `.link` file names exists relative to its
/// directory, nothing but the system library directories is absolute, and the
/// outputs it names are committed next to it.
#[test]
fn link_files_are_self_contained() {
    let build = common::firmware_build_dir();
    let mut fixtures = 0;
    for entry in std::fs::read_dir(&build).expect("tests/firmware/build exists") {
        let dir = entry.expect("directory entry").path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if !dir.join(format!("{name}.link")).is_file() {
            continue;
        }
        fixtures += 1;
        let args = link_args(&dir, &name);
        let mut objects = 0;
        let mut iter = args.iter().peekable();
        while let Some(arg) = iter.next() {
            match arg.as_str() {
                "-T" | "-o" => {
                    let file = iter.next().expect("argument after -T/-o");
                    assert!(
                        dir.join(file).is_file(),
                        "{name}.link: {file} is not in {}",
                        dir.display()
                    );
                }
                // `-z keyword` (the SDK links with `-z muldefs`).
                "-z" => {
                    iter.next();
                }
                a if a.starts_with("-L/") => {}
                // The toolchain's start files (crt0, crti, crtbegin…) that the gcc driver passes.
                a if a.starts_with("/usr/lib/") && a.ends_with(".o") => {}
                a if a.starts_with('-') => {}
                a => {
                    assert!(!a.starts_with('/'), "{name}.link: absolute input path {a}");
                    assert!(
                        dir.join(a).is_file(),
                        "{name}.link: input {a} does not exist relative to {}",
                        dir.display()
                    );
                    objects += 1;
                }
            }
        }
        assert!(objects >= 3, "{name}.link names only {objects} objects");
        assert!(
            args.iter().any(|a| a == &format!("-Map={name}.map")),
            "{name}.link does not write {name}.map"
        );
        assert!(
            dir.join(format!("{name}.map")).is_file(),
            "{name}.map missing"
        );
        assert!(
            args.iter().any(|a| a == "--gc-sections"),
            "{name}.link lacks --gc-sections"
        );
    }
    assert!(
        fixtures >= 6,
        "expected at least 6 fixtures with .link files, found {fixtures}"
    );
}
