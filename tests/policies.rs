//! `--policy` end to end, through the real binary, on a real dump of a live
//! process holding planted secrets (heap, stack, environment, argv) and on
//! committed real dumps (the planted Linux fixture, Crashpad and Windows
//! dumps from other projects).
//!
//! For every policy and input: the output parses, every thread unwinds to
//! the same frames, the report's counts equal the bytes that changed, and
//! what the policy promises to keep is byte-identical while what it
//! promises to remove is gone. Each property is checked against the dump
//! as the `minidump` crate reads it, not against dumpscrub's own layout.

mod support;

use std::path::{Path, PathBuf};

use minidump::{
    Minidump, MinidumpException, MinidumpMemory64List, MinidumpMemoryList, MinidumpMiscInfo,
    MinidumpModuleList, MinidumpSystemInfo, MinidumpThreadList,
};
use serde_json::Value;

use support::keys::unwind;
use support::{dumpscrub, find_all, Fixture, Place, LINUX_CMD_LINE, LINUX_ENVIRON};

const POLICIES: [&str; 4] = ["detect", "strip-heap", "stack-only", "sanitize-stacks"];
const SENTINEL: u64 = 0x0def_aced_0def_aced;
const SMALL_WORD_MAX: u64 = 4096;

/// The holder process (see `support`): does nothing in a normal run.
#[test]
fn secret_holder_process() {
    support::secret_holder_main();
}

fn fixture() -> &'static Fixture {
    support::planted("policies")
}

fn committed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Committed dumps with threads, modules and memory: Linux (the planted
/// fixture), Crashpad on Windows, and a 32-bit process in a full-memory
/// Windows dump (Memory64List, 4-byte words).
fn committed_inputs() -> Vec<PathBuf> {
    [
        "planted-linux.dmp",
        "public/rust-minidump-simple-crashpad.dmp",
        "public/lldb14-win-fizzbuzz_wow64-fullmem.dmp",
        "public/lldb14-win-sigsegv.dmp",
    ]
    .iter()
    .map(|n| committed(n))
    .collect()
}

/// One scrub of `input` under `policy`.
struct Case {
    name: String,
    input: Vec<u8>,
    output: Vec<u8>,
    file: Value,
}

impl Case {
    fn policy_count(&self, key: &str) -> u64 {
        self.file["policy"][key]
            .as_u64()
            .unwrap_or_else(|| panic!("{}: report has no policy.{key}", self.name))
    }

    /// Spans the findings zeroed, from the report.
    fn finding_spans(&self) -> Vec<(u64, u64)> {
        // Findings overlap (a PEM block and the DER key inside it): merge,
        // so that the spans can be binary-searched.
        support::merge_spans(
            self.file["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .filter(|f| f["action"] == "redacted")
                .map(|f| {
                    let o = f["offset"].as_u64().unwrap();
                    (o, o + f["length"].as_u64().unwrap())
                }),
        )
    }
}

fn scrub(input: &Path, policy: &str) -> Case {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.dmp");
    let run = dumpscrub([
        "scrub".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--policy".as_ref(),
        policy.as_ref(),
        "--report".as_ref(),
        "-".as_ref(),
    ]);
    let name = format!(
        "{} --policy {policy}",
        input.file_name().unwrap().to_string_lossy()
    );
    assert_eq!(run.code, Some(0), "{name}: {}", run.stderr_text());
    let report = run.json();
    let file = report["files"][0].clone();
    assert_eq!(file["status"], "ok", "{name}: {file}");
    assert_eq!(file["policy"]["name"], policy, "{name}");
    Case {
        name,
        input: std::fs::read(input).unwrap(),
        output: std::fs::read(&out).expect("scrub wrote its output"),
        file,
    }
}

// ---------------------------------------------------------------------------
// The dump as the minidump crate reads it
// ---------------------------------------------------------------------------

/// Address maps and memory of a dump, read with the `minidump` crate.
struct Maps {
    stacks: Vec<(u64, u64)>,
    modules: Vec<(u64, u64)>,
    /// (file offset, address, length) of every captured memory region.
    memory: Vec<(u64, u64, u64)>,
    /// (file offset, length) of every stream's directory location.
    streams: Vec<(u32, u64, u64)>,
    word: usize,
}

impl Maps {
    fn read(data: &[u8]) -> Maps {
        let dump = Minidump::read(data).expect("parses");
        let base = data.as_ptr() as u64;
        // A stack is what its descriptor says and, as minidump-processor
        // unwinds, the captured region holding the context's stack pointer.
        let system = dump.get_stream::<MinidumpSystemInfo>().expect("SystemInfo");
        let misc = dump.get_stream::<MinidumpMiscInfo>().ok();
        let unified = dump.get_memory();
        let sp_region = |sp: u64| {
            unified
                .as_ref()
                .and_then(|u| u.memory_at_address(sp))
                .map(|r| (r.base_address(), r.base_address() + r.size()))
        };
        let mut stacks = Vec::new();
        for t in &dump
            .get_stream::<MinidumpThreadList>()
            .expect("ThreadList")
            .threads
        {
            let s = t.raw.stack.start_of_memory_range;
            stacks.push((s, s + t.raw.stack.memory.data_size as u64));
            if let Some(c) = t.context(&system, misc.as_ref()) {
                stacks.extend(sp_region(c.get_stack_pointer()));
            }
        }
        if let Ok(e) = dump.get_stream::<MinidumpException>() {
            if let Some(c) = e.context(&system, misc.as_ref()) {
                stacks.extend(sp_region(c.get_stack_pointer()));
            }
        }
        let modules = dump
            .get_stream::<MinidumpModuleList>()
            .expect("ModuleList")
            .iter()
            .map(|m| {
                (
                    m.raw.base_of_image,
                    m.raw.base_of_image + m.raw.size_of_image as u64,
                )
            })
            .collect();
        let mut memory = Vec::new();
        if let Ok(list) = dump.get_stream::<MinidumpMemoryList>() {
            for m in list.iter() {
                memory.push((m.bytes.as_ptr() as u64 - base, m.base_address, m.size));
            }
        }
        if let Ok(list) = dump.get_stream::<MinidumpMemory64List>() {
            for m in list.iter() {
                memory.push((m.bytes.as_ptr() as u64 - base, m.base_address, m.size));
            }
        }
        // Thread stacks not in the memory list (Crashpad writes them only
        // in the thread list).
        for t in &dump.get_stream::<MinidumpThreadList>().unwrap().threads {
            let d = t.raw.stack;
            let (rva, size) = (d.memory.rva as u64, d.memory.data_size as u64);
            if rva != 0 && size > 0 && !memory.iter().any(|&(o, _, _)| o == rva) {
                memory.push((rva, d.start_of_memory_range, size));
            }
        }
        let streams = dump
            .all_streams()
            .map(|d| {
                (
                    d.stream_type,
                    d.location.rva as u64,
                    d.location.data_size as u64,
                )
            })
            .collect();
        let word = system
            .cpu
            .pointer_width()
            .size_in_bytes()
            .expect("known CPU") as usize;
        Maps {
            stacks,
            modules,
            memory,
            streams,
            word,
        }
    }

    fn in_stack(&self, addr: u64) -> bool {
        self.stacks.iter().any(|&(s, e)| s <= addr && addr < e)
    }

    fn in_module(&self, addr: u64) -> bool {
        self.modules.iter().any(|&(s, e)| s <= addr && addr < e)
    }
}

fn in_spans(spans: &[(u64, u64)], at: u64) -> bool {
    let i = spans.partition_point(|&(_, e)| e <= at);
    spans.get(i).is_some_and(|&(s, _)| s <= at)
}

fn word_at(data: &[u8], at: usize, w: usize) -> u64 {
    let mut b = [0u8; 8];
    b[..w].copy_from_slice(&data[at..at + w]);
    u64::from_le_bytes(b)
}

fn sentinel(w: usize) -> u64 {
    if w == 8 {
        SENTINEL
    } else {
        SENTINEL & 0xffff_ffff
    }
}

// ---------------------------------------------------------------------------
// Properties every policy must have
// ---------------------------------------------------------------------------

/// Parses with the same threads and modules, and every thread unwinds to
/// the same frames.
fn assert_still_debuggable(c: &Case) {
    let a = Maps::read(&c.input);
    let b = Maps::read(&c.output);
    assert_eq!(a.stacks, b.stacks, "{}: thread stacks", c.name);
    assert_eq!(a.modules, b.modules, "{}: modules", c.name);
    let names = |d: &[u8]| -> Vec<String> {
        let dump = Minidump::read(d).unwrap();
        let list = dump.get_stream::<MinidumpModuleList>().unwrap();
        list.iter().map(|m| m.name.clone()).collect()
    };
    assert_eq!(
        names(&c.input),
        names(&c.output),
        "{}: module names",
        c.name
    );
    let before = unwind(&c.input);
    let after = unwind(&c.output);
    assert!(
        before.iter().any(|(_, frames)| frames.len() > 1),
        "{}: no thread unwinds past its context frame: {before:?}",
        c.name
    );
    assert_eq!(before, after, "{}: unwound frames differ", c.name);
}

/// Every byte that changed is in a finding (zero), zeroed by the policy
/// (counted in `bytes_zeroed`), or part of a sentinel word in a stack
/// (counted in `words_sanitized`); the counts equal the changes.
fn assert_counts_match_changes(c: &Case, m: &Maps) {
    assert_eq!(c.input.len(), c.output.len(), "{}: size", c.name);
    let findings = c.finding_spans();
    for &(s, e) in &findings {
        assert!(
            c.output[s as usize..e as usize].iter().all(|&b| b == 0),
            "{}: finding at {s:#x} not zeroed",
            c.name
        );
    }
    let w = m.word;
    let sent = sentinel(w);
    // Sentinel words: aligned stack words that became the sentinel.
    let mut sanitized: Vec<(u64, u64)> = Vec::new();
    for &(off, addr, len) in &m.memory {
        if !m.in_stack(addr) {
            continue;
        }
        let first = (w as u64 - addr % w as u64) % w as u64;
        let mut i = first;
        while i + w as u64 <= len {
            let at = (off + i) as usize;
            if word_at(&c.output, at, w) == sent && word_at(&c.input, at, w) != sent {
                sanitized.push((at as u64, at as u64 + w as u64));
            }
            i += w as u64;
        }
    }
    sanitized.sort_unstable();
    let mut zeroed = 0u64;
    let mut where_zeroed = Vec::new();
    for (i, (&x, &y)) in c.input.iter().zip(&c.output).enumerate() {
        let at = i as u64;
        if x == y || in_spans(&findings, at) {
            continue;
        }
        if y == 0 {
            zeroed += 1;
            if where_zeroed.len() < 8 {
                where_zeroed.push(at);
            }
        } else {
            assert!(
                in_spans(&sanitized, at),
                "{}: byte {at:#x} changed to {y:#04x}, neither zero nor a sentinel word",
                c.name
            );
        }
    }
    assert_eq!(
        c.policy_count("bytes_zeroed"),
        zeroed,
        "{}: bytes_zeroed (first zeroed outside findings: {where_zeroed:x?})",
        c.name
    );
    assert_eq!(
        c.policy_count("words_sanitized"),
        sanitized.len() as u64,
        "{}: words_sanitized",
        c.name
    );
}

/// Memory the policy keeps is unchanged outside findings (unless
/// `sanitized`: its words are checked one by one elsewhere); memory it
/// drops is all zero.
fn assert_memory(c: &Case, m: &Maps, keep: &dyn Fn(u64) -> bool, sanitized: bool) {
    let findings = c.finding_spans();
    for &(off, addr, len) in &m.memory {
        for i in 0..len {
            let at = (off + i) as usize;
            if keep(addr + i) {
                if !sanitized && !in_spans(&findings, at as u64) {
                    assert_eq!(
                        c.input[at],
                        c.output[at],
                        "{}: kept memory at {:#x} changed",
                        c.name,
                        addr + i
                    );
                }
            } else {
                assert_eq!(
                    c.output[at],
                    0,
                    "{}: dropped memory at {:#x} is not zero",
                    c.name,
                    addr + i
                );
            }
        }
    }
}

fn all_cases(policy: &str) -> Vec<Case> {
    let mut inputs = vec![fixture().dump.clone()];
    inputs.extend(committed_inputs());
    if policy == "detect" {
        // The 9 MB full-memory dump is there for the policies' address
        // maps; `detect` on it is covered by the public corpus tests.
        inputs.retain(|p| !p.ends_with("lldb14-win-fizzbuzz_wow64-fullmem.dmp"));
    }
    inputs.iter().map(|p| scrub(p, policy)).collect()
}

#[test]
fn detect_changes_only_the_findings() {
    for c in all_cases("detect") {
        let m = Maps::read(&c.input);
        assert_still_debuggable(&c);
        assert_counts_match_changes(&c, &m);
        assert_eq!(c.policy_count("bytes_zeroed"), 0, "{}", c.name);
        assert_eq!(c.policy_count("words_sanitized"), 0, "{}", c.name);
    }
}

#[test]
fn strip_heap_keeps_stacks_and_modules_and_zeroes_the_rest_of_memory() {
    let mut removed_somewhere = false;
    for c in all_cases("strip-heap") {
        let m = Maps::read(&c.input);
        assert_still_debuggable(&c);
        assert_counts_match_changes(&c, &m);
        assert_memory(&c, &m, &|a| m.in_stack(a) || m.in_module(a), false);
        assert_eq!(c.policy_count("words_sanitized"), 0);
        // Stream payloads (environment, command line, /proc files) are
        // not memory: only findings change them.
        let findings = c.finding_spans();
        for &(ty, rva, size) in &m.streams {
            for at in rva..rva + size {
                if !in_spans(&findings, at) {
                    assert_eq!(
                        c.input[at as usize], c.output[at as usize],
                        "{}: stream {ty:#x} byte {at:#x} changed",
                        c.name
                    );
                }
            }
        }
        removed_somewhere |= c.policy_count("bytes_zeroed") > 0;
    }
    assert!(
        removed_somewhere,
        "strip-heap removed nothing from any dump"
    );
}

#[test]
fn strip_heap_removes_the_live_process_heap_buffers() {
    let fx = fixture();
    let c = scrub(&fx.dump, "strip-heap");
    let m = Maps::read(&c.input);
    for &(addr, len) in &fx.buffers {
        assert!(!m.in_stack(addr) && !m.in_module(addr));
        let region = m
            .memory
            .iter()
            .find(|&&(_, a, l)| a <= addr && addr + len <= a + l)
            .expect("the heap buffer was captured");
        let off = (region.0 + addr - region.1) as usize;
        assert!(c.input[off..off + len as usize].iter().any(|&b| b != 0));
        assert!(
            c.output[off..off + len as usize].iter().all(|&b| b == 0),
            "heap buffer at {addr:#x} survives"
        );
    }
}

#[test]
fn stack_only_leaves_nothing_but_stacks_structure_and_module_names() {
    for c in all_cases("stack-only") {
        let m = Maps::read(&c.input);
        assert_still_debuggable(&c);
        assert_counts_match_changes(&c, &m);
        assert_memory(&c, &m, &|a| m.in_stack(a), false);
        assert_eq!(c.policy_count("words_sanitized"), 0);
    }
}

/// The environment and command line are stream payloads, not stacks.
#[test]
fn stack_only_empties_environment_and_command_line_streams() {
    let c = scrub(&fixture().dump, "stack-only");
    let m = Maps::read(&c.input);
    for ty in [LINUX_ENVIRON, LINUX_CMD_LINE] {
        let &(_, rva, size) = m
            .streams
            .iter()
            .find(|s| s.0 == ty)
            .expect("the stream is in the dump");
        let (s, e) = (rva as usize, (rva + size) as usize);
        assert!(c.input[s..e].iter().any(|&b| b != 0));
        assert!(
            c.output[s..e].iter().all(|&b| b == 0),
            "stream {ty:#x} keeps bytes"
        );
    }
}

#[test]
fn sanitize_stacks_keeps_pointers_and_replaces_every_other_word_with_the_sentinel() {
    for c in all_cases("sanitize-stacks") {
        let m = Maps::read(&c.input);
        assert_still_debuggable(&c);
        assert_counts_match_changes(&c, &m);
        assert_memory(&c, &m, &|a| m.in_stack(a), true);
        let findings = c.finding_spans();
        let w = m.word;
        let sent = sentinel(w);
        let (mut kept, mut replaced) = (0usize, 0usize);
        for &(off, addr, len) in &m.memory {
            if !m.in_stack(addr) {
                continue;
            }
            let first = (w as u64 - addr % w as u64) % w as u64;
            let mut i = first;
            while i + w as u64 <= len {
                let at = (off + i) as usize;
                let (x, y) = (word_at(&c.input, at, w), word_at(&c.output, at, w));
                let touches_finding = (at..at + w).any(|b| in_spans(&findings, b as u64));
                if x <= SMALL_WORD_MAX || m.in_stack(x) || m.in_module(x) {
                    if !touches_finding {
                        assert_eq!(x, y, "{}: pointer word at {at:#x} changed", c.name);
                        kept += 1;
                    }
                } else if touches_finding {
                    assert!(y == 0, "{}: word at {at:#x} next to a finding", c.name);
                } else {
                    assert_eq!(y, sent, "{}: word at {at:#x} not sanitized", c.name);
                    replaced += 1;
                }
                i += w as u64;
            }
        }
        assert!(
            kept > 0 && replaced > 0,
            "{}: {kept} words kept, {replaced} replaced",
            c.name
        );
    }
}

#[test]
fn sanitize_stacks_removes_the_planted_stack_secret_and_is_idempotent() {
    let fx = fixture();
    let c = scrub(&fx.dump, "sanitize-stacks");
    for s in &fx.secrets {
        let bytes = s.bytes();
        if let Place::Stack { .. } = s.place {
            assert!(
                !find_all(&c.input, &bytes).is_empty(),
                "planted on the stack"
            );
        }
        assert!(
            find_all(&c.output, &bytes).is_empty(),
            "{} ({:?}) survives",
            s.rule,
            s.place
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.dmp");
    std::fs::write(&first, &c.output).unwrap();
    let again = scrub(&first, "sanitize-stacks");
    assert_eq!(again.policy_count("bytes_zeroed"), 0);
    assert_eq!(again.policy_count("words_sanitized"), 0);
    assert_eq!(again.output, c.output, "a second sanitize changed the dump");
}

/// And detection runs under every policy: the same findings, the same
/// bytes redacted for them.
#[test]
fn scan_reports_what_scrub_would_remove_and_writes_nothing() {
    let input = committed("planted-linux.dmp");
    let mut detected: Option<Value> = None;
    for policy in POLICIES {
        let scrubbed = scrub(&input, policy);
        let run = dumpscrub([
            "scan".as_ref(),
            input.as_os_str(),
            "--policy".as_ref(),
            policy.as_ref(),
            "--report".as_ref(),
            "-".as_ref(),
        ]);
        assert_eq!(run.code, Some(1), "{}", run.stderr_text());
        let file = &run.json()["files"][0];
        assert_eq!(file["policy"], scrubbed.file["policy"], "{policy}");
        assert!(file.get("output").is_none());
        let findings = (file["findings"].clone(), file["summary"].clone());
        let findings = serde_json::json!([findings.0, findings.1]);
        let first = detected.get_or_insert_with(|| findings.clone());
        assert!(
            !first[0].as_array().unwrap().is_empty(),
            "the fixture has findings"
        );
        assert_eq!(*first, findings, "{policy}: findings differ from detect's");
    }
}

#[test]
fn policies_need_a_dump_format_and_a_known_name() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("plain.bin");
    std::fs::write(&input, b"nothing but bytes").unwrap();
    let out = dir.path().join("out.bin");
    let run = dumpscrub([
        "scrub".as_ref(),
        input.as_os_str(),
        "--raw".as_ref(),
        "--policy".as_ref(),
        "strip-heap".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(run.code, Some(2));
    let err = run.stderr_text();
    assert!(
        err.contains("plain.bin") && err.contains("--policy strip-heap"),
        "{err}"
    );
    assert!(!out.exists(), "an output was written");

    let run = dumpscrub([
        "scan".as_ref(),
        input.as_os_str(),
        "--policy".as_ref(),
        "heap".as_ref(),
    ]);
    assert_eq!(run.code, Some(2));
    let err = run.stderr_text();
    assert!(
        err.contains("strip-heap") && err.contains("sanitize-stacks"),
        "{err}"
    );
}
