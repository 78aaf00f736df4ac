//! hotlink as `ld` under the gcc driver (`arm-none-eabi-gcc -B DIR` with `DIR/ld` → hotlink):
//! the driver's own link line (-plugin, -plugin-opt, -X, its -L list, --start-group -lgcc -lc)
//! must link every fixture into an image that passes in QEMU. (hotlink acts as `hotlink link` when
//! called as `ld` or `*-ld`.) And the floating-point ABI check: hard-float and soft-float objects
//! do not link together.

mod link_support;

use std::path::Path;
use std::process::Command;

use link_support::{
    assert_fixture_passes, fixtures, gcc_b_dir, hotlink, output, run, toolchain_or_skip, CFLAGS,
};

#[test]
fn gcc_driver_links_every_fixture_with_hotlink_as_ld() {
    let all: Vec<_> = fixtures()
        .into_iter()
        .filter(|f| f.dir.join("imxrt1062.ld").is_file())
        .collect();
    assert!(!all.is_empty(), "no fixtures under tests/firmware/build");
    if !toolchain_or_skip(&["arm-none-eabi-gcc", "qemu-system-arm"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let b = gcc_b_dir(tmp.path());
    for fixture in &all {
        let elf = tmp.path().join(format!("{}.elf", fixture.name));
        let map = tmp.path().join(format!("{}.map", fixture.name));
        run(Command::new("arm-none-eabi-gcc")
            .arg("-B")
            .arg(&b)
            .args(&CFLAGS[..4])
            .args(["-nostartfiles", "-T", "imxrt1062.ld"])
            .args(fixture.args.iter().filter(|a| a.ends_with(".o")))
            .args(["-Wl,--gc-sections", "-lm"])
            .arg(format!("-Wl,-Map={}", map.display()))
            .arg("-o")
            .arg(&elf)
            .current_dir(&fixture.dir));
        // hotlink wrote the map, so hotlink really was the linker.
        let text = std::fs::read_to_string(&map).unwrap();
        assert!(text.contains("Memory Configuration"), "{}", fixture.name);
        assert_fixture_passes(&elf, &fixture.name, "gcc -B with hotlink as ld");
    }
}

fn compile(dir: &Path, name: &str, source: &str, float_abi: &str) -> String {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, source).unwrap();
    let o = dir.join(format!("{name}.o"));
    run(Command::new("arm-none-eabi-gcc")
        .args(["-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-O2", "-c"])
        .arg(format!("-mfloat-abi={float_abi}"))
        .arg(&c)
        .arg("-o")
        .arg(&o));
    o.display().to_string()
}

#[test]
fn hard_and_soft_float_objects_do_not_link_together() {
    if !toolchain_or_skip(&["arm-none-eabi-gcc"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("t.ld");
    std::fs::write(
        &script,
        "MEMORY { flash (rx) : ORIGIN = 0x60000000, LENGTH = 1M }\n\
         SECTIONS { .text : { *(.text*) } > flash }\n",
    )
    .unwrap();
    let scale = "float scale(float x) { return x * 2.5f; }\n";
    let caller = "float scale(float);\nfloat entry(float y) { return scale(y) + 1.0f; }\n";
    let hard = compile(dir.path(), "scale_hard", scale, "hard");
    let soft = compile(dir.path(), "caller_soft", caller, "softfp");
    let hard_caller = compile(dir.path(), "caller_hard", caller, "hard");
    let link = |objects: &[&str]| {
        output(
            Command::new(hotlink())
                .arg("link")
                .arg("-T")
                .arg(&script)
                .args(["-e", "entry", "-o"])
                .arg(dir.path().join("out.elf"))
                .args(objects),
        )
    };
    let out = link(&[&soft, &hard]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("floating-point ABI mismatch")
            && stderr.contains("caller_soft.o passes floating-point arguments in core registers")
            && stderr.contains("scale_hard.o passes floating-point arguments in FPU registers"),
        "{stderr}"
    );
    // The same ABI on both sides links.
    let soft_scale = compile(dir.path(), "scale_soft", scale, "softfp");
    for wanted in [[&hard_caller, &hard], [&soft, &soft_scale]] {
        let wanted: Vec<&str> = wanted.iter().map(|s| s.as_str()).collect();
        let out = link(&wanted);
        assert!(
            out.status.success(),
            "{wanted:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
