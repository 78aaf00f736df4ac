//! The M-profile system: the System Control Space (NVIC, SysTick, SCB, FP control, DWT/ITM),
//! special registers, exception entry and return with stacking (including lazy FP state
//! preservation), fault status and escalation, per the ARMv7-M Architecture Reference Manual
//! (B1.5 exception model, B3 system address map).

use std::fmt;

use serde::Serialize;

use super::dwt::Dwt;
use super::memory::BusError;
use super::mpu::{Access, Mpu, REGIONS as MPU_REGIONS};
use super::{Machine, SimError, Trap};

pub const PPB_BASE: u32 = 0xE000_0000;

pub const NMI: usize = 2;
pub const HARDFAULT: usize = 3;
pub const MEMMANAGE: usize = 4;
pub const BUSFAULT: usize = 5;
pub const USAGEFAULT: usize = 6;
pub const SVCALL: usize = 11;
pub const PENDSV: usize = 14;
pub const SYSTICK: usize = 15;
/// 16 system exceptions and up to 240 external interrupts.
const EXCEPTIONS: usize = 256;
/// Priority bits the i.MX RT NVIC implements (__NVIC_PRIO_BITS = 4).
const PRIO_MASK: u8 = 0xF0;
/// Cycles of exception entry and of return (Cortex-M7 interrupt latency is 12 cycles).
const ENTRY_CYCLES: u64 = 12;
const RETURN_CYCLES: u64 = 10;

// CFSR bits: MMFSR (MemManage), BFSR (BusFault), UFSR (UsageFault).
const IACCVIOL: u32 = 1 << 0;
const MM_DACCVIOL: u32 = 1 << 1;
const MMARVALID: u32 = 1 << 7;
const IBUSERR: u32 = 1 << 8;
const PRECISERR: u32 = 1 << 9;
const BFARVALID: u32 = 1 << 15;
const UNDEFINSTR: u32 = 1 << 16;
const INVSTATE: u32 = 1 << 17;
const INVPC: u32 = 1 << 18;
const NOCP: u32 = 1 << 19;
const DIVBYZERO: u32 = 1 << 25;
const STKERR: u32 = 1 << 12;

/// A synchronous fault an instruction raised.
#[derive(Clone, Debug)]
pub struct Fault {
    exception: usize,
    cfsr: u32,
    address: Option<u32>,
    what: String,
}

impl Fault {
    pub fn instruction_access(pc: u32, e: BusError) -> Fault {
        Fault {
            exception: BUSFAULT,
            cfsr: if e == BusError::NotExecutable {
                IACCVIOL
            } else {
                IBUSERR
            },
            address: None,
            what: format!("instruction fetch from {pc:#010x}: {e}"),
        }
    }

    pub fn data_access(_pc: u32, addr: u32, e: BusError) -> Fault {
        let hint = if e == BusError::NotWritable {
            " (a store to read-only memory; for flash programmed by plain stores use --writable-flash)"
        } else {
            ""
        };
        Fault {
            exception: BUSFAULT,
            cfsr: PRECISERR | BFARVALID,
            address: Some(addr),
            what: format!("data access at {addr:#010x}: {e}{hint}"),
        }
    }

    pub fn invalid_state(_pc: u32, target: u32) -> Fault {
        Fault {
            exception: USAGEFAULT,
            cfsr: INVSTATE,
            address: None,
            what: format!("branch to {target:#010x} without the Thumb bit (INVSTATE)"),
        }
    }

    pub fn undefined(_pc: u32, encoding: u32, len: u8) -> Fault {
        let enc = if len == 4 {
            format!("{:04x} {:04x}", encoding >> 16, encoding & 0xFFFF)
        } else {
            format!("{encoding:04x}")
        };
        Fault {
            exception: USAGEFAULT,
            cfsr: UNDEFINSTR,
            address: None,
            what: format!("undefined or unsupported instruction {enc} (UNDEFINSTR)"),
        }
    }

    pub fn no_coprocessor() -> Fault {
        Fault {
            exception: USAGEFAULT,
            cfsr: NOCP,
            address: None,
            what: "floating-point instruction with CP10/CP11 disabled in CPACR (NOCP)".into(),
        }
    }

    pub fn divide_by_zero(_pc: u32) -> Fault {
        Fault {
            exception: USAGEFAULT,
            cfsr: DIVBYZERO,
            address: None,
            what: "integer divide by zero with CCR.DIV_0_TRP set (DIVBYZERO)".into(),
        }
    }

    /// An access the MPU refused: DACCVIOL with MMFAR for data, IACCVIOL for a fetch.
    pub fn mpu_violation(addr: u32, access: Access, why: &str, region: String) -> Fault {
        let (cfsr, address, what) = match access {
            Access::Execute => (IACCVIOL, None, "instruction fetch"),
            Access::Read => (MM_DACCVIOL | MMARVALID, Some(addr), "data read"),
            Access::Write => (MM_DACCVIOL | MMARVALID, Some(addr), "data write"),
        };
        Fault {
            exception: MEMMANAGE,
            cfsr,
            address,
            what: format!("{what} at {addr:#010x}: {why} ({region})"),
        }
    }

    fn bad_exc_return(value: u32) -> Fault {
        Fault {
            exception: USAGEFAULT,
            cfsr: INVPC,
            address: None,
            what: format!("exception return with invalid EXC_RETURN {value:#010x} (INVPC)"),
        }
    }
}

/// What the user sees about a fault: where, in which function, and why.
#[derive(Clone, Debug, Serialize)]
pub struct FaultReport {
    pub exception: String,
    pub pc: u32,
    pub function: String,
    pub cause: String,
    pub cfsr: u32,
    pub hfsr: u32,
    pub address: Option<u32>,
}

impl fmt::Display for FaultReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at pc {:#010x} in {}: {} (CFSR {:#010x}, HFSR {:#010x})",
            self.exception, self.pc, self.function, self.cause, self.cfsr, self.hfsr
        )
    }
}

fn exception_name(n: usize) -> String {
    match n {
        NMI => "NMI".into(),
        HARDFAULT => "HardFault".into(),
        MEMMANAGE => "MemManage".into(),
        BUSFAULT => "BusFault".into(),
        USAGEFAULT => "UsageFault".into(),
        SVCALL => "SVCall".into(),
        PENDSV => "PendSV".into(),
        SYSTICK => "SysTick".into(),
        n => format!("IRQ{}", n.saturating_sub(16)),
    }
}

/// NVIC, SysTick and SCB state.
pub struct System {
    pending: Vec<bool>,
    active: Vec<bool>,
    enabled: Vec<bool>,
    priority: Vec<u8>,
    /// Active exceptions, most recent last (the execution priority is their minimum).
    active_stack: Vec<usize>,
    pub vtor: u32,
    prigroup: u32,
    pub ccr: u32,
    shcsr: u32,
    pub cfsr: u32,
    pub hfsr: u32,
    mmfar: u32,
    bfar: u32,
    scr: u32,
    pub cpacr: u32,
    pub fpccr: u32,
    pub fpcar: u32,
    fpdscr: u32,
    csselr: u32,
    /// The MPU's registers (enforced through [`super::mpu`]).
    pub mpu: Mpu,
    systick_csr: u32,
    systick_reload: u32,
    /// Cycle of the next SysTick wrap while it runs.
    systick_next: u64,
    pub dwt: Dwt,
    pub clock_hz: u64,
    /// The cycle at which a peripheral interrupt line or watchdog may next change.
    periph_next: u64,
    /// How many times each exception was entered (for reports: was a watchdog's taken?).
    taken: Vec<u32>,
}

const CCR_DIV_0_TRP: u32 = 1 << 4;
const CCR_DC: u32 = 1 << 16;
const CCR_IC: u32 = 1 << 17;
const FPCCR_LSPACT: u32 = 1;
const FPCCR_LSPEN: u32 = 1 << 30;
const FPCCR_ASPEN: u32 = 1 << 31;
pub const CONTROL_SPSEL: u32 = 2;
pub const CONTROL_FPCA: u32 = 4;

impl System {
    pub fn new(clock_hz: u64) -> System {
        System {
            pending: vec![false; EXCEPTIONS],
            active: vec![false; EXCEPTIONS],
            enabled: vec![false; EXCEPTIONS],
            priority: vec![0; EXCEPTIONS],
            active_stack: Vec::new(),
            vtor: 0,
            prigroup: 0,
            // STKALIGN, and the caches on as the i.MX RT SDK's SystemInit leaves them.
            ccr: 0x200 | CCR_DC | CCR_IC,
            shcsr: 0,
            cfsr: 0,
            hfsr: 0,
            mmfar: 0,
            bfar: 0,
            scr: 0,
            cpacr: 0,
            fpccr: FPCCR_ASPEN | FPCCR_LSPEN,
            fpcar: 0,
            fpdscr: 0,
            csselr: 0,
            mpu: Mpu::default(),
            systick_csr: 0,
            systick_reload: 0,
            systick_next: u64::MAX,
            dwt: Dwt::new(),
            clock_hz,
            periph_next: u64::MAX,
            taken: vec![0; EXCEPTIONS],
        }
    }

    /// Caches off, as out of reset: images booted through the ROM enable them themselves.
    pub(crate) fn caches_off(&mut self) {
        self.ccr &= !(CCR_IC | CCR_DC);
    }

    pub fn reset(&mut self, vtor: u32) {
        *self = System::new(self.clock_hz);
        self.vtor = vtor;
    }

    pub fn div0_trap(&self) -> bool {
        self.ccr & CCR_DIV_0_TRP != 0
    }

    fn systick_running(&self) -> bool {
        self.systick_csr & 1 != 0 && self.systick_reload != 0
    }

    /// Whether some enabled source could still raise an exception that preempts the core.
    pub fn can_interrupt(&self, m: &Machine) -> bool {
        let prio = m.execution_priority();
        let may_take = |n: usize| self.group(self.exception_priority(n)) < prio;
        let pending =
            (1..EXCEPTIONS).any(|n| self.pending[n] && (n < 16 || self.enabled[n]) && may_take(n));
        pending
            || (self.systick_running() && self.systick_csr & 2 != 0 && may_take(SYSTICK))
            || self.periph_next != u64::MAX
    }

    fn exception_priority(&self, n: usize) -> i32 {
        match n {
            1 => -3,
            NMI => -2,
            HARDFAULT => -1,
            n => i32::from(self.priority[n]),
        }
    }

    /// Group priority: the subpriority bits below PRIGROUP do not preempt.
    fn group(&self, p: i32) -> i32 {
        if p < 0 {
            p
        } else {
            p & !((2 << self.prigroup) - 1)
        }
    }
}

impl Machine {
    pub(crate) fn privileged(&self) -> bool {
        self.ipsr != 0 || self.control & 1 == 0
    }

    /// The current execution priority (256 when nothing boosts it).
    pub(crate) fn execution_priority(&self) -> i32 {
        let mut p = 256;
        for &n in &self.sys.active_stack {
            p = p.min(self.sys.group(self.sys.exception_priority(n)));
        }
        if self.basepri != 0 {
            p = p.min(self.sys.group(i32::from(self.basepri)));
        }
        if self.primask {
            p = p.min(0);
        }
        if self.faultmask {
            p = p.min(-1);
        }
        p
    }

    /// Timers and pending exceptions; recomputes `next_event`.
    pub(crate) fn events(&mut self) -> Result<(), SimError> {
        if self.cycles >= self.sys.dwt.next_sample {
            let pc = (!self.sleeping).then_some(self.last_pc);
            self.sys.dwt.sample_due(self.cycles, pc);
        }
        if self.sys.systick_running() {
            let period = u64::from(self.sys.systick_reload) + 1;
            while self.cycles >= self.sys.systick_next {
                self.sys.systick_csr |= 1 << 16;
                if self.sys.systick_csr & 2 != 0 {
                    self.sys.pending[SYSTICK] = true;
                }
                self.sys.systick_next += period;
            }
        }
        self.sys.periph_next = self.peripheral_events()?;
        let prio = self.execution_priority();
        let mut best: Option<(i32, usize)> = None;
        for n in 2..EXCEPTIONS {
            if self.sys.pending[n] && (n < 16 || self.sys.enabled[n]) {
                let p = self.sys.group(self.sys.exception_priority(n));
                if best.is_none_or(|(bp, _)| p < bp) {
                    best = Some((p, n));
                }
            }
        }
        if let Some((p, n)) = best {
            if p < prio {
                let ret = self.pc;
                self.exception_entry(n, ret)?;
            }
        }
        let timer = if self.sys.systick_running() {
            self.sys.systick_next
        } else {
            u64::MAX
        };
        self.next_event = timer
            .min(self.cycle_limit)
            .min(self.sys.dwt.next_sample)
            .min(self.sys.periph_next);
        Ok(())
    }

    /// Pends the interrupts whose peripheral lines are asserted (level-sensitive: again after
    /// the handler returns if it left the flag set) and stops the run when a watchdog expired;
    /// returns the cycle at which the peripherals next need a look.
    fn peripheral_events(&mut self) -> Result<u64, SimError> {
        let (now, hz) = (self.cycles, self.core_hz);
        let Some(soc) = self.soc.as_deref_mut() else {
            return Ok(u64::MAX);
        };
        let lines = soc.interrupts(now, hz);
        if let Some(e) = &lines.expired {
            let interrupt = match e.irq {
                Some(irq) => match self.sys.taken[16 + irq as usize] {
                    0 => format!("its interrupt (IRQ {irq}) was enabled but never taken (not enabled in the NVIC, or masked)"),
                    n => format!("its interrupt (IRQ {irq}) was taken {n} time(s)"),
                },
                None if e.has_irq => "its interrupt was not enabled".to_string(),
                None => "it has no interrupt line to this core".to_string(),
            };
            return Err(SimError::Watchdog {
                watchdog: e.watchdog.to_string(),
                timeout: e.timeout.clone(),
                cycle: e.at,
                after: e.period,
                interrupt,
                pc: self.pc,
                function: self.image.describe(self.pc),
            });
        }
        for &irq in &lines.asserted {
            let n = 16 + irq as usize;
            if n < EXCEPTIONS && !self.sys.active[n] {
                self.sys.pending[n] = true;
            }
        }
        Ok(lines.valid_until)
    }

    /// Advances time to the next timer event (WFI, or an idle `b .` loop), or to the end of
    /// this run's cycle budget if that comes first (a sleeping core sleeps on in the next run).
    pub(crate) fn skip_to_next_event(&mut self) {
        let systick = if self.sys.systick_running() {
            self.sys.systick_next
        } else {
            u64::MAX
        };
        let next = systick.min(self.sys.periph_next);
        if next != u64::MAX && next > self.cycles {
            self.cycles = next.min(self.cycle_limit);
        }
        self.next_event = 0;
    }

    /// One step of a sleeping core (after WFI): time passes until an interrupt wakes it.
    pub(crate) fn sleep_step(&mut self) -> Result<(), SimError> {
        if !self.sys.can_interrupt(self) {
            return Err(SimError::Stuck {
                pc: self.pc,
                function: self.describe(self.pc),
                why: "WFI with no enabled interrupt that could wake the core".into(),
            });
        }
        self.skip_to_next_event();
        Ok(())
    }

    pub(crate) fn pend(&mut self, n: usize) {
        self.sys.pending[n] = true;
        self.next_event = 0;
    }

    fn stack_write(&mut self, addr: u32, v: u32) -> Result<(), ()> {
        self.stack_store(addr, v)
    }

    fn stack_read(&mut self, addr: u32) -> Result<u32, ()> {
        self.stack_load(addr)
    }

    fn xpsr(&self) -> u32 {
        let it = u32::from(self.it);
        self.apsr() | self.ipsr | (1 << 24) | ((it & 3) << 25) | ((it >> 2) << 10)
    }

    fn lockup(&self, what: String) -> SimError {
        self.lockup_after(FaultReport {
            exception: "Lockup".into(),
            pc: self.pc,
            function: self.describe(self.pc),
            cause: what,
            cfsr: self.sys.cfsr,
            hfsr: self.sys.hfsr,
            address: None,
        })
    }

    /// A lockup, named after the first fault when an earlier one led to it: that fault (a
    /// peripheral write, a bad pointer) is what the user must fix, not the escalation.
    fn lockup_after(&self, report: FaultReport) -> SimError {
        match &self.first_fault {
            Some(first) => SimError::Lockup(FaultReport {
                cause: format!("{}; it began with the first fault: {first}", report.cause),
                address: first.address,
                ..report
            }),
            None => SimError::Lockup(report),
        }
    }

    /// Exception entry: stacks the context and jumps to the handler of exception `n`.
    pub(crate) fn exception_entry(
        &mut self,
        n: usize,
        return_address: u32,
    ) -> Result<(), SimError> {
        let fpca = self.control & CONTROL_FPCA != 0;
        let frame_size = if fpca { 0x68 } else { 0x20 };
        let thread = self.ipsr == 0;
        let on_psp = thread && self.control & CONTROL_SPSEL != 0;
        let sp = self.r[13];
        let unaligned = (sp.wrapping_sub(frame_size)) & 4 != 0;
        let frame = sp.wrapping_sub(frame_size) & !7;
        let xpsr = self.xpsr() | (u32::from(unaligned) << 9);
        let words = [
            self.r[0],
            self.r[1],
            self.r[2],
            self.r[3],
            self.r[12],
            self.r[14],
            return_address,
            xpsr,
        ];
        for (k, w) in words.iter().enumerate() {
            if self.stack_write(frame + 4 * k as u32, *w).is_err() {
                self.sys.cfsr |= STKERR;
                return Err(self.lockup(format!(
                    "stacking for {} at sp {frame:#010x} failed (STKERR): the stack pointer is outside writable memory",
                    exception_name(n)
                )));
            }
        }
        if fpca {
            if self.sys.fpccr & FPCCR_LSPEN != 0 {
                self.sys.fpccr |= FPCCR_LSPACT;
                self.sys.fpcar = frame + 0x20;
            } else {
                self.save_fp_context(frame + 0x20)?;
            }
        }
        if on_psp {
            self.r[13] = self.other_sp;
            self.other_sp = frame;
            if let Some(obs) = self.observer.as_mut() {
                obs.thread_context(true, frame);
            }
        } else {
            self.r[13] = frame;
        }
        self.r[14] = 0xFFFF_FFE1
            | (u32::from(!fpca) << 4)
            | (u32::from(thread) << 3)
            | (u32::from(on_psp) << 2);
        self.ipsr = n as u32;
        self.control &= !(CONTROL_SPSEL | CONTROL_FPCA);
        self.it = 0;
        self.exclusive = None;
        self.sys.pending[n] = false;
        self.sys.active[n] = true;
        self.sys.active_stack.push(n);
        self.sys.taken[n] = self.sys.taken[n].saturating_add(1);
        let mut v = [0u8; 4];
        let vector_addr = self.sys.vtor.wrapping_add(4 * n as u32);
        self.mem.peek(vector_addr, &mut v).map_err(|e| {
            self.lockup(format!(
                "vector {n} at {vector_addr:#010x} is unreadable ({e})"
            ))
        })?;
        let handler = u32::from_le_bytes(v);
        if handler & 1 == 0 {
            return Err(self.lockup(format!(
                "the vector for {} ({handler:#010x} at {vector_addr:#010x}) lacks the Thumb bit; is the handler missing from the vector table?",
                exception_name(n)
            )));
        }
        self.pc = handler & !1;
        self.sleeping = false;
        self.sys.dwt.exception(self.cycles, n as u32, 1);
        self.cycles += ENTRY_CYCLES;
        self.next_event = 0;
        Ok(())
    }

    fn save_fp_context(&mut self, addr: u32) -> Result<(), SimError> {
        for k in 0..16 {
            let v = self.s[k];
            if self.stack_write(addr + 4 * k as u32, v).is_err() {
                return Err(self.lockup(format!("FP state stacking at {addr:#010x} failed")));
            }
        }
        let fpscr = self.fpscr;
        if self.stack_write(addr + 0x40, fpscr).is_err() {
            return Err(self.lockup(format!("FP state stacking at {addr:#010x} failed")));
        }
        Ok(())
    }

    /// Lazy FP state preservation: the first FP instruction in a handler saves the interrupted
    /// context's S0-S15 and FPSCR into the space reserved at entry.
    pub(crate) fn preserve_fp_state(&mut self) -> Result<(), Trap> {
        if self.sys.fpccr & FPCCR_LSPACT != 0 {
            self.sys.fpccr &= !FPCCR_LSPACT;
            let addr = self.sys.fpcar;
            self.save_fp_context(addr).map_err(Trap::stop)?;
        }
        if self.sys.fpccr & FPCCR_ASPEN != 0 {
            self.control |= CONTROL_FPCA;
        }
        Ok(())
    }

    /// Whether CPACR grants access to CP10/CP11.
    pub(crate) fn fp_enabled(&self) -> bool {
        let cp10 = (self.sys.cpacr >> 20) & 3;
        cp10 == 1 && self.privileged() || cp10 == 3
    }

    /// Exception return through EXC_RETURN `value` (BX, POP, LDM or LDR into PC).
    pub(crate) fn exception_return(&mut self, value: u32) -> Result<(), Trap> {
        let kind = value & 0xF;
        if !matches!(kind, 0x1 | 0x9 | 0xD) || value & 0x0FFF_FFE0 != 0x0FFF_FFE0 {
            return Err(Trap::Fault(Fault::bad_exc_return(value)));
        }
        let n = self.ipsr as usize;
        self.sys.active[n] = false;
        if let Some(pos) = self.sys.active_stack.iter().rposition(|&a| a == n) {
            self.sys.active_stack.remove(pos);
        }
        let to_thread = value & 8 != 0;
        let psp = value & 4 != 0;
        let basic = value & 0x10 != 0;
        let frame = if psp { self.other_sp } else { self.r[13] };
        if psp && to_thread {
            if let Some(obs) = self.observer.as_mut() {
                obs.thread_context(false, frame);
            }
        }
        let mut w = [0u32; 8];
        for (k, slot) in w.iter_mut().enumerate() {
            *slot = self.stack_read(frame + 4 * k as u32).map_err(|_| {
                Trap::stop(self.lockup(format!("unstacking from {frame:#010x} failed (UNSTKERR)")))
            })?;
        }
        if !basic {
            if self.sys.fpccr & FPCCR_LSPACT != 0 {
                self.sys.fpccr &= !FPCCR_LSPACT;
            } else {
                for k in 0..16 {
                    self.s[k] = self.stack_read(frame + 0x20 + 4 * k as u32).map_err(|_| {
                        Trap::stop(self.lockup(format!("FP unstacking from {frame:#010x} failed")))
                    })?;
                }
                self.fpscr = self.stack_read(frame + 0x60).map_err(|_| {
                    Trap::stop(self.lockup(format!("FP unstacking from {frame:#010x} failed")))
                })?;
            }
        }
        let xpsr = w[7];
        let size = if basic { 0x20 } else { 0x68 } + if xpsr & (1 << 9) != 0 { 4 } else { 0 };
        let new_sp = frame.wrapping_add(size);
        if psp {
            // Back to thread mode on the process stack: MSP becomes the banked one.
            self.other_sp = self.r[13];
            self.r[13] = new_sp;
        } else {
            self.r[13] = new_sp;
        }
        [
            self.r[0], self.r[1], self.r[2], self.r[3], self.r[12], self.r[14],
        ] = [w[0], w[1], w[2], w[3], w[4], w[5]];
        self.set_apsr(xpsr);
        self.it = (((xpsr >> 25) & 3) | (((xpsr >> 10) & 0x3F) << 2)) as u8;
        self.ipsr = if to_thread { 0 } else { xpsr & 0x1FF };
        self.sys.dwt.exception(self.cycles, n as u32, 2);
        self.sys.dwt.exception(self.cycles, self.ipsr, 3);
        self.control = (self.control & !(CONTROL_SPSEL | CONTROL_FPCA))
            | if psp && to_thread { CONTROL_SPSEL } else { 0 }
            | if basic { 0 } else { CONTROL_FPCA };
        self.exclusive = None;
        self.next_pc = w[6] & !1;
        // Handler mode is privileged: back in Thread mode, nPRIV decides again.
        self.privilege_changed(true);
        self.cycles += RETURN_CYCLES;
        self.next_event = 0;
        Ok(())
    }

    /// Takes a synchronous fault: records it, escalates to HardFault if it cannot be taken,
    /// locks up if HardFault itself cannot be.
    pub(crate) fn take_fault(&mut self, f: super::system::Fault, pc: u32) -> Result<(), SimError> {
        self.sys.cfsr |= f.cfsr;
        match (f.address, f.exception) {
            (Some(a), MEMMANAGE) => self.sys.mmfar = a,
            (Some(a), _) => self.sys.bfar = a,
            (None, _) => {}
        }
        let enable_bit = match f.exception {
            MEMMANAGE => 1 << 16,
            BUSFAULT => 1 << 17,
            _ => 1 << 18,
        };
        let prio = self.execution_priority();
        let mut target = f.exception;
        if self.sys.shcsr & enable_bit == 0
            || self.sys.group(self.sys.exception_priority(target)) >= prio
        {
            target = HARDFAULT;
            self.sys.hfsr |= 1 << 30;
        }
        let report = FaultReport {
            exception: exception_name(target),
            pc,
            function: self.describe(pc),
            cause: f.what.clone(),
            cfsr: self.sys.cfsr,
            hfsr: self.sys.hfsr,
            address: f.address,
        };
        if target == HARDFAULT && prio <= -1 {
            return Err(self.lockup_after(report));
        }
        if self.first_fault.is_none() {
            self.first_fault = Some(report);
        }
        self.exception_entry(target, pc)
    }

    // ---- special registers (MRS/MSR) --------------------------------------------------------

    pub(crate) fn read_special(&self, sysm: u32) -> u32 {
        match sysm {
            0..=7 => {
                let mut v = 0;
                if sysm & 4 == 0 {
                    v |= self.apsr();
                }
                if sysm & 1 != 0 {
                    v |= self.ipsr;
                }
                v
            }
            8 => self.msp(),
            9 => self.psp(),
            16 => u32::from(self.primask),
            17 | 18 => u32::from(self.basepri),
            19 => u32::from(self.faultmask),
            20 => self.control,
            _ => 0,
        }
    }

    fn msp(&self) -> u32 {
        if self.sp_is_psp() {
            self.other_sp
        } else {
            self.r[13]
        }
    }

    fn psp(&self) -> u32 {
        if self.sp_is_psp() {
            self.r[13]
        } else {
            self.other_sp
        }
    }

    fn sp_is_psp(&self) -> bool {
        self.ipsr == 0 && self.control & CONTROL_SPSEL != 0
    }

    pub(crate) fn write_special(&mut self, sysm: u32, mask: u32, v: u32) {
        if sysm < 4 {
            let mut apsr = self.apsr();
            if mask & 2 != 0 {
                apsr = (apsr & 0x07FF_FFFF) | (v & 0xF800_0000);
            }
            if mask & 1 != 0 {
                apsr = (apsr & !0x000F_0000) | (v & 0x000F_0000);
            }
            self.set_apsr(apsr);
            return;
        }
        if !self.privileged() {
            return;
        }
        match sysm {
            8 => {
                if self.sp_is_psp() {
                    self.other_sp = v & !3;
                } else {
                    self.r[13] = v & !3;
                }
            }
            9 => {
                if self.sp_is_psp() {
                    self.r[13] = v & !3;
                } else {
                    self.other_sp = v & !3;
                }
            }
            16 => self.primask = v & 1 != 0,
            17 => self.basepri = (v as u8) & PRIO_MASK,
            18 => {
                let b = (v as u8) & PRIO_MASK;
                if b != 0 && (self.basepri == 0 || b < self.basepri) {
                    self.basepri = b;
                }
            }
            19 if self.execution_priority() > -1 => self.faultmask = v & 1 != 0,
            20 => {
                let was_privileged = self.privileged();
                let was_psp = self.sp_is_psp();
                // SPSEL cannot be changed in handler mode.
                let writable = if self.ipsr == 0 { 7 } else { 5 };
                self.control = (self.control & !writable) | (v & writable);
                if was_psp != self.sp_is_psp() {
                    std::mem::swap(&mut self.r[13], &mut self.other_sp);
                }
                self.privilege_changed(was_privileged);
            }
            _ => {}
        }
        self.next_event = 0;
    }

    // ---- System Control Space ---------------------------------------------------------------

    /// A word read of the private peripheral bus.
    pub(crate) fn system_read(&mut self, addr: u32) -> u32 {
        let s = &mut self.sys;
        match addr {
            // ITM stimulus port: FIFOREADY unless the trace port is backed up.
            0xE000_0000..=0xE000_007C => u32::from(s.dwt.stimulus_ready(self.cycles)),
            0xE000_0E00 => s.dwt.itm_ter,
            0xE000_0E80 => s.dwt.itm_tcr,
            0xE000_1000 => s.dwt.ctrl,
            0xE000_1004 => s.dwt.cyccnt(self.cycles),
            0xE000_101C if self.sleeping => 0xFFFF_FFFF,
            0xE000_101C => self.last_pc,
            0xE000_E004 => 4, // ICTR: 160 interrupt lines.
            0xE000_E010 => {
                let v = s.systick_csr;
                s.systick_csr &= !(1 << 16);
                v
            }
            0xE000_E014 => s.systick_reload,
            0xE000_E018 if s.systick_running() && s.systick_next > self.cycles => {
                ((s.systick_next - self.cycles - 1) as u32) & 0x00FF_FFFF
            }
            0xE000_E01C => 0x4000_0000 | ((s.clock_hz / 100) as u32 & 0x00FF_FFFF),
            0xE000_E100..=0xE000_E13C => bits32(&s.enabled, addr - 0xE000_E100),
            0xE000_E180..=0xE000_E1BC => bits32(&s.enabled, addr - 0xE000_E180),
            0xE000_E200..=0xE000_E23C => bits32(&s.pending, addr - 0xE000_E200),
            0xE000_E280..=0xE000_E2BC => bits32(&s.pending, addr - 0xE000_E280),
            0xE000_E300..=0xE000_E33C => bits32(&s.active, addr - 0xE000_E300),
            0xE000_E400..=0xE000_E5EC => {
                let first = 16 + (addr - 0xE000_E400) as usize;
                bytes32(&s.priority, first)
            }
            0xE000_ED00 => 0x411F_C272,
            0xE000_ED04 => {
                let pending = (2..EXCEPTIONS)
                    .find(|&n| s.pending[n] && (n < 16 || s.enabled[n]))
                    .unwrap_or(0);
                self.ipsr
                    | ((pending as u32) << 12)
                    | (u32::from((16..EXCEPTIONS).any(|n| s.pending[n])) << 22)
                    | (u32::from(s.pending[SYSTICK]) << 26)
                    | (u32::from(s.pending[PENDSV]) << 28)
                    | (u32::from(s.active_stack.len() <= 1) << 11)
            }
            0xE000_ED08 => s.vtor,
            0xE000_ED0C => 0xFA05_0000 | (s.prigroup << 8),
            0xE000_ED10 => s.scr,
            0xE000_ED14 => s.ccr,
            0xE000_ED18..=0xE000_ED20 => bytes32(&s.priority, (addr - 0xE000_ED14) as usize),
            0xE000_ED24 => {
                let mut v = s.shcsr & 0x0007_0000;
                for (bit, n) in [
                    (0, MEMMANAGE),
                    (1, BUSFAULT),
                    (3, USAGEFAULT),
                    (7, SVCALL),
                    (10, PENDSV),
                    (11, SYSTICK),
                ] {
                    if s.active[n] {
                        v |= 1 << bit;
                    }
                }
                v | (u32::from(s.pending[SVCALL]) << 15)
            }
            0xE000_ED28 => s.cfsr,
            0xE000_ED2C => s.hfsr,
            0xE000_ED34 => s.mmfar,
            0xE000_ED38 => s.bfar,
            0xE000_ED78 => 0x0900_0003, // CLIDR: L1 I and D caches.
            0xE000_ED7C => 0x8303_C003, // CTR: 32-byte lines.
            0xE000_ED80 => {
                // CCSIDR for the selected cache: 32 KB, 32-byte lines, D 4-way / I 2-way.
                if s.csselr & 1 != 0 {
                    0xF01F_E009
                } else {
                    0xF00F_E019
                }
            }
            0xE000_ED84 => s.csselr,
            0xE000_ED88 => s.cpacr,
            0xE000_ED90 => (MPU_REGIONS as u32) << 8,
            0xE000_ED94 => s.mpu.ctrl,
            0xE000_ED98 => s.mpu.rnr,
            // RBAR and its aliases A1..A3 read the selected region, with REGION in bits 3:0.
            0xE000_ED9C | 0xE000_EDA4 | 0xE000_EDAC | 0xE000_EDB4 => {
                s.mpu.rbar[s.mpu.rnr as usize % MPU_REGIONS] | (s.mpu.rnr & 0xF)
            }
            0xE000_EDA0 | 0xE000_EDA8 | 0xE000_EDB0 | 0xE000_EDB8 => {
                s.mpu.rasr[s.mpu.rnr as usize % MPU_REGIONS]
            }
            0xE000_EDFC => s.dwt.demcr,
            0xE000_EF34 => s.fpccr,
            0xE000_EF38 => s.fpcar,
            0xE000_EF3C => s.fpdscr,
            _ => 0,
        }
    }

    /// A store of `size` bytes to the private peripheral bus.
    pub(crate) fn system_store(&mut self, addr: u32, value: u32, size: u32) {
        if addr < 0xE000_0080 {
            self.sys.dwt.stimulus(self.cycles, addr / 4, value, size);
            return;
        }
        if size == 4 {
            self.system_write(addr, value);
            return;
        }
        // Byte-addressed registers (NVIC_IPR, SHPR): read-modify-write of the word.
        let shift = (addr & 3) * 8;
        let mask = (if size == 2 { 0xFFFF } else { 0xFF }) << shift;
        let old = self.system_read(addr & !3);
        self.system_write(addr & !3, (old & !mask) | ((value << shift) & mask));
    }

    /// A word write to the private peripheral bus.
    pub(crate) fn system_write(&mut self, addr: u32, v: u32) {
        let now = self.cycles;
        let mut mpu_changed = false;
        let s = &mut self.sys;
        match addr {
            0xE000_0000..=0xE000_007C => s.dwt.stimulus(now, addr / 4, v, 4),
            0xE000_0E00 => s.dwt.itm_ter = v,
            0xE000_0E80 => s.dwt.set_itm_tcr(now, v),
            0xE000_1000 => s.dwt.set_ctrl(now, v),
            0xE000_1004 => s.dwt.set_cyccnt(now, v),
            0xE000_E010 => {
                let was = s.systick_running();
                s.systick_csr = (s.systick_csr & (1 << 16)) | (v & 7);
                if s.systick_running() && !was {
                    s.systick_next = now + u64::from(s.systick_reload) + 1;
                }
            }
            0xE000_E014 => s.systick_reload = v & 0x00FF_FFFF,
            0xE000_E018 => {
                s.systick_csr &= !(1 << 16);
                s.systick_next = now + u64::from(s.systick_reload) + 1;
            }
            0xE000_E100..=0xE000_E13C => set_bits(&mut s.enabled, addr - 0xE000_E100, v, true),
            0xE000_E180..=0xE000_E1BC => set_bits(&mut s.enabled, addr - 0xE000_E180, v, false),
            0xE000_E200..=0xE000_E23C => set_bits(&mut s.pending, addr - 0xE000_E200, v, true),
            0xE000_E280..=0xE000_E2BC => set_bits(&mut s.pending, addr - 0xE000_E280, v, false),
            0xE000_E400..=0xE000_E5EC => {
                let first = 16 + (addr - 0xE000_E400) as usize;
                for k in 0..4 {
                    if let Some(p) = s.priority.get_mut(first + k) {
                        *p = (v >> (8 * k)) as u8 & PRIO_MASK;
                    }
                }
            }
            0xE000_ED04 => {
                if v & (1 << 31) != 0 {
                    s.pending[NMI] = true;
                }
                if v & (1 << 28) != 0 {
                    s.pending[PENDSV] = true;
                }
                if v & (1 << 27) != 0 {
                    s.pending[PENDSV] = false;
                }
                if v & (1 << 26) != 0 {
                    s.pending[SYSTICK] = true;
                }
                if v & (1 << 25) != 0 {
                    s.pending[SYSTICK] = false;
                }
            }
            0xE000_ED08 => s.vtor = v & 0xFFFF_FF80,
            0xE000_ED0C if v >> 16 == 0x05FA => s.prigroup = (v >> 8) & 7,
            0xE000_ED10 => s.scr = v & 0x16,
            0xE000_ED14 => {
                s.ccr = (v & 0x0003_031B) | 0x200;
                self.timing.icache_on = s.ccr & CCR_IC != 0;
                self.timing.dcache_on = s.ccr & CCR_DC != 0;
            }
            0xE000_ED18..=0xE000_ED20 => {
                let first = (addr - 0xE000_ED14) as usize;
                for k in 0..4 {
                    s.priority[first + k] = (v >> (8 * k)) as u8 & PRIO_MASK;
                }
            }
            0xE000_ED24 => s.shcsr = (s.shcsr & !0x0007_0000) | (v & 0x0007_0000),
            0xE000_ED28 => s.cfsr &= !v,
            0xE000_ED2C => s.hfsr &= !v,
            0xE000_ED34 => s.mmfar = v,
            0xE000_ED38 => s.bfar = v,
            0xE000_ED84 => s.csselr = v & 0xF,
            0xE000_ED88 => s.cpacr = v & 0x00F0_0000,
            0xE000_ED94 => {
                mpu_changed = (s.mpu.ctrl | v) & 1 != 0 && s.mpu.ctrl != v & 7;
                s.mpu.ctrl = v & 7;
            }
            0xE000_ED98 => s.mpu.rnr = v & 0xFF,
            0xE000_ED9C | 0xE000_EDA4 | 0xE000_EDAC | 0xE000_EDB4 => {
                // VALID (bit 4) selects the region named in bits 3:0.
                if v & 0x10 != 0 {
                    s.mpu.rnr = v & 0xF;
                }
                s.mpu.rbar[s.mpu.rnr as usize % MPU_REGIONS] = v & !0x1F;
                mpu_changed = s.mpu.enabled();
            }
            0xE000_EDA0 | 0xE000_EDA8 | 0xE000_EDB0 | 0xE000_EDB8 => {
                s.mpu.rasr[s.mpu.rnr as usize % MPU_REGIONS] = v & 0x173F_FF3F;
                mpu_changed = s.mpu.enabled();
            }
            0xE000_EDFC => s.dwt.set_demcr(now, v),
            0xE000_EF00 => {
                let n = 16 + (v & 0x1FF) as usize;
                if n < EXCEPTIONS {
                    s.pending[n] = true;
                }
            }
            0xE000_EF34 => s.fpccr = (s.fpccr & 1) | (v & 0xC000_0000) | (v & 1),
            0xE000_EF38 => s.fpcar = v & !7,
            0xE000_EF3C => s.fpdscr = v & 0x07C0_0000,
            0xE000_EF50 => self.timing.icache.invalidate(),
            _ => {}
        }
        if mpu_changed {
            self.mpu_reconfigured();
        }
        self.next_event = 0;
    }
}

fn bits32(flags: &[bool], offset: u32) -> u32 {
    let first = 16 + (offset as usize) * 8;
    (0..32).fold(0, |acc, k| {
        acc | (u32::from(flags.get(first + k).copied().unwrap_or(false)) << k)
    })
}

fn set_bits(flags: &mut [bool], offset: u32, v: u32, value: bool) {
    let first = 16 + (offset as usize) * 8;
    for k in 0..32 {
        if v & (1 << k) != 0 {
            if let Some(f) = flags.get_mut(first + k) {
                *f = value;
            }
        }
    }
}

fn bytes32(bytes: &[u8], first: usize) -> u32 {
    (0..4).fold(0, |acc, k| {
        acc | (u32::from(bytes.get(first + k).copied().unwrap_or(0)) << (8 * k))
    })
}
