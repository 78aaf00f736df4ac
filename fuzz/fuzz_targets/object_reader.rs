//! Objects and archives: reading them (and their .ARM.attributes) must not panic on any input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hotlink::link::fuzz::object_input(data));
