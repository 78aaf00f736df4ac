//! `.ARM.attributes` (the ARM build attributes, AAELF "Build attributes"): read from every input
//! object and merged into one section as GNU ld's BFD does (`elf32_arm_merge_eabi_attributes`),
//! so the output says what the whole program needs and conflicting objects are refused.
//!
//! Read by hand: the `object` crate exposes the section but not its contents. Layout: a format
//! byte `A`, then vendor subsections (u32 length, NUL-terminated vendor name); the `aeabi` one
//! holds sub-subsections (ULEB tag, u32 length) whose attributes are ULEB tag/value pairs, with a
//! few tags carrying NUL-terminated strings instead. Only file-scope (`Tag_File`) attributes
//! take part, as in GNU ld; section- and symbol-scope ones are skipped.
//!
//! Which objects take part (GNU ld's `lang_check` calling `elf32_arm_merge_eabi_attributes` for
//! every input in load order): only those that have an `.ARM.attributes` section. The first of
//! them is copied whole, so an object without one (rustc's `symbols.o`, an assembled crt file
//! built without attributes) neither starts the merge nor resets tags to their defaults.
//!
//! Merge rules (each later object merged into the copy of the first):
//! Tag_ABI_VFP_args must agree between objects that use floating point (an error otherwise);
//! Tag_CPU_arch combines (names follow the object that decided it); Tag_FP_arch takes the
//! union of FP versions and register counts; "largest", "smallest" and "0 < 2 < 1" tags take
//! that value; optimization goals keep the first value; Tag_conformance survives only if every
//! object claims the same one; a differing wchar_t or enum size is a warning; a differing
//! profile, R9 use, WMMX or FP16 format is an error; an unknown tag in an object is an error if
//! it is mandatory to understand (even and below 64) and a warning otherwise.
//! Output encoding: Tag_conformance first, then Tag_nodefaults, then every other tag in order,
//! leaving out those whose value is the default (0 or an empty string) and those no merged
//! object had: BFD writes an attribute only once it has a type, which it takes from an input
//! that has the tag. So the CPU name GNU ld makes up from the architecture ("ARM v7E-M") is
//! written only when some object named its CPU; LLVM's objects (rustc) name none.

use std::collections::{BTreeMap, BTreeSet};

use super::resolve::Resolved;

const TAG_FILE: u64 = 1;
const CPU_RAW_NAME: u64 = 4;
const CPU_NAME: u64 = 5;
const CPU_ARCH: u64 = 6;
const CPU_ARCH_PROFILE: u64 = 7;
const FP_ARCH: u64 = 10;
const PCS_CONFIG: u64 = 13;
const ABI_PCS_R9_USE: u64 = 14;
const ABI_PCS_RW_DATA: u64 = 15;
const ABI_PCS_WCHAR_T: u64 = 18;
const ABI_FP_NUMBER_MODEL: u64 = 23;
const ABI_ALIGN_NEEDED: u64 = 24;
const ABI_ALIGN_PRESERVED: u64 = 25;
const ABI_ENUM_SIZE: u64 = 26;
const ABI_HARDFP_USE: u64 = 27;
const ABI_VFP_ARGS: u64 = 28;
const ABI_WMMX_ARGS: u64 = 29;
const COMPATIBILITY: u64 = 32;
const ABI_FP_16BIT_FORMAT: u64 = 38;
const DIV_USE: u64 = 44;
const DSP_EXTENSION: u64 = 46;
const NODEFAULTS: u64 = 64;
const ALSO_COMPATIBLE_WITH: u64 = 65;
const CONFORMANCE: u64 = 67;
const VIRTUALIZATION_USE: u64 = 68;
const MPEXTENSION_USE_LEGACY: u64 = 70;
/// Tags below this are GNU ld's "known" ARM attributes (Tag_PACRET_use is 76).
const NUM_KNOWN: u64 = 77;
/// Tag_CPU_arch value of ARMv7E-M (Cortex-M4/M7).
const ARCH_V7E_M: u64 = 13;

/// One attribute's value: a number, a string, or (Tag_compatibility) both.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Attr {
    pub int: u64,
    pub text: Option<String>,
}

/// The file-scope `aeabi` attributes of one object (or of the merged output), by tag.
pub type Attrs = BTreeMap<u64, Attr>;

fn int(a: &Attrs, tag: u64) -> u64 {
    a.get(&tag).map_or(0, |v| v.int)
}

fn text(a: &Attrs, tag: u64) -> Option<&str> {
    a.get(&tag).and_then(|v| v.text.as_deref())
}

fn set_int(a: &mut Attrs, tag: u64, v: u64) {
    a.entry(tag).or_default().int = v;
}

fn set_text(a: &mut Attrs, tag: u64, v: Option<String>) {
    a.entry(tag).or_default().text = v;
}

fn uleb(data: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn string(data: &[u8], at: &mut usize) -> Option<String> {
    let len = data.get(*at..)?.iter().position(|&b| b == 0)?;
    let s = String::from_utf8_lossy(&data[*at..*at + len]).into_owned();
    *at += len + 1;
    Some(s)
}

fn u32_at(data: &[u8], at: usize) -> Option<usize> {
    let b = data.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// Reads the file-scope `aeabi` attributes. `Err` describes where the section is malformed, or
/// names a vendor subsection GNU ld would merge but hotlink does not.
pub fn parse(data: &[u8]) -> Result<Attrs, String> {
    let mut attrs = Attrs::new();
    if data.first() != Some(&b'A') {
        return Err("does not start with format version `A`".into());
    }
    let mut at = 1;
    while at < data.len() {
        let len = u32_at(data, at).ok_or(format!("truncated subsection length at {at:#x}"))?;
        let end = at
            .checked_add(len)
            .filter(|&e| e <= data.len() && len >= 5)
            .ok_or(format!("subsection at {at:#x} has bad length {len}"))?;
        let mut p = at + 4;
        let vendor =
            string(&data[..end], &mut p).ok_or(format!("unterminated vendor name at {at:#x}"))?;
        if vendor == "gnu" && p < end {
            return Err(
                "has `gnu` vendor attributes, which hotlink does not merge; link with GNU ld"
                    .into(),
            );
        }
        if vendor == "aeabi" {
            while p < end {
                let sub_start = p;
                let tag = uleb(&data[..end], &mut p).ok_or("truncated tag")?;
                let sub_len = u32_at(data, p).ok_or("truncated length")?;
                let sub_end = sub_start
                    .checked_add(sub_len)
                    .filter(|&e| e <= end && e > p + 3)
                    .ok_or(format!(
                        "attribute block at {sub_start:#x} has bad length {sub_len}"
                    ))?;
                p += 4;
                if tag == TAG_FILE {
                    read_attributes(&data[..sub_end], &mut p, &mut attrs)
                        .ok_or(format!("truncated attribute in block at {sub_start:#x}"))?;
                }
                p = sub_end;
            }
        }
        at = end;
    }
    Ok(attrs)
}

/// Whether a tag's value is a string (as GNU ld decides for ARM): the CPU names, the
/// conformance and also-compatible-with tags, and odd tags from 33 on.
fn is_string(tag: u64) -> bool {
    matches!(
        tag,
        CPU_RAW_NAME | CPU_NAME | CONFORMANCE | ALSO_COMPATIBLE_WITH
    ) || (tag > COMPATIBILITY && tag % 2 == 1)
}

fn read_attributes(data: &[u8], p: &mut usize, attrs: &mut Attrs) -> Option<()> {
    while *p < data.len() {
        let tag = uleb(data, p)?;
        let attr = if tag == COMPATIBILITY {
            Attr {
                int: uleb(data, p)?,
                text: Some(string(data, p)?),
            }
        } else if is_string(tag) {
            Attr {
                int: 0,
                text: Some(string(data, p)?),
            }
        } else {
            Attr {
                int: uleb(data, p)?,
                text: None,
            }
        };
        attrs.insert(tag, attr);
    }
    Some(())
}

fn put_uleb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// GNU ld's output order for ARM: Tag_conformance, Tag_nodefaults, then the rest by number.
fn output_order(a: u64) -> (u8, u64) {
    match a {
        CONFORMANCE => (0, 0),
        NODEFAULTS => (1, 0),
        t => (2, t),
    }
}

/// The `.ARM.attributes` section holding `attrs` as GNU ld writes it (one `aeabi` file block;
/// no section at all, like GNU ld, when every attribute has its default value).
pub fn encode(attrs: &Attrs) -> Vec<u8> {
    let mut tags: Vec<u64> = attrs.keys().copied().collect();
    tags.sort_by_key(|&t| output_order(t));
    let mut body = Vec::new();
    for tag in tags {
        let a = &attrs[&tag];
        let s = a.text.as_deref().unwrap_or("");
        let written = tag == NODEFAULTS || a.int != 0 || !s.is_empty();
        if !written {
            continue;
        }
        put_uleb(&mut body, tag);
        if tag == COMPATIBILITY || !is_string(tag) {
            put_uleb(&mut body, a.int);
        }
        if tag == COMPATIBILITY || is_string(tag) {
            body.extend_from_slice(s.as_bytes());
            body.push(0);
        }
    }
    if body.is_empty() {
        return Vec::new();
    }
    let mut out = vec![b'A'];
    out.extend_from_slice(&((4 + 6 + 5 + body.len()) as u32).to_le_bytes());
    out.extend_from_slice(b"aeabi\0");
    out.push(TAG_FILE as u8);
    out.extend_from_slice(&((5 + body.len()) as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// The merged section and what GNU ld would have warned about on the way.
#[derive(Debug, Default)]
pub struct Merged {
    pub section: Vec<u8>,
    pub warnings: Vec<String>,
}

/// Merges the attributes of every object of the link that has them, in load order (GNU ld
/// merges every input object, whether or not its sections are kept, and skips one without an
/// `.ARM.attributes` section).
pub fn merge(r: &Resolved) -> Result<Merged, String> {
    let mut m = Merger::default();
    for o in &r.objects {
        let Some(s) = o
            .sections
            .iter()
            .find(|s| s.sh_type == object::elf::SHT_ARM_ATTRIBUTES.0)
        else {
            continue;
        };
        let attrs = parse(&s.data).map_err(|e| format!("{}: .ARM.attributes: {e}", o.origin))?;
        m.add(&attrs, &o.origin.to_string())?;
    }
    Ok(Merged {
        section: m.section(),
        warnings: m.warnings,
    })
}

/// The merge in progress: the output attributes so far and the object that set the FP
/// argument convention (for the error message).
#[derive(Debug, Default)]
struct Merger {
    out: Option<Attrs>,
    /// The first object: the output starts as a copy of its attributes.
    first: String,
    /// Every tag some merged object had (BFD's attribute "type"): only these are written.
    typed: BTreeSet<u64>,
    vfp_from: String,
    warnings: Vec<String>,
}

fn describe_vfp(vfp_args: u64) -> &'static str {
    match vfp_args {
        0 => "passes floating-point arguments in core registers (-mfloat-abi=soft or softfp)",
        1 => "passes floating-point arguments in FPU registers (-mfloat-abi=hard)",
        _ => "uses a toolchain-specific floating-point calling convention",
    }
}

/// Orders 0, 2, 1 (then larger values) for the alignment, denormal and GOT tags.
fn rank_021(v: u64) -> u64 {
    match v {
        0 => 0,
        2 => 1,
        1 => 2,
        v => v,
    }
}

/// GNU ld's name for an architecture it had to make up a Tag_CPU_name for.
fn arch_name(arch: u64) -> Option<&'static str> {
    const NAMES: [&str; 14] = [
        "Pre v4",
        "ARM v4",
        "ARM v4T",
        "ARM v5T",
        "ARM v5TE",
        "ARM v5TEJ",
        "ARM v6",
        "ARM v6KZ",
        "ARM v6T2",
        "ARM v6K",
        "ARM v7",
        "ARM v6-M",
        "ARM v6S-M",
        "ARM v7E-M",
    ];
    NAMES.get(arch as usize).copied()
}

/// Which older M-profile architectures an ARMv8-M one absorbs when merged (GNU ld's
/// `tag_cpu_arch_combine` tables, checked pair by pair in tests/link_attributes.rs): v8-M
/// baseline takes ARMv6-M only, v8-M mainline and v8.1-M mainline every M-profile architecture
/// below them. Tag_CPU_arch values: 10 ARMv7, 11 ARMv6-M, 12 ARMv6S-M, 13 ARMv7E-M,
/// 16 ARMv8-M baseline, 17 ARMv8-M mainline, 21 ARMv8.1-M mainline.
const V8M_ABSORBS: [(u64, &[u64]); 3] = [
    (16, &[11, 12]),
    (17, &[10, 11, 12, 13, 16]),
    (21, &[10, 11, 12, 13, 16, 17]),
];

/// ARMv6-M, ARMv6S-M, ARMv7 and ARMv7E-M (Tag_CPU_arch 11, 12, 10, 13), each including the
/// ones before it: GNU ld merges ARMv7 with ARMv6S-M into ARMv7 although 10 < 12.
const M_LINE: [u64; 4] = [11, 12, 10, 13];

/// Tag_CPU_arch of two objects combined, as GNU ld's table does for the M profile (and objects
/// without the tag); None for what it refuses or hotlink does not merge.
fn combine_arch(out: u64, input: u64) -> Option<u64> {
    let rank = |a: u64| M_LINE.iter().position(|&m| m == a);
    let (low, high) = (out.min(input), out.max(input));
    match (rank(out), rank(input)) {
        _ if out == input => Some(out),
        (Some(o), Some(i)) => Some(if o > i { out } else { input }),
        (None, Some(_)) if out == 0 => Some(input),
        (Some(_), None) if input == 0 => Some(out),
        _ => V8M_ABSORBS
            .iter()
            .any(|&(arch, absorbs)| arch == high && absorbs.contains(&low))
            .then_some(high),
    }
}

/// Whether the object (or output) allows the integer divide instructions.
fn accepts_div(a: &Attrs) -> bool {
    let arch = int(a, CPU_ARCH);
    match int(a, DIV_USE) {
        0 => (arch == 10 && matches!(int(a, CPU_ARCH_PROFILE), 0x52 | 0x4d)) || arch >= ARCH_V7E_M,
        1 => false,
        _ => true,
    }
}

impl Merger {
    /// The merged section: the output attributes a merged object also had, encoded.
    fn section(&self) -> Vec<u8> {
        let Some(out) = &self.out else {
            return Vec::new();
        };
        let mut written = out.clone();
        written.retain(|tag, _| self.typed.contains(tag));
        encode(&written)
    }

    fn add(&mut self, input: &Attrs, origin: &str) -> Result<(), String> {
        if input.contains_key(&MPEXTENSION_USE_LEGACY) || input.contains_key(&ALSO_COMPATIBLE_WITH)
        {
            return Err(format!(
                "{origin}: .ARM.attributes has Tag_MPextension_use_legacy or \
                 Tag_also_compatible_with, which hotlink does not merge; link with GNU ld"
            ));
        }
        self.typed.extend(input.keys());
        let Some(out) = &mut self.out else {
            // The first object is copied whole.
            self.out = Some(input.clone());
            self.first = origin.to_string();
            self.vfp_from = origin.to_string();
            return Ok(());
        };
        let fp_none = |a: &Attrs| int(a, ABI_FP_NUMBER_MODEL) == 0;
        if fp_none(out) || (!fp_none(input) && int(out, ABI_VFP_ARGS) == 3) {
            set_int(out, ABI_VFP_ARGS, int(input, ABI_VFP_ARGS));
            self.vfp_from = origin.to_string();
        } else if !fp_none(input)
            && int(input, ABI_VFP_ARGS) != 3
            && int(input, ABI_VFP_ARGS) != int(out, ABI_VFP_ARGS)
        {
            return Err(format!(
                "floating-point ABI mismatch: {} {}, but {origin} {}; build every object and \
                 library with the same -mfloat-abi (and pick the matching newlib/libgcc \
                 multilib directory, e.g. thumb/v7e-m+dp/hard)",
                self.vfp_from,
                describe_vfp(int(out, ABI_VFP_ARGS)),
                describe_vfp(int(input, ABI_VFP_ARGS))
            ));
        }
        let tags: Vec<u64> = (4..NUM_KNOWN).collect();
        for tag in tags {
            merge_tag(out, input, tag, origin, &mut self.warnings).map_err(|e| {
                format!(
                    "{e} (merging into the attributes of {} and the objects after it)",
                    self.first
                )
            })?;
        }
        merge_compatibility(out, input, origin)?;
        // Attributes GNU ld does not know (tag 77 and above) are checked like unknown known-range
        // ones; none are kept.
        for &tag in input.keys().chain(out.keys()).filter(|&&t| t >= NUM_KNOWN) {
            unknown(tag, origin, &mut self.warnings)?;
        }
        out.retain(|&t, _| t < NUM_KNOWN);
        Ok(())
    }
}

/// An attribute hotlink (and GNU ld) does not know: mandatory ones (even, below 64 modulo 128)
/// are an error, others a warning.
fn unknown(tag: u64, origin: &str, warnings: &mut Vec<String>) -> Result<(), String> {
    if tag % 2 == 0 && tag % 128 < 64 {
        return Err(format!(
            "{origin}: unknown mandatory EABI object attribute {tag} in .ARM.attributes; \
             this object needs a newer linker"
        ));
    }
    warnings.push(format!(
        "{origin}: unknown EABI object attribute {tag} dropped"
    ));
    Ok(())
}

fn merge_compatibility(out: &Attrs, input: &Attrs, origin: &str) -> Result<(), String> {
    let (iv, is) = (
        int(input, COMPATIBILITY),
        text(input, COMPATIBILITY).unwrap_or(""),
    );
    let (ov, os) = (
        int(out, COMPATIBILITY),
        text(out, COMPATIBILITY).unwrap_or(""),
    );
    if iv > 0 && is != "gnu" {
        return Err(format!(
            "{origin}: object has vendor-specific contents that must be processed by the \
             '{is}' toolchain"
        ));
    }
    if iv != ov || (iv != 0 && is != os) {
        return Err(format!(
            "{origin}: object tag '{iv}, {is}' is incompatible with tag '{ov}, {os}'"
        ));
    }
    Ok(())
}

/// Merges one known tag of `input` into `out` (GNU ld's per-tag rules).
fn merge_tag(
    out: &mut Attrs,
    input: &Attrs,
    tag: u64,
    origin: &str,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let (i, o) = (int(input, tag), int(out, tag));
    match tag {
        // Merged with Tag_CPU_arch, Tag_FP_arch, or elsewhere; optimization goals keep the
        // first value; Tag_nodefaults is kept if the first object had it.
        CPU_RAW_NAME | CPU_NAME | ABI_HARDFP_USE | ABI_VFP_ARGS | COMPATIBILITY | 30 | 31
        | NODEFAULTS => {}
        CPU_ARCH => {
            let arch = combine_arch(o, i).ok_or(format!(
                "{origin}: Tag_CPU_arch {i} cannot be merged with {o} by hotlink (only the \
                 M-profile architectures ARMv6-M/ARMv7/ARMv7E-M/ARMv8-M are, where GNU ld merges \
                 them; ARMv8-M baseline with ARMv7 or ARMv7E-M is refused by GNU ld too); build \
                 every object for the same -mcpu or link with GNU ld"
            ))?;
            set_int(out, CPU_ARCH, arch);
            if arch == o {
                // Names stay.
            } else if arch == i {
                set_text(out, CPU_NAME, text(input, CPU_NAME).map(str::to_string));
                set_text(
                    out,
                    CPU_RAW_NAME,
                    text(input, CPU_RAW_NAME).map(str::to_string),
                );
            } else {
                set_text(out, CPU_NAME, None);
                set_text(out, CPU_RAW_NAME, None);
            }
            if text(out, CPU_NAME).is_none() {
                set_text(out, CPU_NAME, arch_name(arch).map(str::to_string));
            }
        }
        // Largest value wins.
        8 | 9 | 11 | 12 | 19 | 21 | 22 | ABI_FP_NUMBER_MODEL | 34 | 36 | 42 | 48 | 50 | 52 | 66
        | 74 | 76 => set_int(out, tag, o.max(i)),
        // Smallest value wins.
        ABI_ALIGN_PRESERVED | 16 => set_int(out, tag, o.min(i)),
        // 0 < 2 < 1 < 3 < 4...
        ABI_ALIGN_NEEDED | 17 | 20 => {
            if (i > 2 && i > o) || (i <= 2 && o <= 2 && rank_021(i) > rank_021(o)) {
                set_int(out, tag, i);
            }
        }
        CPU_ARCH_PROFILE => {
            let (s, a, rr) = (u64::from(b'S'), u64::from(b'A'), u64::from(b'R'));
            if o == i || i == 0 || (i == s && (o == a || o == rr)) {
            } else if o == 0 || (o == s && (i == a || i == rr)) {
                set_int(out, tag, i);
            } else {
                return Err(format!(
                    "{origin}: conflicting architecture profiles {}/{}",
                    char::from_u32(i as u32).unwrap_or('?'),
                    char::from_u32(o as u32).unwrap_or('?')
                ));
            }
        }
        DSP_EXTENSION => {
            let (in_arch, in_prof) = (int(input, CPU_ARCH), int(input, CPU_ARCH_PROFILE));
            let (out_arch, out_prof) = (int(out, CPU_ARCH), int(out, CPU_ARCH_PROFILE));
            if in_arch <= 3 || (in_prof == u64::from(b'M') && in_arch != ARCH_V7E_M && i == 0) {
            } else if out_arch >= 4
                && (matches!(out_prof, 0x41 | 0x52 | 0x53) || out_arch == ARCH_V7E_M)
            {
                set_int(out, tag, 0);
            } else {
                set_int(out, tag, 1);
            }
        }
        FP_ARCH => merge_fp_arch(out, input),
        PCS_CONFIG => {
            if o == 0 {
                set_int(out, tag, i);
            } else if i != 0 && o != i {
                warnings.push(format!("{origin}: conflicting platform configuration"));
            }
        }
        ABI_PCS_R9_USE => {
            if i != o && o != 3 && i != 3 {
                return Err(format!("{origin}: conflicting use of R9"));
            }
            if o == 3 {
                set_int(out, tag, i);
            }
        }
        ABI_PCS_RW_DATA => {
            let r9 = int(out, ABI_PCS_R9_USE);
            if i == 2 && r9 != 1 && r9 != 3 {
                return Err(format!(
                    "{origin}: SB relative addressing conflicts with use of R9"
                ));
            }
            set_int(out, tag, o.min(i));
        }
        ABI_PCS_WCHAR_T => {
            if o != 0 && i != 0 && o != i {
                warnings.push(format!(
                    "{origin} uses {i}-byte wchar_t yet the output is to use {o}-byte \
                     wchar_t; use of wchar_t values across objects may fail"
                ));
            } else if i != 0 && o == 0 {
                set_int(out, tag, i);
            }
        }
        ABI_ENUM_SIZE => {
            if i != 0 {
                if o == 0 || o == 3 {
                    set_int(out, tag, i);
                } else if i != 3 && o != i {
                    let name = |v| if v == 1 { "variable-size" } else { "32-bit" };
                    warnings.push(format!(
                        "{origin} uses {} enums yet the output is to use {} enums; use of \
                         enum values across objects may fail",
                        name(i),
                        name(o)
                    ));
                }
            }
        }
        ABI_WMMX_ARGS => {
            if i != o {
                return Err(format!(
                    "{origin} uses iWMMXt register arguments, the output does not"
                ));
            }
        }
        ABI_FP_16BIT_FORMAT => {
            if i != 0 && o != 0 && i != o {
                return Err(format!(
                    "fp16 format mismatch between {origin} and the output"
                ));
            }
            if i != 0 {
                set_int(out, tag, i);
            }
        }
        DIV_USE => {
            if i == o {
            } else if i == 1 && !accepts_div(out) {
                set_int(out, tag, 1);
            } else if o == 1 && accepts_div(input) {
                set_int(out, tag, i);
            } else if i == 2 {
                set_int(out, tag, 2);
            }
        }
        CONFORMANCE => {
            if text(input, tag).is_none() || text(input, tag) != text(out, tag) {
                set_text(out, tag, None);
            }
        }
        VIRTUALIZATION_USE => {
            if o == 0 {
                set_int(out, tag, i);
            } else if i != 0 && i != o {
                if i <= 3 && o <= 3 {
                    set_int(out, tag, 3);
                } else {
                    return Err(format!(
                        "{origin}: unable to merge virtualization attributes"
                    ));
                }
            }
        }
        _ => {
            let set = |a: &Attrs| a.get(&tag).is_some_and(|v| v.int != 0 || v.text.is_some());
            if set(input) || set(out) {
                unknown(tag, origin, warnings)?;
            }
        }
    }
    Ok(())
}

/// Tag_FP_arch with Tag_ABI_HardFP_use: the output needs the newest FP version and the most
/// registers any object needs.
fn merge_fp_arch(out: &mut Attrs, input: &Attrs) {
    /// (version, registers) of each Tag_FP_arch value.
    const VFP: [(u64, u64); 9] = [
        (0, 0),
        (1, 16),
        (2, 16),
        (3, 32),
        (3, 16),
        (4, 32),
        (4, 16),
        (8, 32),
        (8, 16),
    ];
    let (i, o) = (int(input, FP_ARCH), int(out, FP_ARCH));
    if o == 0 {
        set_int(out, FP_ARCH, i);
        set_int(out, ABI_HARDFP_USE, int(input, ABI_HARDFP_USE));
        return;
    }
    if i == 0 {
        return;
    }
    if int(input, ABI_HARDFP_USE) != int(out, ABI_HARDFP_USE) {
        set_int(out, ABI_HARDFP_USE, 0);
    }
    if i >= VFP.len() as u64 {
        if i > o {
            set_int(out, FP_ARCH, i);
        }
        return;
    }
    let (iv, ir) = VFP[i as usize];
    let (ov, or) = VFP.get(o as usize).copied().unwrap_or((o, 0));
    let want = (iv.max(ov), ir.max(or));
    let new = (1..VFP.len()).rev().find(|&n| VFP[n] == want).unwrap_or(0);
    set_int(out, FP_ARCH, new as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.ARM.attributes` section with an `aeabi` file block holding `attrs`.
    fn section(attrs: &[u8]) -> Vec<u8> {
        let mut file = vec![1u8];
        file.extend_from_slice(&((attrs.len() + 5) as u32).to_le_bytes());
        file.extend_from_slice(attrs);
        let mut out = vec![b'A'];
        out.extend_from_slice(&((file.len() + 4 + 6) as u32).to_le_bytes());
        out.extend_from_slice(b"aeabi\0");
        out.extend_from_slice(&file);
        out
    }

    fn merged(objects: &[&[u8]]) -> Result<(Vec<u8>, Vec<String>), String> {
        let mut m = Merger::default();
        for (n, o) in objects.iter().enumerate() {
            m.add(&parse(&section(o))?, &format!("o{n}.o"))?;
        }
        Ok((m.section(), m.warnings))
    }

    #[test]
    fn reads_numbers_and_strings_and_encodes_them_back() {
        // Tag_CPU_name "7E-M", Tag_CPU_arch 13, Tag_ABI_FP_number_model 3, Tag_ABI_VFP_args 1,
        // Tag_compatibility 0 "", Tag_conformance "2.09".
        let attrs = [
            5, b'7', b'E', b'-', b'M', 0, 6, 13, 23, 3, 28, 1, 32, 0, 0, 67, b'2', b'.', b'0',
            b'9', 0,
        ];
        let a = parse(&section(&attrs)).unwrap();
        assert_eq!(int(&a, ABI_VFP_ARGS), 1);
        assert_eq!(int(&a, ABI_FP_NUMBER_MODEL), 3);
        assert_eq!(text(&a, CPU_NAME), Some("7E-M"));
        // Conformance moves to the front; the all-default compatibility tag is left out.
        let want = [
            67, b'2', b'.', b'0', b'9', 0, 5, b'7', b'E', b'-', b'M', 0, 6, 13, 23, 3, 28, 1,
        ];
        assert_eq!(encode(&a), section(&want));
    }

    #[test]
    fn merge_follows_gnu_ld_rules() {
        // FP_arch 5 (VFPv4-D32) with 6 (VFPv4-D16) and 7 (FPv5-D32): v8 with 32 registers;
        // ARM_ISA_use takes the largest; wchar_t differs: a warning, the first kept;
        // conformance differs: dropped; optimization goals: the first.
        // Both ARMv7E-M: the first CPU name stays.
        let a: &[u8] = &[67, b'2', 0, 5, b'a', 0, 6, 13, 8, 0, 10, 6, 18, 4, 30, 2];
        let b: &[u8] = &[67, b'3', 0, 5, b'b', 0, 6, 13, 8, 1, 10, 7, 18, 2, 30, 4];
        let (bytes, warnings) = merged(&[a, b]).unwrap();
        assert_eq!(
            bytes,
            section(&[5, b'a', 0, 6, 13, 8, 1, 10, 7, 18, 4, 30, 2])
        );
        // ARMv7 and ARMv7E-M: the name follows the object that decided the architecture.
        let (bytes, _) = merged(&[&[5, b'a', 0, 6, 10], &[5, b'b', 0, 6, 13]]).unwrap();
        assert_eq!(bytes, section(&[5, b'b', 0, 6, 13]));
        assert!(
            warnings[0].contains("o1.o uses 2-byte wchar_t"),
            "{warnings:?}"
        );
        // Tag_ABI_align_needed orders 0 < 2 < 1.
        let (bytes, _) = merged(&[&[24, 2], &[24, 1], &[24, 2]]).unwrap();
        assert_eq!(bytes, section(&[24, 1]));
    }

    #[test]
    fn a_made_up_cpu_name_is_written_only_if_an_object_named_its_cpu() {
        // ARMv7E-M objects without a name (as LLVM writes them), with Tag_conformance: the
        // conformance stays, no name is made up.
        let llvm: &[u8] = &[67, b'2', 0, 6, 13, 7, b'M'];
        let (bytes, _) = merged(&[llvm, llvm]).unwrap();
        assert_eq!(bytes, section(llvm));
        // One named object after them: GNU ld's name for the architecture, not the object's.
        let named: &[u8] = &[5, b'x', 0, 6, 13, 7, b'M'];
        let (bytes, _) = merged(&[llvm, named]).unwrap();
        let v7em = b"ARM v7E-M\0";
        let want: Vec<u8> = [&[5u8][..], v7em, &[6, 13, 7, b'M']].concat();
        assert_eq!(bytes, section(&want));
        // The named object first: its name stays (and the conformance goes).
        let (bytes, _) = merged(&[named, llvm]).unwrap();
        assert_eq!(bytes, section(named));
    }

    #[test]
    fn conflicts_are_errors_naming_the_object() {
        // Hard-float and soft-float argument passing, both using FP.
        let e = merged(&[&[23, 3, 28, 1], &[23, 3, 28, 0]]).unwrap_err();
        assert!(
            e.contains("o0.o") && e.contains("o1.o") && e.contains("mismatch"),
            "{e}"
        );
        // An object without FP does not count.
        assert!(merged(&[&[23, 3, 28, 1], &[28, 0]]).is_ok());
        // M and A profiles.
        let e = merged(&[&[7, b'M'], &[7, b'A']]).unwrap_err();
        assert!(
            e.contains("o1.o: conflicting architecture profiles A/M"),
            "{e}"
        );
        // An unknown even tag below 64 must be understood: an error; an odd one a warning.
        let e = merged(&[&[6, 13], &[54, 1]]).unwrap_err();
        assert!(
            e.contains("o1.o") && e.contains("mandatory") && e.contains("54"),
            "{e}"
        );
        let (_, w) = merged(&[&[6, 13], &[55, b'x', 0]]).unwrap();
        assert!(w[0].contains("55"), "{w:?}");
    }

    #[test]
    fn malformed_sections_are_errors_not_panics() {
        assert!(parse(b"").is_err());
        assert!(parse(b"B").is_err());
        let good = section(&[23, 3, 28, 1]);
        for cut in 2..good.len() {
            assert!(parse(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = good.clone();
        bad[1] = 0xff;
        assert!(parse(&bad).is_err());
        // A value whose ULEB never ends.
        let endless = section(&[28, 0x80, 0x80]);
        assert!(parse(&endless).is_err());
    }
}
