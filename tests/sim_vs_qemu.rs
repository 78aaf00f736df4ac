//! Fidelity of the virtual board against QEMU (`qemu-system-arm -M mps2-an500`, Cortex-M7):
//! program output, exit status and the exact retired-instruction count, for every fixture without
//! timer interrupts and for the simulator's own test programs; plus a randomised differential
//! test of short instruction sequences (registers and flags compared).
//!
//! QEMU's count comes from `tests/qemu/insn_count.c`, a small TCG plugin built here with the
//! host C compiler. Without the ARM toolchain, QEMU or a C compiler these tests skip with a
//! printed reason, except when `CI` is set, where they fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use hotlink::board::Board;
use hotlink::sim::{Limits, Machine, StopReason};

const ARCH: &[&str] = &[
    "-mcpu=cortex-m7",
    "-mthumb",
    "-mfloat-abi=hard",
    "-mfpu=fpv5-d16",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether the external tools are here; skips locally, fails in CI.
fn tools_present() -> bool {
    let missing: Vec<_> = ["arm-none-eabi-gcc", "qemu-system-arm", "cc"]
        .into_iter()
        .filter(|t| !have(t))
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {missing:?} are missing (install gcc-arm-none-eabi, libnewlib-arm-none-eabi, qemu-system-arm, gcc)"
    );
    eprintln!("skipping: {missing:?} not installed");
    false
}

fn build_plugin(dir: &Path) -> PathBuf {
    let out = dir.join("insn_count.so");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&out)
        .arg(root().join("tests/qemu/insn_count.c"))
        .status()
        .expect("run cc");
    assert!(status.success(), "building the QEMU plugin failed");
    out
}

struct Outcome {
    output: Vec<u8>,
    status: i32,
    instructions: u64,
}

fn qemu(elf: &Path, plugin: &Path, dir: &Path) -> Outcome {
    let count = dir.join(format!(
        "{}.count",
        elf.file_name().unwrap().to_string_lossy()
    ));
    let out = Command::new("qemu-system-arm")
        .args([
            "-M",
            "mps2-an500",
            "-cpu",
            "cortex-m7",
            "-global",
            "armv7m.init-nsvtor=0x60000000",
        ])
        .args([
            "-semihosting-config",
            "enable=on,target=native",
            "-nographic",
            "-monitor",
            "none",
        ])
        .args(["-serial", "none", "-plugin"])
        .arg(format!("{},out={}", plugin.display(), count.display()))
        .arg("-kernel")
        .arg(elf)
        .output()
        .expect("run qemu-system-arm");
    let text = std::fs::read_to_string(&count).expect("the plugin wrote its count");
    // QEMU sends the semihosting console (SYS_WRITE0/WRITEC) to its stderr with -nographic,
    // and SYS_WRITE to handle 1 to its stdout; the programs here use one or the other.
    let mut output = out.stderr;
    output.extend_from_slice(&out.stdout);
    Outcome {
        output,
        status: out.status.code().unwrap_or(-1),
        instructions: text.trim().parse().expect("a number"),
    }
}

fn simulate(elf: &Path, board: &str, writable_flash: bool) -> Outcome {
    let board = Board::resolve(board).unwrap();
    let bytes = std::fs::read(elf).unwrap();
    let mut m = Machine::new(&board, &bytes, &elf.display().to_string()).unwrap();
    if writable_flash {
        m.mem.allow_flash_writes();
    }
    let stop = m
        .run(Limits {
            max_instructions: 2_000_000_000,
            max_cycles: u64::MAX,
        })
        .unwrap_or_else(|e| panic!("{}: {e}", elf.display()));
    let StopReason::Exit { status } = stop else {
        panic!("{}: did not exit: {stop:?}", elf.display());
    };
    Outcome {
        output: m.output,
        status,
        instructions: m.instructions,
    }
}

fn compile(dir: &Path, name: &str, sources: &[PathBuf]) -> PathBuf {
    let fw = root().join("tests/firmware/sim");
    let elf = dir.join(format!("{name}.elf"));
    let out = Command::new("arm-none-eabi-gcc")
        .args(ARCH)
        .args([
            "-O2",
            "-ffunction-sections",
            "-nostartfiles",
            "-Wl,--gc-sections",
            "-T",
        ])
        .arg(fw.join("sim.ld"))
        .arg("-I")
        .arg(&fw)
        .arg(fw.join("rt.c"))
        .args(sources)
        .args(["-lm", "-o"])
        .arg(&elf)
        .output()
        .expect("run arm-none-eabi-gcc");
    assert!(
        out.status.success(),
        "compiling {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elf
}

fn assert_same(name: &str, sim: &Outcome, q: &Outcome, compare_count: bool) {
    assert_eq!(
        String::from_utf8_lossy(&sim.output),
        String::from_utf8_lossy(&q.output),
        "{name}: program output differs from QEMU"
    );
    assert_eq!(
        sim.status, q.status,
        "{name}: exit status differs from QEMU"
    );
    if compare_count {
        assert_eq!(
            sim.instructions, q.instructions,
            "{name}: retired instructions differ from QEMU"
        );
    }
}

#[test]
fn fixtures_match_qemu() {
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plugin = build_plugin(dir.path());
    // (fixture, uses timer interrupts: compare output only, flash programmed by stores)
    let fixtures = [
        ("vm", false, false),
        ("dsp", false, false),
        ("flashwrite", false, true),
        ("big", false, false),
        ("rtos", true, false),
    ];
    let mut ran = 0;
    for (name, timers, writable) in fixtures {
        let elf = root().join(format!("tests/firmware/build/{name}/{name}.elf"));
        if !elf.exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "fixture {} is missing",
                elf.display()
            );
            eprintln!("skipping {name}: {} not built", elf.display());
            continue;
        }
        let q = qemu(&elf, &plugin, dir.path());
        let s = simulate(&elf, "imxrt1062", writable);
        assert_same(name, &s, &q, !timers);
        ran += 1;
    }
    // The RT1176-linked image on the RT1176 board (with its RT1170 peripheral map): same
    // program, same result, and the same instruction count as vm, which equals QEMU's.
    let elf = root().join("tests/firmware/build/vm-rt1176/vm-rt1176.elf");
    if elf.exists() {
        let a = simulate(&elf, "imxrt1176", false);
        let b = simulate(
            &root().join("tests/firmware/build/vm/vm.elf"),
            "imxrt1062",
            false,
        );
        assert_eq!((&a.output, a.status), (&b.output, b.status));
        assert_eq!(a.instructions, b.instructions, "vm-rt1176 vs vm");
        ran += 1;
    }
    eprintln!("{ran} fixtures compared");
}

#[test]
fn test_programs_match_qemu() {
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plugin = build_plugin(dir.path());
    for name in ["mix", "fp", "exceptions"] {
        let src = root().join(format!("tests/firmware/sim/{name}.c"));
        let elf = compile(dir.path(), name, &[src]);
        let q = qemu(&elf, &plugin, dir.path());
        let s = simulate(&elf, "imxrt1062", false);
        assert_same(name, &s, &q, true);
    }
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn reg(&mut self) -> String {
        format!("r{}", self.below(13))
    }
    fn low(&mut self) -> String {
        format!("r{}", self.below(8))
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// One random, valid ARMv7E-M integer instruction that reads and writes only R0-R12 and flags.
fn random_instruction(g: &mut Rng) -> String {
    let (d, n, m, a) = (g.reg(), g.reg(), g.reg(), g.reg());
    let shift = format!(
        "{} #{}",
        g.pick(&["lsl", "lsr", "asr", "ror"]),
        1 + g.below(31)
    );
    let imm = [
        0xFFu32,
        0x3FC,
        0xAB00_AB00,
        0x00CD_00CD,
        0x0003_FC00,
        0x7F,
        0xFF00_0000,
        0x1FE0,
    ];
    let mimm = imm[g.below(imm.len() as u64) as usize];
    match g.below(24) {
        0 => format!(
            "{}s {d}, {n}, {m}, {shift}",
            g.pick(&["add", "adc", "sub", "sbc", "rsb", "and", "orr", "eor", "bic", "orn"])
        ),
        1 => format!(
            "{}s {d}, {n}, #{mimm}",
            g.pick(&["add", "adc", "sub", "sbc", "and", "orr", "eor", "bic"])
        ),
        2 => format!(
            "{} {n}, {m}, {shift}",
            g.pick(&["cmp", "cmn", "tst", "teq"])
        ),
        3 => format!(
            "{}s {d}, {n}, #{}",
            g.pick(&["lsl", "lsr", "asr", "ror"]),
            1 + g.below(31)
        ),
        4 => format!("{}s {d}, {n}, {m}", g.pick(&["lsl", "lsr", "asr", "ror"])),
        5 => {
            let (l1, l2) = (g.low(), g.low());
            format!(
                "{} {l1}, {l2}",
                g.pick(&["adcs", "sbcs", "negs", "mvns", "muls", "rors", "lsls", "lsrs"])
            )
        }
        6 => format!(
            "{} {d}, {n}, {m}, {a}",
            g.pick(&[
                "mla", "mls", "smlabb", "smlatb", "smlabt", "smlatt", "smlad", "smladx", "smlsd",
                "smlsdx", "smlawb", "smlawt", "smmla", "smmlar", "smmls", "smmlsr", "usada8"
            ])
        ),
        7 => format!(
            "{} {d}, {n}, {m}",
            g.pick(&[
                "mul", "smulbb", "smultt", "smuad", "smuadx", "smusd", "smusdx", "smulwb",
                "smulwt", "smmul", "smmulr", "usad8", "sdiv", "udiv", "sel"
            ])
        ),
        8 => {
            let hi = loop {
                let r = g.reg();
                if r != d {
                    break r;
                }
            };
            format!(
                "{} {d}, {hi}, {n}, {m}",
                g.pick(&[
                    "umull", "smull", "umlal", "smlal", "umaal", "smlalbb", "smlaltb", "smlald",
                    "smlaldx", "smlsld", "smlsldx"
                ])
            )
        }
        9 => format!(
            "{} {d}, {m}",
            g.pick(&["clz", "rbit", "rev", "rev16", "revsh"])
        ),
        10 => {
            let lsb = g.below(32);
            let width = 1 + g.below(32 - lsb);
            format!(
                "{} {d}, {n}, #{lsb}, #{width}",
                g.pick(&["sbfx", "ubfx", "bfi"])
            )
        }
        11 => {
            let lsb = g.below(32);
            format!("bfc {d}, #{lsb}, #{}", 1 + g.below(32 - lsb))
        }
        12 => match g.below(4) {
            0 => format!("ssat {d}, #{}, {n}, lsl #{}", 1 + g.below(32), g.below(32)),
            1 => format!("usat {d}, #{}, {n}, asr #{}", g.below(32), 1 + g.below(31)),
            2 => format!("ssat16 {d}, #{}, {n}", 1 + g.below(16)),
            _ => format!("usat16 {d}, #{}, {n}", g.below(16)),
        },
        13 => format!(
            "{} {d}, {m}, {n}",
            g.pick(&["qadd", "qsub", "qdadd", "qdsub"])
        ),
        14 => format!(
            "{} {d}, {m}, ror #{}",
            g.pick(&["sxtb", "sxth", "uxtb", "uxth", "sxtb16", "uxtb16"]),
            8 * g.below(4)
        ),
        15 => format!(
            "{} {d}, {n}, {m}, ror #{}",
            g.pick(&["sxtab", "sxtah", "uxtab", "uxtah", "sxtab16", "uxtab16"]),
            8 * g.below(4)
        ),
        16 | 17 => {
            let p = g.pick(&["s", "q", "sh", "u", "uq", "uh"]);
            let o = g.pick(&["add16", "sub16", "asx", "sax", "add8", "sub8"]);
            format!("{p}{o} {d}, {n}, {m}")
        }
        18 => {
            if g.below(2) == 0 {
                format!("pkhbt {d}, {n}, {m}, lsl #{}", g.below(32))
            } else {
                format!("pkhtb {d}, {n}, {m}, asr #{}", 1 + g.below(32))
            }
        }
        19 => format!(
            "movw {d}, #{}\n    movt {d}, #{}",
            g.below(65536),
            g.below(65536)
        ),
        20 => format!("{} {d}, {n}, #{}", g.pick(&["addw", "subw"]), g.below(4096)),
        21 => {
            let c = g.pick(&[
                "eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le",
            ]);
            let inv = match c {
                "eq" => "ne",
                "ne" => "eq",
                "cs" => "cc",
                "cc" => "cs",
                "mi" => "pl",
                "pl" => "mi",
                "vs" => "vc",
                "vc" => "vs",
                "hi" => "ls",
                "ls" => "hi",
                "ge" => "lt",
                "lt" => "ge",
                "gt" => "le",
                _ => "gt",
            };
            let (l1, l2, l3) = (g.low(), g.low(), g.low());
            format!(
                "ite {c}\n    add{c} {l1}, {l2}, {l3}\n    subs{inv} {d}, {n}, #{}",
                g.below(256)
            )
        }
        22 => {
            let (l1, l2) = (g.low(), g.low());
            format!("{} {l1}, {l2}, #{}", g.pick(&["adds", "subs"]), g.below(8))
        }
        _ => format!("mrs {d}, apsr\n    msr apsr_nzcvqg, {n}"),
    }
}

#[test]
fn random_sequences_match_qemu() {
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plugin = build_plugin(dir.path());
    let mut g = Rng(0x9E37_79B9_7F4A_7C15);
    let sequences = 400;
    let mut asm = String::from(".syntax unified\n.thumb\n.text\n.global run_sequences\n.type run_sequences, %function\n.thumb_func\nrun_sequences:\n    push {r4-r11, lr}\n");
    for _ in 0..sequences {
        for r in 0..13 {
            asm += &format!("    ldr r{r}, ={:#x}\n", g.next() as u32);
        }
        asm += &format!(
            "    ldr r0, ={:#x}\n    msr apsr_nzcvqg, r0\n    ldr r0, ={:#x}\n",
            g.next() as u32,
            g.next() as u32
        );
        for _ in 0..(3 + g.below(6)) {
            asm += &format!("    {}\n", random_instruction(&mut g));
        }
        asm += "    push {r0-r12}\n    mrs r0, apsr\n    push {r0}\n    mov r0, sp\n    bl record\n    add sp, sp, #56\n    b 1f\n.ltorg\n1:\n";
    }
    asm += "    pop {r4-r11, pc}\n.ltorg\n";
    let s_file = dir.path().join("seq.S");
    std::fs::write(&s_file, asm).unwrap();
    let c_file = dir.path().join("seq_main.c");
    std::fs::write(
        &c_file,
        format!(
            "#include <stdint.h>\n#include \"rt.h\"\nstatic unsigned used;\n\
             void record(const uint32_t *p) {{ char line[14 * 9 + 2]; char *o = line;\n\
             for (int i = 0; i < 14; i++) {{ for (int k = 28; k >= 0; k -= 4) *o++ = \"0123456789abcdef\"[(p[i] >> k) & 15]; *o++ = ' '; }}\n\
             o[-1] = '\\n'; *o = 0; sh_puts(line); used++; }}\n\
             void run_sequences(void);\nint main(void) {{ run_sequences(); return used == {n} ? 0 : 1; }}\n",
            n = sequences
        ),
    )
    .unwrap();
    let elf = compile(dir.path(), "seq", &[s_file, c_file]);
    let q = qemu(&elf, &plugin, dir.path());
    let s = simulate(&elf, "imxrt1062", false);
    let (sim_text, qemu_text) = (
        String::from_utf8_lossy(&s.output),
        String::from_utf8_lossy(&q.output),
    );
    assert_eq!(
        qemu_text.lines().count(),
        sequences,
        "QEMU printed every record"
    );
    for (k, (a, b)) in sim_text.lines().zip(qemu_text.lines()).enumerate() {
        assert_eq!(
            a, b,
            "sequence {k}: [apsr r0..r12] differ (simulator left, QEMU right)"
        );
    }
    assert_eq!(s.status, 0);
    assert_eq!(s.instructions, q.instructions);
}
