//! Test support for private-key material: a *key holder* process that keeps
//! real keys in memory the way real programs do, the encoders that lay a key
//! out as Windows and OpenSSH structures, and helpers to check a scrubbed
//! dump (leak search, structure, unwinding).
//!
//! # The key holder
//!
//! The same self-exec design as [`super::generate`]: the test binary runs
//! itself with `--exact key_holder_process`, a test that does nothing unless
//! `DUMPSCRUB_KEY_HOLDER=1` is set (each test binary that uses
//! [`run_key_holder`] must define it and call [`key_holder_main`]). The
//! parent sends a list of [`HolderOp`]s on stdin, in a small binary
//! protocol, and the holder
//!
//! * keeps the bytes of every [`HolderOp::Heap`] in a heap buffer of its own;
//! * really uses OpenSSL: it loads RSA keys from DER with
//!   `Rsa::private_key_from_der`, signs once with each (so OpenSSL's own
//!   BIGNUMs, Montgomery contexts and blinding are in its heap) and then
//!   zeroes the DER; it expands AES keys with the low-level `AES_KEY` API and
//!   with EVP `Crypter`s (AES-NI schedules where the CPU has them), and keeps
//!   all of them alive;
//! * zeroes the whole message it read, so the only copies of the wiped keys
//!   are the ones the library made.
//!
//! Because OpenSSL allocates from the process heap and malloc arenas, the
//! holder reports its `[heap]` and every anonymous `rw-p` mapping (except its
//! own thread stack, which the writer dumps anyway, and mappings over
//! 64 MiB), and the parent passes them all to `minidump-writer` as
//! application memory. The stdin is read through a file of its own
//! (`/dev/stdin`), never through `std::io::stdin()`, whose buffer would keep
//! a copy of what was read.

#![allow(dead_code)]

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use minidump::{
    Minidump, MinidumpMemoryInfoList, MinidumpMemoryList, MinidumpModuleList, MinidumpSystemInfo,
    MinidumpThreadList,
};
use openssl::bn::{BigNumContext, BigNumRef};
use openssl::ec::{EcKey, PointConversionForm};
use openssl::nid::Nid;
use openssl::pkey::Private;
use openssl::rsa::Rsa;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

/// Environment variable that turns `key_holder_process` into the holder.
pub const KEY_HOLDER_ENV: &str = "DUMPSCRUB_KEY_HOLDER";
/// Name of the test function that acts as the key holder.
pub const KEY_HOLDER_TEST: &str = "key_holder_process";
/// Prefix of every protocol line the holder prints.
const MARK: &str = "DUMPSCRUB-KEY-HOLDER";
/// Mappings larger than this are not dumped (arena reservations...).
const MAX_MAPPING: u64 = 64 << 20;
/// Upper bound on the memory one dump may hold, to keep dumps small.
const MAX_DUMP_MEMORY: u64 = 96 << 20;
const TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// The protocol
// ---------------------------------------------------------------------------

/// One thing the holder does with what it is sent.
#[derive(Clone)]
pub enum HolderOp {
    /// Keep these bytes in a heap buffer of their own (reported as `BUF`).
    Heap(Vec<u8>),
    /// Load this PKCS#1 DER with OpenSSL, sign once, then zero the DER.
    OpensslRsa(Vec<u8>),
    /// `AesKey::new_encrypt` (OpenSSL's `AES_set_encrypt_key`).
    AesEncrypt(Vec<u8>),
    /// `AesKey::new_decrypt` (OpenSSL's `AES_set_decrypt_key`).
    AesDecrypt(Vec<u8>),
    /// An EVP `Crypter` for AES-CBC (key size decides the cipher), encrypting.
    EvpEncrypt { key: Vec<u8>, iv: [u8; 16] },
    /// The same, decrypting (the decryption key schedule).
    EvpDecrypt { key: Vec<u8>, iv: [u8; 16] },
}

impl HolderOp {
    fn encode(&self, out: &mut Vec<u8>) {
        let (kind, body): (u8, Vec<u8>) = match self {
            HolderOp::Heap(b) => (1, b.clone()),
            HolderOp::OpensslRsa(b) => (2, b.clone()),
            HolderOp::AesEncrypt(k) => (3, k.clone()),
            HolderOp::AesDecrypt(k) => (4, k.clone()),
            HolderOp::EvpEncrypt { key, iv } => (5, [&key[..], &iv[..]].concat()),
            HolderOp::EvpDecrypt { key, iv } => (6, [&key[..], &iv[..]].concat()),
        };
        out.push(kind);
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
    }
}

fn aes_cbc(key_len: usize) -> openssl::symm::Cipher {
    match key_len {
        16 => openssl::symm::Cipher::aes_128_cbc(),
        24 => openssl::symm::Cipher::aes_192_cbc(),
        32 => openssl::symm::Cipher::aes_256_cbc(),
        n => panic!("holder: no AES key of {n} bytes"),
    }
}

// ---------------------------------------------------------------------------
// The holder process
// ---------------------------------------------------------------------------

/// Body of the `key_holder_process` test. Returns at once unless the test
/// binary was started by [`run_key_holder`].
pub fn key_holder_main() {
    use openssl::aes::AesKey;
    use openssl::symm::{Crypter, Mode};

    if std::env::var_os(KEY_HOLDER_ENV).as_deref() != Some(OsStr::new("1")) {
        return;
    }
    let mut input = File::open("/dev/stdin").expect("holder: open /dev/stdin");
    let mut len = [0u8; 8];
    input.read_exact(&mut len).expect("holder: read length");
    let mut payload = vec![0u8; u64::from_le_bytes(len) as usize];
    input
        .read_exact(&mut payload)
        .expect("holder: read payload");

    let mut heap: Vec<Vec<u8>> = Vec::new();
    let mut rsa_keys: Vec<Rsa<Private>> = Vec::new();
    let mut aes_keys: Vec<AesKey> = Vec::new();
    let mut crypters: Vec<Crypter> = Vec::new();
    let mut at = 0;
    while at < payload.len() {
        let kind = payload[at];
        let n = u32::from_le_bytes(payload[at + 1..at + 5].try_into().unwrap()) as usize;
        let body = &payload[at + 5..at + 5 + n];
        at += 5 + n;
        match kind {
            1 => heap.push(body.to_vec()),
            2 => {
                let mut der = body.to_vec();
                let rsa = Rsa::private_key_from_der(&der).expect("holder: OpenSSL loads the DER");
                der.zeroize();
                std::hint::black_box(&der);
                // Use the key: Montgomery contexts and blinding join the
                // BIGNUMs in the heap, as in a program that signs.
                let mut sig = vec![0u8; rsa.size() as usize];
                rsa.private_encrypt(&[0x5a; 32], &mut sig, openssl::rsa::Padding::PKCS1)
                    .expect("holder: sign");
                rsa_keys.push(rsa);
            }
            3 => aes_keys.push(
                AesKey::new_encrypt(body).unwrap_or_else(|e| panic!("holder: AES key: {e:?}")),
            ),
            4 => aes_keys.push(
                AesKey::new_decrypt(body).unwrap_or_else(|e| panic!("holder: AES key: {e:?}")),
            ),
            5 | 6 => {
                let (key, iv) = body.split_at(body.len() - 16);
                let mode = if kind == 5 {
                    Mode::Encrypt
                } else {
                    Mode::Decrypt
                };
                let mut c = Crypter::new(aes_cbc(key.len()), mode, key, Some(iv))
                    .expect("holder: EVP cipher");
                c.pad(false);
                let mut out = vec![0u8; 64];
                c.update(&[0x33u8; 32], &mut out)
                    .expect("holder: EVP update");
                crypters.push(c);
            }
            _ => panic!("holder: unknown op {kind}"),
        }
    }
    payload.zeroize();
    std::hint::black_box(&payload);

    // What to dump: the heap and anonymous private writable mappings,
    // without this thread's stack.
    let marker = 0u8;
    let here = std::hint::black_box(&marker) as *const u8 as u64;
    let maps = std::fs::read_to_string("/proc/self/maps").expect("holder: read maps");
    let mut regions = Vec::new();
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let (Some(range), Some(perms)) = (f.next(), f.next()) else {
            continue;
        };
        let path = f.nth(3).unwrap_or("");
        if perms != "rw-p" || !(path.is_empty() || path == "[heap]") {
            continue;
        }
        let (s, e) = range.split_once('-').expect("holder: maps range");
        let s = u64::from_str_radix(s, 16).unwrap();
        let e = u64::from_str_radix(e, 16).unwrap();
        if e - s > MAX_MAPPING || (s..e).contains(&here) {
            continue;
        }
        regions.push((s, e - s));
    }
    {
        let mut out = std::io::stdout().lock();
        for b in &heap {
            writeln!(out, "{MARK} BUF {:x} {}", b.as_ptr() as usize, b.len()).unwrap();
        }
        for (s, l) in &regions {
            writeln!(out, "{MARK} MAP {s:x} {l}").unwrap();
        }
        writeln!(out, "{MARK} READY").unwrap();
        out.flush().unwrap();
    }
    // Block until the parent closes our stdin, after it has dumped us.
    let mut rest = Vec::new();
    let _ = input.read_to_end(&mut rest);
    std::hint::black_box(&heap);
    std::hint::black_box(&rsa_keys);
    std::hint::black_box(&aes_keys);
    std::hint::black_box(&crypters);
}

// ---------------------------------------------------------------------------
// The parent
// ---------------------------------------------------------------------------

/// A minidump of a key holder.
#[derive(Debug, Clone)]
pub struct HolderDump {
    pub dump: PathBuf,
    /// (address, length) of each `Heap` buffer, in the order sent.
    pub buffers: Vec<(u64, u64)>,
    /// (address, length) of every region passed as application memory.
    pub regions: Vec<(u64, u64)>,
    pub pid: u32,
}

/// Kills and reaps the holder if anything fails half-way.
struct Guard(Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts a key holder, sends it `ops`, dumps it to `dump` and reaps it.
/// Panics (after killing the holder) on any failure.
pub fn run_key_holder(ops: &[HolderOp], dump: &Path) -> HolderDump {
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new(&exe);
    cmd.args([
        "--exact",
        KEY_HOLDER_TEST,
        "--nocapture",
        "--test-threads=1",
    ])
    .env_clear()
    .env(KEY_HOLDER_ENV, "1")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut guard = Guard(Some(cmd.spawn().expect("spawn the key holder")));
    let child = guard.0.as_mut().unwrap();
    let pid = child.id();

    let stderr = child.stderr.take().unwrap();
    let stderr_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut s);
        s
    });
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut payload = Vec::new();
    for op in ops {
        op.encode(&mut payload);
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(&(payload.len() as u64).to_le_bytes())
        .and_then(|_| stdin.write_all(&payload))
        .and_then(|_| stdin.flush())
        .expect("write to the key holder");
    payload.zeroize();

    let deadline = Instant::now() + TIMEOUT;
    let records = match super::read_holder_records(&rx, MARK, deadline) {
        Ok(r) => r,
        Err(e) => {
            drop(guard);
            panic!(
                "key holder {e}; stderr: {}",
                stderr_thread.join().unwrap_or_default()
            )
        }
    };
    let mut buffers = Vec::new();
    let mut maps = Vec::new();
    for (tag, addr, len) in records {
        match tag.as_str() {
            "BUF" => buffers.push((addr, len)),
            "MAP" => maps.push((addr, len)),
            _ => panic!("unexpected key holder record {tag}"),
        }
    }
    let heap_ops = ops
        .iter()
        .filter(|o| matches!(o, HolderOp::Heap(_)))
        .count();
    assert_eq!(buffers.len(), heap_ops, "holder reported the wrong buffers");

    // Every buffer should lie in a reported mapping; one that does not is
    // added on its own.
    let mut regions = maps.clone();
    for &(a, l) in &buffers {
        if !maps.iter().any(|&(s, ml)| s <= a && a + l <= s + ml) {
            regions.push((a, l));
        }
    }
    let total: u64 = regions.iter().map(|r| r.1).sum();
    if total > MAX_DUMP_MEMORY {
        drop(guard);
        panic!("the key holder's memory is {total} bytes: too big to dump");
    }

    let write_result = super::write_minidump(pid, &regions, dump);
    if let Err(e) = write_result {
        let _ = std::fs::remove_file(dump);
        drop(guard);
        panic!("could not dump the key holder: {e}");
    }

    drop(stdin);
    let mut child = guard.0.take().unwrap();
    let status = loop {
        match child.try_wait().expect("wait for the key holder") {
            Some(s) => break s,
            None if Instant::now() > deadline + Duration::from_secs(10) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("key holder did not exit after its stdin was closed");
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let stderr = stderr_thread.join().unwrap_or_default();
    assert!(
        status.success(),
        "key holder failed: {status}; stderr: {stderr}"
    );
    HolderDump {
        dump: dump.to_path_buf(),
        buffers,
        regions,
        pid,
    }
}

// ---------------------------------------------------------------------------
// Key identities, as the report names keys
// ---------------------------------------------------------------------------

/// First 8 bytes of SHA-256, in hex.
pub fn short_hash(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..8])
}

/// `rsa-{bits}:` and the short hash of n, big-endian.
pub fn rsa_key_id(n: &BigNumRef) -> String {
    format!("rsa-{}:{}", n.num_bits(), short_hash(&n.to_vec()))
}

/// `ec-{curve}:` and the short hash of the uncompressed public point.
pub fn ec_key_id(key: &EcKey<Private>) -> String {
    let curve = match key.group().curve_name() {
        Some(Nid::X9_62_PRIME256V1) => "p256",
        Some(Nid::SECP384R1) => "p384",
        Some(Nid::SECP521R1) => "p521",
        other => panic!("no key id for curve {other:?}"),
    };
    format!("ec-{curve}:{}", short_hash(&ec_public_point(key)))
}

pub fn ed25519_key_id(public: &[u8]) -> String {
    format!("ed25519:{}", short_hash(public))
}

/// `aes-{bits}:` and the first 16 bytes of the unkeyed report fingerprint
/// (HMAC-SHA256 with the tool's public fingerprint key) of the AES key.
pub fn aes_key_id(key: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(b"dumpscrub fingerprint v1").unwrap();
    mac.update(key);
    let tag = mac.finalize().into_bytes();
    format!("aes-{}:{}", key.len() * 8, hex::encode(&tag[..16]))
}

// ---------------------------------------------------------------------------
// Secret parts
// ---------------------------------------------------------------------------

/// The secret parts of an RSA key, big-endian and minimal (as OpenSSL's
/// `BN_bn2bin`).
pub fn rsa_secret_parts(rsa: &Rsa<Private>) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("d", rsa.d().to_vec()),
        ("p", rsa.p().expect("p").to_vec()),
        ("q", rsa.q().expect("q").to_vec()),
        ("dP", rsa.dmp1().expect("dP").to_vec()),
        ("dQ", rsa.dmq1().expect("dQ").to_vec()),
        ("qInv", rsa.iqmp().expect("qInv").to_vec()),
    ]
}

/// Reversed: the little-endian bytes (and limb arrays) of a big-endian number.
pub fn le(be: &[u8]) -> Vec<u8> {
    be.iter().rev().copied().collect()
}

/// Fixed-length big-endian.
pub fn be_padded(n: &BigNumRef, len: usize) -> Vec<u8> {
    n.to_vec_padded(len as i32).expect("number fits its field")
}

/// Fixed-length little-endian.
pub fn le_padded(n: &BigNumRef, len: usize) -> Vec<u8> {
    le(&be_padded(n, len))
}

// ---------------------------------------------------------------------------
// Encoders: keys as Windows, OpenSSH and PKCS#8 v2 structures
// ---------------------------------------------------------------------------

/// CNG `BCRYPT_RSAFULLPRIVATE_BLOB`: `BCRYPT_RSAKEY_BLOB` with magic `RSA3`,
/// then e, n, p, q, dP, dQ, qInv, d, all big-endian.
pub fn cng_rsa_full_private_blob(rsa: &Rsa<Private>) -> Vec<u8> {
    let bits = rsa.n().num_bits() as u32;
    let cb_n = rsa.n().num_bytes() as usize;
    let (p, q) = (rsa.p().unwrap(), rsa.q().unwrap());
    let (cb_p, cb_q) = (p.num_bytes() as usize, q.num_bytes() as usize);
    let e = rsa.e().to_vec();
    let mut out = b"RSA3".to_vec();
    for v in [bits, e.len() as u32, cb_n as u32, cb_p as u32, cb_q as u32] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&e);
    out.extend_from_slice(&be_padded(rsa.n(), cb_n));
    out.extend_from_slice(&be_padded(p, cb_p));
    out.extend_from_slice(&be_padded(q, cb_q));
    out.extend_from_slice(&be_padded(rsa.dmp1().unwrap(), cb_p));
    out.extend_from_slice(&be_padded(rsa.dmq1().unwrap(), cb_q));
    out.extend_from_slice(&be_padded(rsa.iqmp().unwrap(), cb_p));
    out.extend_from_slice(&be_padded(rsa.d(), cb_n));
    out
}

/// CryptoAPI `PRIVATEKEYBLOB`: `BLOBHEADER` (type 7, version 2,
/// `CALG_RSA_KEYX`), `RSAPUBKEY` (magic `RSA2`, bit length, exponent), then
/// n, p, q, dP, dQ, qInv, d, all little-endian.
pub fn capi_private_key_blob(rsa: &Rsa<Private>) -> Vec<u8> {
    let bits = rsa.n().num_bits() as u32;
    let (n8, n16) = (bits as usize / 8, bits as usize / 16);
    let e = u32::from_be_bytes(be_padded(rsa.e(), 4).try_into().unwrap());
    let mut out = vec![0x07, 0x02, 0x00, 0x00];
    out.extend_from_slice(&0x0000_a400u32.to_le_bytes());
    out.extend_from_slice(b"RSA2");
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(&e.to_le_bytes());
    out.extend_from_slice(&le_padded(rsa.n(), n8));
    out.extend_from_slice(&le_padded(rsa.p().unwrap(), n16));
    out.extend_from_slice(&le_padded(rsa.q().unwrap(), n16));
    out.extend_from_slice(&le_padded(rsa.dmp1().unwrap(), n16));
    out.extend_from_slice(&le_padded(rsa.dmq1().unwrap(), n16));
    out.extend_from_slice(&le_padded(rsa.iqmp().unwrap(), n16));
    out.extend_from_slice(&le_padded(rsa.d(), n8));
    out
}

/// Field length of an EC key's curve, in bytes.
pub fn ec_field_len(key: &EcKey<Private>) -> usize {
    (key.group().degree() as usize).div_ceil(8)
}

/// The uncompressed SEC1 public point, `04 ‖ X ‖ Y`.
pub fn ec_public_point(key: &EcKey<Private>) -> Vec<u8> {
    let mut ctx = BigNumContext::new().unwrap();
    key.public_key()
        .to_bytes(key.group(), PointConversionForm::UNCOMPRESSED, &mut ctx)
        .unwrap()
}

/// CNG `BCRYPT_ECCPRIVATE_BLOB` for ECDSA: magic `ECS2` (P-256), `ECS4`
/// (P-384) or `ECS6` (P-521), cbKey, then X, Y and d, big-endian.
pub fn cng_ecdsa_private_blob(key: &EcKey<Private>) -> Vec<u8> {
    let magic: &[u8; 4] = match key.group().curve_name() {
        Some(Nid::X9_62_PRIME256V1) => b"ECS2",
        Some(Nid::SECP384R1) => b"ECS4",
        Some(Nid::SECP521R1) => b"ECS6",
        other => panic!("no CNG magic for {other:?}"),
    };
    let f = ec_field_len(key);
    let point = ec_public_point(key);
    let mut out = magic.to_vec();
    out.extend_from_slice(&(f as u32).to_le_bytes());
    out.extend_from_slice(&point[1..]);
    out.extend_from_slice(&be_padded(key.private_key(), f));
    out
}

/// PKCS#8 v2 (`OneAsymmetricKey`, RFC 8410) of an Ed25519 key, with its
/// public key: the form that can be validated.
pub fn ed25519_pkcs8_v2(seed: &[u8], public: &[u8]) -> Vec<u8> {
    assert_eq!((seed.len(), public.len()), (32, 32));
    let mut out = vec![
        0x30, 0x51, // SEQUENCE, 81 bytes
        0x02, 0x01, 0x01, // version 1 (v2)
        0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, // id-Ed25519
        0x04, 0x22, 0x04, 0x20, // OCTET STRING { OCTET STRING (32) }
    ];
    out.extend_from_slice(seed);
    out.extend_from_slice(&[0x81, 0x21, 0x00]); // [1] publicKey BIT STRING
    out.extend_from_slice(public);
    out
}

/// Base64 in 64-character lines, without armour (a PEM body).
pub fn base64_lines(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    b64.as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// An Ed25519 OpenSSH private key made by `ssh-keygen`.
#[derive(Debug, Clone)]
pub struct OpenSshKey {
    /// The file as written (armoured base64).
    pub text: String,
    /// The decoded `openssh-key-v1` container.
    pub binary: Vec<u8>,
    pub seed: Vec<u8>,
    pub public: Vec<u8>,
    /// Where the private section (`string` contents) lies in `binary`.
    pub private_range: std::ops::Range<usize>,
}

/// Runs `ssh-keygen -t ed25519 -N ''`, or `None` if it is not installed.
pub fn ssh_keygen_ed25519(dir: &Path) -> Option<OpenSshKey> {
    let which = Command::new("which").arg("ssh-keygen").output().ok()?;
    if !which.status.success() {
        return None;
    }
    let path = dir.join("id_ed25519");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(path.with_extension("pub"));
    let status = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "holder@dumpscrub",
            "-f",
        ])
        .arg(&path)
        .stdin(Stdio::null())
        .status()
        .expect("run ssh-keygen");
    assert!(status.success(), "ssh-keygen failed: {status}");
    let text = std::fs::read_to_string(&path).expect("read the OpenSSH key");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(path.with_extension("pub"));
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    let binary = STANDARD.decode(body.trim()).expect("OpenSSH key is base64");
    // openssh-key-v1\0, cipher, kdf, kdf options, key count, public key,
    // private section { check, check, type, public, seed ‖ public, ... }.
    let mut r = SshReader(&binary);
    r.take(15);
    let cipher = r.string();
    assert_eq!(
        cipher, b"none",
        "ssh-keygen -N '' writes an unencrypted key"
    );
    r.string();
    r.string();
    assert_eq!(r.u32(), 1);
    r.string();
    let start = binary.len() - r.0.len() + 4;
    let private_bytes = r.string();
    let private_range = start..start + private_bytes.len();
    let mut private = SshReader(private_bytes);
    let (c1, c2) = (private.u32(), private.u32());
    assert_eq!(c1, c2);
    assert_eq!(private.string(), b"ssh-ed25519");
    let public = private.string().to_vec();
    let pair = private.string();
    assert_eq!(pair.len(), 64);
    assert_eq!(&pair[32..], &public[..]);
    Some(OpenSshKey {
        seed: pair[..32].to_vec(),
        public,
        private_range,
        text,
        binary,
    })
}

struct SshReader<'a>(&'a [u8]);

impl<'a> SshReader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.take(4).try_into().unwrap())
    }
    fn string(&mut self) -> &'a [u8] {
        let n = self.u32() as usize;
        self.take(n)
    }
}

// ---------------------------------------------------------------------------
// Checking outputs
// ---------------------------------------------------------------------------

/// Byte strings that must not be found, each with a label that names it
/// without showing it.
pub struct Needles {
    labels: Vec<String>,
    automaton: aho_corasick::AhoCorasick,
}

impl Needles {
    pub fn new(needles: Vec<(String, Vec<u8>)>) -> Needles {
        assert!(needles.iter().all(|(_, b)| b.len() >= 16));
        let automaton = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::Standard)
            .build(needles.iter().map(|(_, b)| b))
            .expect("build the needle automaton");
        Needles {
            labels: needles.into_iter().map(|(l, _)| l).collect(),
            automaton,
        }
    }

    /// (label, offset) of every needle occurrence in `hay`.
    pub fn find(&self, hay: &[u8]) -> Vec<(String, usize)> {
        self.automaton
            .find_overlapping_iter(hay)
            .map(|m| (self.labels[m.pattern().as_usize()].clone(), m.start()))
            .collect()
    }
}

/// Text forms of a secret a report or log could leak: every 24-character
/// window of its hex (both cases), and every 16-character window of its
/// base64 (standard and URL-safe) at each of the three byte alignments.
pub fn text_windows(secret: &[u8]) -> HashSet<Vec<u8>> {
    let mut out = HashSet::new();
    for h in [hex::encode(secret), hex::encode_upper(secret)] {
        for w in h.as_bytes().windows(24) {
            out.insert(w.to_vec());
        }
    }
    for shift in 0..3 {
        let part = &secret[shift..];
        for b in [STANDARD.encode(part), URL_SAFE_NO_PAD.encode(part)] {
            // The last characters may mix in padding: leave them out.
            let b = &b.as_bytes()[..b.len().saturating_sub(4)];
            for w in b.windows(16) {
                out.insert(w.to_vec());
            }
        }
    }
    out
}

/// Where `text` holds one of `windows`, if anywhere.
pub fn find_window(text: &[u8], windows: &HashSet<Vec<u8>>) -> Option<usize> {
    for len in [16, 24] {
        for (i, w) in text.windows(len).enumerate() {
            if windows.contains(w) {
                return Some(i);
            }
        }
    }
    None
}

/// The parts of a dump that must not change: stream directory, threads,
/// modules, memory regions, memory info, system info (as in e2e_scrub).
#[derive(Debug, PartialEq)]
pub struct Shape {
    pub directory: Vec<(u32, u32, u32)>,
    pub raw_directory: Vec<u8>,
    pub threads: Vec<(u32, u64, u32, u32, u32, Vec<u8>)>,
    pub modules: Vec<(String, u64, u64)>,
    pub memory: Vec<(u64, u64, u32)>,
    pub memory_info: Vec<(u64, u64, u32)>,
    pub system: String,
}

fn u32_at(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(d[at..at + 4].try_into().unwrap())
}

pub fn shape(data: &[u8]) -> Shape {
    let dump = Minidump::read(data).expect("the dump parses with the minidump crate");
    let mut directory: Vec<_> = dump
        .all_streams()
        .map(|d| (d.stream_type, d.location.data_size, d.location.rva))
        .collect();
    directory.sort_unstable();
    let count = u32_at(data, 8) as usize;
    let dir = u32_at(data, 12) as usize;
    let mut raw_directory = data[..32].to_vec();
    raw_directory.extend_from_slice(&data[dir..dir + 12 * count]);
    let threads = dump
        .get_stream::<MinidumpThreadList>()
        .expect("ThreadList")
        .threads
        .iter()
        .map(|t| {
            let ctx = t.raw.thread_context;
            (
                t.raw.thread_id,
                t.raw.stack.start_of_memory_range,
                t.raw.stack.memory.data_size,
                t.raw.stack.memory.rva,
                ctx.rva,
                data[ctx.rva as usize..(ctx.rva + ctx.data_size) as usize].to_vec(),
            )
        })
        .collect();
    let modules = dump
        .get_stream::<MinidumpModuleList>()
        .expect("ModuleList")
        .iter()
        .map(|m| {
            (
                m.name.clone(),
                m.raw.base_of_image,
                m.raw.size_of_image as u64,
            )
        })
        .collect();
    let memory = dump
        .get_stream::<MinidumpMemoryList>()
        .expect("MemoryList")
        .iter()
        .map(|m| (m.base_address, m.size, m.desc.memory.rva))
        .collect();
    let memory_info = dump
        .get_stream::<MinidumpMemoryInfoList>()
        .expect("MemoryInfoList")
        .iter()
        .map(|m| (m.raw.base_address, m.raw.region_size, m.raw.protection))
        .collect();
    let si = dump.get_stream::<MinidumpSystemInfo>().expect("SystemInfo");
    Shape {
        directory,
        raw_directory,
        threads,
        modules,
        memory,
        memory_info,
        system: format!("{:?} {:?} {:?}", si.os, si.cpu, si.raw),
    }
}

/// (thread id, [(instruction, trust)]) for every thread, as unwound by
/// minidump-processor without symbols.
pub fn unwind(data: &[u8]) -> Vec<(u32, Vec<(u64, String)>)> {
    let dump = Minidump::read(data).expect("parses");
    let provider = minidump_unwind::MultiSymbolProvider::new();
    let state =
        super::block_on(minidump_processor::process_minidump(&dump, &provider)).expect("processes");
    state
        .threads
        .iter()
        .map(|t| {
            (
                t.thread_id,
                t.frames
                    .iter()
                    .map(|f| (f.instruction, format!("{:?}", f.trust)))
                    .collect(),
            )
        })
        .collect()
}

/// The bytes of the dump's memory at `vaddr`, as the `minidump` crate reads
/// them, if that address was captured.
pub fn memory_at(data: &[u8], vaddr: u64, len: usize) -> Option<Vec<u8>> {
    let dump = Minidump::read(data).ok()?;
    let mem = dump.get_stream::<MinidumpMemoryList>().ok()?;
    let region = mem.memory_at_address(vaddr)?;
    let off = (vaddr - region.base_address) as usize;
    region.bytes.get(off..off + len).map(<[u8]>::to_vec)
}
