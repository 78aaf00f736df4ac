//! Rust firmware fixture on imxrt-rt: boots from FlexSPI NOR through the ROM (our own FlexSPI
//! configuration block below, imxrt-rt's IVT and boot data), lets imxrt-rt's `__pre_init` set the
//! FlexRAM banks and copy code and data into the TCMs, then runs a small deterministic workload,
//! prints its result over LPUART1 and ends with semihosting `SYS_EXIT_EXTENDED` (status 0 when
//! every check passed). Written for hotlink's tests; no vendor code.
#![no_std]
#![no_main]

use core::fmt::Write;

use imxrt_rt::entry;

/// FlexSPI NOR configuration block read by the boot ROM at the start of flash (i.MX RT1060
/// reference manual, "FlexSPI NOR Configuration Block"): a quad-SPI NOR with the standard 0xEB
/// fast-read sequence in LUT entry 0, 256-byte pages and 4 KiB sectors.
#[no_mangle]
#[link_section = ".fcb"]
pub static FLEXSPI_CONFIGURATION_BLOCK: [u8; 512] = fcb();

const fn put32(block: &mut [u8; 512], offset: usize, value: u32) {
    let bytes = value.to_le_bytes();
    let mut i = 0;
    while i < 4 {
        block[offset + i] = bytes[i];
        i += 1;
    }
}

const fn fcb() -> [u8; 512] {
    let mut b = [0u8; 512];
    put32(&mut b, 0x000, 0x4246_4346); // tag "FCFB"
    put32(&mut b, 0x004, 0x5601_0400); // version 1.4.0
    b[0x00C] = 1; // read sample clock: loopback from the DQS pad
    b[0x00D] = 3; // CS hold time
    b[0x00E] = 3; // CS setup time
    b[0x044] = 4; // serial flash pad type: quad
    b[0x045] = 6; // serial clock: 100 MHz
    put32(&mut b, 0x050, 2 * 1024 * 1024); // flash A1 size
    // LUT[0]: CMD_SDR(1 pad, 0xEB), RADDR_SDR(4 pads, 24 bits), DUMMY_SDR(4 pads, 6), READ_SDR(4 pads).
    put32(&mut b, 0x080, 0x0A18_04EB);
    put32(&mut b, 0x084, 0x2604_3206);
    put32(&mut b, 0x1C0, 256); // page size
    put32(&mut b, 0x1C4, 4096); // sector size
    b[0x1C8] = 1; // ipcmdSerialClkFreq: 30 MHz
    put32(&mut b, 0x1D0, 64 * 1024); // block size
    b
}

/// LPUART1 and its clock gate (i.MX RT1060 memory map: LPUART1 at 0x4018_4000, CCM_CCGR5 CG12).
mod uart {
    const LPUART1: usize = 0x4018_4000;
    const BAUD: usize = LPUART1 + 0x10;
    const STAT: usize = LPUART1 + 0x14;
    const CTRL: usize = LPUART1 + 0x18;
    const DATA: usize = LPUART1 + 0x1C;
    const STAT_TDRE: u32 = 1 << 23;
    const CTRL_TE: u32 = 1 << 19;
    const CCM_CCGR5: usize = 0x400F_C07C;

    fn read(addr: usize) -> u32 {
        // SAFETY: a device register of the i.MX RT1062.
        unsafe { core::ptr::read_volatile(addr as *const u32) }
    }
    fn write(addr: usize, value: u32) {
        // SAFETY: a device register of the i.MX RT1062.
        unsafe { core::ptr::write_volatile(addr as *mut u32, value) }
    }

    pub struct Uart;

    impl Uart {
        /// Gates the clock on and enables the transmitter at 115200 baud from the 80 MHz UART root.
        pub fn open() -> Uart {
            write(CCM_CCGR5, read(CCM_CCGR5) | (3 << 24));
            write(CTRL, 0);
            // OSR = 16 (field holds OSR-1), SBR = 80 MHz / (16 * 115200) = 43.
            write(BAUD, (15 << 24) | 43);
            write(CTRL, CTRL_TE);
            Uart
        }

        fn put(&mut self, byte: u8) {
            while read(STAT) & STAT_TDRE == 0 {}
            write(DATA, byte as u32);
        }
    }

    impl core::fmt::Write for Uart {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            for b in s.bytes() {
                if b == b'\n' {
                    self.put(b'\r');
                }
                self.put(b);
            }
            Ok(())
        }
    }
}

/// Semihosting `SYS_EXIT_EXTENDED` with `ADP_Stopped_ApplicationExit`.
fn exit(status: u32) -> ! {
    let block = [0x2_0026u32, status];
    loop {
        // SAFETY: the semihosting call reads the two-word block r1 points at.
        unsafe {
            core::arch::asm!("bkpt 0xab", in("r0") 0x20u32, in("r1") block.as_ptr(), options(nostack));
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(2)
}

/// CRC-32 (IEEE 802.3, reflected) with a 256-entry table.
struct Crc32 {
    table: [u32; 256],
}

impl Crc32 {
    #[inline(never)]
    fn new() -> Crc32 {
        let mut table = [0u32; 256];
        for (i, slot) in table.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
            *slot = c;
        }
        Crc32 { table }
    }

    #[inline(never)]
    fn checksum(&self, data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c = self.table[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
        }
        !c
    }
}

/// A 32-bit linear congruential generator (Numerical Recipes constants): deterministic input.
struct Lcg(u32);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        self.0
    }
}

#[inline(never)]
fn heap_sort(v: &mut [u32]) {
    fn sift_down(v: &mut [u32], mut root: usize, end: usize) {
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                return;
            }
            if child + 1 < end && v[child] < v[child + 1] {
                child += 1;
            }
            if v[root] >= v[child] {
                return;
            }
            v.swap(root, child);
            root = child;
        }
    }
    for start in (0..v.len() / 2).rev() {
        sift_down(v, start, v.len());
    }
    for end in (1..v.len()).rev() {
        v.swap(0, end);
        sift_down(v, 0, end);
    }
}

const N: usize = 12;

/// Q16 matrix product; the check compares the sum of all entries with the product of the
/// column sums of `a` and the row sums of `b` (both exact in wrapping arithmetic).
#[inline(never)]
fn mat_mul(a: &[[i32; N]; N], b: &[[i32; N]; N], out: &mut [[i32; N]; N]) {
    for i in 0..N {
        for j in 0..N {
            let mut acc = 0i32;
            for k in 0..N {
                acc = acc.wrapping_add(a[i][k].wrapping_mul(b[k][j]));
            }
            out[i][j] = acc;
        }
    }
}

#[inline(never)]
fn mat_check(a: &[[i32; N]; N], b: &[[i32; N]; N], out: &[[i32; N]; N]) -> bool {
    let total = out.iter().flatten().fold(0i32, |s, &x| s.wrapping_add(x));
    let mut expect = 0i32;
    for k in 0..N {
        let col_a = (0..N).fold(0i32, |s, i| s.wrapping_add(a[i][k]));
        let row_b = (0..N).fold(0i32, |s, j| s.wrapping_add(b[k][j]));
        expect = expect.wrapping_add(col_a.wrapping_mul(row_b));
    }
    total == expect
}

static mut BUFFER: [u8; 8192] = [0; 8192];

#[entry]
fn main() -> ! {
    let mut uart = uart::Uart::open();
    let mut failures = 0u32;

    let crc = Crc32::new();
    if crc.checksum(b"123456789") != 0xCBF4_3926 {
        failures += 1;
    }

    let mut rng = Lcg(1);
    // SAFETY: the only reference to BUFFER; no interrupts use it.
    let buffer = unsafe { &mut *core::ptr::addr_of_mut!(BUFFER) };
    for b in buffer.iter_mut() {
        *b = (rng.next() >> 24) as u8;
    }
    let mut digest = 0u32;
    for round in 0..8u32 {
        buffer[round as usize] ^= round as u8;
        digest ^= crc.checksum(buffer).rotate_left(round);
    }

    let mut values = [0u32; 512];
    for v in values.iter_mut() {
        *v = rng.next();
    }
    let before = values.iter().fold(0u32, |s, &x| s.wrapping_add(x));
    heap_sort(&mut values);
    let after = values.iter().fold(0u32, |s, &x| s.wrapping_add(x));
    if before != after || values.windows(2).any(|w| w[0] > w[1]) {
        failures += 1;
    }

    let mut a = [[0i32; N]; N];
    let mut b = [[0i32; N]; N];
    for row in a.iter_mut().chain(b.iter_mut()) {
        for x in row.iter_mut() {
            *x = (rng.next() >> 16) as i32 - 32768;
        }
    }
    let mut out = [[0i32; N]; N];
    mat_mul(&a, &b, &mut out);
    if !mat_check(&a, &b, &out) {
        failures += 1;
    }

    let _ = writeln!(
        uart,
        "rust-imxrt: digest={digest:08x} median={:08x} failures={failures}",
        values[values.len() / 2]
    );
    exit(if failures == 0 { 0 } else { 1 })
}
