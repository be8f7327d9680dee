//! The rule-file and config loaders on arbitrary text (seeded with the
//! gitleaks config and the documented examples): an error with a line, or
//! rules that compile into the text detector and run their own examples,
//! never a panic.
#![no_main]

use std::path::Path;

use dumpscrub::config::Config;
use dumpscrub::detect::text::TextDetector;
use dumpscrub::rules::{file, set};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.toml");
    if let Ok(loaded) = file::load_text(path, text) {
        if let Ok(det) = TextDetector::new(&loaded.rules) {
            let _ = set::check_examples(&det, &loaded.rules, |_| true);
        }
    }
    if let Ok(config) = Config::parse(path, text) {
        if let Ok(det) = TextDetector::new(&config.rules) {
            let _ = set::check_examples(&det, &config.rules, |_| true);
        }
    }
});
