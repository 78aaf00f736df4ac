//! A readable rendering of a board for `hotlink boards show`.

use std::fmt;

use super::{tcm_size_code, BankUse, Board};
use crate::units::Bytes;

impl fmt::Display for Board {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} — {}", self.name, self.description)?;
        writeln!(
            f,
            "  core clock {} MHz, probe-rs target {}",
            self.core_clock_hz as f64 / 1e6,
            self.probe_rs_target
        )?;
        writeln!(f, "\nRegions")?;
        writeln!(
            f,
            "  {:<10} {:<6} {:>12} {:>12} {:>7}  {:<4} notes",
            "name", "kind", "start", "end", "size", "acc"
        )?;
        let mut regions: Vec<_> = self.regions.iter().collect();
        regions.sort_by_key(|r| r.base);
        for r in regions {
            let mut notes = Vec::new();
            if r.flexram {
                notes.push("FlexRAM".to_string());
            }
            if r.cacheable {
                notes.push("cached".to_string());
            }
            if !r.note.is_empty() {
                notes.push(r.note.clone());
            }
            writeln!(
                f,
                "  {:<10} {:<6}   0x{:08x}   0x{:08x} {:>7}  {:<4} {}",
                r.name,
                r.kind.as_str(),
                r.base.0,
                r.end(),
                r.size.to_string(),
                r.access,
                notes.join("; ")
            )?;
        }
        let flex = &self.flexram;
        writeln!(
            f,
            "\nFlexRAM: {} banks × {} = {}",
            flex.bank_count,
            flex.bank_size,
            Bytes(flex.total())
        )?;
        writeln!(f, "  fuse default  {}", flex.default_layout)?;
        match flex.active_layout() {
            Ok(layout) => {
                let words = layout.config_words(flex.registers.banks_per_register);
                let size = |use_| flex.bank_size.0 * u64::from(layout.count(use_));
                writeln!(
                    f,
                    "  this board    {layout}  (ITCM {}, DTCM {}, OCRAM {}; boot ROM needs {} OCRAM bank(s))",
                    Bytes(size(BankUse::Itcm)),
                    Bytes(size(BankUse::Dtcm)),
                    Bytes(size(BankUse::Ocram)),
                    flex.boot_rom_banks
                )?;
                let regs = &flex.registers;
                let config: Vec<String> = regs
                    .bank_config
                    .iter()
                    .zip(&words)
                    .map(|(name, word)| format!("{name} = {word:#010x}"))
                    .collect();
                writeln!(
                    f,
                    "  to program it: {}; {} bit {} = 1; {} ITCM code {} << {}, DTCM code {} << {}",
                    config.join(", "),
                    regs.select,
                    regs.select_bit,
                    regs.tcm_size,
                    tcm_size_code(size(BankUse::Itcm)),
                    regs.itcm_size_shift,
                    tcm_size_code(size(BankUse::Dtcm)),
                    regs.dtcm_size_shift
                )?;
            }
            Err(e) => writeln!(f, "  layout error: {e}")?,
        }
        for (name, c) in [
            ("I-cache", &self.cache.instruction),
            ("D-cache", &self.cache.data),
        ] {
            writeln!(
                f,
                "{name}: {} {}-way, {}-byte lines, {} sets",
                c.size,
                c.ways,
                c.line,
                c.sets()
            )?;
        }
        let t = &self.timing;
        writeln!(f, "\nTiming (core cycles)")?;
        writeln!(
            f,
            "  ITCM/DTCM wait states {}/{}, cache hit {}",
            t.itcm_wait_states, t.dtcm_wait_states, t.cache_hit_cycles
        )?;
        writeln!(
            f,
            "  OCRAM line fill {}, uncached access {}",
            t.ocram_line_fill_cycles, t.ocram_uncached_cycles
        )?;
        writeln!(
            f,
            "  XIP miss {} (whole line {}), prefetch hit {} (prefetch {})",
            t.xip_miss_cycles,
            t.xip_line_fill_cycles,
            t.xip_prefetch_hit_cycles,
            if t.xip_prefetch { "on" } else { "off" }
        )?;
        if let Some(semc) = t.semc_line_fill_cycles {
            writeln!(f, "  SEMC line fill {semc}")?;
        }
        writeln!(
            f,
            "\nBranches: BL/B.W ±{}, B<cond>.W ±{}",
            self.branch.call_range, self.branch.conditional_range
        )?;
        for v in &self.veneers {
            writeln!(
                f,
                "  veneer {:<13} {:>2} bytes, +{} cycles{}: {}",
                v.name,
                v.bytes,
                v.cycles,
                if v.execute_only { ", execute-only" } else { "" },
                v.code
            )?;
        }
        Ok(())
    }
}
