//! Fuzz target: see `netstack_tests::fuzz::calls`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    netstack_tests::fuzz::calls::run(data);
});
