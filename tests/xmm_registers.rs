//! AES round keys held in a thread's saved XMM registers: found in the
//! context's SSE area, zeroed there, and nothing else in the context moves,
//! so the threads unwind exactly as before.
//!
//! The dump is the committed real minidump of a live process
//! (`fixtures/planted-linux.dmp`); its first thread's registers are set to
//! the round keys of a real OpenSSL AES-128 schedule, as AES-NI code leaves
//! them (round key i in xmm_i).

#![allow(dead_code)]

mod support;

use minidump::{Minidump, MinidumpThreadList};

/// OpenSSL's own expanded encryption schedule for `key` (AES_KEY).
fn openssl_schedule(key: &[u8]) -> Vec<u8> {
    let k = openssl::aes::AesKey::new_encrypt(key).expect("AES key");
    assert_eq!(std::mem::size_of::<openssl::aes::AesKey>(), 244);
    // SAFETY: AesKey wraps OpenSSL's AES_KEY, 60 u32 round-key words and an
    // i32 round count, all written by AES_set_encrypt_key; read as bytes
    // while `k` is alive.
    let bytes =
        unsafe { std::slice::from_raw_parts(&k as *const openssl::aes::AesKey as *const u8, 244) };
    let rounds = i32::from_ne_bytes(bytes[240..].try_into().unwrap()) as usize;
    bytes[..16 * (rounds + 1)].to_vec()
}

/// File offset and size of the first thread's CPU context.
fn first_context(data: &[u8]) -> (usize, usize) {
    let dump = Minidump::read(data).expect("fixture parses");
    let threads = dump.get_stream::<MinidumpThreadList>().expect("threads");
    let t = &threads.threads[0].raw;
    (
        t.thread_context.rva as usize,
        t.thread_context.data_size as usize,
    )
}

#[test]
fn aes_round_keys_in_xmm_registers_are_found_and_only_they_are_zeroed() {
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/planted-linux.dmp"
    ))
    .expect("committed fixture");
    let (ctx, size) = first_context(&fixture);
    assert_eq!(size, 1232, "an x86-64 CONTEXT");
    // XMM0-15 live at 0x1a0 in the context's FXSAVE area.
    let xmm = ctx + 0x1a0;
    let mut key = [0u8; 16];
    openssl::rand::rand_bytes(&mut key).unwrap();
    let schedule = openssl_schedule(&key);
    assert_eq!(schedule.len(), 176);
    let mut input = fixture.clone();
    input[xmm..xmm + 176].copy_from_slice(&schedule);

    let dir = support::scratch_dir("xmm");
    let dmp = dir.join("xmm.dmp");
    let out = dir.join("xmm.clean.dmp");
    std::fs::write(&dmp, &input).unwrap();
    let run = support::dumpscrub([
        "scrub".as_ref(),
        dmp.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--report".as_ref(),
        "-".as_ref(),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr_text());
    let report = run.json();
    let findings = report["files"][0]["findings"].as_array().unwrap();
    let aes: Vec<_> = findings
        .iter()
        .filter(|f| f["rule"] == "aes-key-schedule")
        .collect();
    assert_eq!(aes.len(), 1, "{findings:#?}");
    let f = aes[0];
    assert_eq!(f["offset"].as_u64(), Some(xmm as u64));
    assert_eq!(f["length"].as_u64(), Some(176));
    assert_eq!(f["validated"], true);
    assert_eq!(f["action"], "redacted");
    assert!(
        f["stream"].as_str().unwrap().ends_with("XMM registers"),
        "{}",
        f["stream"]
    );

    let output = std::fs::read(&out).unwrap();
    assert!(output[xmm..xmm + 176].iter().all(|&b| b == 0));
    // Every other byte of the context (rip, rsp, rbp, flags...) is intact.
    assert_eq!(output[ctx..xmm], input[ctx..xmm]);
    assert_eq!(output[xmm + 176..ctx + size], input[xmm + 176..ctx + size]);
    // No copy of the key is left anywhere.
    assert!(!output.windows(16).any(|w| w == key));
    assert_eq!(
        support::keys::unwind(&output),
        support::keys::unwind(&input),
        "threads unwind to the same frames"
    );
}
