//! Fuzz target: see `netstack_tests::fuzz::frames`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    netstack_tests::fuzz::frames::run(data);
});
