//! Linux ELF core dumps, end to end through the `dumpscrub` binary: real
//! cores of the secret holder (see `support`) written by `gcore` and by the
//! kernel, and hostile variants of a committed kernel core.
//!
//! Every core is generated once per run; the secrets are random and known
//! only to this process.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use support::{contains, dumpscrub, sha256, sha256_file, utf16le, Fixture, Place, Run};

/// The holder process (see `support`): does nothing in a normal run.
#[test]
fn secret_holder_process() {
    support::secret_holder_main();
}

// ---------------------------------------------------------------------------
// Shared state: each generated core, scrubbed once
// ---------------------------------------------------------------------------

struct Case {
    what: &'static str,
    fx: Fixture,
    input: Vec<u8>,
    output: Vec<u8>,
    out_path: PathBuf,
    run: Run,
    /// `files[0]` of the JSON report.
    file: Value,
}

fn scrub_case(what: &'static str, fx: Fixture) -> Case {
    let out_path = fx.dump.with_extension("scrubbed");
    let _ = std::fs::remove_file(&out_path);
    let input = std::fs::read(&fx.dump).unwrap();
    let run = dumpscrub([
        "scrub".as_ref(),
        fx.dump.as_os_str(),
        "-o".as_ref(),
        out_path.as_os_str(),
        "--report".as_ref(),
        "-".as_ref(),
    ]);
    assert_eq!(
        run.code,
        Some(0),
        "{what}: scrub failed: {}",
        run.stderr_text()
    );
    let file = run.json()["files"][0].clone();
    let output = std::fs::read(&out_path).expect("scrub wrote its output");
    Case {
        what,
        fx,
        input,
        output,
        out_path,
        run,
        file,
    }
}

fn gcore_case() -> &'static Case {
    static CASE: OnceLock<Case> = OnceLock::new();
    CASE.get_or_init(|| {
        let dir = support::scratch_dir("elf_core");
        scrub_case("gcore", support::elf::gcore(&dir.join("gcore.core")))
    })
}

/// The kernel-written case, or why the kernel cannot write cores here.
fn kernel_case() -> Option<&'static Case> {
    static CASE: OnceLock<Result<Case, String>> = OnceLock::new();
    let case = CASE.get_or_init(|| {
        let dir = support::scratch_dir("elf_core");
        support::elf::kernel_core(&dir.join("kernel.core")).map(|fx| scrub_case("kernel", fx))
    });
    match case {
        Ok(c) => Some(c),
        Err(why) => {
            eprintln!("SKIPPED: the kernel cannot write a core in this environment: {why}");
            None
        }
    }
}

/// Runs `check` on the gcore case and, when the kernel can write cores
/// here, on the kernel case.
fn both(check: impl Fn(&Case)) {
    check(gcore_case());
    if let Some(c) = kernel_case() {
        check(c);
    }
}

fn findings(c: &Case) -> &Vec<Value> {
    c.file["findings"].as_array().expect("findings array")
}

fn vaddr(f: &Value) -> Option<u64> {
    f["virtual_address"]
        .as_str()
        .map(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).expect("hex address"))
}

fn encodings(value: &str) -> [Vec<u8>; 2] {
    [value.as_bytes().to_vec(), utf16le(value)]
}

fn layout_of(data: &[u8]) -> dumpscrub::layout::Layout {
    dumpscrub::layout::build(data, "core", false)
        .expect("the core lays out")
        .expect("the core is recognised")
}

/// Fails if `text` holds any planted value, in either encoding; says which
/// rule, never the value.
fn assert_no_secret(c: &Case, what: &str, text: &[u8]) {
    for s in &c.fx.secrets {
        for e in encodings(&s.value) {
            assert!(
                !contains(text, &e),
                "{}: {what} holds a planted {} secret ({:?})",
                c.what,
                s.rule,
                s.place
            );
        }
    }
}

// ---------------------------------------------------------------------------
// The generated cores
// ---------------------------------------------------------------------------

#[test]
fn generated_cores_hold_the_planted_secrets_and_lay_out_as_elf_cores() {
    both(|c| {
        for s in &c.fx.secrets {
            assert!(
                contains(&c.input, &s.bytes()),
                "{}: planted {} secret ({:?}) is not in the core, so the test would prove nothing",
                c.what,
                s.rule,
                s.place
            );
        }
        assert_eq!(c.file["format"], "elf_core", "{}", c.what);
        let layout = layout_of(&c.input);
        let (loads, notes) = readelf_counts(&c.fx.dump);
        assert_eq!(
            layout.regions, loads,
            "{}: PT_LOAD count vs readelf",
            c.what
        );
        assert_eq!(layout.streams, notes, "{}: note count vs readelf", c.what);
        // NT_FILE names the holder's executable; NT_PRSTATUS its main thread.
        let exe = std::env::current_exe().unwrap().canonicalize().unwrap();
        assert!(
            layout
                .modules
                .iter()
                .any(|m| Path::new(&m.name) == exe && m.len > 0),
            "{}: modules {:?}",
            c.what,
            layout.modules
        );
        let main = format!("thread {}", c.fx.pid);
        assert!(
            layout.stacks.iter().any(|s| s.name == main),
            "{}: stacks {:?}",
            c.what,
            layout.stacks
        );
    });
}

/// (PT_LOAD segments, notes) as binutils' readelf counts them.
fn readelf_counts(core: &Path) -> (usize, usize) {
    let run = |flag: &str| {
        let out = Command::new("readelf")
            .args([flag, "-W"])
            .arg(core)
            .output()
            .expect("run readelf");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let loads = run("-l")
        .lines()
        .filter(|l| l.trim_start().starts_with("LOAD "))
        .count();
    let notes = run("-n")
        .lines()
        .filter(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.len() >= 2
                && l.starts_with("  ")
                && w[0] != "Owner"
                && w[1].starts_with("0x")
                && !l.starts_with("   ")
        })
        .count();
    (loads, notes)
}

// ---------------------------------------------------------------------------
// Scrub
// ---------------------------------------------------------------------------

#[test]
fn no_planted_secret_survives_in_any_encoding() {
    both(|c| {
        assert_eq!(c.output.len(), c.input.len(), "{}", c.what);
        assert_no_secret(c, "the scrubbed core", &c.output);
        assert_no_secret(c, "stdout", &c.run.stdout);
        assert_no_secret(c, "stderr", &c.run.stderr);
    });
}

#[test]
fn only_redacted_spans_change_and_structure_is_identical() {
    both(|c| {
        let mut spans: Vec<(usize, usize)> = findings(c)
            .iter()
            .filter(|f| f["action"] == "redacted")
            .map(|f| {
                let at = f["offset"].as_u64().unwrap() as usize;
                (at, at + f["length"].as_u64().unwrap() as usize)
            })
            .collect();
        spans.sort_unstable();
        assert!(!spans.is_empty(), "{}: nothing redacted", c.what);
        let inside = |i: usize| spans.iter().any(|&(s, e)| s <= i && i < e);
        let mut changed = 0usize;
        for (i, (a, b)) in c.input.iter().zip(&c.output).enumerate() {
            if a != b {
                changed += 1;
                assert!(
                    inside(i),
                    "{}: byte {i:#x} changed outside every redacted span",
                    c.what
                );
                assert_eq!(*b, 0, "{}: byte {i:#x} changed to non-zero", c.what);
            }
        }
        assert!(changed > 0, "{}", c.what);
        for &(s, e) in &spans {
            assert!(
                c.output[s..e].iter().all(|&b| b == 0),
                "{}: span {s:#x} not zero",
                c.what
            );
        }
        let layout = layout_of(&c.input);
        for (s, e) in layout.protected_spans() {
            let (s, e) = (s as usize, e as usize);
            assert_eq!(
                c.input[s..e],
                c.output[s..e],
                "{}: structure at {s:#x}..{e:#x} changed",
                c.what
            );
        }
        // The ELF header, program headers and register notes are among them.
        let named = |n: &str| {
            layout
                .ranges
                .iter()
                .any(|r| r.origin.name == n && !r.kind.redactable())
        };
        for n in [
            "ELF header",
            "program headers",
            "note header",
            "NT_PRSTATUS",
            "NT_AUXV",
        ] {
            assert!(named(n), "{}: no structure range named {n}", c.what);
        }
        assert_eq!(layout_of(&c.output).ranges, layout.ranges, "{}", c.what);
    });
}

#[test]
fn environment_and_argv_are_found_in_the_main_thread_stack() {
    both(|c| {
        let layout = layout_of(&c.input);
        let main = format!("thread {}", c.fx.pid);
        let stack = layout
            .stacks
            .iter()
            .find(|s| s.name == main)
            .expect("main thread stack");
        for s in
            c.fx.secrets
                .iter()
                .filter(|s| matches!(s.place, Place::Env { .. } | Place::Argv))
        {
            let value = s.bytes();
            let hit = findings(c).iter().any(|f| {
                f["range"] == "memory"
                    && f["action"] == "redacted"
                    && vaddr(f).is_some_and(|a| stack.contains(a))
                    && {
                        let at = f["offset"].as_u64().unwrap() as usize;
                        let len = f["length"].as_u64().unwrap() as usize;
                        c.input
                            .get(at..at + len)
                            .is_some_and(|b| contains(b, &value))
                    }
            });
            assert!(
                hit,
                "{}: the {} secret ({:?}) was not redacted in the main thread's stack segment {:#x}+{:#x}",
                c.what, s.rule, s.place, stack.start, stack.len
            );
        }
    });
}

/// The kernel copies the start of the command line into
/// `NT_PRPSINFO.pr_psargs`; gdb writes only `argv[0]` there. Wherever the
/// argument is, it is found and redacted.
#[test]
fn argv_in_prpsinfo_is_scanned_and_redacted() {
    both(|c| {
        let argv =
            c.fx.secrets
                .iter()
                .find(|s| s.place == Place::Argv)
                .expect("an argv secret");
        let layout = layout_of(&c.input);
        let psinfo = layout
            .ranges
            .iter()
            .find(|r| r.origin.name == "NT_PRPSINFO")
            .expect("an NT_PRPSINFO note");
        assert_eq!(psinfo.kind.as_str(), "stream", "{}", c.what);
        let payload = &c.input[psinfo.start as usize..psinfo.end() as usize];
        let held = contains(payload, &argv.bytes());
        assert!(
            held || c.what == "gcore",
            "{}: the kernel's pr_psargs should hold the secret argument",
            c.what
        );
        if held {
            let hit = findings(c).iter().any(|f| {
                f["stream"] == "NT_PRPSINFO"
                    && f["range"] == "stream"
                    && f["action"] == "redacted"
                    && f["rule"] == argv.rule
            });
            assert!(hit, "{}: pr_psargs secret not redacted", c.what);
            let out = &c.output[psinfo.start as usize..psinfo.end() as usize];
            assert!(!contains(out, &argv.bytes()), "{}", c.what);
        }
    });
}

#[test]
fn scrubbed_core_unwinds_the_same_in_gdb() {
    let binary = std::env::current_exe().unwrap();
    both(|c| {
        let before = support::elf::gdb_backtrace(&c.fx.dump, &binary);
        let after = support::elf::gdb_backtrace(&c.out_path, &binary);
        assert!(
            before.len() >= 2,
            "{}: gdb shows no usable backtrace of the original core: {before:?}",
            c.what
        );
        assert_eq!(before, after, "{}: backtraces differ", c.what);
    });
}

#[test]
fn scan_of_the_scrubbed_core_finds_nothing() {
    both(|c| {
        let run = dumpscrub([
            "scan".as_ref(),
            c.out_path.as_os_str(),
            "--report".as_ref(),
            "-".as_ref(),
        ]);
        assert_eq!(run.code, Some(0), "{}: {}", c.what, run.stdout_text());
        assert_eq!(run.json()["summary"]["actionable"], 0, "{}", c.what);
    });
}

// ---------------------------------------------------------------------------
// Hostile variants of the committed core
// ---------------------------------------------------------------------------

fn committed() -> (PathBuf, Vec<u8>) {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/elf-core-sleep-x86_64.core"
    ));
    let data = std::fs::read(&path).expect("committed ELF core");
    (path, data)
}

fn u16_at(d: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(d[at..at + 2].try_into().unwrap())
}
fn u32_at(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(d[at..at + 4].try_into().unwrap())
}
fn u64_at(d: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(d[at..at + 8].try_into().unwrap())
}
fn put_u16(d: &mut [u8], at: usize, v: u16) {
    d[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_u32(d: &mut [u8], at: usize, v: u32) {
    d[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(d: &mut [u8], at: usize, v: u64) {
    d[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// File offsets of each program header, with its p_type.
fn phdrs(d: &[u8]) -> Vec<(usize, u32)> {
    let phoff = u64_at(d, 32) as usize;
    (0..u16_at(d, 56) as usize)
        .map(|i| phoff + 56 * i)
        .map(|at| (at, u32_at(d, at)))
        .collect()
}

#[test]
fn committed_core_lays_out_like_readelf_says() {
    let (path, data) = committed();
    let layout = layout_of(&data);
    let (loads, notes) = readelf_counts(&path);
    assert_eq!(layout.format.as_str(), "elf_core");
    assert_eq!(layout.regions, loads);
    assert_eq!(layout.streams, notes);
    assert!(
        layout.modules.iter().any(|m| m.name == "/usr/bin/sleep"),
        "{:?}",
        layout.modules
    );
    assert_eq!(layout.stacks.len(), 1, "{:?}", layout.stacks);
    let counts = layout.byte_counts();
    assert_eq!(
        counts.structure + counts.memory + counts.streams + counts.unreferenced,
        data.len() as u64
    );
    // Every PT_LOAD with file bytes is memory at its address.
    for (at, ty) in phdrs(&data) {
        let (off, vaddr, filesz) = (
            u64_at(&data, at + 8),
            u64_at(&data, at + 16),
            u64_at(&data, at + 32),
        );
        if ty == 1 && filesz > 0 {
            let r = layout.range_at(off).expect("range");
            assert_eq!(r.kind.as_str(), "memory");
            assert_eq!(r.vaddr, Some(vaddr));
            assert_eq!(r.origin.name, format!("PT_LOAD {vaddr:#x}"));
        }
    }
}

/// Every variant that must be refused, named.
fn refused_variants() -> Vec<(String, Vec<u8>, Option<&'static str>)> {
    let (_, base) = committed();
    let layout = layout_of(&base);
    let ph = phdrs(&base);
    let note = ph.iter().find(|&&(_, t)| t == 4).expect("PT_NOTE").0;
    let note_off = u64_at(&base, note + 8) as usize;
    let load = ph
        .iter()
        .rev()
        .find(|&&(at, t)| t == 1 && u64_at(&base, at + 32) > 0)
        .expect("PT_LOAD with file bytes")
        .0;
    let load_off = u64_at(&base, load + 8) as usize;
    let nt_file = layout
        .ranges
        .iter()
        .find(|r| r.origin.name == "NT_FILE")
        .expect("NT_FILE")
        .start as usize;
    let mut out: Vec<(String, Vec<u8>, Option<&'static str>)> = Vec::new();
    let cuts = [
        10,
        40,
        64 + 56 * 2 + 7,
        note_off + 6,
        note_off + 200,
        load_off + 100,
        base.len() - 1,
    ];
    for cut in cuts {
        out.push((format!("cut at {cut:#x}"), base[..cut].to_vec(), None));
    }
    let mut patch = |name: &str, reason: Option<&'static str>, f: &dyn Fn(&mut Vec<u8>)| {
        let mut v = base.clone();
        f(&mut v);
        out.push((name.to_string(), v, reason));
    };
    patch("32-bit class", Some("32-bit"), &|v| v[4] = 1);
    patch("big-endian", Some("big-endian"), &|v| v[5] = 2);
    patch("executable, not a core", Some("not a core"), &|v| {
        put_u16(v, 16, 2)
    });
    patch("i386 machine", Some("machine"), &|v| put_u16(v, 18, 3));
    patch("phoff past the end", None, &|v| {
        put_u64(v, 32, base.len() as u64 + 8)
    });
    patch("phoff near u64::MAX", None, &|v| {
        put_u64(v, 32, u64::MAX - 8)
    });
    patch("phnum 0xfffe", None, &|v| put_u16(v, 56, 0xfffe));
    patch("phnum PN_XNUM without sections", None, &|v| {
        put_u16(v, 56, 0xffff)
    });
    patch("phentsize 32", None, &|v| put_u16(v, 54, 32));
    patch("shoff past the end", None, &|v| {
        put_u64(v, 40, base.len() as u64 + 64);
        put_u16(v, 60, 3);
        put_u16(v, 58, 64);
    });
    patch(
        "PT_LOAD offset past the end",
        Some("program header"),
        &|v| put_u64(v, load + 8, base.len() as u64 + 0x1000),
    );
    patch("PT_LOAD filesz u64::MAX", Some("program header"), &|v| {
        put_u64(v, load + 32, u64::MAX);
        put_u64(v, load + 40, u64::MAX);
    });
    patch(
        "PT_LOAD offset near u64::MAX",
        Some("program header"),
        &|v| put_u64(v, load + 8, u64::MAX - 16),
    );
    patch(
        "PT_LOAD filesz past the end",
        Some("program header"),
        &|v| {
            let filesz = base.len() as u64 - load_off as u64 + 0x10;
            put_u64(v, load + 32, filesz);
            put_u64(v, load + 40, filesz);
        },
    );
    patch("PT_NOTE filesz past the end", None, &|v| {
        put_u64(v, note + 32, base.len() as u64)
    });
    patch("first note namesz huge", None, &|v| {
        put_u32(v, note_off, u32::MAX)
    });
    patch("first note descsz huge", None, &|v| {
        put_u32(v, note_off + 4, 0x7fff_fff0)
    });
    patch("NT_FILE count u64::MAX", Some("NT_FILE"), &|v| {
        put_u64(v, nt_file, u64::MAX)
    });
    patch("NT_FILE count 2^59", Some("NT_FILE"), &|v| {
        put_u64(v, nt_file, 1 << 59)
    });
    out
}

/// `scrub` (to a file and in place) and `scan` of `bad`: exit 2, the file
/// named on stderr (with `reason` when given), no output, input untouched.
fn assert_fails_closed(name: &str, bad: &[u8], reason: Option<&str>) {
    let tmp = tempfile::tempdir().unwrap();
    let in_dir = tmp.path().join("in");
    let out_dir = tmp.path().join("out");
    std::fs::create_dir_all(&in_dir).unwrap();
    std::fs::create_dir_all(&out_dir).unwrap();
    let input = in_dir.join("hostile.core");
    std::fs::write(&input, bad).unwrap();
    let before = sha256(bad);
    let shown = input.display().to_string();
    let out = out_dir.join("scrubbed.core");
    let runs = [
        vec![
            "scrub".as_ref(),
            input.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ],
        vec!["scrub".as_ref(), input.as_os_str(), "--in-place".as_ref()],
        vec!["scan".as_ref(), input.as_os_str()],
    ];
    for args in runs {
        let run = dumpscrub(&args);
        let err = run.stderr_text();
        assert_eq!(
            run.code,
            Some(2),
            "{name}: {args:?}: exit {:?}, stderr: {err}",
            run.code
        );
        assert!(
            err.contains(&shown),
            "{name}: stderr does not name the file: {err}"
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
        if let Some(r) = reason {
            assert!(err.contains(r), "{name}: stderr does not say {r:?}: {err}");
        }
        assert_eq!(sha256_file(&input), before, "{name}: input modified");
        assert_eq!(
            std::fs::read_dir(&out_dir).unwrap().count(),
            0,
            "{name}: output left"
        );
        assert_eq!(
            std::fs::read_dir(&in_dir).unwrap().count(),
            1,
            "{name}: file left beside the input"
        );
    }
}

#[test]
fn hostile_cores_fail_closed() {
    for (name, bad, reason) in refused_variants() {
        assert_fails_closed(&name, &bad, reason);
    }
}

/// Segments that overlap each other or the headers are not an error: the
/// bytes are labelled once (structure wins) and the scrub keeps structure.
#[test]
fn overlapping_segments_scrub_without_touching_structure() {
    let (_, base) = committed();
    let ph = phdrs(&base);
    let loads: Vec<usize> = ph
        .iter()
        .filter(|&&(at, t)| t == 1 && u64_at(&base, at + 32) > 0)
        .map(|&(at, _)| at)
        .collect();
    assert!(loads.len() >= 2);
    let mut over_header = base.clone();
    put_u64(&mut over_header, loads[0] + 8, 0);
    let mut over_each_other = base.clone();
    let off = u64_at(&base, loads[0] + 8);
    put_u64(&mut over_each_other, loads[1] + 8, off);
    for (name, v) in [
        ("PT_LOAD over the headers", over_header),
        ("two PT_LOADs at one offset", over_each_other),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("overlap.core");
        let out = tmp.path().join("overlap.scrubbed");
        std::fs::write(&input, &v).unwrap();
        let run = dumpscrub([
            "scrub".as_ref(),
            input.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ]);
        assert_eq!(run.code, Some(0), "{name}: {}", run.stderr_text());
        let scrubbed = std::fs::read(&out).unwrap();
        for (s, e) in layout_of(&v).protected_spans() {
            let (s, e) = (s as usize, e as usize);
            assert_eq!(v[s..e], scrubbed[s..e], "{name}: structure {s:#x} changed");
        }
        // The header and program header table are never memory.
        let layout = layout_of(&v);
        let phend = 64 + 56 * ph.len() as u64;
        assert!(layout
            .ranges
            .iter()
            .filter(|r| r.start < phend)
            .all(|r| r.kind.as_str() == "structure"));
    }
}
