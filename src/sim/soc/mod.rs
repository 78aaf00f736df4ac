//! The i.MX RT system-on-chip around the core: every peripheral of the address map by name
//! ([`map`]), each a register table ([`regs`]) with, where boot code waits on it, a behaviour in
//! its own module (watchdogs, clock controller, PLLs and oscillator, DCDC, UARTs, timers, GPR
//! FlexRAM control, USB, FlexSPI, SRC, GPIO).
//!
//! Speed: the core reaches this module only when an access misses every memory region (the
//! bus's slow path), so instructions that do no MMIO pay nothing for it.
//!
//! Time-dependent behaviour (PLL lock, divider handshakes, oscillator start-up, timers) is
//! computed from the core cycle counter when a register is read, so peripherals never need a
//! tick of their own.

mod analog;
mod ccm;
mod dcdc;
mod gpio;
mod iomuxc;
pub mod irq;
mod lpuart;
pub mod map;
pub mod regs;
mod rt1170;
mod rt1170_clock;
mod timers;
mod usb;
mod wdog;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use map::{Behaviour, Block, SocMap, WINDOW_END, WINDOW_START};
use regs::{merge, Alias, RegFile};

/// Core cycles one peripheral access costs (an IPG bus access through the AIPS bridge: a few
/// 150 MHz bus clocks at a 600 MHz core).
pub const ACCESS_CYCLES: u32 = 12;

/// Identical reads of one register by one instruction, with no peripheral write in between,
/// after which a polling loop is declared stuck.
pub const POLL_LIMIT: u32 = 200_000;

/// Per-peripheral state beyond register values.
#[derive(Debug, Default)]
pub struct State {
    /// Cycle at which a pending change completes (PLL lock, handshake, oscillator start-up).
    pub ready_at: BTreeMap<usize, u64>,
    /// Cycle a counter (GPT, PIT) started counting, and its value then.
    pub counter_origin: BTreeMap<usize, (u64, u32)>,
    /// RTWDOG: the first half of a 16-bit key was written; WDOG: 0x5555 of the service.
    pub unlock_half: bool,
    /// A watchdog's running timeout.
    pub expiry: Option<wdog::Expiry>,
}

/// One peripheral instance: its map entry, registers and state.
pub struct Peripheral {
    pub block: &'static Block,
    pub regs: RegFile,
    pub state: State,
}

/// What the firmware changed that the machine must act on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Effects {
    /// IOMUXC_GPR14/16/17 changed: the FlexRAM banks and TCM sizes must be re-derived.
    pub flexram: bool,
}

/// The environment a behaviour sees during one access.
pub struct Ctx<'a> {
    pub now: u64,
    /// The bytes and width of the store as the core issued it (for sequences of 16-bit writes).
    pub raw: u32,
    pub size: u32,
    pub output: &'a mut Vec<u8>,
    pub echo: bool,
    pub input: &'a mut VecDeque<u8>,
    pub effects: &'a mut Effects,
    /// The core clock in Hz, for timers counting peripheral clocks.
    pub core_hz: u64,
}

/// Why an MMIO access failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MmioError {
    /// The address is in a reserved slot of the map.
    Reserved,
}

/// A polling loop that makes no progress.
#[derive(Clone, Debug)]
pub struct StuckPoll {
    pub register: String,
    pub address: u32,
    pub value: u32,
}

#[derive(Default)]
struct PollWatch {
    pc: u32,
    addr: u32,
    value: u32,
    count: u32,
}

/// The SoC's peripherals.
pub struct Soc {
    map: &'static SocMap,
    periphs: Vec<Peripheral>,
    /// UART receive data (`--uart-input`), shared by all LPUARTs.
    pub input: VecDeque<u8>,
    /// Word addresses of registers the firmware touched that have no behaviour.
    plain_touched: BTreeSet<u32>,
    pub effects: Effects,
    poll: PollWatch,
    /// Peripherals with an interrupt line and their IRQ numbers.
    irq_lines: Vec<(usize, u32)>,
    /// The last answer of [`Soc::interrupts`], until it may change.
    irq_cache: irq::Interrupts,
}

/// The peripheral of `blocks` (sorted by base) holding `addr`, as an index into it.
fn lookup(blocks: &[Block], addr: u32) -> Option<usize> {
    let i = blocks.partition_point(|b| b.base <= addr).checked_sub(1)?;
    (addr - blocks[i].base < blocks[i].size).then_some(i)
}

impl Soc {
    /// The peripheral map a board file names (`[boot] peripherals`), if there is one.
    pub fn map_named(name: &str) -> Option<&'static SocMap> {
        map::MAPS.iter().copied().find(|m| m.name == name)
    }

    /// The names of the modelled maps, for error messages.
    pub fn map_names() -> Vec<&'static str> {
        map::MAPS.iter().map(|m| m.name).collect()
    }

    pub fn new(map: &'static SocMap) -> Soc {
        let mut soc = Soc {
            map,
            periphs: map
                .blocks
                .iter()
                .map(|block| Peripheral {
                    block,
                    regs: RegFile::new(block.regs.table()),
                    state: State::default(),
                })
                .collect(),
            input: VecDeque::new(),
            plain_touched: BTreeSet::new(),
            effects: Effects::default(),
            poll: PollWatch::default(),
            irq_lines: Vec::new(),
            irq_cache: irq::Interrupts::default(),
        };
        soc.irq_lines = soc.irq_table();
        soc
    }

    /// The map this SoC was built from.
    pub fn map(&self) -> &'static SocMap {
        self.map
    }

    /// The core clock and the FlexSPI root clock the CCM and the PLLs select, in Hz.
    pub fn clocks(&self) -> (u64, u64) {
        let Some(c) = self.peripheral("CCM") else {
            return (0, 0);
        };
        if let Some(a) = self.peripheral("CCM_ANALOG") {
            return (
                ccm::core_clock_hz(&c.regs, &a.regs),
                ccm::flexspi_clock_hz(&c.regs, &a.regs),
            );
        }
        match self.peripheral("ANADIG") {
            Some(a) => rt1170_clock::clocks(&c.regs, &a.regs),
            None => (0, 0),
        }
    }

    /// Whether a write at `addr` may change a clock (the clock controller or the PLLs).
    pub fn is_clock_register(&self, addr: u32) -> bool {
        lookup(self.map.blocks, addr).is_some_and(|i| {
            matches!(
                self.map.blocks[i].behaviour,
                Behaviour::Ccm | Behaviour::Analog | Behaviour::Ccm1170 | Behaviour::Anadig
            )
        })
    }

    /// The name of the peripheral holding `addr`; `None` in a reserved slot.
    pub fn peripheral_at(&self, addr: u32) -> Option<&'static str> {
        lookup(self.map.blocks, addr).map(|i| self.map.blocks[i].name)
    }

    /// The value of the register at `addr` without side effects (no behaviour runs), for a
    /// debugger's view; `None` in a reserved slot.
    pub fn peek(&self, addr: u32) -> Option<u32> {
        let p = &self.periphs[lookup(self.map.blocks, addr)?];
        let off = addr - p.block.base;
        Some(match p.regs.find(off) {
            Some((i, _)) => p.regs.values[i],
            None => p.regs.extra.get(&off).copied().unwrap_or(0),
        })
    }

    /// Whether `addr` is in the peripheral window (a reserved slot included).
    #[inline]
    pub fn in_window(addr: u32) -> bool {
        (WINDOW_START..WINDOW_END).contains(&addr)
    }

    /// The peripheral called `name`.
    pub fn peripheral(&self, name: &str) -> Option<&Peripheral> {
        self.periphs.iter().find(|p| p.block.name == name)
    }

    pub fn peripheral_mut(&mut self, name: &str) -> Option<&mut Peripheral> {
        self.periphs.iter_mut().find(|p| p.block.name == name)
    }

    /// `PERIPHERAL.REGISTER` (or `PERIPHERAL+0xOFF` for an offset the table lacks) for `addr`.
    pub fn register_name(&self, addr: u32) -> String {
        let Some(i) = lookup(self.map.blocks, addr) else {
            return format!("reserved peripheral slot {addr:#010x}");
        };
        let p = &self.periphs[i];
        let off = addr - p.block.base;
        match p.regs.find(off) {
            Some((r, alias)) => {
                let reg = p.regs.table[r].name;
                let suffix = match alias {
                    Alias::Plain => "",
                    Alias::Set => "_SET",
                    Alias::Clear => "_CLR",
                    Alias::Toggle => "_TOG",
                };
                if reg.contains('.') {
                    format!("{reg}{suffix}")
                } else {
                    format!("{}.{reg}{suffix}", p.block.name)
                }
            }
            None => format!("{}+{off:#x}", p.block.name),
        }
    }

    /// A read of `size` bytes at `addr` by the instruction at `pc`.
    pub fn read(
        &mut self,
        addr: u32,
        size: u32,
        pc: u32,
        io: &mut Io<'_>,
    ) -> Result<u32, MmioError> {
        let i = lookup(self.map.blocks, addr).ok_or(MmioError::Reserved)?;
        self.irq_cache.valid_until = 0;
        let off = addr - self.periphs[i].block.base;
        let value = match self.periphs[i].regs.find(off) {
            Some((r, _)) => {
                let reg = self.periphs[i].regs.table[r];
                let mut ctx = io.ctx(0, size, &mut self.effects, &mut self.input);
                let p = &mut self.periphs[i];
                let word = behaviour_read(p, r, &mut ctx);
                if p.block.behaviour == Behaviour::Plain {
                    self.plain_touched.insert(addr & !3);
                }
                let lane = (off - reg.offset) % 4;
                word >> (8 * lane)
            }
            None => {
                self.plain_touched.insert(addr & !3);
                let p = &self.periphs[i];
                p.regs.extra.get(&(off & !3)).copied().unwrap_or(0) >> (8 * (off & 3))
            }
        };
        let value = match size {
            1 => value & 0xFF,
            2 => value & 0xFFFF,
            _ => value,
        };
        let w = &mut self.poll;
        if w.pc == pc && w.addr == addr && w.value == value {
            w.count += 1;
        } else {
            *w = PollWatch {
                pc,
                addr,
                value,
                count: 1,
            };
        }
        Ok(value)
    }

    /// Whether the last read has repeated, unchanged, [`POLL_LIMIT`] times.
    pub fn stuck_poll(&self) -> Option<StuckPoll> {
        (self.poll.count >= POLL_LIMIT).then(|| StuckPoll {
            register: self.register_name(self.poll.addr),
            address: self.poll.addr,
            value: self.poll.value,
        })
    }

    /// A store of the low `size` bytes of `value` at `addr`.
    pub fn write(
        &mut self,
        addr: u32,
        value: u32,
        size: u32,
        io: &mut Io<'_>,
    ) -> Result<(), MmioError> {
        let i = lookup(self.map.blocks, addr).ok_or(MmioError::Reserved)?;
        self.poll.count = 0;
        self.irq_cache.valid_until = 0;
        let off = addr - self.periphs[i].block.base;
        match self.periphs[i].regs.find(off) {
            Some((r, alias)) => {
                let reg = self.periphs[i].regs.table[r];
                let lane = (off - reg.offset) % 4;
                let mut ctx = io.ctx(value, size, &mut self.effects, &mut self.input);
                let p = &mut self.periphs[i];
                let old = p.regs.values[r];
                let merged = merge(old, value, lane, size.min(reg.width));
                p.regs.apply(r, alias, merged);
                behaviour_write(p, r, old, &mut ctx);
                if p.block.behaviour == Behaviour::Plain {
                    self.plain_touched.insert(addr & !3);
                }
            }
            None => {
                self.plain_touched.insert(addr & !3);
                let p = &mut self.periphs[i];
                let word = p.regs.extra.entry(off & !3).or_insert(0);
                *word = merge(*word, value, off & 3, size);
            }
        }
        Ok(())
    }

    /// The registers the firmware touched that have no behaviour here (they only keep values):
    /// where the model may be too simple for what the firmware expects.
    pub fn plain_touched(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .plain_touched
            .iter()
            .map(|&a| self.register_name(a))
            .collect();
        names.dedup();
        names
    }
}

/// What the machine lends the SoC for one access.
pub struct Io<'a> {
    pub now: u64,
    pub output: &'a mut Vec<u8>,
    pub echo: bool,
    pub core_hz: u64,
}

impl<'a> Io<'a> {
    fn ctx<'b>(
        &'b mut self,
        raw: u32,
        size: u32,
        effects: &'b mut Effects,
        input: &'b mut VecDeque<u8>,
    ) -> Ctx<'b> {
        Ctx {
            now: self.now,
            raw,
            size,
            output: self.output,
            echo: self.echo,
            input,
            effects,
            core_hz: self.core_hz,
        }
    }
}

fn behaviour_read(p: &mut Peripheral, r: usize, ctx: &mut Ctx<'_>) -> u32 {
    let (regs, st) = (&mut p.regs, &mut p.state);
    match p.block.behaviour {
        Behaviour::Analog => analog::read(regs, st, r, ctx),
        Behaviour::Ccm => ccm::read(regs, st, r, ctx),
        Behaviour::Dcdc => dcdc::read(regs, st, r, ctx),
        Behaviour::Lpuart => lpuart::read(regs, r, ctx),
        Behaviour::Gpt => timers::gpt_read(regs, st, r, ctx),
        Behaviour::Pit => timers::pit_read(regs, st, r, ctx),
        Behaviour::Gpio => gpio::read(regs, r),
        Behaviour::Anadig => rt1170_clock::anadig_read(regs, st, r, ctx),
        Behaviour::Wdog => wdog::wdog_read(regs, st, r, ctx),
        Behaviour::Rtwdog => wdog::rtwdog_read(regs, st, r, ctx),
        Behaviour::Ccm1170 => rt1170_clock::ccm_read(regs, r),
        _ => regs.values[r],
    }
}

fn behaviour_write(p: &mut Peripheral, r: usize, old: u32, ctx: &mut Ctx<'_>) {
    let (regs, st) = (&mut p.regs, &mut p.state);
    match p.block.behaviour {
        Behaviour::Plain => {}
        Behaviour::Wdog => wdog::wdog_write(regs, st, r, old, ctx),
        Behaviour::Rtwdog => wdog::rtwdog_write(regs, st, r, old, ctx),
        Behaviour::Ccm => ccm::write(regs, st, r, old, ctx),
        Behaviour::Analog => analog::write(regs, st, r, old, ctx),
        Behaviour::Dcdc => dcdc::write(regs, st, r, old, ctx),
        Behaviour::Lpuart => lpuart::write(regs, r, old, ctx),
        Behaviour::Gpt => timers::gpt_write(regs, st, r, old, ctx),
        Behaviour::Pit => timers::pit_write(regs, st, r, old, ctx),
        Behaviour::IomuxcGpr => iomuxc::gpr_write(regs, r, old, ctx),
        Behaviour::Usb => usb::write(regs, r, old),
        // SCR core and peripheral reset requests (bits 13, 3..0) complete at once.
        Behaviour::Src => usb::self_clearing(regs, r, "SCR", (1 << 13) | 0xF),
        // MCR0.SWRESET and IP commands complete at once.
        Behaviour::Flexspi => {
            usb::self_clearing(regs, r, "MCR0", 1);
            usb::self_clearing(regs, r, "IPCMD", 1);
        }
        Behaviour::Gpio => gpio::write(regs, r, old),
        Behaviour::Anadig => rt1170_clock::anadig_write(regs, st, r, old, ctx),
        Behaviour::Ccm1170 => rt1170_clock::ccm_write(regs, r, old),
    }
}
