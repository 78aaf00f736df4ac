//! Rust firmware fixture on teensy4-bsp: the BSP's board bring-up (`board::t40`: DCDC, clocks,
//! PLLs), its LPUART2 driver on pins 14/15, a small deterministic workload (Fibonacci mod 2^32
//! two ways, a bubble sort with a checksum), the result printed over LPUART2, then semihosting
//! `SYS_EXIT_EXTENDED` (0 when every check passed). Written for hotlink's tests.
#![no_std]
#![no_main]

use embedded_hal::serial::Write;
use teensy4_bsp as bsp;

use bsp::board;

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

#[inline(never)]
fn fib_iter(n: u32) -> u32 {
    let (mut a, mut b) = (0u32, 1u32);
    for _ in 0..n {
        let next = a.wrapping_add(b);
        a = b;
        b = next;
    }
    a
}

/// F(2k) = F(k) * (2 F(k+1) - F(k)), F(2k+1) = F(k)^2 + F(k+1)^2, all mod 2^32.
#[inline(never)]
fn fib_doubling(n: u32) -> u32 {
    let mut a = 0u32;
    let mut b = 1u32;
    for bit in (0..32).rev() {
        let c = a.wrapping_mul(b.wrapping_mul(2).wrapping_sub(a));
        let d = a.wrapping_mul(a).wrapping_add(b.wrapping_mul(b));
        if (n >> bit) & 1 == 0 {
            a = c;
            b = d;
        } else {
            a = d;
            b = c.wrapping_add(d);
        }
    }
    a
}

#[inline(never)]
fn bubble_sort(v: &mut [u16]) {
    for end in (1..v.len()).rev() {
        for i in 0..end {
            if v[i] > v[i + 1] {
                v.swap(i, i + 1);
            }
        }
    }
}

fn write_all(uart: &mut board::Lpuart, text: &[u8]) {
    for &b in text {
        nb::block!(uart.write(b)).ok();
    }
    nb::block!(uart.flush()).ok();
}

fn hex(value: u32, out: &mut [u8; 8]) {
    for (i, slot) in out.iter_mut().enumerate() {
        let nibble = (value >> (28 - 4 * i)) & 0xF;
        *slot = b"0123456789abcdef"[nibble as usize];
    }
}

#[bsp::rt::entry]
fn main() -> ! {
    let board::Resources { pins, lpuart2, .. } = board::t40(board::instances());
    let mut uart: board::Lpuart = board::lpuart(lpuart2, pins.p14, pins.p15, 115_200);

    let mut failures = 0u32;
    let mut digest = 0u32;
    for n in [10u32, 47, 1000, 4321] {
        let f = fib_iter(n);
        if f != fib_doubling(n) {
            failures += 1;
        }
        digest = digest.rotate_left(5) ^ f;
    }
    if fib_iter(47) != 2_971_215_073 {
        failures += 1;
    }

    let mut values = [0u16; 200];
    let mut x = 12345u32;
    for v in values.iter_mut() {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *v = (x >> 16) as u16;
    }
    let before: u32 = values.iter().map(|&v| v as u32).sum();
    bubble_sort(&mut values);
    let after: u32 = values.iter().map(|&v| v as u32).sum();
    if before != after || values.windows(2).any(|w| w[0] > w[1]) {
        failures += 1;
    }

    let mut line = *b"rust-teensy4: digest=00000000 failures=0\r\n";
    let mut text = [0u8; 8];
    hex(digest, &mut text);
    line[21..29].copy_from_slice(&text);
    line[39] = b'0' + failures.min(9) as u8;
    write_all(&mut uart, &line);
    exit(if failures == 0 { 0 } else { 1 })
}
