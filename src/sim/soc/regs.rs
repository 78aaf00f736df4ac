//! Register tables as data, in the spirit of an SVD file: each peripheral lists its registers
//! (name, offset, width, reset value); [`RegFile`] holds their current values. Registers without
//! behaviour read their last written value (or the reset value) and keep writes.

use std::collections::BTreeMap;

/// One register of a peripheral's table.
#[derive(Clone, Copy, Debug)]
pub struct Reg {
    pub name: &'static str,
    pub offset: u32,
    /// Width in bytes (2 for the 16-bit watchdog registers, else 4).
    pub width: u32,
    pub reset: u32,
    /// A SET/CLR/TOG triple follows at +4/+8/+0xC (the analog and USB PHY blocks).
    pub sct: bool,
}

/// A 32-bit register.
pub const fn r(name: &'static str, offset: u32, reset: u32) -> Reg {
    Reg {
        name,
        offset,
        width: 4,
        reset,
        sct: false,
    }
}

/// A 32-bit register with SET (+4), CLR (+8) and TOG (+0xC) aliases.
pub const fn sct(name: &'static str, offset: u32, reset: u32) -> Reg {
    Reg {
        name,
        offset,
        width: 4,
        reset,
        sct: true,
    }
}

/// A 16-bit register.
pub const fn r16(name: &'static str, offset: u32, reset: u32) -> Reg {
    Reg {
        name,
        offset,
        width: 2,
        reset,
        sct: false,
    }
}

/// How an access names its register: the table entry and, for SET/CLR/TOG aliases, which one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alias {
    Plain,
    Set,
    Clear,
    Toggle,
}

/// The current values of one peripheral's registers.
#[derive(Debug)]
pub struct RegFile {
    pub table: &'static [Reg],
    pub values: Vec<u32>,
    /// Offsets the table does not list: plain storage, so that firmware touching a register we
    /// have not described still reads back what it wrote.
    pub extra: BTreeMap<u32, u32>,
}

impl RegFile {
    pub fn new(table: &'static [Reg]) -> RegFile {
        RegFile {
            table,
            values: table.iter().map(|r| r.reset).collect(),
            extra: BTreeMap::new(),
        }
    }

    /// The table index and alias for an access at `offset`.
    pub fn find(&self, offset: u32) -> Option<(usize, Alias)> {
        for (i, reg) in self.table.iter().enumerate() {
            if offset >= reg.offset && offset < reg.offset + reg.width {
                return Some((i, Alias::Plain));
            }
            if reg.sct && offset >= reg.offset + 4 && offset < reg.offset + 16 {
                let alias = match (offset - reg.offset) / 4 {
                    1 => Alias::Set,
                    2 => Alias::Clear,
                    _ => Alias::Toggle,
                };
                return Some((i, alias));
            }
        }
        None
    }

    /// The index of the register called `name` (a table lookup for behaviour code).
    pub fn index(&self, name: &str) -> usize {
        self.table
            .iter()
            .position(|r| r.name == name)
            .unwrap_or_else(|| panic!("register table lacks {name}"))
    }

    /// The value of the register called `name`, if the table has one.
    pub fn try_get(&self, name: &str) -> Option<u32> {
        let i = self.table.iter().position(|r| r.name == name)?;
        Some(self.values[i])
    }

    pub fn get(&self, name: &str) -> u32 {
        self.values[self.index(name)]
    }

    pub fn set(&mut self, name: &str, v: u32) {
        let i = self.index(name);
        self.values[i] = v;
    }

    /// Applies a write through an alias to the stored value of register `i`.
    pub fn apply(&mut self, i: usize, alias: Alias, v: u32) -> u32 {
        let old = self.values[i];
        let new = match alias {
            Alias::Plain => v,
            Alias::Set => old | v,
            Alias::Clear => old & !v,
            Alias::Toggle => old ^ v,
        };
        self.values[i] = new;
        new
    }
}

/// Merges a `size`-byte write of `value` at byte `lane` of a register into its old value.
pub fn merge(old: u32, value: u32, lane: u32, size: u32) -> u32 {
    if size >= 4 {
        return value;
    }
    let mask = (if size == 2 { 0xFFFF } else { 0xFF }) << (8 * lane);
    (old & !mask) | ((value << (8 * lane)) & mask)
}
