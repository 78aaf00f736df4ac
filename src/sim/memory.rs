//! The memory bus of the virtual board: the board's regions backed by host memory, found through a
//! 4 KiB page map so that every access costs one table lookup. Unmapped addresses and accesses the
//! region's permissions forbid are bus faults, as the board's memory map says.

use crate::board::{Board, RegionKind};

/// Page size of the lookup table. Region bases and sizes must be multiples of it.
pub const PAGE_SHIFT: u32 = 12;
const NO_REGION: u8 = u8::MAX;

/// One mapped region with its contents.
#[derive(Debug)]
pub struct MemRegion {
    pub name: String,
    pub kind: RegionKind,
    pub base: u32,
    pub size: u32,
    pub readable: bool,
    pub writable: bool,
    pub executable: bool,
    pub cacheable: bool,
    pub data: Vec<u8>,
}

impl MemRegion {
    pub fn end(&self) -> u64 {
        u64::from(self.base) + u64::from(self.size)
    }
}

/// Why an access failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BusError {
    Unmapped,
    NotReadable,
    NotWritable,
    NotExecutable,
    /// A reserved slot of the SoC's peripheral map.
    ReservedPeripheral,
}

impl std::fmt::Display for BusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BusError::Unmapped => "no memory is mapped there",
            BusError::NotReadable => "the region is not readable",
            BusError::NotWritable => "the region is not writable",
            BusError::NotExecutable => "the region is not executable",
            BusError::ReservedPeripheral => {
                "a reserved slot of the peripheral map (no peripheral there)"
            }
        })
    }
}

/// The regions and the page map over the whole 4 GiB address space.
pub struct Memory {
    pub regions: Vec<MemRegion>,
    page_map: Vec<u8>,
    /// One region data loads and stores reach without the page map (see
    /// [`Memory::set_fast_region`]); `size` 0 when there is none or while it is suspended.
    fast: FastWindow,
}

/// The bounds of the fast-path region, kept beside the page map's lookup.
#[derive(Clone, Copy)]
struct FastWindow {
    base: u32,
    size: u32,
    index: usize,
    /// The region is named (by [`Memory::set_fast_region`]).
    named: bool,
    /// Accesses must take the checked path for now (the MPU guards the region).
    suspended: bool,
}

impl Memory {
    /// Maps every region of the board, zero-filled.
    pub fn new(board: &Board) -> Result<Memory, String> {
        let mut regions = Vec::new();
        let mut page_map = vec![NO_REGION; 1 << (32 - PAGE_SHIFT)];
        for r in &board.regions {
            let (base, size) = (r.base.0, r.size.0);
            let page = 1u64 << PAGE_SHIFT;
            if base % page != 0 || size % page != 0 || base + size > 1 << 32 || size == 0 {
                return Err(format!(
                    "region {} ({:#x}, {:#x} bytes) must be 4 KiB aligned and inside 32-bit space",
                    r.name, base, size
                ));
            }
            if regions.len() >= usize::from(NO_REGION) {
                return Err("too many memory regions (at most 254)".into());
            }
            let index = regions.len() as u8;
            for p in (base >> PAGE_SHIFT)..((base + size) >> PAGE_SHIFT) {
                page_map[p as usize] = index;
            }
            regions.push(MemRegion {
                name: r.name.clone(),
                kind: r.kind,
                base: base as u32,
                size: size as u32,
                readable: r.readable(),
                writable: r.writable(),
                executable: r.executable(),
                cacheable: r.cacheable,
                data: vec![0; size as usize],
            });
        }
        Ok(Memory {
            regions,
            page_map,
            fast: FastWindow {
                base: 0,
                size: 0,
                index: 0,
                named: false,
                suspended: false,
            },
        })
    }

    /// Lets stores program the XIP flash directly, as a FlexSPI configured for AHB writes (or a
    /// flash driver's IP commands) would; the fixtures stand in for programming with stores.
    pub fn allow_flash_writes(&mut self) {
        for r in &mut self.regions {
            if r.kind == RegionKind::Xip {
                r.writable = true;
            }
        }
    }

    /// Changes the size of region `index` (FlexRAM banks reassigned at run time): contents up to
    /// the smaller size are kept, new bytes read zero, addresses past the new end are unmapped.
    pub fn resize(&mut self, index: usize, size: u32) {
        let r = &mut self.regions[index];
        let (base, old) = (r.base, r.size);
        r.data.resize(size as usize, 0);
        r.size = size;
        let first = base >> PAGE_SHIFT;
        for p in first..first + (old >> PAGE_SHIFT) {
            if self.page_map[p as usize] == index as u8 {
                self.page_map[p as usize] = NO_REGION;
            }
        }
        for p in first..first + (size >> PAGE_SHIFT) {
            self.page_map[p as usize] = index as u8;
        }
        if self.fast.named && self.fast.index == index && !self.fast.suspended {
            self.fast.size = size;
        }
    }

    /// Lets [`Memory::read_fast`] and [`Memory::write_fast`] reach region `index` directly: the
    /// machine names its zero-wait data TCM, where most loads and stores go. The region must be
    /// readable and writable and must not be executable (stores to it then never touch code).
    pub fn set_fast_region(&mut self, index: usize) {
        let r = &self.regions[index];
        debug_assert!(r.readable && r.writable && !r.executable);
        self.fast = FastWindow {
            base: r.base,
            size: r.size,
            index,
            named: true,
            suspended: false,
        };
    }

    /// The region the fast path reaches, if one is named.
    pub fn fast_region(&self) -> Option<usize> {
        self.fast.named.then_some(self.fast.index)
    }

    /// Sends the fast region's accesses down the checked path while `suspend` holds (the MPU
    /// restricts that region: its permission flags, which the fast path does not read, are
    /// what makes accesses ask the MPU).
    pub fn suspend_fast_region(&mut self, suspend: bool) {
        if self.fast.named {
            self.fast.suspended = suspend;
            self.fast.size = if suspend {
                0
            } else {
                self.regions[self.fast.index].size
            };
        }
    }

    /// A load of `N` bytes wholly inside the fast region, with the region's index; `None` when
    /// the address is elsewhere (the caller takes [`Memory::read`]).
    #[inline(always)]
    pub fn read_fast<const N: usize>(&self, addr: u32) -> Option<([u8; N], usize)> {
        let off = addr.wrapping_sub(self.fast.base);
        if off >= self.fast.size || self.fast.size - off < N as u32 {
            return None;
        }
        let data = &self.regions[self.fast.index].data;
        let off = off as usize;
        Some((data.get(off..off + N)?.try_into().ok()?, self.fast.index))
    }

    /// A store of `bytes` wholly inside the fast region: its index, or `None` when elsewhere.
    #[inline(always)]
    pub fn write_fast(&mut self, addr: u32, bytes: &[u8]) -> Option<usize> {
        let off = addr.wrapping_sub(self.fast.base);
        if off >= self.fast.size || ((self.fast.size - off) as usize) < bytes.len() {
            return None;
        }
        let off = off as usize;
        let data = &mut self.regions[self.fast.index].data;
        data.get_mut(off..off + bytes.len())?.copy_from_slice(bytes);
        Some(self.fast.index)
    }

    /// The region holding `addr`, if any.
    #[inline]
    pub fn region_index(&self, addr: u32) -> Option<usize> {
        let i = self.page_map[(addr >> PAGE_SHIFT) as usize];
        (i != NO_REGION).then_some(usize::from(i))
    }

    /// Reads `N` bytes for a load (permission: readable).
    #[inline]
    pub fn read<const N: usize>(&self, addr: u32) -> Result<([u8; N], usize), BusError> {
        let i = self.region_index(addr).ok_or(BusError::Unmapped)?;
        let r = &self.regions[i];
        if !r.readable {
            return Err(BusError::NotReadable);
        }
        let off = (addr - r.base) as usize;
        match r.data.get(off..off + N) {
            Some(b) => Ok((b.try_into().expect("slice of length N"), i)),
            None => self.read_split::<N>(addr).map(|b| (b, i)),
        }
    }

    /// An access that runs past the end of its region: byte by byte through the map.
    fn read_split<const N: usize>(&self, addr: u32) -> Result<[u8; N], BusError> {
        let mut out = [0u8; N];
        for (k, byte) in out.iter_mut().enumerate() {
            let a = addr.wrapping_add(k as u32);
            let i = self.region_index(a).ok_or(BusError::Unmapped)?;
            let r = &self.regions[i];
            if !r.readable {
                return Err(BusError::NotReadable);
            }
            *byte = r.data[(a - r.base) as usize];
        }
        Ok(out)
    }

    /// Writes bytes for a store (permission: writable). Returns the region index.
    #[inline]
    pub fn write(&mut self, addr: u32, bytes: &[u8]) -> Result<usize, BusError> {
        let i = self.region_index(addr).ok_or(BusError::Unmapped)?;
        let r = &mut self.regions[i];
        if !r.writable {
            return Err(BusError::NotWritable);
        }
        let off = (addr - r.base) as usize;
        if let Some(dst) = r.data.get_mut(off..off + bytes.len()) {
            dst.copy_from_slice(bytes);
            return Ok(i);
        }
        for (k, b) in bytes.iter().enumerate() {
            let a = addr.wrapping_add(k as u32);
            let j = self.region_index(a).ok_or(BusError::Unmapped)?;
            let r = &mut self.regions[j];
            if !r.writable {
                return Err(BusError::NotWritable);
            }
            r.data[(a - r.base) as usize] = *b;
        }
        Ok(i)
    }

    /// Reads a halfword for instruction fetch (permission: executable).
    #[inline]
    pub fn fetch16(&self, addr: u32) -> Result<(u16, usize), BusError> {
        let i = self.region_index(addr).ok_or(BusError::Unmapped)?;
        let r = &self.regions[i];
        if !r.executable {
            return Err(BusError::NotExecutable);
        }
        let off = (addr - r.base) as usize;
        match r.data.get(off..off + 2) {
            Some(b) => Ok((u16::from_le_bytes([b[0], b[1]]), i)),
            None => Err(BusError::Unmapped),
        }
    }

    /// Loader and debugger access: writes regardless of the region's permissions.
    pub fn poke(&mut self, addr: u32, bytes: &[u8]) -> Result<(), BusError> {
        for (k, b) in bytes.iter().enumerate() {
            let a = addr.wrapping_add(k as u32);
            let i = self.region_index(a).ok_or(BusError::Unmapped)?;
            let r = &mut self.regions[i];
            r.data[(a - r.base) as usize] = *b;
        }
        Ok(())
    }

    /// Debugger access: reads regardless of the region's permissions.
    pub fn peek(&self, addr: u32, out: &mut [u8]) -> Result<(), BusError> {
        for (k, b) in out.iter_mut().enumerate() {
            let a = addr.wrapping_add(k as u32);
            let i = self.region_index(a).ok_or(BusError::Unmapped)?;
            let r = &self.regions[i];
            *b = r.data[(a - r.base) as usize];
        }
        Ok(())
    }
}
