//! Board descriptions: the memory map, FlexRAM banks, caches, clocks and timing of one i.MX RT part.
//!
//! Every later stage reads a [`Board`]: the virtual board takes its timing from it, the solver its
//! region budgets and veneer costs, `inspect` its regions to say how full an image is. Boards are
//! TOML files (`boards/*.toml`, built into the binary, or a user's own via `--board FILE`); the
//! schema is documented in `docs/boards.md`.

mod boot;
mod load;
mod show;

use serde::{Deserialize, Serialize};

pub use boot::BootRom;
pub use load::{closest_names, BoardError};

use crate::units::Bytes;

/// One i.MX RT part (the Cortex-M7 view of it) as hotlink needs to know it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Board {
    /// Short name used on the command line, e.g. `imxrt1062`.
    pub name: String,
    /// One line for listings.
    pub description: String,
    /// probe-rs target (family) name, e.g. `MIMXRT1060`.
    pub probe_rs_target: String,
    /// Cortex-M7 core clock in Hz.
    pub core_clock_hz: u64,
    /// Memory regions, in any order; they must not overlap.
    #[serde(rename = "region")]
    pub regions: Vec<Region>,
    pub flexram: FlexRam,
    pub cache: Caches,
    pub timing: Timing,
    pub branch: Branch,
    /// Long-branch veneer forms a linker may emit, preferred first.
    #[serde(rename = "veneer")]
    pub veneers: Vec<VeneerForm>,
    /// The boot ROM and SoC peripherals of the virtual board, if modelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot: Option<BootRom>,
}

/// What a region is made of, which decides how it is timed and what may run from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum RegionKind {
    /// Instruction TCM: core-speed code, bypasses the caches.
    Itcm,
    /// Data TCM: core-speed data, bypasses the caches.
    Dtcm,
    /// On-chip RAM on the AXI bus, behind the L1 caches.
    Ocram,
    /// Execute-in-place serial NOR flash through FlexSPI, behind the L1 caches.
    Xip,
    /// External SDRAM through SEMC, behind the L1 caches.
    Semc,
}

impl RegionKind {
    /// Whether code may be placed here by the planner.
    pub fn holds_code(self) -> bool {
        !matches!(self, RegionKind::Dtcm)
    }

    /// Whether the region is tightly coupled (so never cached).
    pub fn is_tcm(self) -> bool {
        matches!(self, RegionKind::Itcm | RegionKind::Dtcm)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RegionKind::Itcm => "itcm",
            RegionKind::Dtcm => "dtcm",
            RegionKind::Ocram => "ocram",
            RegionKind::Xip => "xip",
            RegionKind::Semc => "semc",
        }
    }
}

/// An address range with one kind of memory behind it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// Name as linker scripts and reports use it, e.g. `ITCM`, `OCRAM2`, `FLASH`.
    pub name: String,
    pub kind: RegionKind,
    pub base: Bytes,
    pub size: Bytes,
    /// Access rights as in a linker script MEMORY line: any of `r`, `w`, `x`.
    pub access: String,
    /// True when the region's size comes from FlexRAM banks (ITCM, DTCM, FlexRAM-OCRAM).
    #[serde(default)]
    pub flexram: bool,
    /// Whether the default MPU setup caches the region (TCMs are never cached).
    #[serde(default)]
    pub cacheable: bool,
    /// A note on where the region is and what populates it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl Region {
    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.base.0 + self.size.0
    }

    pub fn contains(&self, address: u64) -> bool {
        address >= self.base.0 && address < self.end()
    }

    pub fn readable(&self) -> bool {
        self.access.contains('r')
    }

    pub fn writable(&self) -> bool {
        self.access.contains('w')
    }

    pub fn executable(&self) -> bool {
        self.access.contains('x')
    }
}

/// The FlexRAM: banks of SRAM that reset logic or software assigns to ITCM, DTCM or OCRAM.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlexRam {
    pub bank_size: Bytes,
    pub bank_count: u32,
    /// Bank assignment with all fuses at zero, bank 0 first: `I` ITCM, `D` DTCM, `O` OCRAM, `-`
    /// unused.
    pub default_layout: String,
    /// Bank assignment this board description is set up for (what its regions' sizes reflect).
    /// Defaults to `default_layout`.
    #[serde(default)]
    pub layout: Option<String>,
    /// FlexRAM-OCRAM banks the boot ROM needs while booting.
    pub boot_rom_banks: u32,
    pub registers: FlexRamRegisters,
}

/// How software selects a FlexRAM split (IOMUXC general-purpose registers).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlexRamRegisters {
    /// Registers holding 2 bits per bank, bank 0 in bits 1:0 of the first.
    pub bank_config: Vec<String>,
    /// Banks per bank-configuration register: 16, or 8 on the RT1170 (GPR17/GPR18 low halves).
    #[serde(default = "sixteen")]
    pub banks_per_register: u32,
    /// Register with the bit that makes the bank configuration take effect instead of fuses.
    pub select: String,
    pub select_bit: u32,
    /// Register with the TCM sizes the core sees.
    pub tcm_size: String,
    /// Bit position of the 4-bit ITCM size field (CM7_CFGITCMSZ).
    pub itcm_size_shift: u32,
    /// Bit position of the 4-bit DTCM size field (CM7_CFGDTCMSZ).
    pub dtcm_size_shift: u32,
}

fn sixteen() -> u32 {
    16
}

/// What one FlexRAM bank is used as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BankUse {
    Unused,
    Ocram,
    Dtcm,
    Itcm,
}

impl BankUse {
    fn from_letter(letter: char) -> Option<BankUse> {
        match letter {
            '-' => Some(BankUse::Unused),
            'O' => Some(BankUse::Ocram),
            'D' => Some(BankUse::Dtcm),
            'I' => Some(BankUse::Itcm),
            _ => None,
        }
    }

    /// The 2-bit code IOMUXC_GPR17 uses for this bank use.
    pub fn code(self) -> u32 {
        match self {
            BankUse::Unused => 0,
            BankUse::Ocram => 1,
            BankUse::Dtcm => 2,
            BankUse::Itcm => 3,
        }
    }
}

/// A FlexRAM bank assignment, bank 0 first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankLayout(pub Vec<BankUse>);

impl BankLayout {
    /// Parses a layout string such as `OOOODDIIIIDDOOOO`.
    pub fn parse(text: &str) -> Result<BankLayout, String> {
        text.chars()
            .map(|c| {
                BankUse::from_letter(c).ok_or_else(|| {
                    format!("bank letter `{c}` in `{text}`: use I (ITCM), D (DTCM), O (OCRAM) or - (unused)")
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(BankLayout)
    }

    pub fn count(&self, what: BankUse) -> u32 {
        self.0.iter().filter(|b| **b == what).count() as u32
    }

    /// The values of the bank-configuration registers (IOMUXC_GPR17, and GPR18 on the RT1170),
    /// `banks_per_register` banks to each.
    pub fn config_words(&self, banks_per_register: u32) -> Vec<u32> {
        self.0
            .chunks(banks_per_register.max(1) as usize)
            .map(|chunk| {
                chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |word, (i, bank)| word | (bank.code() << (2 * i)))
            })
            .collect()
    }
}

impl std::fmt::Display for BankLayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for bank in &self.0 {
            let letter = match bank {
                BankUse::Unused => '-',
                BankUse::Ocram => 'O',
                BankUse::Dtcm => 'D',
                BankUse::Itcm => 'I',
            };
            write!(f, "{letter}")?;
        }
        Ok(())
    }
}

impl FlexRam {
    /// The bank layout the board's regions are sized for.
    pub fn active_layout(&self) -> Result<BankLayout, String> {
        BankLayout::parse(self.layout.as_deref().unwrap_or(&self.default_layout))
    }

    /// Total FlexRAM bytes.
    pub fn total(&self) -> u64 {
        self.bank_size.0 * u64::from(self.bank_count)
    }
}

/// The 4-bit CM7_CFGITCMSZ / CM7_CFGDTCMSZ code for a TCM of `bytes`: 0 for none, otherwise `n`
/// with `bytes == 1 << (n + 9)` rounded up to the next power of two (4 KB is 3, 128 KB is 8, 512 KB
/// is 10).
pub fn tcm_size_code(bytes: u64) -> u32 {
    if bytes == 0 {
        return 0;
    }
    let rounded = bytes.next_power_of_two().max(4096);
    rounded.trailing_zeros() - 9
}

/// L1 cache geometry.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caches {
    pub instruction: CacheGeometry,
    pub data: CacheGeometry,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheGeometry {
    pub size: Bytes,
    pub ways: u32,
    pub line: u32,
}

impl CacheGeometry {
    pub fn sets(&self) -> u64 {
        self.size.0 / (u64::from(self.ways) * u64::from(self.line))
    }
}

/// Timing parameters for the virtual board, in core cycles. Sources and estimates are documented
/// beside each value in the board files and in `docs/sim-model.md`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    /// Extra cycles per ITCM access (0 in FlexRAM fast mode, 1 with TCM_RWAIT_EN).
    pub itcm_wait_states: u32,
    /// Extra cycles per DTCM access.
    pub dtcm_wait_states: u32,
    /// An L1 cache hit.
    pub cache_hit_cycles: u32,
    /// Filling one 32-byte cache line from OCRAM.
    pub ocram_line_fill_cycles: u32,
    /// One uncached OCRAM access.
    pub ocram_uncached_cycles: u32,
    /// A random XIP miss until the critical word arrives.
    pub xip_miss_cycles: u32,
    /// A whole 32-byte line from XIP flash.
    pub xip_line_fill_cycles: u32,
    /// A sequential XIP miss served from the FlexSPI AHB prefetch buffer.
    pub xip_prefetch_hit_cycles: u32,
    /// Whether the FlexSPI AHB prefetch is enabled.
    pub xip_prefetch: bool,
    /// Filling one cache line from SEMC SDRAM (parts with SEMC).
    #[serde(default)]
    pub semc_line_fill_cycles: Option<u32>,
}

/// Thumb-2 branch reach.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    /// Reach of BL and B.W, either way.
    pub call_range: Bytes,
    /// Reach of a conditional B<cond>.W, either way.
    pub conditional_range: Bytes,
}

/// One long-branch veneer form.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VeneerForm {
    pub name: String,
    /// The instructions, for people.
    pub code: String,
    pub bytes: u32,
    pub align: u32,
    /// Extra cycles a call pays for going through it.
    pub cycles: u32,
    /// Usable in execute-only (pure-code) sections, which may not hold literals.
    #[serde(default)]
    pub execute_only: bool,
}

/// The board files shipped with hotlink, built into the binary.
const BUILTIN: &[(&str, &str)] = &[
    ("imxrt1011", include_str!("../../boards/imxrt1011.toml")),
    ("imxrt1021", include_str!("../../boards/imxrt1021.toml")),
    ("imxrt1052", include_str!("../../boards/imxrt1052.toml")),
    ("imxrt1062", include_str!("../../boards/imxrt1062.toml")),
    ("imxrt1064", include_str!("../../boards/imxrt1064.toml")),
    ("imxrt1176", include_str!("../../boards/imxrt1176.toml")),
];

impl Board {
    /// Names of the built-in boards.
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTIN.iter().map(|(name, _)| *name)
    }

    /// A built-in board by name.
    pub fn builtin(name: &str) -> Result<Board, BoardError> {
        let (_, text) = BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| BoardError::unknown(name, Self::builtin_names()))?;
        Board::parse(text, &format!("boards/{name}.toml"))
    }

    /// A built-in board name, or the path of a board file (anything with a `/` or ending in
    /// `.toml`).
    pub fn resolve(spec: &str) -> Result<Board, BoardError> {
        if spec.contains('/') || spec.ends_with(".toml") {
            Board::load(std::path::Path::new(spec))
        } else {
            Board::builtin(spec)
        }
    }

    pub fn region(&self, name: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.name == name)
    }

    /// The region an address falls in.
    pub fn region_at(&self, address: u64) -> Option<&Region> {
        self.regions.iter().find(|r| r.contains(address))
    }

    pub fn regions_of_kind(&self, kind: RegionKind) -> impl Iterator<Item = &Region> {
        self.regions.iter().filter(move |r| r.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_board_loads() {
        for name in Board::builtin_names() {
            let board = Board::builtin(name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(board.name, name);
            assert!(board.regions_of_kind(RegionKind::Itcm).count() == 1);
            assert!(board.regions_of_kind(RegionKind::Xip).count() >= 1);
        }
    }

    #[test]
    fn rt1062_default_bank_config_matches_fuse_default() {
        let board = Board::builtin("imxrt1062").unwrap();
        let layout = board.flexram.active_layout().unwrap();
        assert_eq!(layout.count(BankUse::Itcm), 4);
        assert_eq!(layout.count(BankUse::Dtcm), 4);
        assert_eq!(layout.count(BankUse::Ocram), 8);
        // O,O,O,O,D,D,I,I,I,I,D,D,O,O,O,O → codes 1,1,1,1,2,2,3,3,3,3,2,2,1,1,1,1
        assert_eq!(layout.config_words(16), vec![0x55AF_FA55]);
    }

    #[test]
    fn all_itcm_layout_is_all_ones() {
        let layout = BankLayout::parse("IIIIIIIIIIIIIIII").unwrap();
        assert_eq!(layout.config_words(16), vec![0xFFFF_FFFF]);
        assert_eq!(layout.config_words(8), vec![0xFFFF, 0xFFFF]);
        assert!(BankLayout::parse("IIX").is_err());
    }

    #[test]
    fn tcm_size_codes_follow_gpr14() {
        assert_eq!(tcm_size_code(0), 0);
        assert_eq!(tcm_size_code(4 * 1024), 3);
        assert_eq!(tcm_size_code(128 * 1024), 8);
        assert_eq!(tcm_size_code(512 * 1024), 10);
        assert_eq!(tcm_size_code(96 * 1024), 8);
    }

    #[test]
    fn unknown_board_names_close_matches() {
        let err = Board::resolve("imxrt1060").unwrap_err().to_string();
        assert!(
            err.contains("did you mean imxrt1062 or imxrt1064?"),
            "{err}"
        );
    }
}
