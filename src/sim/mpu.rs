//! The Cortex-M7 memory protection unit (PMSAv7: ARMv7-M Architecture Reference Manual B3.5):
//! 16 regions, each a power-of-two range with 8 subregions, access permissions (AP) and
//! execute-never (XN); the highest-numbered matching region decides; addresses no region
//! covers use the default memory map when PRIVDEFENA is set and the access is privileged.
//! A refused access is a MemManage fault (DACCVIOL with MMFAR, or IACCVIOL), escalated to
//! HardFault by the usual rules when MemManage is disabled.
//!
//! Speed: the bus's fast path never asks the MPU. When the configuration changes (MPU_CTRL, or
//! a region while the MPU is on), [`Machine::mpu_reconfigured`] finds the memory regions where
//! the MPU could refuse a load or a store for some privilege and takes their read or write
//! permission away on the bus, so accesses there miss the fast path and come to
//! [`Machine::load_slow`]/[`Machine::store_slow`], which ask the MPU and then do the access.
//! Execute permission is checked when an instruction is decoded (a predecode miss), and every
//! decoded instruction is forgotten when the configuration changes. Unprivileged code reaching
//! code that a privileged fetch already decoded is not re-checked (documented limitation).

use super::memory::BusError;
use super::system::Fault;
use super::{Machine, Trap};

/// Regions of the Cortex-M7 MPU in the i.MX RT (MPU_TYPE.DREGION).
pub const REGIONS: usize = 16;

const CTRL_ENABLE: u32 = 1;
const CTRL_HFNMIENA: u32 = 2;
const CTRL_PRIVDEFENA: u32 = 4;
const RASR_ENABLE: u32 = 1;
const RASR_XN: u32 = 1 << 28;

/// What an access does, for the permission check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Execute,
}

/// The MPU's registers.
#[derive(Clone, Debug, Default)]
pub struct Mpu {
    pub ctrl: u32,
    pub rnr: u32,
    pub rbar: [u32; REGIONS],
    pub rasr: [u32; REGIONS],
}

/// Why the MPU refused an access: the deciding region (None: no region, background refused).
#[derive(Clone, Debug)]
pub struct Denial {
    pub region: Option<usize>,
    pub why: String,
}

/// Read and write permission for privileged and unprivileged code, by AP value.
fn ap_allows(ap: u32, access: Access, privileged: bool) -> bool {
    let (read, write) = match (ap, privileged) {
        (1..=3, true) => (true, true),
        (5..=7, true) => (true, false),
        (2 | 6 | 7, false) => (true, false),
        (3, false) => (true, true),
        _ => (false, false),
    };
    match access {
        Access::Write => write,
        Access::Read | Access::Execute => read,
    }
}

/// The default memory map's execute-never ranges (peripheral, device and system space).
fn default_map_xn(addr: u32) -> bool {
    matches!(addr >> 28, 0x4 | 0x5 | 0xA..=0xF)
}

impl Mpu {
    pub fn enabled(&self) -> bool {
        self.ctrl & CTRL_ENABLE != 0
    }

    /// Start and size of region `n` when it is enabled (RASR.SIZE n: 2^(n+1) bytes).
    fn span(&self, n: usize) -> Option<(u64, u64)> {
        let rasr = self.rasr[n];
        if rasr & RASR_ENABLE == 0 {
            return None;
        }
        let size = 1u64 << (((rasr >> 1) & 0x1F) + 1).max(5);
        let start = u64::from(self.rbar[n] & !0x1F) & !(size - 1);
        Some((start, size))
    }

    /// Whether region `n` covers `addr` (its subregion there not disabled).
    fn covers(&self, n: usize, addr: u32) -> bool {
        let Some((start, size)) = self.span(n) else {
            return false;
        };
        let a = u64::from(addr);
        if a < start || a >= start + size {
            return false;
        }
        if size < 256 {
            return true;
        }
        let sub = (a - start) / (size / 8);
        (self.rasr[n] >> (8 + sub)) & 1 == 0
    }

    /// The highest-numbered region covering `addr`.
    pub fn region_of(&self, addr: u32) -> Option<usize> {
        (0..REGIONS).rev().find(|&n| self.covers(n, addr))
    }

    /// Checks one access. `escalated`: the core runs at a negative priority (HardFault, NMI,
    /// FAULTMASK), where the MPU is off unless HFNMIENA is set.
    pub fn check(
        &self,
        addr: u32,
        access: Access,
        privileged: bool,
        escalated: bool,
    ) -> Result<(), Denial> {
        // The PPB is always accessed through the default map.
        if !self.enabled()
            || (escalated && self.ctrl & CTRL_HFNMIENA == 0)
            || (0xE000_0000..0xE010_0000).contains(&addr)
        {
            return Ok(());
        }
        let who = if privileged {
            "privileged"
        } else {
            "unprivileged"
        };
        let what = match access {
            Access::Read => "read",
            Access::Write => "write",
            Access::Execute => "instruction fetch",
        };
        match self.region_of(addr) {
            Some(n) => {
                let rasr = self.rasr[n];
                let ap = (rasr >> 24) & 7;
                if access == Access::Execute && rasr & RASR_XN != 0 {
                    return Err(Denial {
                        region: Some(n),
                        why: format!("MPU region {n} is execute-never (XN)"),
                    });
                }
                if !ap_allows(ap, access, privileged) {
                    return Err(Denial {
                        region: Some(n),
                        why: format!("MPU region {n} (AP={ap}) forbids a {who} {what}"),
                    });
                }
                Ok(())
            }
            None if privileged && self.ctrl & CTRL_PRIVDEFENA != 0 => {
                if access == Access::Execute && default_map_xn(addr) {
                    return Err(Denial {
                        region: None,
                        why: "no MPU region covers it and the default map makes it execute-never"
                            .into(),
                    });
                }
                Ok(())
            }
            None => Err(Denial {
                region: None,
                why: format!(
                    "no MPU region covers it and the default map is off for {who} code \
                     (MPU_CTRL.PRIVDEFENA {})",
                    if self.ctrl & CTRL_PRIVDEFENA != 0 {
                        "applies to privileged code only"
                    } else {
                        "is clear"
                    }
                ),
            }),
        }
    }

    /// Whether the MPU could refuse some `access` (a read or a write) somewhere in
    /// `[base, base + size)` for privileged or unprivileged code.
    fn restricts(&self, base: u32, size: u32, access: Access) -> bool {
        self.refuses(base, size, access, &[true, false])
    }

    /// Whether the MPU could refuse `access` somewhere in `[base, base + size)` to code of one
    /// of the `privileges` (true: privileged).
    fn refuses(&self, base: u32, size: u32, access: Access, privileges: &[bool]) -> bool {
        if !self.enabled() {
            return false;
        }
        let (lo, hi) = (u64::from(base), u64::from(base) + u64::from(size));
        // Every point where the deciding region can change: region and subregion edges.
        let mut edges = vec![lo];
        for n in 0..REGIONS {
            if let Some((start, len)) = self.span(n) {
                let step = if len >= 256 { len / 8 } else { len };
                let mut e = start;
                while e <= start + len {
                    if e > lo && e < hi {
                        edges.push(e);
                    }
                    e += step;
                }
            }
        }
        edges.sort_unstable();
        edges.dedup();
        edges.iter().any(|&e| {
            let a = e as u32;
            privileges
                .iter()
                .any(|&privileged| self.check(a, access, privileged, false).is_err())
        })
    }
}

/// The bus permissions of a memory region before the MPU took some away.
#[derive(Clone, Copy, Debug)]
pub struct Guard {
    region: usize,
    readable: bool,
    writable: bool,
}

impl Machine {
    /// After a change of the MPU's configuration: re-derives which memory regions' accesses
    /// must ask it (see the module comment) and forgets decoded instructions, which were
    /// checked for execute permission under the old configuration.
    pub(crate) fn mpu_reconfigured(&mut self) {
        for g in std::mem::take(&mut self.mpu_guards) {
            let r = &mut self.mem.regions[g.region];
            r.readable = g.readable;
            r.writable = g.writable;
        }
        let mpu = &self.sys.mpu;
        for (index, r) in self.mem.regions.iter_mut().enumerate() {
            let read = r.readable && mpu.restricts(r.base, r.size, Access::Read);
            let write = r.writable && mpu.restricts(r.base, r.size, Access::Write);
            if read || write {
                self.mpu_guards.push(Guard {
                    region: index,
                    readable: r.readable,
                    writable: r.writable,
                });
                r.readable &= !read;
                r.writable &= !write;
            }
        }
        let fast_guarded = self
            .mem
            .fast_region()
            .is_some_and(|fast| self.mpu_guards.iter().any(|g| g.region == fast));
        self.mem.suspend_fast_region(fast_guarded);
        self.unprivileged_fetch_guarded = (0..self.mem.regions.len())
            .filter(|&i| {
                let r = &self.mem.regions[i];
                r.executable && mpu.refuses(r.base, r.size, Access::Execute, &[false])
            })
            .collect();
        for index in 0..self.mem.regions.len() {
            self.forget_code_of_region(index);
        }
    }

    /// After a change of privilege (CONTROL.nPRIV written, an exception return to Thread
    /// mode): code decoded while privileged was checked for execute permission with privileged
    /// rights, so when the core drops to unprivileged execution the decoded code of every
    /// memory region where the MPU could refuse unprivileged fetches is forgotten and checked
    /// again when next fetched. (Privileged rights include the unprivileged ones, so rising
    /// needs nothing.)
    pub(crate) fn privilege_changed(&mut self, was_privileged: bool) {
        if was_privileged && !self.privileged() && self.sys.mpu.enabled() {
            for index in self.unprivileged_fetch_guarded.clone() {
                self.forget_code_of_region(index);
            }
        }
    }

    /// The memory region an access at `addr` reaches when only the MPU kept it off the fast
    /// path, with the bus permission it really has.
    fn guarded(&self, addr: u32, access: Access) -> Option<usize> {
        let index = self.mem.region_index(addr)?;
        let g = self.mpu_guards.iter().find(|g| g.region == index)?;
        let allowed = match access {
            Access::Read => g.readable,
            Access::Write => g.writable,
            Access::Execute => false,
        };
        allowed.then_some(index)
    }

    /// The MPU's verdict on an access by the current code; a refusal as a MemManage fault.
    pub(crate) fn mpu_check(&self, addr: u32, access: Access) -> Result<(), Trap> {
        let verdict = self.sys.mpu.check(
            addr,
            access,
            self.privileged(),
            self.execution_priority() < 0,
        );
        verdict.map_err(|d| {
            Trap::Fault(Fault::mpu_violation(
                addr,
                access,
                &d.why,
                self.mpu_region_text(d.region),
            ))
        })
    }

    fn mpu_region_text(&self, region: Option<usize>) -> String {
        match region {
            Some(n) => {
                let (start, size) = self.sys.mpu.span(n).unwrap_or((0, 0));
                format!(
                    "region {n}: {start:#010x}..{:#010x}",
                    start + size.saturating_sub(1)
                )
            }
            None => "no region".into(),
        }
    }

    /// A load that missed the bus's fast path: a peripheral, memory the MPU guards, or a fault.
    pub(crate) fn load_slow<const N: usize>(
        &mut self,
        addr: u32,
        e: BusError,
    ) -> Result<u32, Trap> {
        if self.sys.mpu.enabled() {
            self.mpu_check(addr, Access::Read)?;
        }
        if let Some(region) = self.guarded(addr, Access::Read) {
            let mut w = [0u8; 4];
            self.mem
                .peek(addr, &mut w[..N])
                .map_err(|e| Trap::Fault(Fault::data_access(self.pc, addr, e)))?;
            self.cycles += u64::from(self.timing.data(addr, region, false));
            return Ok(u32::from_le_bytes(w));
        }
        if e == BusError::Unmapped && super::soc::Soc::in_window(addr) {
            return self.mmio_read(addr, N as u32);
        }
        Err(Trap::Fault(Fault::data_access(self.pc, addr, e)))
    }

    /// A store that missed the bus's fast path (see [`Machine::load_slow`]).
    pub(crate) fn store_slow<const N: usize>(
        &mut self,
        addr: u32,
        value: u32,
        e: BusError,
    ) -> Result<(), Trap> {
        if self.sys.mpu.enabled() {
            self.mpu_check(addr, Access::Write)?;
        }
        if let Some(region) = self.guarded(addr, Access::Write) {
            self.mem
                .poke(addr, &value.to_le_bytes()[..N])
                .map_err(|e| Trap::Fault(Fault::data_access(self.pc, addr, e)))?;
            self.cycles += u64::from(self.timing.data(addr, region, true));
            if self.mem.regions[region].executable {
                self.invalidate_code(addr, N as u32);
            }
            return Ok(());
        }
        if e == BusError::Unmapped && super::soc::Soc::in_window(addr) {
            return self.mmio_write(addr, value, N as u32);
        }
        Err(Trap::Fault(Fault::data_access(self.pc, addr, e)))
    }

    /// Exception stacking's word store: the bus, or memory the MPU guards (stacking is a
    /// privileged access).
    pub(crate) fn stack_store(&mut self, addr: u32, v: u32) -> Result<(), ()> {
        let bytes = v.to_le_bytes();
        if self.mem.write(addr, &bytes).is_ok() {
            return Ok(());
        }
        let allowed = self.sys.mpu.check(addr, Access::Write, true, false).is_ok();
        match self.guarded(addr, Access::Write) {
            Some(_) if allowed => self.mem.poke(addr, &bytes).map_err(|_| ()),
            _ => Err(()),
        }
    }

    /// Exception unstacking's word load (see [`Machine::stack_store`]).
    pub(crate) fn stack_load(&mut self, addr: u32) -> Result<u32, ()> {
        if let Ok((b, _)) = self.mem.read::<4>(addr) {
            return Ok(u32::from_le_bytes(b));
        }
        let allowed = self.sys.mpu.check(addr, Access::Read, true, false).is_ok();
        let mut b = [0u8; 4];
        match self.guarded(addr, Access::Read) {
            Some(_) if allowed => self.mem.peek(addr, &mut b).map_err(|_| ())?,
            _ => return Err(()),
        }
        Ok(u32::from_le_bytes(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RASR for a region of 2^log2 bytes with access permissions `ap`.
    fn rasr(log2: u32, ap: u32, xn: bool) -> u32 {
        ((log2 - 1) << 1) | (ap << 24) | (u32::from(xn) << 28) | RASR_ENABLE
    }

    #[test]
    fn the_highest_region_decides_and_subregions_fall_through() {
        let mut mpu = Mpu {
            ctrl: CTRL_ENABLE | CTRL_PRIVDEFENA,
            ..Mpu::default()
        };
        mpu.rbar[0] = 0x2020_0000;
        mpu.rasr[0] = rasr(20, 3, false);
        mpu.rbar[1] = 0x2020_0000;
        mpu.rasr[1] = rasr(15, 6, true) | (1 << 8); // subregion 0 (4 KB) disabled
        assert!(mpu.check(0x2020_8000, Access::Write, true, false).is_ok());
        let d = mpu
            .check(0x2020_1000, Access::Write, true, false)
            .unwrap_err();
        assert_eq!(d.region, Some(1));
        assert!(mpu.check(0x2020_1000, Access::Read, false, false).is_ok());
        assert!(mpu.check(0x2020_0010, Access::Write, true, false).is_ok());
        assert!(mpu.check(0x2020_0010, Access::Execute, true, false).is_ok());
        assert!(mpu
            .check(0x2020_1000, Access::Execute, true, false)
            .is_err());
        // Background: privileged code uses the default map, unprivileged code faults.
        assert!(mpu.check(0x6000_0000, Access::Read, true, false).is_ok());
        assert!(mpu.check(0x6000_0000, Access::Read, false, false).is_err());
        assert!(mpu
            .check(0x4000_0000, Access::Execute, true, false)
            .is_err());
        // HardFault priority ignores the MPU unless HFNMIENA.
        assert!(mpu.check(0x2020_1000, Access::Write, true, true).is_ok());
        assert!(mpu.restricts(0x2020_0000, 0x8_0000, Access::Write));
        assert!(!mpu.restricts(0x2028_0000, 0x4_0000, Access::Write));
    }

    #[test]
    fn full_access_regions_leave_privileged_and_unprivileged_data_alone() {
        let mut mpu = Mpu {
            ctrl: CTRL_ENABLE,
            ..Mpu::default()
        };
        mpu.rbar[3] = 0;
        mpu.rasr[3] = rasr(17, 3, false);
        assert!(!mpu.restricts(0, 0x2_0000, Access::Read));
        assert!(!mpu.restricts(0, 0x2_0000, Access::Write));
        // Past the region, nothing covers the memory and the default map is off.
        assert!(mpu.restricts(0, 0x4_0000, Access::Write));
    }
}
