//! End-to-end tests of private-key material, with real keys made by a real
//! crypto library (OpenSSL, through the `openssl` crate) at test time, held
//! by a live process (see `support::keys`), dumped with `minidump-writer`
//! and scrubbed by the `dumpscrub` binary.
//!
//! The holder keeps keys in every layout the key detectors know (PKCS#1,
//! PKCS#8, SEC1 and encrypted PKCS#8 DER, base64 and hex text of DER, CNG
//! and CryptoAPI blobs, OpenSSH containers), and really uses OpenSSL: an RSA
//! key loaded from DER whose DER is then wiped (only OpenSSL's BIGNUMs are
//! left), and AES keys expanded by `AES_set_*_key` and by EVP (AES-NI).
//! Two more RSA keys are held only as little-endian limbs of n and of one
//! prime, which no detector can see without their public keys: known-key
//! mode's case (JWKS and X.509 certificate).
//!
//! False positives: seeded random bytes, a dump of a process holding
//! compressed and encrypted data, and the public dumps of
//! `fixtures/public/`.
//!
//! The size of the random-bytes test is 64 MiB by default, because the
//! debug binary scans about 5 MB/s with every key detector on (256 MiB
//! would take about a minute); `DUMPSCRUB_RANDOM_MIB=256` or the ignored
//! `random_bytes_256_mib_yield_no_high_confidence_key_finding` runs the
//! full size.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use openssl::bn::BigNumRef;
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use serde::Deserialize;
use serde_json::Value;

use support::keys::{self as k, HolderDump, HolderOp, Needles};
use support::{dumpscrub, random_bytes, utf16le, Run};

/// The key holder process (see `support::keys`): a no-op in a normal run.
#[test]
fn key_holder_process() {
    k::key_holder_main();
}

const RSA_DER: &str = "rsa-private-key-der";
const RSA_BLOB: &str = "rsa-private-key-blob";
const EC_DER: &str = "ec-private-key-der";
const EC_BLOB: &str = "ec-private-key-blob";
const ED25519_DER: &str = "ed25519-private-key-der";
const OPENSSH: &str = "openssh-private-key";

/// Rules of the key-material detectors, known-key mode and the sweep.
const KEY_RULES: &[&str] = &[
    "rsa-private-key-der",
    "ec-private-key-der",
    "ed25519-private-key-der",
    "x25519-private-key-der",
    "encrypted-private-key-der",
    "private-key-der",
    "openssh-private-key",
    "rsa-private-key-blob",
    "ec-private-key-blob",
    "aes-key-schedule",
    "rsa-private-key-bignum",
    "ec-private-key-bignum",
    "known-key-private-part",
    "known-secret",
    "swept-key-material",
];

// ---------------------------------------------------------------------------
// What is planted
// ---------------------------------------------------------------------------

/// A key structure planted at a known place in a heap buffer.
#[derive(Debug, Clone)]
struct Plant {
    what: String,
    rule: &'static str,
    form: &'static str,
    validated: bool,
    /// The id the report must name the key by.
    key_id: String,
    /// The finding spans exactly the planted bytes.
    exact: bool,
    /// Heap buffer, offset in it, and the planted bytes.
    buf: usize,
    off: usize,
    bytes: Vec<u8>,
    /// The part of `bytes` that must be zero in the output (bytes listed in
    /// `zero_except` may stay: line breaks between base64 lines).
    zero: std::ops::Range<usize>,
    zero_except: &'static [u8],
    vaddr: u64,
}

impl Plant {
    /// A validated key whose finding spans exactly `bytes`, all zeroed.
    fn new(
        what: &str,
        rule: &'static str,
        form: &'static str,
        key_id: String,
        bytes: Vec<u8>,
    ) -> Plant {
        Plant {
            what: what.to_string(),
            rule,
            form,
            validated: true,
            key_id,
            exact: true,
            buf: 0,
            off: 0,
            zero: 0..bytes.len(),
            zero_except: &[],
            bytes,
            vaddr: 0,
        }
    }
}

/// A key whose secret parts must not survive anywhere in the output.
#[derive(Debug, Clone)]
struct Secret {
    what: String,
    /// (part name, bytes): big-endian for numbers, raw for byte strings.
    parts: Vec<(String, Vec<u8>)>,
    /// Numbers are also looked for little-endian, and as hex text.
    numeric: bool,
}

impl Secret {
    fn rsa(what: &str, rsa: &Rsa<Private>) -> Secret {
        Secret {
            what: what.to_string(),
            parts: k::rsa_secret_parts(rsa)
                .into_iter()
                .map(|(n, b)| (n.to_string(), b))
                .collect(),
            numeric: true,
        }
    }

    fn bytes(what: &str, part: &str, b: &[u8], numeric: bool) -> Secret {
        Secret {
            what: what.to_string(),
            parts: vec![(part.to_string(), b.to_vec())],
            numeric,
        }
    }

    /// Every byte string of this key's secret parts that a scrubbed dump
    /// must not hold.
    fn needles(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for (name, be) in &self.parts {
            let label = |form: &str| format!("{} {name} ({form})", self.what);
            out.push((label("big-endian"), be.clone()));
            if self.numeric {
                out.push((label("little-endian"), k::le(be)));
                out.push((label("hex"), hex::encode(be).into_bytes()));
                out.push((label("HEX"), hex::encode_upper(be).into_bytes()));
            }
        }
        out
    }
}

/// An AES key expanded by OpenSSL in the holder, and planted raw.
#[derive(Debug, Clone)]
struct AesPlant {
    what: String,
    id: String,
    key: Vec<u8>,
    /// The schedule form the report must name (without `-wordswapped`).
    form: &'static str,
    raw_buf: usize,
    raw_off: usize,
    raw_vaddr: u64,
    /// EVP schedules depend on AES-NI; checked only where the CPU has it.
    needs_aesni: bool,
}

/// An RSA key held only as little-endian limbs of n and of one prime, p
/// about 8 KiB after n: found only by known-key mode.
#[derive(Debug, Clone)]
struct LimbsKey {
    what: String,
    id: String,
    secret: Secret,
    /// The planted prime, little-endian, and where it is (a buffer offset
    /// until the holder has reported its addresses, as `n_vaddr`).
    prime_le: Vec<u8>,
    prime_vaddr: u64,
    n_le: Vec<u8>,
    n_vaddr: u64,
    buf: usize,
}

struct Fixture {
    holder: HolderDump,
    plants: Vec<Plant>,
    /// Keys whose every secret part must be gone after a plain scrub.
    secrets: Vec<Secret>,
    /// The OpenSSL-loaded key whose DER was wiped.
    wiped: Secret,
    wiped_id: String,
    wiped_der: Vec<u8>,
    aes: Vec<AesPlant>,
    /// The keys held only as limbs, for `--known-keys` (JWKS, certificate).
    jwks_key: LimbsKey,
    cert_key: LimbsKey,
    jwks: PathBuf,
    cert: PathBuf,
    secrets_file: PathBuf,
    /// (text, planted vaddrs ASCII / UTF-16LE) and (binary, vaddr).
    known_text: String,
    known_text_vaddrs: [u64; 2],
    known_bin: Vec<u8>,
    known_bin_vaddr: u64,
    openssh: bool,
}

/// Heap buffers for the holder: random bytes around each planted value.
#[derive(Default)]
struct Builder {
    ops: Vec<HolderOp>,
    buffers: usize,
    plants: Vec<Plant>,
}

impl Builder {
    /// A buffer of `pad` random bytes, `data`, a NUL and random bytes.
    /// Returns (buffer index, offset of `data`).
    fn heap(&mut self, pad: usize, data: &[u8]) -> (usize, usize) {
        let mut b = random_bytes(pad);
        b.extend_from_slice(data);
        b.push(0);
        b.extend_from_slice(&random_bytes(31));
        self.ops.push(HolderOp::Heap(b));
        self.buffers += 1;
        (self.buffers - 1, pad)
    }

    /// Plants `p` in a buffer of its own, `pad` bytes in.
    fn plant(&mut self, pad: usize, mut p: Plant) -> &mut Plant {
        (p.buf, p.off) = self.heap(pad, &p.bytes);
        self.plants.push(p);
        self.plants.last_mut().unwrap()
    }

    /// A buffer laid out exactly as given (offsets are the caller's).
    fn heap_exact(&mut self, bytes: Vec<u8>) -> usize {
        self.ops.push(HolderOp::Heap(bytes));
        self.buffers += 1;
        self.buffers - 1
    }
}

fn rsa2048() -> Rsa<Private> {
    Rsa::generate(2048).expect("OpenSSL makes an RSA key")
}

fn ec_key(nid: Nid) -> EcKey<Private> {
    let group = EcGroup::from_curve_name(nid).expect("curve");
    EcKey::generate(&group).expect("OpenSSL makes an EC key")
}

fn pkcs8(rsa: &Rsa<Private>) -> Vec<u8> {
    PKey::from_rsa(rsa.clone())
        .unwrap()
        .private_key_to_pkcs8()
        .unwrap()
}

fn ec_pkcs8(ec: &EcKey<Private>) -> Vec<u8> {
    PKey::from_ec_key(ec.clone())
        .unwrap()
        .private_key_to_pkcs8()
        .unwrap()
}

fn aes_ni() -> bool {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|c| {
            c.lines()
                .any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "aes"))
        })
        .unwrap_or(false)
}

fn scratch() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| support::scratch_dir("keys_e2e")).clone()
}

/// Lays out an RSA key as little-endian n, 8 KiB of random bytes, then a
/// little-endian prime, all 8-byte aligned (as limb arrays are).
fn limbs_key(b: &mut Builder, what: &str, rsa: &Rsa<Private>, prime: &BigNumRef) -> LimbsKey {
    let n_le = k::le(&rsa.n().to_vec());
    let prime_le = k::le(&prime.to_vec());
    let n_off = 64;
    let prime_off = n_off + n_le.len() + 8192;
    assert_eq!(prime_off % 8, 0);
    let mut bytes = random_bytes(64);
    bytes.extend_from_slice(&n_le);
    bytes.extend_from_slice(&random_bytes(8192));
    bytes.extend_from_slice(&prime_le);
    bytes.extend_from_slice(&random_bytes(64));
    let buf = b.heap_exact(bytes);
    LimbsKey {
        what: what.to_string(),
        id: k::rsa_key_id(rsa.n()),
        secret: Secret::rsa(what, rsa),
        prime_le,
        prime_vaddr: prime_off as u64,
        n_le,
        n_vaddr: n_off as u64,
        buf,
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(make_fixture)
}

type RsaEncoder = fn(&Rsa<Private>) -> Vec<u8>;
type EcEncoder = fn(&EcKey<Private>) -> Vec<u8>;

fn make_fixture() -> Fixture {
    let dir = scratch();
    let mut b = Builder::default();
    let mut secrets: Vec<Secret> = Vec::new();

    // --- RSA-2048 in DER, text and Windows blobs. Offsets alternate
    // between odd and 4-aligned (heap buffers are 16-aligned). ---
    let rsa_layouts: [(&str, &str, &str, usize, RsaEncoder); 6] = [
        ("RSA-2048 PKCS#1 DER", RSA_DER, "pkcs1-der", 13, |r| {
            r.private_key_to_der().unwrap()
        }),
        ("RSA-2048 PKCS#8 DER", RSA_DER, "pkcs8-der", 20, pkcs8),
        (
            "RSA-2048 PKCS#8 base64 (64-character lines, no armour)",
            RSA_DER,
            "pkcs8-der-base64",
            37,
            |r| k::base64_lines(&pkcs8(r)).into_bytes(),
        ),
        (
            "RSA-2048 PKCS#1 DER as hex",
            RSA_DER,
            "pkcs1-der-hex",
            44,
            |r| hex::encode(r.private_key_to_der().unwrap()).into_bytes(),
        ),
        (
            "RSA-2048 CNG BCRYPT_RSAFULLPRIVATE_BLOB",
            RSA_BLOB,
            "cng-rsa-full-private-blob",
            7,
            k::cng_rsa_full_private_blob,
        ),
        (
            "RSA-2048 CryptoAPI PRIVATEKEYBLOB",
            RSA_BLOB,
            "capi-rsa-privatekeyblob",
            64,
            k::capi_private_key_blob,
        ),
    ];
    for (what, rule, form, pad, encode) in rsa_layouts {
        let r = rsa2048();
        let p = b.plant(
            pad,
            Plant::new(what, rule, form, k::rsa_key_id(r.n()), encode(&r)),
        );
        if form.ends_with("-base64") {
            p.zero_except = b"\n";
        }
        secrets.push(Secret::rsa(what, &r));
    }

    // Encrypted PKCS#8: found, not validated; its ciphertext goes.
    let enc = PKey::from_rsa(rsa2048())
        .unwrap()
        .private_key_to_pkcs8_passphrase(
            openssl::symm::Cipher::aes_256_cbc(),
            support::alnum(16).as_bytes(),
        )
        .unwrap();
    let what = "RSA-2048 encrypted PKCS#8 DER (PBES2, AES-256-CBC)";
    secrets.push(Secret::bytes(
        what,
        "ciphertext",
        &enc[enc.len() - 48..],
        false,
    ));
    let p = Plant::new(
        what,
        "encrypted-private-key-der",
        "pkcs8-encrypted-der",
        String::new(),
        enc,
    );
    b.plant(1, p).validated = false;

    // --- EC P-256 and P-384: SEC1, PKCS#8, CNG ECDSA blob ---
    let ec_layouts: [(&str, &str, &str, usize, EcEncoder); 3] = [
        ("SEC1 DER", EC_DER, "sec1-der", 21, |e| {
            e.private_key_to_der().unwrap()
        }),
        ("PKCS#8 DER", EC_DER, "pkcs8-der", 28, ec_pkcs8),
        (
            "CNG BCRYPT_ECCPRIVATE_BLOB",
            EC_BLOB,
            "",
            3,
            k::cng_ecdsa_private_blob,
        ),
    ];
    for (nid, curve, blob_form) in [
        (
            Nid::X9_62_PRIME256V1,
            "P-256",
            "cng-ecdsa-p256-private-blob",
        ),
        (Nid::SECP384R1, "P-384", "cng-ecdsa-p384-private-blob"),
    ] {
        for (layout, rule, form, pad, encode) in ec_layouts {
            let e = ec_key(nid);
            let what = format!("EC {curve} {layout}");
            let form = if form.is_empty() { blob_form } else { form };
            b.plant(
                pad,
                Plant::new(&what, rule, form, k::ec_key_id(&e), encode(&e)),
            );
            secrets.push(Secret::bytes(&what, "d", &e.private_key().to_vec(), true));
        }
    }

    // --- Ed25519 PKCS#8: v1 as OpenSSL writes it (no public key: nothing
    // to validate, so high confidence but not validated), and v2 with the
    // public key ---
    for (v2, pad) in [(false, 11), (true, 32)] {
        let ed = PKey::generate_ed25519().unwrap();
        let (seed, public) = (ed.raw_private_key().unwrap(), ed.raw_public_key().unwrap());
        let (what, der) = if v2 {
            (
                "Ed25519 PKCS#8 v2 DER (with public key)",
                k::ed25519_pkcs8_v2(&seed, &public),
            )
        } else {
            (
                "Ed25519 PKCS#8 v1 DER (OpenSSL)",
                ed.private_key_to_pkcs8().unwrap(),
            )
        };
        let p = Plant::new(
            what,
            ED25519_DER,
            "pkcs8-der",
            k::ed25519_key_id(&public),
            der,
        );
        b.plant(pad, p).validated = v2;
        secrets.push(Secret::bytes(what, "seed", &seed, false));
    }

    // --- OpenSSH (ssh-keygen), as the file's text and as the container ---
    let openssh = match k::ssh_keygen_ed25519(&dir) {
        Some(key) => {
            let id = k::ed25519_key_id(&key.public);
            let what = "OpenSSH Ed25519 key file text";
            let text = Plant::new(
                what,
                OPENSSH,
                "openssh-key-v1-base64",
                id.clone(),
                key.text.clone().into_bytes(),
            );
            let p = b.plant(17, text);
            p.exact = false;
            p.zero = key.text.find('\n').unwrap() + 1..key.text.find("-----END").unwrap();
            p.zero_except = b"\n";
            let what = "OpenSSH Ed25519 openssh-key-v1 container";
            let p = b.plant(
                36,
                Plant::new(what, OPENSSH, "openssh-key-v1", id, key.binary.clone()),
            );
            p.exact = false;
            p.zero = key.private_range.clone();
            secrets.push(Secret::bytes("OpenSSH Ed25519", "seed", &key.seed, false));
            true
        }
        // scripts/setup.sh installs ssh-keygen; without it the OpenSSH
        // layout would go untested, so that fails rather than skips.
        None => panic!("ssh-keygen is not installed: run scripts/setup.sh"),
    };

    // --- An RSA key OpenSSL loads from DER, whose DER is then wiped ---
    let w = rsa2048();
    let wiped_der = w.private_key_to_der().unwrap();
    b.ops.push(HolderOp::OpensslRsa(wiped_der.clone()));
    let wiped = Secret::rsa("RSA-2048 loaded by OpenSSL (DER wiped)", &w);

    // --- AES keys expanded by OpenSSL, each also planted raw ---
    let mut aes = Vec::new();
    for (what, len, form, pad, evp, decrypt) in [
        (
            "AES-128 AES_set_encrypt_key",
            16,
            "aes-128-schedule",
            5,
            false,
            false,
        ),
        (
            "AES-192 AES_set_decrypt_key",
            24,
            "aes-192-decryption-schedule",
            8,
            false,
            true,
        ),
        (
            "AES-256 EVP encrypt",
            32,
            "aes-256-schedule",
            9,
            true,
            false,
        ),
        (
            "AES-128 EVP decrypt",
            16,
            "aes-128-decryption-schedule",
            12,
            true,
            true,
        ),
    ] {
        let key = random_bytes(len);
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&random_bytes(16));
        b.ops.push(match (evp, decrypt) {
            (false, false) => HolderOp::AesEncrypt(key.clone()),
            (false, true) => HolderOp::AesDecrypt(key.clone()),
            (true, false) => HolderOp::EvpEncrypt {
                key: key.clone(),
                iv,
            },
            (true, true) => HolderOp::EvpDecrypt {
                key: key.clone(),
                iv,
            },
        });
        let (raw_buf, raw_off) = b.heap(pad, &key);
        aes.push(AesPlant {
            what: what.to_string(),
            id: k::aes_key_id(&key),
            key,
            form,
            raw_buf,
            raw_off,
            raw_vaddr: 0,
            needs_aesni: evp,
        });
    }

    // --- Keys held only as limbs: known-key mode ---
    let r = rsa2048();
    let mut jwks_key = limbs_key(&mut b, "RSA-2048 limbs (JWKS)", &r, r.p().unwrap());
    let jwks = dir.join("jwks.json");
    let doc = serde_json::json!({
        "keys": [{
            "kty": "RSA",
            "kid": "dumpscrub-test",
            "use": "sig",
            "alg": "RS256",
            "n": support::base64url(&r.n().to_vec()),
            "e": support::base64url(&r.e().to_vec()),
        }]
    });
    std::fs::write(&jwks, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();

    let r = rsa2048();
    let mut cert_key = limbs_key(&mut b, "RSA-2048 limbs (certificate)", &r, r.q().unwrap());
    let cert = dir.join("cert.pem");
    std::fs::write(&cert, self_signed_cert(&r)).unwrap();

    // --- Known secrets: a text value (ASCII and UTF-16LE) and 32 bytes ---
    let known_text = support::alnum(28);
    let known_bin = random_bytes(32);
    let (t_buf, t_off) = b.heap(19, known_text.as_bytes());
    let (w_buf, w_off) = b.heap(24, &utf16le(&known_text));
    let (bin_buf, bin_off) = b.heap(15, &known_bin);
    let secrets_file = dir.join("secrets.txt");
    std::fs::write(
        &secrets_file,
        format!("{known_text}\nhex:{}\n", hex::encode(&known_bin)),
    )
    .unwrap();

    // --- Run and dump the holder ---
    let holder = k::run_key_holder(&b.ops, &dir.join("keys.dmp"));
    let addr = |buf: usize, off: usize| holder.buffers[buf].0 + off as u64;
    let mut plants = b.plants;
    for p in &mut plants {
        p.vaddr = addr(p.buf, p.off);
    }
    for a in &mut aes {
        a.raw_vaddr = addr(a.raw_buf, a.raw_off);
    }
    for l in [&mut jwks_key, &mut cert_key] {
        l.n_vaddr = addr(l.buf, l.n_vaddr as usize);
        l.prime_vaddr = addr(l.buf, l.prime_vaddr as usize);
    }
    Fixture {
        plants,
        secrets,
        wiped,
        wiped_id: k::rsa_key_id(w.n()),
        wiped_der,
        aes,
        jwks_key,
        cert_key,
        jwks,
        cert,
        secrets_file,
        known_text_vaddrs: [addr(t_buf, t_off), addr(w_buf, w_off)],
        known_text,
        known_bin_vaddr: addr(bin_buf, bin_off),
        known_bin,
        openssh,
        holder,
    }
}

/// A self-signed X.509 certificate for `rsa`, PEM.
fn self_signed_cert(rsa: &Rsa<Private>) -> Vec<u8> {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::hash::MessageDigest;
    use openssl::x509::{X509Builder, X509NameBuilder};
    let key = PKey::from_rsa(rsa.clone()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "signing.dumpscrub.test")
        .unwrap();
    let name = name.build();
    let mut x = X509Builder::new().unwrap();
    x.set_version(2).unwrap();
    let serial = BigNum::from_u32(0x1234_5678)
        .unwrap()
        .to_asn1_integer()
        .unwrap();
    x.set_serial_number(&serial).unwrap();
    x.set_subject_name(&name).unwrap();
    x.set_issuer_name(&name).unwrap();
    x.set_pubkey(&key).unwrap();
    x.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    x.set_not_after(&Asn1Time::days_from_now(365).unwrap())
        .unwrap();
    x.sign(&key, MessageDigest::sha256()).unwrap();
    x.build().to_pem().unwrap()
}

// ---------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
struct Finding {
    rule: String,
    confidence: String,
    encoding: String,
    offset: u64,
    length: u64,
    action: String,
    #[serde(default)]
    validated: bool,
    key: Option<String>,
    form: Option<String>,
    virtual_address: Option<String>,
}

impl Finding {
    fn vaddr(&self) -> Option<u64> {
        self.virtual_address
            .as_deref()
            .map(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).expect("hex address"))
    }

    /// Overlaps the virtual range `[at, at + len)`.
    fn overlaps(&self, at: u64, len: u64) -> bool {
        self.vaddr()
            .is_some_and(|v| v < at + len && at < v + self.length)
    }

    fn is_key_rule(&self) -> bool {
        KEY_RULES.contains(&self.rule.as_str())
    }
}

fn findings(report: &Value) -> Vec<Finding> {
    serde_json::from_value(report["files"][0]["findings"].clone())
        .unwrap_or_else(|e| panic!("findings do not have the documented shape: {e}"))
}

/// One `dumpscrub scrub` of the fixture dump, with its report on stdout.
struct Scrubbed {
    input: Vec<u8>,
    output: Vec<u8>,
    run: Run,
    findings: Vec<Finding>,
}

fn scrub(name: &str, extra: &[OsString]) -> Scrubbed {
    let fx = fixture();
    let dir = scratch().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("scrubbed.dmp");
    let _ = std::fs::remove_file(&out);
    let mut args: Vec<OsString> = vec![
        "scrub".into(),
        fx.holder.dump.clone().into(),
        "-o".into(),
        out.clone().into(),
        "--report".into(),
        "-".into(),
    ];
    args.extend(extra.iter().cloned());
    let run = dumpscrub(&args);
    assert_eq!(
        run.code,
        Some(0),
        "scrub {name} failed: {}",
        run.stderr_text()
    );
    let findings = findings(&run.json());
    let output = std::fs::read(&out).expect("scrub wrote its output");
    Scrubbed {
        input: std::fs::read(&fx.holder.dump).unwrap(),
        output,
        run,
        findings,
    }
}

/// The plain scrub (no known keys or secrets).
fn baseline() -> &'static Scrubbed {
    static S: OnceLock<Scrubbed> = OnceLock::new();
    S.get_or_init(|| scrub("baseline", &[]))
}

fn known_jwks() -> &'static Scrubbed {
    static S: OnceLock<Scrubbed> = OnceLock::new();
    S.get_or_init(|| {
        scrub(
            "known-jwks",
            &["--known-keys".into(), fixture().jwks.clone().into()],
        )
    })
}

fn known_cert_and_secrets() -> &'static Scrubbed {
    static S: OnceLock<Scrubbed> = OnceLock::new();
    S.get_or_init(|| {
        let fx = fixture();
        scrub(
            "known-cert-secrets",
            &[
                "--known-keys".into(),
                fx.cert.clone().into(),
                "--known-secrets".into(),
                fx.secrets_file.clone().into(),
            ],
        )
    })
}

fn describe(f: &Finding) -> String {
    format!(
        "{} {} {} conf={} validated={} key={:?} form={:?} at {:?}+{} ({})",
        f.rule,
        f.encoding,
        f.action,
        f.confidence,
        f.validated,
        f.key,
        f.form,
        f.virtual_address,
        f.length,
        f.offset
    )
}

/// Fails listing every surviving copy (by label and offset, never value).
fn assert_none_survive(what: &str, hay: &[u8], needles: Vec<(String, Vec<u8>)>) {
    let found = Needles::new(needles).find(hay);
    let mut by_label: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (l, at) in found {
        by_label.entry(l).or_default().push(at);
    }
    assert!(
        by_label.is_empty(),
        "{what}: secret parts survive:\n{}",
        by_label
            .iter()
            .map(|(l, at)| format!("  {l} at {at:x?}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Every secret of every key a plain scrub must remove.
fn baseline_needles() -> Vec<(String, Vec<u8>)> {
    let fx = fixture();
    let mut v: Vec<(String, Vec<u8>)> = fx.secrets.iter().flat_map(Secret::needles).collect();
    v.extend(fx.wiped.needles());
    for a in &fx.aes {
        if !a.needs_aesni || aes_ni() {
            v.push((format!("{} key", a.what), a.key.clone()));
        }
    }
    v
}

/// Fails if a run's stdout or stderr holds hex or base64 of a secret part.
fn assert_run_clean(what: &str, run: &Run) {
    let fx = fixture();
    let mut all: Vec<&Secret> = fx.secrets.iter().collect();
    all.push(&fx.wiped);
    all.push(&fx.jwks_key.secret);
    all.push(&fx.cert_key.secret);
    let mut windows = HashSet::new();
    for s in all {
        for (_, be) in &s.parts {
            windows.extend(k::text_windows(be));
            if s.numeric {
                windows.extend(k::text_windows(&k::le(be)));
            }
        }
    }
    for a in &fx.aes {
        windows.extend(k::text_windows(&a.key));
    }
    windows.extend(k::text_windows(&fx.known_bin));
    windows.extend(k::text_windows(fx.known_text.as_bytes()));
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        if let Some(at) = k::find_window(text, &windows) {
            panic!("{what}: {name} holds hex or base64 of a secret part at byte {at}");
        }
        assert!(
            !support::contains(text, fx.known_text.as_bytes()),
            "{what}: {name} holds the known secret"
        );
    }
}

// ---------------------------------------------------------------------------
// The generated dump
// ---------------------------------------------------------------------------

#[test]
fn generated_dump_holds_the_planted_keys() {
    let fx = fixture();
    let data = std::fs::read(&fx.holder.dump).unwrap();
    for p in &fx.plants {
        assert_eq!(
            k::memory_at(&data, p.vaddr, p.bytes.len()).as_deref(),
            Some(&p.bytes[..]),
            "{} is not in the dump at {:#x}",
            p.what,
            p.vaddr
        );
        assert!(
            p.vaddr % 2 == 1 || p.vaddr % 4 == 0,
            "{} at {:#x}",
            p.what,
            p.vaddr
        );
    }
    assert!(fx.plants.iter().any(|p| p.vaddr % 2 == 1));
    for a in &fx.aes {
        assert_eq!(
            k::memory_at(&data, a.raw_vaddr, a.key.len()).as_deref(),
            Some(&a.key[..]),
            "{} raw key",
            a.what
        );
    }
    for l in [&fx.jwks_key, &fx.cert_key] {
        assert_eq!(
            k::memory_at(&data, l.n_vaddr, l.n_le.len()).as_deref(),
            Some(&l.n_le[..])
        );
        assert_eq!(
            k::memory_at(&data, l.prime_vaddr, l.prime_le.len()).as_deref(),
            Some(&l.prime_le[..])
        );
        assert_eq!(l.prime_vaddr % 8, 0);
    }
    // The wiped key: its DER is gone, OpenSSL's little-endian limbs are there.
    assert!(
        !support::contains(&data, &fx.wiped_der[..64]),
        "the DER of the OpenSSL-loaded key was not wiped"
    );
    for (name, be) in &fx.wiped.parts {
        if ["d", "p", "q"].contains(&name.as_str()) {
            assert!(
                support::contains(&data, &k::le(be)),
                "OpenSSL's BIGNUM of {name} is not in the dump: the holder's heap was not captured"
            );
        }
    }
    let size = data.len();
    assert!(
        size < 96 << 20,
        "the dump is {size} bytes: keep it to tens of MiB"
    );
    eprintln!(
        "key dump: {size} bytes, {} regions, {} planted structures (OpenSSH: {})",
        fx.holder.regions.len(),
        fx.plants.len(),
        fx.openssh
    );
}

// ---------------------------------------------------------------------------
// A plain scrub
// ---------------------------------------------------------------------------

#[test]
fn scrub_succeeds_and_leaves_the_input_alone() {
    let b = baseline();
    assert_eq!(b.output.len(), b.input.len());
    assert_ne!(b.output, b.input);
    assert_eq!(
        std::fs::read(&fixture().holder.dump).unwrap(),
        b.input,
        "the input was modified"
    );
}

#[test]
fn no_secret_part_of_any_planted_key_survives() {
    let b = baseline();
    // Sanity: every secret part is in the input in some form (but for the
    // base64 key, whose parts are only there as base64 text).
    let needles = baseline_needles();
    let group = |l: &str| l.rsplit_once(" (").map_or(l, |(g, _)| g).to_string();
    let in_input: BTreeSet<String> = Needles::new(needles.clone())
        .find(&b.input)
        .into_iter()
        .map(|(l, _)| group(&l))
        .collect();
    for (l, _) in needles.iter().filter(|(l, _)| !l.contains("base64")) {
        assert!(
            in_input.contains(&group(l)),
            "the input does not hold {}",
            group(l)
        );
    }
    assert_none_survive("plain scrub output", &b.output, needles);
}

#[test]
fn every_layout_is_reported_with_its_rule() {
    let fx = fixture();
    let b = baseline();
    let mut failures = Vec::new();
    for p in &fx.plants {
        let len = p.bytes.len() as u64;
        let near: Vec<&Finding> = b
            .findings
            .iter()
            .filter(|f| f.overlaps(p.vaddr, len))
            .collect();
        let ok = near.iter().any(|f| {
            f.rule == p.rule
                && f.validated == p.validated
                && f.form.as_deref() == Some(p.form)
                && f.action == "redacted"
                && (p.key_id.is_empty() || f.key.as_deref() == Some(p.key_id.as_str()))
                && (!p.exact || (f.vaddr() == Some(p.vaddr) && f.length == len))
        });
        if !ok {
            failures.push(format!(
                "{} at {:#x}+{len}: want {} form={} validated={} key={} exact={}; found:\n{}",
                p.what,
                p.vaddr,
                p.rule,
                p.form,
                p.validated,
                p.key_id,
                p.exact,
                near.iter()
                    .map(|f| format!("    {}", describe(f)))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
        // Validated keys are high confidence; unvalidated structures keep
        // their structural confidence.
        if p.validated {
            assert!(
                near.iter()
                    .any(|f| f.rule == p.rule && f.confidence == "high"),
                "{}: no high-confidence {} finding",
                p.what,
                p.rule
            );
        }
    }
    assert!(
        failures.is_empty(),
        "layouts not reported as expected:\n{}",
        failures.join("\n")
    );
}

#[test]
fn planted_structures_are_zeroed_in_the_output() {
    let fx = fixture();
    let b = baseline();
    let mut failures = Vec::new();
    for p in &fx.plants {
        let out = k::memory_at(&b.output, p.vaddr, p.bytes.len()).expect("still mapped");
        let left = out[p.zero.clone()]
            .iter()
            .filter(|&&c| c != 0 && !p.zero_except.contains(&c))
            .count();
        if left > 0 {
            failures.push(format!(
                "{}: {left} of {} bytes not zeroed",
                p.what,
                p.zero.len()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn openssl_loaded_key_with_wiped_der_is_found_and_gone() {
    let fx = fixture();
    let b = baseline();
    let mine: Vec<&Finding> = b
        .findings
        .iter()
        .filter(|f| f.key.as_deref() == Some(fx.wiped_id.as_str()))
        .collect();
    assert!(
        mine.iter().any(|f| f.rule == "rsa-private-key-bignum"
            && f.validated
            && f.confidence == "high"
            && f.form.as_deref() == Some("openssl-bignum-limbs")),
        "the OpenSSL-held key {} is not found by the bignum detector; its findings: {:#?}",
        fx.wiped_id,
        mine.iter().map(|f| describe(f)).collect::<Vec<_>>()
    );
    assert_none_survive(
        "plain scrub output (OpenSSL-held key)",
        &b.output,
        fx.wiped.needles(),
    );
}

#[test]
fn aes_schedules_made_by_openssl_are_found_and_their_keys_gone() {
    let fx = fixture();
    let b = baseline();
    let have_aesni = aes_ni();
    let mut failures = Vec::new();
    for a in &fx.aes {
        if a.needs_aesni && !have_aesni {
            eprintln!("{}: no AES-NI on this CPU, not checked", a.what);
            continue;
        }
        let mine: Vec<&Finding> = b
            .findings
            .iter()
            .filter(|f| f.key.as_deref() == Some(a.id.as_str()))
            .collect();
        let schedule = mine.iter().any(|f| {
            f.rule == "aes-key-schedule"
                && f.validated
                && f.confidence == "high"
                && f.encoding == "binary"
                && f.form
                    .as_deref()
                    .is_some_and(|x| x == a.form || x.strip_suffix("-wordswapped") == Some(a.form))
        });
        let raw = b.findings.iter().any(|f| {
            f.overlaps(a.raw_vaddr, a.key.len() as u64)
                && f.action == "redacted"
                && f.key.as_deref() == Some(a.id.as_str())
        });
        if !schedule || !raw {
            failures.push(format!(
                "{} ({}): schedule found: {schedule}, raw copy swept: {raw}; findings of the key: {:#?}",
                a.what,
                a.form,
                mine.iter().map(|f| describe(f)).collect::<Vec<_>>()
            ));
        }
        assert_none_survive(
            &format!("plain scrub output ({})", a.what),
            &b.output,
            vec![(format!("{} key", a.what), a.key.clone())],
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn only_redacted_spans_change_and_they_are_zero() {
    let b = baseline();
    let merged = support::merge_spans(
        b.findings
            .iter()
            .filter(|f| f.action == "redacted")
            .map(|f| (f.offset, f.offset + f.length)),
    );
    let inside = |at: u64| {
        let i = merged.partition_point(|&(_, e)| e <= at);
        merged.get(i).is_some_and(|&(s, _)| s <= at)
    };
    let mut changed_outside = 0usize;
    let mut nonzero_inside = 0usize;
    let mut first = None;
    for (i, (&x, &y)) in b.input.iter().zip(&b.output).enumerate() {
        if inside(i as u64) {
            if y != 0 {
                nonzero_inside += 1;
                first.get_or_insert(i);
            }
        } else if x != y {
            changed_outside += 1;
            first.get_or_insert(i);
        }
    }
    assert_eq!(
        (changed_outside, nonzero_inside),
        (0, 0),
        "first bad byte at {first:x?}"
    );
}

#[test]
fn output_parses_with_the_same_structure() {
    let b = baseline();
    let before = k::shape(&b.input);
    let after = k::shape(&b.output);
    assert!(!before.threads.is_empty() && before.memory.len() > 2);
    assert_eq!(before, after);
}

#[test]
fn threads_unwind_to_the_same_frames() {
    let b = baseline();
    let before = k::unwind(&b.input);
    assert!(
        before.iter().any(|(_, frames)| frames.len() > 2),
        "no thread unwound past two frames"
    );
    assert_eq!(before, k::unwind(&b.output));
}

#[test]
fn reports_and_logs_hold_no_key_bytes() {
    assert_run_clean("plain scrub", &baseline().run);
    assert_run_clean("scrub --known-keys jwks.json", &known_jwks().run);
    assert_run_clean(
        "scrub --known-keys cert.pem --known-secrets",
        &known_cert_and_secrets().run,
    );
}

// ---------------------------------------------------------------------------
// Known-key and known-secret modes
// ---------------------------------------------------------------------------

#[test]
fn plain_scrub_cannot_see_a_key_held_only_as_limbs() {
    // The gap known-key mode closes: without the public key nothing ties
    // n's limbs to p's.
    let fx = fixture();
    let b = baseline();
    for l in [&fx.jwks_key, &fx.cert_key] {
        assert_eq!(
            k::memory_at(&b.output, l.prime_vaddr, l.prime_le.len()).as_deref(),
            Some(&l.prime_le[..]),
            "{}: a plain scrub removed the prime (the test no longer shows the gap)",
            l.what
        );
        assert!(
            !b.findings
                .iter()
                .any(|f| f.key.as_deref() == Some(l.id.as_str())),
            "{}: a plain scrub named the key",
            l.what
        );
    }
}

fn assert_known_key_found(s: &Scrubbed, l: &LimbsKey, how: &str) {
    let mine: Vec<&Finding> = s
        .findings
        .iter()
        .filter(|f| f.key.as_deref() == Some(l.id.as_str()))
        .collect();
    assert!(
        mine.iter().any(|f| f.rule == "known-key-private-part"
            && f.validated
            && f.confidence == "high"
            && f.action == "redacted"
            && f.vaddr() == Some(l.prime_vaddr)
            && f.length == l.prime_le.len() as u64),
        "{how}: {} is not found at its prime ({:#x}); its findings: {:#?}",
        l.what,
        l.prime_vaddr,
        mine.iter().map(|f| describe(f)).collect::<Vec<_>>()
    );
    assert_none_survive(&format!("{how} output"), &s.output, l.secret.needles());
    // n is public: it stays.
    assert_eq!(
        k::memory_at(&s.output, l.n_vaddr, l.n_le.len()).as_deref(),
        Some(&l.n_le[..]),
        "{how}: the public modulus of {} was removed",
        l.what
    );
}

#[test]
fn known_keys_jwks_finds_a_key_held_only_as_limbs() {
    let fx = fixture();
    let s = known_jwks();
    assert_known_key_found(s, &fx.jwks_key, "--known-keys jwks.json");
    // The other keys are still removed as in a plain scrub.
    assert_none_survive(
        "--known-keys jwks.json output",
        &s.output,
        baseline_needles(),
    );
    // And only the JWKS key is known.
    assert!(!s
        .findings
        .iter()
        .any(|f| f.key.as_deref() == Some(fx.cert_key.id.as_str())));
}

#[test]
fn known_keys_certificate_finds_a_key_held_only_as_limbs() {
    let fx = fixture();
    assert_known_key_found(
        known_cert_and_secrets(),
        &fx.cert_key,
        "--known-keys cert.pem",
    );
}

#[test]
fn known_secrets_are_found_raw_and_in_utf16() {
    let fx = fixture();
    let s = known_cert_and_secrets();
    let wide = utf16le(&fx.known_text);
    let planted = [
        (
            "text (ASCII)",
            fx.known_text_vaddrs[0],
            fx.known_text.as_bytes().to_vec(),
        ),
        ("text (UTF-16LE)", fx.known_text_vaddrs[1], wide.clone()),
        (
            "binary (hex: line)",
            fx.known_bin_vaddr,
            fx.known_bin.clone(),
        ),
    ];
    for (what, vaddr, bytes) in &planted {
        assert!(
            s.findings.iter().any(|f| f.rule == "known-secret"
                && f.action == "redacted"
                && f.vaddr()
                    .is_some_and(|v| v <= *vaddr && *vaddr + bytes.len() as u64 <= v + f.length)),
            "known secret {what} at {vaddr:#x} is not reported; known-secret findings: {:#?}",
            s.findings
                .iter()
                .filter(|f| f.rule == "known-secret")
                .map(describe)
                .collect::<Vec<_>>()
        );
    }
    for (what, _, bytes) in &planted {
        assert!(
            !support::contains(&s.output, bytes),
            "known secret {what} survives"
        );
    }
}

// ---------------------------------------------------------------------------
// False positives
// ---------------------------------------------------------------------------

/// Writes `mib` MiB of seeded random bytes (a ChaCha20 keystream, so the
/// same file every run) and scans it as raw bytes.
fn scan_random(mib: usize) {
    use openssl::symm::{Cipher, Crypter, Mode};
    use sha2::Digest;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("random.bin");
    let key = sha2::Sha256::digest(b"dumpscrub keys_e2e random bytes");
    let mut c = Crypter::new(Cipher::chacha20(), Mode::Encrypt, &key, Some(&[0u8; 16])).unwrap();
    let zeros = vec![0u8; 1 << 20];
    let mut block = vec![0u8; (1 << 20) + 64];
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for _ in 0..mib {
            let n = c.update(&zeros, &mut block).unwrap();
            f.write_all(&block[..n]).unwrap();
        }
        f.flush().unwrap();
    }
    assert_eq!(std::fs::metadata(&path).unwrap().len(), (mib as u64) << 20);
    let started = std::time::Instant::now();
    // No time limit: a big file through the debug binary on a busy
    // machine can take minutes.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dumpscrub"))
        .args(["scan".as_ref(), path.as_os_str(), "--raw".as_ref()])
        .args(["--report", "-"])
        .env_remove("DUMPSCRUB_FINGERPRINT_KEY")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run dumpscrub");
    let run = Run {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
    };
    eprintln!("scan of {mib} MiB of random bytes: {:?}", started.elapsed());
    assert!(
        matches!(run.code, Some(0 | 1)),
        "exit {:?}: {}",
        run.code,
        run.stderr_text()
    );
    let all = findings(&run.json());
    let keys: Vec<&Finding> = all.iter().filter(|f| f.is_key_rule()).collect();
    for f in &keys {
        eprintln!("random bytes: {}", describe(f));
    }
    assert!(
        !keys.iter().any(|f| f.confidence == "high"),
        "high-confidence key findings in random bytes: {:#?}",
        keys.iter()
            .filter(|f| f.confidence == "high")
            .map(|f| describe(f))
            .collect::<Vec<_>>()
    );
    drop(tmp);
}

#[test]
fn random_bytes_yield_no_high_confidence_key_finding() {
    let mib = std::env::var("DUMPSCRUB_RANDOM_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    scan_random(mib);
}

#[test]
#[ignore = "256 MiB through the debug binary takes about a minute"]
fn random_bytes_256_mib_yield_no_high_confidence_key_finding() {
    scan_random(256);
}

/// Real gzip files (Debian changelogs), about 2 MiB in all.
fn gzip_files() -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir("/usr/share/doc")
        .map(|rd| {
            rd.flatten()
                .flat_map(|e| std::fs::read_dir(e.path()).into_iter().flatten().flatten())
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("changelog") && n.ends_with(".gz"))
                })
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    let mut out = Vec::new();
    let mut total = 0;
    for p in paths {
        let Ok(data) = std::fs::read(&p) else {
            continue;
        };
        if data.len() > 512 << 10 || !data.starts_with(&[0x1f, 0x8b]) {
            continue;
        }
        total += data.len();
        out.push(data);
        if total > 2 << 20 {
            break;
        }
    }
    out
}

#[test]
fn compressed_and_encrypted_data_yield_no_key_finding() {
    use openssl::symm::{encrypt, Cipher};
    let mut ops = Vec::new();
    let gz = gzip_files();
    if gz.is_empty() {
        eprintln!("no /usr/share/doc/*/changelog*.gz here: encrypted data only");
    }
    let gz_bytes: usize = gz.iter().map(Vec::len).sum();
    ops.extend(gz.into_iter().map(HolderOp::Heap));
    // Encrypted in this process: the holder never sees a key.
    for cipher in [
        Cipher::aes_256_cbc(),
        Cipher::aes_128_ctr(),
        Cipher::aes_256_gcm(),
    ] {
        let key = random_bytes(cipher.key_len());
        let iv = random_bytes(cipher.iv_len().unwrap_or(16));
        let data = encrypt(cipher, &key, Some(&iv), &random_bytes(512 << 10)).unwrap();
        ops.push(HolderOp::Heap(data));
    }
    let dir = scratch().join("compressed");
    std::fs::create_dir_all(&dir).unwrap();
    let holder = k::run_key_holder(&ops, &dir.join("compressed.dmp"));
    let run = dumpscrub([
        "scan".as_ref(),
        holder.dump.as_os_str(),
        "--report".as_ref(),
        "-".as_ref(),
    ]);
    assert!(
        matches!(run.code, Some(0 | 1)),
        "exit {:?}: {}",
        run.code,
        run.stderr_text()
    );
    let keys: Vec<String> = findings(&run.json())
        .iter()
        .filter(|f| f.is_key_rule())
        .map(describe)
        .collect();
    assert!(
        keys.is_empty(),
        "key findings in a dump holding {gz_bytes} bytes of gzip and 1.5 MiB of ciphertext: {keys:#?}"
    );
}

#[test]
fn public_dumps_yield_no_key_finding() {
    // The two files whose directory points outside the file are refused.
    const REJECTED: &[&str] = &[
        "rust-minidump-invalid-range.dmp",
        "rust-minidump-invalid-record-count.dmp",
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/public");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".dmp"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "fixtures/public holds {names:?}");
    let mut failures = Vec::new();
    for name in &names {
        let run = dumpscrub([
            "scan".as_ref(),
            dir.join(name).as_os_str(),
            "--report".as_ref(),
            "-".as_ref(),
        ]);
        let want = if REJECTED.contains(&name.as_str()) {
            2
        } else {
            0
        };
        if run.code != Some(want) {
            failures.push(format!(
                "{name}: exit {:?}, want {want}; stderr: {}",
                run.code,
                run.stderr_text().trim()
            ));
        }
        if want == 0 {
            let keys: Vec<String> = findings(&run.json())
                .iter()
                .filter(|f| f.is_key_rule())
                .map(describe)
                .collect();
            if !keys.is_empty() {
                failures.push(format!("{name}: key findings {keys:#?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
