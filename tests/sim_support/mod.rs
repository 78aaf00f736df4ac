//! Shared by the virtual-board tests that build firmware.

use std::process::Command;

/// Whether arm-none-eabi-gcc is here: skips locally with a printed reason, fails in CI.
pub fn toolchain() -> bool {
    let ok = Command::new("arm-none-eabi-gcc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but arm-none-eabi-gcc is missing"
        );
        eprintln!("skipping: arm-none-eabi-gcc not installed");
    }
    ok
}
