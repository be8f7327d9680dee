//! Same input, same options: the same output bytes and the same report
//! (but for the time it took), whatever the number of threads, and across
//! runs. The input is big enough to be cut into many parallel chunks and
//! full of real findings: the committed dump of a live process, repeated
//! as raw bytes so that secrets fall on every side of chunk boundaries.

use dumpscrub::report::FileReport;
use dumpscrub::{Engine, Options};

fn scrub_with_threads(
    engine: &Engine,
    input: &std::path::Path,
    threads: usize,
) -> (Vec<u8>, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.bin");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let mut report: FileReport = pool
        .install(|| engine.scrub_file(input, &out))
        .unwrap_or_else(|e| panic!("{e}"));
    // The one field that may differ between runs.
    report.stats.as_mut().unwrap().wall_ms = 0;
    report.output.as_mut().unwrap().path = String::new();
    let json = serde_json::to_string(&report).unwrap();
    (std::fs::read(&out).unwrap(), json)
}

#[test]
fn output_and_report_do_not_depend_on_threads_or_runs() {
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/planted-linux.dmp"
    ))
    .expect("committed fixture");
    // ~10 MiB: three 4 MiB chunks, and an odd stride so that copies of the
    // secrets land at every alignment relative to the chunk edges.
    let mut data = Vec::new();
    while data.len() < 10 << 20 {
        data.extend_from_slice(&fixture);
        data.extend_from_slice(&[0x41; 13]);
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.bin");
    std::fs::write(&input, &data).unwrap();
    let engine = Engine::new(Options {
        raw: true,
        ..Options::default()
    })
    .unwrap();

    let (out1, rep1) = scrub_with_threads(&engine, &input, 1);
    assert!(rep1.contains("\"chunks\":3"), "expected three chunks");
    let copies = data.len() / (fixture.len() + 13);
    let findings: serde_json::Value = serde_json::from_str(&rep1).unwrap();
    let n = findings["findings"].as_array().unwrap().len();
    assert!(n >= 20 * copies, "{n} findings for {copies} copies");
    for threads in [2, 8, 1] {
        let (out, rep) = scrub_with_threads(&engine, &input, threads);
        assert!(out == out1, "output differs with {threads} threads");
        assert_eq!(rep, rep1, "report differs with {threads} threads");
    }
    // Scrubbing the scrubbed copy changes nothing.
    let again = dir.path().join("again.bin");
    std::fs::write(&again, &out1).unwrap();
    let (out2, _) = scrub_with_threads(&engine, &again, 2);
    assert!(out2 == out1, "a second scrub changed the output");
}
