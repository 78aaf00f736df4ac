//! Applying a profile taken on an older build to a new one.
//!
//! Every capture records the image's function layout (name, source file of a static function,
//! address, size, a hash of its bytes). A profile of an older build is re-mapped onto a new image
//! function by function: the same source file and name first (static functions with one name in
//! two files stay apart), then the same name where it is unique, then the same name without
//! rustc's symbol hashes (a rebuild with other flags renames every Rust function), then the same
//! size and bytes.
//! Samples and calls in functions that find no match are counted and reported, not guessed.

use anyhow::{Context, Result};
use object::elf;
use object::read::elf::ElfFile32;
use object::{Endianness, Object, ObjectSection, ObjectSymbol};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{ElfIdentity, Profile};

/// One function of the image a profile was taken on.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LayoutEntry {
    pub name: String,
    /// Source file (`STT_FILE`) of a local function; absent for global ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub address: u32,
    pub size: u32,
    /// First 16 hex digits of the SHA-256 of its bytes.
    pub hash: String,
}

/// The function layout of an ELF image, sorted by address.
pub fn layout_of(elf: &[u8]) -> Result<Vec<LayoutEntry>> {
    let file = ElfFile32::<Endianness>::parse(elf).context("not a readable ELF image")?;
    let mut current_file: Option<String> = None;
    let mut entries = Vec::new();
    for symbol in file.symbols() {
        let raw = symbol.elf_symbol();
        let name = symbol.name().unwrap_or_default();
        if raw.st_type() == elf::STT_FILE {
            current_file = Some(name.to_string());
            continue;
        }
        if raw.st_type() != elf::STT_FUNC || !symbol.is_definition() || symbol.size() == 0 {
            continue;
        }
        let address = symbol.address() & !1;
        let bytes = symbol
            .section_index()
            .and_then(|i| file.section_by_index(i).ok())
            .and_then(|s| {
                let data = s.data().ok()?;
                let start = usize::try_from(address.checked_sub(s.address())?).ok()?;
                data.get(start..start + symbol.size() as usize)
            })
            .unwrap_or_default();
        let digest = Sha256::digest(bytes);
        entries.push(LayoutEntry {
            name: name.to_string(),
            file: symbol.is_local().then(|| current_file.clone()).flatten(),
            address: address as u32,
            size: symbol.size() as u32,
            hash: digest[..8].iter().map(|b| format!("{b:02x}")).collect(),
        });
    }
    entries.sort_by(|a, b| (a.address, &a.name).cmp(&(b.address, &b.name)));
    entries.dedup_by_key(|e| e.address);
    Ok(entries)
}

/// How much of a re-mapped profile found its way into the new image.
#[derive(Clone, Debug, Default)]
pub struct RemapReport {
    pub samples: u64,
    pub matched_samples: u64,
    /// Old functions with samples that have no counterpart, with their samples (most first).
    pub unmatched: Vec<(String, u64)>,
    /// How many old functions matched by file and name, by name, and by size and bytes.
    pub by_name: usize,
    pub by_content: usize,
}

impl RemapReport {
    pub fn matched_share(&self) -> f64 {
        if self.samples == 0 {
            1.0
        } else {
            self.matched_samples as f64 / self.samples as f64
        }
    }
}

fn lookup(layout: &[LayoutEntry], pc: u32) -> Option<usize> {
    let i = layout.partition_point(|e| e.address <= pc);
    let e = layout.get(i.checked_sub(1)?)?;
    (pc < e.address + e.size.max(2)).then_some(i - 1)
}

/// Re-maps `profile` (which must carry its layout) onto the image `elf`.
pub fn remap(profile: &Profile, elf: &[u8], path: &str) -> Result<(Profile, RemapReport)> {
    let old = &profile.layout;
    let new = layout_of(elf)?;
    // Old index -> new index.
    let mut by_key: FxHashMap<(Option<&str>, &str), Vec<usize>> = FxHashMap::default();
    let mut by_name: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    let mut by_content: FxHashMap<(u32, &str), Vec<usize>> = FxHashMap::default();
    let mut by_unhashed: FxHashMap<String, Vec<usize>> = FxHashMap::default();
    for (i, e) in new.iter().enumerate() {
        by_unhashed
            .entry(crate::rustnames::unhashed_symbol(&e.name))
            .or_default()
            .push(i);
        by_key
            .entry((e.file.as_deref(), &e.name))
            .or_default()
            .push(i);
        by_name.entry(&e.name).or_default().push(i);
        by_content.entry((e.size, &e.hash)).or_default().push(i);
    }
    let unique = |v: Option<&Vec<usize>>| v.filter(|v| v.len() == 1).map(|v| v[0]);
    let mut report = RemapReport::default();
    let target: Vec<Option<usize>> = old
        .iter()
        .map(|e| {
            if let Some(i) = unique(by_key.get(&(e.file.as_deref(), e.name.as_str())))
                .or_else(|| unique(by_name.get(e.name.as_str())))
                .or_else(|| unique(by_unhashed.get(&crate::rustnames::unhashed_symbol(&e.name))))
            {
                report.by_name += 1;
                Some(i)
            } else if let Some(i) = unique(by_content.get(&(e.size, e.hash.as_str()))) {
                report.by_content += 1;
                Some(i)
            } else {
                None
            }
        })
        .collect();
    let translate = |pc: u32| -> Option<u32> {
        let o = lookup(old, pc)?;
        let n = &new[target[o]?];
        let offset = (pc - old[o].address).min(n.size.saturating_sub(2));
        Some(n.address + offset)
    };
    let mut out = profile.clone();
    out.elf = ElfIdentity::of_bytes(path, elf);
    out.capture
        .parameters
        .insert("remapped_from".into(), profile.elf.sha256.clone());
    let mut unmatched: FxHashMap<String, u64> = FxHashMap::default();
    let mut histogram = Vec::new();
    for h in &profile.pc_histogram {
        report.samples += h.count;
        match translate(h.pc) {
            Some(pc) => {
                report.matched_samples += h.count;
                histogram.push((pc, h.count));
            }
            None => {
                let name = lookup(old, h.pc)
                    .map_or_else(|| format!("0x{:08x}", h.pc), |o| old[o].name.clone());
                *unmatched.entry(name).or_default() += h.count;
            }
        }
    }
    let lost = report.samples - report.matched_samples;
    out.set_histogram(histogram);
    out.totals.lost_samples += lost;
    out.set_call_edges(
        profile
            .call_edges
            .iter()
            .filter_map(|e| Some(((translate(e.site)?, translate(e.callee)?), e.count))),
    );
    out.functions = profile
        .functions
        .iter()
        .filter_map(|f| {
            let o = lookup(old, f.address)?;
            let n = &new[target[o]?];
            let mut f = f.clone();
            f.address = n.address;
            f.size = n.size;
            f.name = n.name.clone();
            Some(f)
        })
        .collect();
    out.functions.sort_by_key(|f| f.address);
    out.call_stacks = profile
        .call_stacks
        .as_ref()
        .map(|s| s.map_addresses(translate));
    out.layout = new;
    let mut unmatched: Vec<(String, u64)> = unmatched.into_iter().collect();
    unmatched.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    report.unmatched = unmatched;
    Ok((out, report))
}

/// Below this share of matched samples a profile is taken to be of a different program.
const SAME_PROGRAM_SHARE: f64 = 0.5;

/// The profile as it applies to the image `elf`: unchanged for the same build, re-mapped for an
/// older build of the same program (with what matched), refused for a different program unless
/// `force` (then used as it is).
pub fn for_image(
    profile: Profile,
    elf: &[u8],
    path: &str,
    force: bool,
) -> Result<(Profile, Option<RemapReport>)> {
    let identity = ElfIdentity::of_bytes(path, elf);
    if profile.elf.same_program(&identity) {
        return Ok((profile, None));
    }
    if !profile.layout.is_empty() {
        let (remapped, report) = remap(&profile, elf, path)?;
        if report.matched_share() >= SAME_PROGRAM_SHARE {
            return Ok((remapped, Some(report)));
        }
        if !force {
            anyhow::bail!(
                "the profile was taken on {} and only {:.1}% of its samples match functions of {path}: \
                 a different program? Re-capture it, or pass --force to use it as it is",
                profile.elf.path,
                100.0 * report.matched_share()
            );
        }
    } else if !force {
        anyhow::bail!(
            "the profile was taken on a different build ({} sha256 {}…) than {path} and records no \
             function layout to re-map it with; re-capture it, or pass --force to use it as it is",
            profile.elf.path,
            &profile.elf.sha256[..profile.elf.sha256.len().min(12)]
        );
    }
    Ok((profile, None))
}

impl RemapReport {
    /// One paragraph for people: how much matched and the largest losses.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "profile of an older build re-mapped: {:.1}% of {} samples matched ({} functions by name, {} by content)",
            100.0 * self.matched_share(),
            self.samples,
            self.by_name,
            self.by_content
        );
        if !self.unmatched.is_empty() {
            let top: Vec<String> = self
                .unmatched
                .iter()
                .take(5)
                .map(|(name, n)| format!("{name} ({n})"))
                .collect();
            text += &format!("; unmatched: {}", top.join(", "));
        }
        text
    }
}

impl Profile {
    /// Records the function layout of the image the profile was taken on.
    pub fn record_layout(&mut self, elf: &[u8]) {
        self.layout = layout_of(elf).unwrap_or_default();
    }
}
