//! Tests with real keys made by OpenSSL, written the way users hold them
//! (PEM, certificates, JWKS), and memory images shaped like a process heap.

use std::path::PathBuf;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509Builder, X509NameBuilder};
use rayon::prelude::*;

use super::*;
use crate::detect::{ChunkDetector, DumpDetector, Encoding, KeyMatch};
use crate::fingerprint::Fingerprinter;
use crate::layout::{partition, Claim, Format, Layout, Origin, RangeKind};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            let w = self.next().to_le_bytes();
            c.copy_from_slice(&w[..c.len()]);
        }
    }

    /// Words a heap is made of: pointers, small integers, zeros, text.
    fn heap(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            let r = self.next();
            let w: u64 = match r % 5 {
                0 => 0x0000_7f00_0000_0000 | (r >> 20) & 0xff_ffff_fff0,
                1 => (r >> 40) & 0xffff,
                2 => 0,
                3 => u64::from_le_bytes(*b"session "),
                _ => 0x5555_5555_0000_0000 | (r >> 32),
            };
            c.copy_from_slice(&w.to_le_bytes()[..c.len()]);
        }
    }
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).expect("write test file");
    p
}

/// One memory range covering the whole buffer, at an aligned address.
fn memory_layout(len: usize) -> Layout {
    layout_of(
        len,
        vec![Claim {
            start: 0,
            len: len as u64,
            kind: RangeKind::Memory,
            vaddr: Some(0x7f3a_1200_0000),
            origin: Origin::named("memory"),
        }],
    )
}

fn layout_of(len: usize, claims: Vec<Claim>) -> Layout {
    let regions = claims
        .iter()
        .filter(|c| c.kind == RangeKind::Memory)
        .count();
    Layout {
        format: Format::Raw,
        file_size: len as u64,
        ranges: partition(len as u64, &claims),
        regions,
        streams: 0,
        modules: Vec::new(),
        stacks: Vec::new(),
    }
}

fn b64url(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

fn rsa_jwk(rsa: &Rsa<Private>) -> serde_json::Value {
    serde_json::json!({
        "kty": "RSA",
        "kid": "test",
        "n": b64url(&rsa.n().to_vec()),
        "e": b64url(&rsa.e().to_vec()),
    })
}

fn jwks(keys: Vec<serde_json::Value>) -> Vec<u8> {
    serde_json::to_vec_pretty(&serde_json::json!({ "keys": keys })).unwrap()
}

fn self_signed(pkey: &PKey<Private>) -> openssl::x509::X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "known-key test").unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let serial = BigNum::from_u32(7).unwrap().to_asn1_integer().unwrap();
    b.set_serial_number(&serial).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(pkey).unwrap();
    b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    b.sign(pkey, MessageDigest::sha256()).unwrap();
    b.build()
}

fn le(mut v: Vec<u8>) -> Vec<u8> {
    v.reverse();
    v
}

fn put(data: &mut [u8], at: usize, bytes: &[u8]) {
    data[at..at + bytes.len()].copy_from_slice(bytes);
}

fn scan(known: &KnownKeys, data: &[u8], layout: &Layout) -> Vec<KeyMatch> {
    let mut out = Vec::new();
    known.scan(data, layout, &mut out);
    out
}

fn assert_found(found: &[KeyMatch], known: &KnownKeys, offset: usize, len: usize, form: &str) {
    assert_eq!(found.len(), 1, "one key, one match");
    let m = &found[0];
    assert_eq!((m.offset, m.len), (offset as u64, len as u64));
    assert_eq!(m.rule, KNOWN_KEY_RULE);
    assert_eq!(m.form, form);
    assert_eq!(m.encoding, Encoding::Binary);
    assert!(m.validated);
    let id = known.ids().next().unwrap();
    assert_eq!(m.key_id.as_deref(), Some(id));
    let key = m.key.as_ref().expect("validated match carries its key");
    assert_eq!(key.id(&Fingerprinter::new(None)), id);
}

// ---------------------------------------------------------------------------
// Known keys: RSA
// ---------------------------------------------------------------------------

/// A 256 KiB heap where n lies as OpenSSL keeps it (little-endian limbs)
/// and p 1–40 KiB away, also as limbs; q further on. The 16 KiB around n
/// are random (key material, TLS buffers), where every candidate passes
/// the cheap filters and costs a division.
fn rsa_image(rsa: &Rsa<Private>, p_distance: usize, seed: u64) -> (Vec<u8>, usize, usize) {
    let mut data = vec![0u8; 256 << 10];
    Rng(seed).heap(&mut data);
    let n_at = 100 << 10;
    Rng(seed + 100).fill(&mut data[n_at - (8 << 10)..n_at + (8 << 10)]);
    let p_at = n_at + 256 + p_distance;
    put(&mut data, n_at, &le(rsa.n().to_vec()));
    put(&mut data, p_at, &le(rsa.p().unwrap().to_vec()));
    put(&mut data, p_at + 4096, &le(rsa.q().unwrap().to_vec()));
    (data, n_at, p_at)
}

#[test]
fn rsa_key_is_found_from_its_jwks_pem_or_certificate_alone() {
    let rsa = Rsa::generate(2048).unwrap();
    let pkey = PKey::from_rsa(rsa.clone()).unwrap();
    let cert = self_signed(&pkey);
    let (data, _, p_at) = rsa_image(&rsa, 40 << 10, 1);
    let layout = memory_layout(data.len());
    let dir = tempdir();
    let files = [
        write(&dir, "keys.json", &jwks(vec![rsa_jwk(&rsa)])),
        write(&dir, "public.pem", &pkey.public_key_to_pem().unwrap()),
        write(
            &dir,
            "rsa-public.pem",
            &rsa.public_key_to_pem_pkcs1().unwrap(),
        ),
        write(&dir, "cert.pem", &cert.to_pem().unwrap()),
        write(&dir, "cert.der", &cert.to_der().unwrap()),
        write(&dir, "public.der", &pkey.public_key_to_der().unwrap()),
    ];
    let mut ids = Vec::new();
    for f in &files {
        let known = load_known_keys(std::slice::from_ref(f)).unwrap();
        assert_eq!(known.len(), 1, "{}", f.display());
        assert!(known.warnings().is_empty());
        let found = scan(&known, &data, &layout);
        assert_found(&found, &known, p_at, 128, "rsa-p-le");
        ids.push(known.ids().next().unwrap().to_string());
    }
    assert!(ids.windows(2).all(|w| w[0] == w[1]));
    assert!(ids[0].starts_with("rsa-2048:"));
    // The same key from several files is one key.
    assert_eq!(load_known_keys(&files).unwrap().len(), 1);
}

#[test]
fn validated_factor_lets_the_sweep_remove_the_other_parts() {
    let rsa = Rsa::generate(2048).unwrap();
    let (data, _, p_at) = rsa_image(&rsa, 1 << 10, 2);
    let layout = memory_layout(data.len());
    let dir = tempdir();
    let known = load_known_keys(&[write(&dir, "k.json", &jwks(vec![rsa_jwk(&rsa)]))]).unwrap();
    let found = scan(&known, &data, &layout);
    assert_found(&found, &known, p_at, 128, "rsa-p-le");
    let swept = crate::sweep::sweep(&data, &layout, &found, &Fingerprinter::new(None));
    let q_at = (p_at + 4096) as u64;
    assert!(
        swept
            .iter()
            .any(|m| m.offset == q_at && m.len == 128 && m.form == "rsa-q-le"),
        "q is swept"
    );
    // The factor the detector reported is not reported twice.
    assert!(swept.iter().all(|m| m.offset != p_at as u64));
}

#[test]
fn big_endian_factor_near_a_der_modulus_is_found() {
    let rsa = Rsa::generate(2048).unwrap();
    let mut data = vec![0u8; 192 << 10];
    Rng(3).fill(&mut data);
    // n as in DER: big-endian after a tag and length, at an odd offset.
    let n_at = 60_001;
    put(&mut data, n_at, &rsa.n().to_vec());
    let p_at = n_at - 20_000 - 1;
    let p_at = p_at - p_at % 8;
    put(&mut data, p_at, &rsa.p().unwrap().to_vec());
    let layout = memory_layout(data.len());
    let dir = tempdir();
    let pem = PKey::from_rsa(rsa.clone())
        .unwrap()
        .public_key_to_pem()
        .unwrap();
    let known = load_known_keys(&[write(&dir, "k.pem", &pem)]).unwrap();
    assert_found(&scan(&known, &data, &layout), &known, p_at, 128, "rsa-p-be");
}

#[test]
fn factor_in_a_packed_blob_right_after_the_modulus_is_found() {
    // CAPI PRIVATEKEYBLOB: little-endian modulus then prime1, packed, at an
    // address that is not 8-aligned.
    let rsa = Rsa::generate(2048).unwrap();
    let mut data = vec![0u8; 64 << 10];
    Rng(4).heap(&mut data);
    let n_at = 20_003;
    put(&mut data, n_at, &le(rsa.n().to_vec()));
    put(&mut data, n_at + 256, &le(rsa.p().unwrap().to_vec()));
    let layout = memory_layout(data.len());
    let dir = tempdir();
    let known = load_known_keys(&[write(&dir, "k.json", &jwks(vec![rsa_jwk(&rsa)]))]).unwrap();
    assert_found(
        &scan(&known, &data, &layout),
        &known,
        n_at + 256,
        128,
        "rsa-p-le",
    );
}

#[test]
fn alignment_follows_virtual_addresses_and_windows_stay_in_their_segment() {
    let rsa = Rsa::generate(2048).unwrap();
    let len = 100 + (64 << 10) + (128 << 10);
    let mut data = vec![0u8; len];
    Rng(5).fill(&mut data);
    let b = 100 + (64 << 10);
    let claims = vec![
        Claim {
            start: 0,
            len: 100,
            kind: RangeKind::Structure,
            vaddr: None,
            origin: Origin::named("header"),
        },
        Claim {
            start: 100,
            len: 64 << 10,
            kind: RangeKind::Memory,
            vaddr: Some(0x1_0000),
            origin: Origin::named("region a"),
        },
        Claim {
            start: b as u64,
            len: 128 << 10,
            kind: RangeKind::Memory,
            vaddr: Some(0x7ffe_0000_0000),
            origin: Origin::named("region b"),
        },
    ];
    let layout = layout_of(len, claims);
    // Region b starts at file offset 4 mod 8: aligned addresses are at
    // unaligned file offsets.
    let n_at = b + 8;
    let p_at = b + (30 << 10);
    assert_ne!(p_at % 8, 0);
    put(&mut data, n_at, &le(rsa.n().to_vec()));
    put(&mut data, p_at, &le(rsa.p().unwrap().to_vec()));
    // A factor in region a, within 64 KiB of n but in another segment, is
    // not looked at.
    let dir = tempdir();
    let known = load_known_keys(&[write(&dir, "k.json", &jwks(vec![rsa_jwk(&rsa)]))]).unwrap();
    assert_found(&scan(&known, &data, &layout), &known, p_at, 128, "rsa-p-le");

    let mut other = data.clone();
    Rng(6).fill(&mut other[p_at..p_at + 128]);
    // At an aligned address of region a.
    let q_at = b - 4096;
    put(&mut other, q_at, &le(rsa.q().unwrap().to_vec()));
    assert!(scan(&known, &other, &layout).is_empty());
}

#[test]
fn hundred_unrelated_keys_find_nothing_in_random_data() {
    // 1024-bit keys: a hundred 2048-bit ones take most of a minute to make
    // here, and the size changes nothing for the search (the throughput
    // benchmark uses 2048).
    let keys: Vec<Rsa<Private>> = (0..100)
        .into_par_iter()
        .map(|_| Rsa::generate(1024).unwrap())
        .collect();
    let dir = tempdir();
    let known = load_known_keys(&[write(
        &dir,
        "jwks.json",
        &jwks(keys.iter().map(rsa_jwk).collect()),
    )])
    .unwrap();
    assert_eq!(known.len(), 100);
    let mut data = vec![0u8; 8 << 20];
    Rng(7).fill(&mut data);
    let layout = memory_layout(data.len());
    assert!(scan(&known, &data, &layout).is_empty());
    // Public moduli alone (a certificate in memory, no private key) give
    // anchors but no finding, in a heap with some random blocks.
    let mut heap = vec![0u8; 512 << 10];
    Rng(8).heap(&mut heap);
    Rng(9).fill(&mut heap[100 << 10..104 << 10]);
    put(&mut heap, 101 << 10, &keys[3].n().to_vec());
    put(&mut heap, 300 << 10, &le(keys[77].n().to_vec()));
    assert!(scan(&known, &heap, &memory_layout(heap.len())).is_empty());
}

// ---------------------------------------------------------------------------
// Known keys: EC
// ---------------------------------------------------------------------------

struct EcTestKey {
    key: EcKey<Private>,
    x: Vec<u8>,
    y: Vec<u8>,
    d: Vec<u8>,
}

fn ec_key(nid: Nid, len: i32) -> EcTestKey {
    let group = EcGroup::from_curve_name(nid).unwrap();
    let key = EcKey::generate(&group).unwrap();
    let mut ctx = BigNumContext::new().unwrap();
    let (mut x, mut y) = (BigNum::new().unwrap(), BigNum::new().unwrap());
    key.public_key()
        .affine_coordinates(&group, &mut x, &mut y, &mut ctx)
        .unwrap();
    EcTestKey {
        x: x.to_vec_padded(len).unwrap(),
        y: y.to_vec_padded(len).unwrap(),
        d: key.private_key().to_vec_padded(len).unwrap(),
        key,
    }
}

fn p256_key() -> EcTestKey {
    ec_key(Nid::X9_62_PRIME256V1, 32)
}

fn ec_jwk_on(k: &EcTestKey, crv: &str) -> serde_json::Value {
    serde_json::json!({ "kty": "EC", "crv": crv, "x": b64url(&k.x), "y": b64url(&k.y) })
}

fn ec_jwk(k: &EcTestKey) -> serde_json::Value {
    ec_jwk_on(k, "P-256")
}

#[test]
fn ec_key_is_found_from_its_jwks_pem_or_certificate_alone() {
    let k = p256_key();
    let pkey = PKey::from_ec_key(k.key.clone()).unwrap();
    let cert = self_signed(&pkey);
    let mut data = vec![0u8; 128 << 10];
    Rng(8).heap(&mut data);
    // The point as SEC1 in a certificate (random-looking bytes), the scalar
    // as limbs 2 KiB on.
    let pt_at = 44 << 10;
    Rng(9).fill(&mut data[pt_at - 1024..pt_at + 1024]);
    let point = [&[4u8][..], &k.x, &k.y].concat();
    put(&mut data, pt_at + 1, &point);
    let d_at = pt_at + (2 << 10);
    put(&mut data, d_at, &le(k.d.clone()));
    let layout = memory_layout(data.len());
    let dir = tempdir();
    let files = [
        write(&dir, "ec.json", &jwks(vec![ec_jwk(&k)])),
        write(&dir, "ec.pem", &pkey.public_key_to_pem().unwrap()),
        write(&dir, "ec-cert.pem", &cert.to_pem().unwrap()),
    ];
    for f in &files {
        let known = load_known_keys(std::slice::from_ref(f)).unwrap();
        let id = known.ids().next().unwrap().to_string();
        assert!(id.starts_with("ec-p256:"), "{id}");
        assert_found(&scan(&known, &data, &layout), &known, d_at, 32, "ec-d-le");
    }
}

#[test]
fn ec_scalar_after_the_point_in_a_packed_blob_is_found() {
    // CNG BCRYPT_ECCPRIVATE_BLOB: header, X, Y, d, big-endian, packed.
    let k = p256_key();
    let mut data = vec![0u8; 32 << 10];
    Rng(10).heap(&mut data);
    let at = 9_005;
    put(&mut data, at, b"ECS2\x20\0\0\0");
    put(&mut data, at + 8, &[&k.x[..], &k.y, &k.d].concat());
    let layout = memory_layout(data.len());
    let dir = tempdir();
    let known = load_known_keys(&[write(&dir, "ec.json", &jwks(vec![ec_jwk(&k)]))]).unwrap();
    assert_found(
        &scan(&known, &data, &layout),
        &known,
        at + 72,
        32,
        "ec-d-be",
    );
    // Without the scalar, nothing.
    Rng(11).fill(&mut data[at + 72..at + 104]);
    assert!(scan(&known, &data, &layout).is_empty());
}

#[test]
fn p384_p521_and_secp256k1_keys_are_found_in_blobs() {
    for (nid, crv, len, name) in [
        (Nid::SECP384R1, "P-384", 48, "ec-p384:"),
        (Nid::SECP521R1, "P-521", 66, "ec-p521:"),
        (Nid::SECP256K1, "secp256k1", 32, "ec-secp256k1:"),
    ] {
        let k = ec_key(nid, len as i32);
        let mut data = vec![0u8; 16 << 10];
        Rng(15).heap(&mut data);
        let at = 4_001;
        put(&mut data, at, &[&k.x[..], &k.y, &k.d].concat());
        let dir = tempdir();
        let known =
            load_known_keys(&[write(&dir, "ec.json", &jwks(vec![ec_jwk_on(&k, crv)]))]).unwrap();
        assert!(known.ids().next().unwrap().starts_with(name));
        let found = scan(&known, &data, &memory_layout(data.len()));
        assert_found(&found, &known, at + 2 * len, len, "ec-d-be");
    }
}

// ---------------------------------------------------------------------------
// Known keys: loading
// ---------------------------------------------------------------------------

fn load_err(name: &str, bytes: &[u8]) -> String {
    let dir = tempdir();
    let path = write(&dir, name, bytes);
    let e = load_known_keys(&[path]).expect_err("must fail");
    let msg = format!("{e:#}");
    assert!(msg.contains(name), "{msg}");
    msg
}

#[test]
fn bad_key_files_are_errors_that_name_the_file_and_the_problem() {
    let msg = load_err("garbage.bin", b"\x01\x02not a key at all");
    assert!(msg.contains("not a PEM file"), "{msg}");
    let msg = load_err("empty.json", br#"{"keys": []}"#);
    assert!(msg.contains("JWKS has no keys"), "{msg}");
    let msg = load_err(
        "oct.json",
        br#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#,
    );
    assert!(
        msg.contains("no usable public key") && msg.contains(r#"keys[0]: unsupported kty "oct""#),
        "{msg}"
    );
    assert!(!msg.contains("c2VjcmV0"));
    let msg = load_err(
        "bad.json",
        br#"{"keys": [{"kty": "RSA", "n": "!!", "e": "AQAB"}]}"#,
    );
    assert!(
        msg.contains(r#"keys[0]: "n" is not valid base64url"#),
        "{msg}"
    );
    let msg = load_err("broken.json", b"{\"keys\": [");
    assert!(msg.contains("not valid JSON"), "{msg}");
    let msg = load_err("empty.pem", b"");
    assert!(msg.contains("empty"), "{msg}");
    let msg = load_err(
        "trunc.pem",
        b"-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n",
    );
    assert!(msg.contains("PEM block 1 (PUBLIC KEY)"), "{msg}");
    let rsa = Rsa::generate(2048).unwrap();
    let key_pem = PKey::from_rsa(rsa)
        .unwrap()
        .private_key_to_pem_pkcs8()
        .unwrap();
    let msg = load_err("private.pem", &key_pem);
    assert!(msg.contains("a private key, not used"), "{msg}");
    let point_off_curve = serde_json::json!({"kty": "EC", "crv": "P-256", "x": b64url(&[1; 32]), "y": b64url(&[2; 32])});
    let msg = load_err("ec.json", &serde_json::to_vec(&point_off_curve).unwrap());
    assert!(msg.contains("JWK: point is not on P-256"), "{msg}");
}

#[test]
fn unsupported_entries_beside_usable_ones_are_warnings() {
    let rsa = Rsa::generate(2048).unwrap();
    let k = p256_key();
    let mut private = rsa_jwk(&rsa);
    private["d"] = serde_json::json!("AQAB");
    let doc = jwks(vec![
        serde_json::json!({"kty": "oct", "k": "c2VjcmV0"}),
        private,
        serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(&[9; 32])}),
        ec_jwk(&k),
    ]);
    let dir = tempdir();
    // A PEM file with text around a certificate and a second key block.
    let mut pem = b"Certificate:\n    Data: ...\n".to_vec();
    pem.extend(
        self_signed(&PKey::from_ec_key(k.key.clone()).unwrap())
            .to_pem()
            .unwrap(),
    );
    pem.extend(
        PKey::from_rsa(rsa.clone())
            .unwrap()
            .public_key_to_pem()
            .unwrap(),
    );
    let known = load_known_keys(&[
        write(&dir, "mixed.json", &doc),
        write(&dir, "bundle.pem", &pem),
    ])
    .unwrap();
    assert_eq!(known.len(), 2, "{known:?}");
    let w = known.warnings().join("\n");
    assert!(
        w.contains(r#"mixed.json: keys[0]: unsupported kty "oct""#),
        "{w}"
    );
    assert!(
        w.contains(r#"mixed.json: keys[2]: unsupported kty "OKP""#),
        "{w}"
    );
    assert!(
        w.contains(r#"mixed.json: keys[1] (kid "test"): holds private key members"#),
        "{w}"
    );
    let sources: Vec<_> = known.sources().map(|(_, s)| s.to_string()).collect();
    assert!(
        sources[0].ends_with(r#"mixed.json: keys[1] (kid "test")"#),
        "{sources:?}"
    );
}

// ---------------------------------------------------------------------------
// Known secrets
// ---------------------------------------------------------------------------

const VALUE: &str = "correct-horse-battery-staple-42";

fn secrets(lines: &str) -> KnownSecrets {
    let dir = tempdir();
    load_known_secrets(
        &[write(&dir, "secrets.txt", lines.as_bytes())],
        &Fingerprinter::new(None),
    )
    .unwrap()
}

fn scan_secrets(s: &KnownSecrets, data: &[u8]) -> Vec<KeyMatch> {
    let mut out = Vec::new();
    s.scan(data, 0, 0..data.len() as u64, &mut out);
    out
}

/// The characters of the base64 encoding of `stream` that carry bits of
/// `stream[at..at + len]`.
fn base64_span(at: usize, len: usize) -> (usize, usize) {
    ((8 * at) / 6, (8 * (at + len)).div_ceil(6))
}

#[test]
fn known_secret_is_found_in_every_form_with_exact_spans() {
    let s = secrets(&format!("# tokens\n\n{VALUE}\r\n"));
    assert_eq!(s.len(), 1);
    let id = s.ids().next().unwrap().to_string();
    let mut rng = Rng(12);
    for prefix in 0..9usize {
        let mut filler = vec![0u8; 4096];
        rng.heap(&mut filler);
        let mut cases: Vec<(Vec<u8>, usize, usize, &str, Encoding)> = Vec::new();
        let v = VALUE.as_bytes();
        let wide: Vec<u8> = v.iter().flat_map(|&b| [b, 0]).collect();
        cases.push((v.to_vec(), 0, v.len(), "raw", Encoding::Ascii));
        cases.push((wide.clone(), 0, wide.len(), "utf16le", Encoding::Utf16le));
        cases.push((
            hex::encode(v).into_bytes(),
            0,
            2 * v.len(),
            "hex",
            Encoding::Ascii,
        ));
        cases.push((
            hex::encode_upper(v).into_bytes(),
            0,
            2 * v.len(),
            "HEX",
            Encoding::Ascii,
        ));
        // The value inside a longer base64 stream, `prefix` bytes in.
        let mut stream = b"{\"usr\":\"xyz\",\"k\":\""[..prefix].to_vec();
        stream.extend_from_slice(v);
        stream.extend_from_slice(b"\",\"exp\":1700000000}");
        let (a, b) = base64_span(prefix, v.len());
        let r = prefix % 3;
        let std_form = if r == 0 {
            "base64".to_string()
        } else {
            format!("base64-offset{r}")
        };
        let url_form = std_form.replace("base64", "base64url");
        let std_text = STANDARD.encode(&stream).into_bytes();
        let url_text = URL_SAFE_NO_PAD.encode(&stream).into_bytes();
        let std_wide: Vec<u8> = std_text.iter().flat_map(|&c| [c, 0]).collect();
        cases.push((
            std_text.clone(),
            a,
            b,
            leak(std_form.clone()),
            Encoding::Ascii,
        ));
        if url_text != std_text[..url_text.len()] {
            cases.push((url_text, a, b, leak(url_form), Encoding::Ascii));
        }
        cases.push((
            std_wide,
            2 * a,
            2 * b,
            leak(format!("{std_form}-utf16le")),
            Encoding::Utf16le,
        ));
        for (bytes, start, end, form, encoding) in cases {
            let mut data = filler.clone();
            let at = 1000 + prefix * 7;
            put(&mut data, at, &bytes);
            let found = scan_secrets(&s, &data);
            let want = ((at + start) as u64, (end - start) as u64);
            assert!(
                found
                    .iter()
                    .any(|m| (m.offset, m.len) == want && m.form == form && m.encoding == encoding),
                "{form} at prefix {prefix}: want {want:?}, got {:?}",
                found
                    .iter()
                    .map(|m| (m.offset, m.len, m.form.clone()))
                    .collect::<Vec<_>>()
            );
            assert_eq!(found.len(), 1, "{form} at prefix {prefix}: one finding");
            let m = &found[0];
            assert_eq!(m.rule, KNOWN_SECRET_RULE);
            assert!(!m.validated && m.key.is_none());
            assert_eq!(m.key_id.as_deref(), Some(id.as_str()));
        }
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

#[test]
fn standalone_base64_and_binary_values_are_found() {
    let key = [
        0xfbu8, 0xff, 0x3e, 0x10, 0x00, 0x99, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45,
    ];
    let s = secrets(&format!(
        "hex:{}\nbase64:{}\n",
        hex::encode(b"api-key-0123456789"),
        STANDARD.encode(key)
    ));
    assert_eq!(s.len(), 2);
    let mut data = vec![0u8; 2048];
    Rng(13).heap(&mut data);
    put(&mut data, 101, &key);
    let token = STANDARD_NO_PAD.encode(key);
    put(&mut data, 501, format!("Bearer {token}==").as_bytes());
    put(&mut data, 900, b"api-key-0123456789");
    let found = scan_secrets(&s, &data);
    let spans: Vec<_> = found
        .iter()
        .map(|m| (m.offset, m.len, m.form.as_str(), m.encoding))
        .collect();
    assert!(
        spans.contains(&(101, 12, "raw", Encoding::Binary)),
        "{spans:?}"
    );
    assert!(
        spans.contains(&(508, 16, "base64", Encoding::Ascii)),
        "{spans:?}"
    );
    assert!(
        spans.contains(&(900, 18, "raw", Encoding::Binary)),
        "{spans:?}"
    );
    assert_eq!(found.len(), 3, "{spans:?}");
    assert_ne!(found[0].key_id, found[2].key_id);
}

#[test]
fn chunk_boundaries_do_not_lose_or_double_a_secret() {
    let s = secrets(VALUE);
    let mut data = vec![0u8; 4096];
    Rng(14).heap(&mut data);
    put(&mut data, 2000, VALUE.as_bytes());
    let overlap = s.max_len() as u64;
    let mut out = Vec::new();
    for own_start in (0..4096u64).step_by(1000) {
        let own_end = (own_start + 1000).min(4096);
        let read_start = own_start.saturating_sub(overlap);
        let read_end = (own_end + overlap).min(4096);
        s.scan(
            &data[read_start as usize..read_end as usize],
            read_start,
            own_start..own_end,
            &mut out,
        );
    }
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].offset, out[0].len), (2000, VALUE.len() as u64));
}

#[test]
fn bad_secret_files_name_file_and_line_but_never_the_value() {
    let dir = tempdir();
    let fp = Fingerprinter::new(None);
    let err = |name: &str, text: &str| {
        let path = write(&dir, name, text.as_bytes());
        format!(
            "{:#}",
            load_known_secrets(&[path], &fp).expect_err("must fail")
        )
    };
    let msg = err("short.txt", "# comment\nlong-enough-value\nabc\n");
    assert!(
        msg.contains("short.txt:3: value is shorter than 4 bytes"),
        "{msg}"
    );
    assert!(!msg.contains("abc"), "{msg}");
    let msg = err("hex.txt", "hex:00112g\n");
    assert!(
        msg.contains("hex.txt:1: invalid hex value") && !msg.contains("00112g"),
        "{msg}"
    );
    let msg = err("b64.txt", "\n\nbase64:***\n");
    assert!(msg.contains("b64.txt:3: invalid base64 value"), "{msg}");
    let msg = err("none.txt", "# nothing\n\n");
    assert!(msg.contains("none.txt: no secret values"), "{msg}");
    let msg = err("short-hex.txt", "hex:001122\n");
    assert!(msg.contains("short-hex.txt:1: value is shorter"), "{msg}");
}

#[test]
fn keyed_fingerprints_name_secrets() {
    let dir = tempdir();
    let path = write(&dir, "s.txt", VALUE.as_bytes());
    let plain = load_known_secrets(std::slice::from_ref(&path), &Fingerprinter::new(None)).unwrap();
    let keyed = load_known_secrets(&[path], &Fingerprinter::new(Some(b"site key"))).unwrap();
    let (a, b) = (plain.ids().next().unwrap(), keyed.ids().next().unwrap());
    assert_ne!(a, b);
    assert!(!a.contains(VALUE) && !format!("{keyed:?}").contains(VALUE));
}

// ---------------------------------------------------------------------------
// Throughput (release): cargo test --release --lib known::tests::throughput -- --ignored --nocapture
// ---------------------------------------------------------------------------

#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn throughput() {
    use std::time::Instant;

    use crate::detect::text::TextDetector;
    use crate::rules::BUILTIN_RULES;
    use crate::scan::{self, Detectors};

    let keys: Vec<Rsa<Private>> = (0..100)
        .into_par_iter()
        .map(|_| Rsa::generate(2048).unwrap())
        .collect();
    let dir = tempdir();
    let known = load_known_keys(&[write(
        &dir,
        "jwks.json",
        &jwks(keys.iter().map(rsa_jwk).collect()),
    )])
    .unwrap();
    // 256 MiB: alternating 64 KiB of random bytes and of text.
    let size = 256usize << 20;
    let mut data = vec![0u8; size];
    let text =
        b"GET /api/v1/items?id=12345 HTTP/1.1\r\nHost: example.internal\r\nAccept: */*\r\n\r\n";
    data.par_chunks_mut(64 << 10)
        .enumerate()
        .for_each(|(i, c)| {
            if i % 2 == 0 {
                Rng(i as u64).fill(c);
            } else {
                for (j, b) in c.iter_mut().enumerate() {
                    *b = text[j % text.len()];
                }
            }
        });
    // One real key to find, so the candidate phase is timed too.
    let k = &keys[42];
    put(&mut data, 100 << 20, &le(k.n().to_vec()));
    put(
        &mut data,
        (100 << 20) + (10 << 10),
        &le(k.p().unwrap().to_vec()),
    );
    let layout = memory_layout(size);
    // Process CPU time (all threads), from /proc: on a shared machine wall
    // time measures the neighbours as much as the code.
    let cpu = || {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
            f.iter().filter_map(|t| t.parse::<f64>().ok()).sum()
        });
        ticks / 100.0
    };
    let time = |f: &dyn Fn() -> usize| {
        let mut best = f64::MAX;
        let mut best_cpu = f64::MAX;
        let mut n = 0;
        for _ in 0..5 {
            let (t, c) = (Instant::now(), cpu());
            n = f();
            best = best.min(t.elapsed().as_secs_f64());
            best_cpu = best_cpu.min(cpu() - c);
        }
        println!(
            "    (wall {:.1} ms, cpu {:.0} ms)",
            best * 1e3,
            best_cpu * 1e3
        );
        (best, n)
    };
    let mb = size as f64 / 1e6;
    let segments = crate::scan::plan::segments(&layout);
    let (t, n) = time(&|| known.anchors_in(&data, &segments).len());
    println!(
        "anchor phase: {:.1} ms, {:.2} GB/s, {n} anchor copies",
        t * 1e3,
        mb / t / 1e3
    );
    let (t, n) = time(&|| scan(&known, &data, &layout).len());
    println!(
        "known-key pass: {:.1} ms, {:.2} GB/s, {n} keys found",
        t * 1e3,
        mb / t / 1e3
    );
    // The worst case for the candidate phase: public-only copies of a key
    // (certificates) inside random memory, every window tested in full.
    let mut public_only = data.clone();
    for i in 0..20 {
        put(&mut public_only, (i * 12 + 2) << 20, &keys[7].n().to_vec());
    }
    let (t, n) = time(&|| scan(&known, &public_only, &layout).len());
    println!(
        "known-key pass with 20 public-only copies in random memory: {:.1} ms ({n} keys found)",
        t * 1e3
    );
    let plain = Detectors::new(
        TextDetector::new(BUILTIN_RULES).unwrap(),
        Vec::new(),
        Vec::new(),
    )
    .unwrap();
    let (t_full, _) = time(&|| scan::scan(&data, &layout, &plain).matches.len());
    let with = Detectors::new(
        TextDetector::new(BUILTIN_RULES).unwrap(),
        Vec::new(),
        vec![Box::new(
            load_known_keys(&[dir.path().join("jwks.json")]).unwrap(),
        )],
    )
    .unwrap();
    let (t_with, _) = time(&|| scan::scan(&data, &layout, &with).keys.len());
    // Again, so that a busy spell of the machine does not favour either.
    let t_full = t_full.min(time(&|| scan::scan(&data, &layout, &plain).matches.len()).0);
    println!(
        "text scan: {:.1} ms ({:.0} MB/s); with known keys: {:.1} ms (+{:.1}%)",
        t_full * 1e3,
        mb / t_full,
        t_with * 1e3,
        (t_with / t_full - 1.0) * 100.0
    );
    for count in [10usize, 100] {
        let lines: String = (0..count)
            .map(|i| format!("secret-token-{i:04}-{}\n", i * 7919))
            .collect();
        let secrets_file = write(&dir, "secrets.txt", lines.as_bytes());
        let s = load_known_secrets(&[secrets_file], &Fingerprinter::new(None)).unwrap();
        let with = Detectors::new(
            TextDetector::new(BUILTIN_RULES).unwrap(),
            vec![Box::new(s)],
            Vec::new(),
        )
        .unwrap();
        let (t_s, _) = time(&|| scan::scan(&data, &layout, &with).keys.len());
        let chunks = crate::scan::plan::chunks(&segments, crate::scan::plan::CHUNK_SIZE, 1024);
        let (t_alone, _) = time(&|| {
            chunks
                .par_iter()
                .map(|c| {
                    let mut out = Vec::new();
                    with.chunk[0].scan(
                        &data[c.read_start as usize..c.read_end as usize],
                        c.read_start,
                        c.own_start..c.own_end,
                        &mut out,
                    );
                    out.len()
                })
                .sum()
        });
        println!(
            "with {count} known secrets: {:.1} ms (+{:.1}%); detector alone {:.1} ms, {:.2} GB/s",
            t_s * 1e3,
            (t_s / t_full - 1.0) * 100.0,
            t_alone * 1e3,
            mb / t_alone / 1e3
        );
    }
}
