//! `.ARM.attributes` merging against GNU ld on hand-made objects whose attributes differ: CPUs
//! (Cortex-M0, -M4, -M7), FPUs, enum and wchar_t sizes, optimization goals, in both orders
//! (the first object decides some values), and every pair of M-profile architectures from
//! ARMv6-M to ARMv8.1-M mainline. hotlink must write the same bytes as
//! `arm-none-eabi-ld`, warn where it warns, and fail where it fails. Also objects as LLVM (rustc)
//! writes them, with Tag_conformance and no CPU name, mixed with an object without
//! `.ARM.attributes`: which object GNU ld copies first and when it writes a made-up CPU name.
//! (Every firmware fixture's merged section is compared in `link_differential.rs`, the Rust
//! fixtures' in `firmware_rust.rs`.)
//!
//! Needs the ARM toolchain: skipped locally with a message when it is missing, failing when `CI`
//! is set.

mod link_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use link_support::{arm_attributes, hotlink, output, run, toolchain_or_skip};

const SCRIPT: &str = "SECTIONS {
  . = 0x1000;
  .text : { *(.text*) }
  .data : { *(.data*) }
  .bss : { *(.bss*) }
  .ARM.attributes 0 : { *(.ARM.attributes) }
}
";

const SOURCE: &str = "enum colour { RED, GREEN };
float scale_NAME(float x, enum colour c) { return c == RED ? x * 2.0f : x; }
int wide_NAME(const __WCHAR_TYPE__ *s) { return s[0]; }
";

/// An assembly function: gas gives it CPU and ISA attributes but no FP ones.
const ASM_SOURCE: &str = ".syntax unified\n.thumb\n.text\n.global add_NAME\n.thumb_func\nadd_NAME: adds r0, r0, r1\n bx lr\n";

/// Compiles a small C file (FP, an enum, wchar_t), or assembles a small `.s` file if `name`
/// ends in `_s`, named `name` with `flags`.
fn compile(dir: &Path, name: &str, flags: &str) -> PathBuf {
    let (ext, text) = match name.ends_with("_s") {
        true => ("s", ASM_SOURCE),
        false => ("c", SOURCE),
    };
    let src = dir.join(format!("{name}.{ext}"));
    std::fs::write(&src, text.replace("NAME", name)).unwrap();
    let obj = dir.join(format!("{name}.o"));
    run(Command::new("arm-none-eabi-gcc")
        .args(["-mthumb", "-c"])
        .args(flags.split_whitespace())
        .arg(&src)
        .arg("-o")
        .arg(&obj));
    obj
}

/// Links `objects` with GNU ld and hotlink: (GNU ld's stderr and output, hotlink's stderr and
/// output), an output being None when that linker failed.
type Outcome = (String, Option<PathBuf>);

fn link(dir: &Path, tag: &str, objects: &[PathBuf]) -> (Outcome, Outcome) {
    let script = dir.join("attrs.ld");
    std::fs::write(&script, SCRIPT).unwrap();
    let mut results = Vec::new();
    for (who, program, sub) in [
        ("ld", PathBuf::from("arm-none-eabi-ld"), None),
        ("hotlink", hotlink(), Some("link")),
    ] {
        let out = dir.join(format!("{tag}-{who}.elf"));
        let mut cmd = Command::new(program);
        cmd.args(sub).args(["-e", "0x1000", "-T"]).arg(&script);
        let o = output(cmd.args(objects).arg("-o").arg(&out));
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        results.push((stderr, o.status.success().then_some(out)));
    }
    let hl = results.pop().unwrap();
    (results.pop().unwrap(), hl)
}

#[test]
fn differing_objects_merge_as_gnu_ld_merges_them() {
    if !toolchain_or_skip(&["arm-none-eabi-gcc", "arm-none-eabi-ld"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m7 = compile(
        d,
        "m7",
        "-mcpu=cortex-m7 -mfloat-abi=hard -mfpu=fpv5-d16 -O2",
    );
    let m7sp = compile(
        d,
        "m7sp",
        "-mcpu=cortex-m7 -mfloat-abi=hard -mfpu=fpv5-sp-d16 -Os",
    );
    let m4 = compile(
        d,
        "m4",
        "-mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16 -O1",
    );
    let m0 = compile(d, "m0", "-mcpu=cortex-m0 -mfloat-abi=soft -O2");
    let m0_s = compile(d, "m0_s", "-mcpu=cortex-m0");
    let short_enums = compile(
        d,
        "short_enums",
        "-mcpu=cortex-m7 -mfloat-abi=hard -mfpu=fpv5-d16 -fshort-enums",
    );
    let short_wchar = compile(
        d,
        "short_wchar",
        "-mcpu=cortex-m7 -mfloat-abi=hard -mfpu=fpv5-d16 -fshort-wchar",
    );
    let softfp = compile(
        d,
        "softfp",
        "-mcpu=cortex-m7 -mfloat-abi=softfp -mfpu=fpv5-d16",
    );
    let cases: Vec<(&str, Vec<PathBuf>)> = vec![
        ("m7-m4", vec![m7.clone(), m4.clone()]),
        ("m4-m7", vec![m4.clone(), m7.clone()]),
        ("m7sp-m7-m4", vec![m7sp.clone(), m7.clone(), m4.clone()]),
        ("m0s-m7", vec![m0_s.clone(), m7.clone()]),
        ("m7-m0s", vec![m7.clone(), m0_s.clone()]),
        ("m7-m0s-m4", vec![m7.clone(), m0_s, m4.clone()]),
        // Refused by both: soft-float (core register) FP arguments against hard-float ones.
        ("m0-m7", vec![m0.clone(), m7.clone()]),
        ("m7-m0", vec![m7.clone(), m0]),
        ("enums", vec![m7.clone(), short_enums]),
        ("wchar", vec![m7.clone(), short_wchar]),
        ("softfp-hard", vec![softfp, m7.clone()]),
    ];
    let (mut compared, mut refused) = (0, 0);
    for (tag, objects) in &cases {
        let ((ld_err, ld_out), (hl_err, hl_out)) = link(d, tag, objects);
        assert_eq!(
            ld_out.is_some(),
            hl_out.is_some(),
            "{tag}: GNU ld {ld_err}, hotlink {hl_err}"
        );
        for (word, ours) in [("enums", "enums"), ("wchar_t", "wchar_t")] {
            assert_eq!(
                ld_err.contains(word),
                hl_err.contains(ours),
                "{tag}: warnings differ: GNU ld {ld_err}, hotlink {hl_err}"
            );
        }
        let (Some(ld), Some(hl)) = (ld_out, hl_out) else {
            // Both refused: hotlink names the objects.
            for o in objects {
                let name = o.file_name().unwrap().to_str().unwrap();
                assert!(hl_err.contains(name), "{tag}: {hl_err}");
            }
            refused += 1;
            continue;
        };
        let want = arm_attributes(&ld).expect("GNU ld wrote .ARM.attributes");
        assert_eq!(arm_attributes(&hl), Some(want), "{tag}");
        compared += 1;
    }
    assert_eq!((compared, refused), (cases.len() - 3, 3));
    // Every M-profile architecture against every other, both orders: ARMv8-M mainline and
    // v8.1-M mainline absorb the older ones, v8-M baseline only ARMv6-M; GNU ld refuses v8-M
    // baseline with ARMv7(E-M), and hotlink must link, or refuse, exactly where it does.
    let cpus: Vec<PathBuf> = ["m0", "m3", "m7", "m23", "m33", "m55"]
        .iter()
        .map(|cpu| compile(d, &format!("{cpu}_s"), &format!("-mcpu=cortex-{cpu}")))
        .collect();
    let (mut linked, mut refused) = (Vec::new(), 0);
    for a in &cpus {
        for b in cpus.iter().filter(|b| *b != a) {
            let tag = format!("{}+{}", stem(a), stem(b));
            let ((ld_err, ld_out), (hl_err, hl_out)) = link(d, &tag, &[a.clone(), b.clone()]);
            let (Some(ld), Some(hl)) = (&ld_out, &hl_out) else {
                assert!(
                    ld_out.is_none() && hl_out.is_none(),
                    "{tag}: GNU ld {ld_err}, hotlink {hl_err}"
                );
                assert!(
                    hl_err.contains(&stem(a)) && hl_err.contains(&stem(b)),
                    "{tag}: {hl_err}"
                );
                refused += 1;
                continue;
            };
            assert_eq!(arm_attributes(hl), arm_attributes(ld), "{tag}");
            linked.push(tag);
        }
    }
    assert!(linked.contains(&"m7_s+m33_s".to_string()), "{linked:?}");
    assert_eq!((linked.len(), refused), (26, 4), "{linked:?}");
}

/// An ARMv7E-M object with the attributes LLVM writes (Tag_conformance "2.09", no
/// Tag_CPU_name), Tag_ABI_align_preserved `preserved` and, if given, optimization goal `goal`.
fn llvm_style(dir: &Path, name: &str, preserved: u8, goal: Option<u8>) -> PathBuf {
    let goal = goal.map_or(String::new(), |g| {
        format!(".eabi_attribute Tag_ABI_optimization_goals, {g}\n")
    });
    let text = format!(
        ".syntax unified\n.thumb\n.eabi_attribute Tag_conformance, \"2.09\"\n\
         .eabi_attribute Tag_CPU_arch, 13\n.eabi_attribute Tag_CPU_arch_profile, 'M'\n\
         .eabi_attribute Tag_ABI_align_preserved, {preserved}\n{goal}\
         .text\n.global f_{name}\n.thumb_func\nf_{name}: bx lr\n"
    );
    let src = dir.join(format!("{name}.s"));
    std::fs::write(&src, text).unwrap();
    let obj = dir.join(format!("{name}.o"));
    run(Command::new("arm-none-eabi-as")
        .arg(&src)
        .arg("-o")
        .arg(&obj));
    obj
}

#[test]
fn llvm_objects_merge_from_the_first_object_with_attributes() {
    if !toolchain_or_skip(&[
        "arm-none-eabi-gcc",
        "arm-none-eabi-ld",
        "arm-none-eabi-objcopy",
    ]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let speed = llvm_style(d, "speed", 1, Some(2));
    let plain = llvm_style(d, "plain", 1, None);
    let loose = llvm_style(d, "loose", 0, None);
    // As rustc's symbols.o: an object without `.ARM.attributes`.
    let bare = d.join("bare.o");
    run(Command::new("arm-none-eabi-objcopy")
        .args(["--remove-section", ".ARM.attributes"])
        .arg(llvm_style(d, "bare_src", 0, None))
        .arg(&bare));
    // gas names the CPU ("7E-M", from the -march gcc passes).
    let named = compile(d, "named_s", "-mcpu=cortex-m7");
    let cases: Vec<(&str, Vec<PathBuf>)> = vec![
        // The object without attributes is skipped: `speed` is copied, conformance, goal and
        // alignment kept, no CPU name made up.
        (
            "bare-speed-plain",
            vec![bare.clone(), speed.clone(), plain.clone()],
        ),
        (
            "bare-plain-speed",
            vec![bare.clone(), plain.clone(), speed.clone()],
        ),
        ("bare-speed-loose", vec![bare.clone(), speed.clone(), loose]),
        // A named object after them: GNU ld writes its own name for ARMv7E-M.
        ("speed-named", vec![speed.clone(), named.clone()]),
        ("named-bare-speed", vec![named, bare, speed]),
    ];
    let mut sections = Vec::new();
    for (tag, objects) in &cases {
        let ((ld_err, ld_out), (hl_err, hl_out)) = link(d, tag, objects);
        let (Some(ld), Some(hl)) = (ld_out, hl_out) else {
            panic!("{tag}: GNU ld {ld_err}, hotlink {hl_err}");
        };
        let want = arm_attributes(&ld).expect("GNU ld wrote .ARM.attributes");
        assert_eq!(arm_attributes(&hl).as_ref(), Some(&want), "{tag}");
        sections.push(want);
    }
    // The rule the cases show, in GNU ld's own output.
    let has = |s: &[u8], text: &[u8]| s.windows(text.len()).any(|w| w == text);
    let (conformance, made_up) = (&b"2.09\0"[..], &b"\x05ARM v7E-M\0"[..]);
    assert!(has(&sections[0], conformance) && !has(&sections[0], made_up));
    assert_ne!(sections[0], sections[1], "the first object's goal is kept");
    assert!(has(&sections[3], made_up) && !has(&sections[3], conformance));
    assert!(has(&sections[4], b"\x057E-M\0"));
}

/// The file name of an object, without `.o`.
fn stem(object: &Path) -> String {
    object.file_stem().unwrap().to_string_lossy().into_owned()
}
