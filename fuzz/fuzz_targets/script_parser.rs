//! Linker scripts: parsing and MEMORY evaluation must not panic on any input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hotlink::link::fuzz::script_input(data));
