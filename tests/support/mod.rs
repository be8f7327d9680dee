//! Test support: a generator of real minidumps that hold planted secrets,
//! and helpers to run the `dumpscrub` binary.
//!
//! # How a planted dump is made
//!
//! The test binary re-executes itself as a *secret holder*: a test named
//! `secret_holder_process` that does nothing unless `DUMPSCRUB_SECRET_HOLDER=1`
//! is set (each test binary that uses [`generate`] must define it and call
//! [`secret_holder_main`]). The holder receives its secrets three ways, as a
//! real process would:
//!
//! * the **environment** (`SECRET_TOKEN`, `DATABASE_URL`, `SLACK_BOT_TOKEN`):
//!   they end up in the `LinuxEnviron` stream and at the top of the main
//!   thread's stack;
//! * **argv**: libtest accepts several name filters, so a trailing free
//!   argument (`password=…`) is a filter that matches no test with `--exact`;
//!   it ends up in the `LinuxCmdLine` stream and on the main stack;
//! * **stdin**, hex-encoded, for heap buffers (ASCII, UTF-16LE at even and odd
//!   byte offsets) and one stack buffer.
//!
//! The holder prints the address of every buffer, then blocks reading stdin.
//! The generator dumps it with the `minidump-writer` crate (ptrace), passing
//! the heap buffers as application memory so they land in the MemoryList,
//! then closes the holder's stdin and reaps it. Every secret is random, drawn
//! from `/dev/urandom` at generation time, so no value is shared between runs
//! and none is written in this source.
//!
//! The holder's environment is cleared first: a dump must never pick up the
//! real environment of the machine running the tests (CI tokens...).

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use minidump_writer::app_memory::AppMemory;
use minidump_writer::minidump_writer::MinidumpWriterConfig;
use sha2::{Digest, Sha256};

/// ELF core dumps of the holder, by gcore and by the kernel.
pub mod elf;
/// Big and many-part dumps grown from a real one.
pub mod grow;
/// Private-key material: the key holder process and key layouts.
pub mod keys;

/// Environment variable that turns `secret_holder_process` into the holder.
pub const HOLDER_ENV: &str = "DUMPSCRUB_SECRET_HOLDER";
/// Name of the test function that acts as the holder.
pub const HOLDER_TEST: &str = "secret_holder_process";
/// Prefix of every protocol line the holder prints on stdout (libtest
/// prints its own lines around them).
const MARK: &str = "DUMPSCRUB-HOLDER";
/// Size of the holder's stack buffer.
const STACK_BUF: usize = 1024;

/// The holder's stack buffer, 16-byte aligned so that the offsets the
/// generator chooses decide the parity of each secret's address.
#[repr(C, align(16))]
struct StackBuf([u8; STACK_BUF]);

const TIMEOUT: Duration = Duration::from_secs(60);

/// Minidump stream types used by the tests.
pub const LINUX_CMD_LINE: u32 = 0x4767_0006;
pub const LINUX_ENVIRON: u32 = 0x4767_0007;
pub const MEMORY_LIST: u32 = 5;

// ---------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------

/// How a secret's characters are laid out in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enc {
    Ascii,
    Utf16le,
}

impl Enc {
    /// The name the JSON report uses.
    pub fn report_name(self) -> &'static str {
        match self {
            Enc::Ascii => "ascii",
            Enc::Utf16le => "utf16le",
        }
    }

    pub fn encode(self, s: &str) -> Vec<u8> {
        match self {
            Enc::Ascii => s.as_bytes().to_vec(),
            Enc::Utf16le => utf16le(s),
        }
    }
}

pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

/// Where a secret was planted in the holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A heap buffer given to the writer as application memory; `vaddr` is
    /// the address of the secret's first byte.
    Heap { vaddr: u64 },
    /// A buffer on the holder thread's stack.
    Stack { vaddr: u64 },
    /// The value (or part of the value) of an environment variable.
    Env { var: &'static str },
    /// A command-line argument.
    Argv,
}

/// A secret planted in the holder: the exact characters a scrubber must
/// zero (for a URL or a `password=` pair, only the password), the rule that
/// must find them, and where and how they were planted.
#[derive(Debug, Clone)]
pub struct Planted {
    pub rule: &'static str,
    pub value: String,
    pub enc: Enc,
    pub place: Place,
}

impl Planted {
    pub fn bytes(&self) -> Vec<u8> {
        self.enc.encode(&self.value)
    }
}

/// Random bytes from the kernel.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("read /dev/urandom");
    buf
}

/// `n` characters drawn uniformly from `alphabet` (rejection sampling).
pub fn random_from(alphabet: &[u8], n: usize) -> String {
    assert!(!alphabet.is_empty() && alphabet.len() <= 256);
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in random_bytes(2 * n) {
            if (b as usize) < limit && out.len() < n {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// The alphabet of AWS key ids after their prefix.
pub const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
pub const DIGITS: &[u8] = b"0123456789";

pub fn alnum(n: usize) -> String {
    random_from(ALNUM, n)
}

/// base64url without padding.
pub fn base64url(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// A real 2048-bit RSA private key, made by OpenSSL, in traditional
/// (PKCS#1) PEM armour.
pub fn rsa_private_key_pem() -> String {
    let key = openssl::rsa::Rsa::generate(2048).expect("OpenSSL makes an RSA key");
    let pem = key.private_key_to_pem().expect("PEM-encode the RSA key");
    let pem = String::from_utf8(pem).expect("PEM is ASCII");
    assert!(
        pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n")
            && pem.trim_end().ends_with("-----END RSA PRIVATE KEY-----"),
        "OpenSSL did not write a PKCS#1 PEM key"
    );
    pem
}

// ---------------------------------------------------------------------------
// The holder process
// ---------------------------------------------------------------------------

/// Body of the `secret_holder_process` test. Returns at once unless the
/// test binary was started by [`generate`].
pub fn secret_holder_main() {
    if std::env::var_os(HOLDER_ENV).as_deref() != Some(OsStr::new("1")) {
        return;
    }
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut heap: Vec<Vec<u8>> = Vec::new();
    let mut stack_buf = StackBuf([0u8; STACK_BUF]);
    let mut stack_len = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line).expect("holder: read stdin") == 0 {
            panic!("holder: stdin closed before END");
        }
        let line = line.trim_end();
        if line == "END" {
            break;
        }
        let (kind, hex) = line.split_once(' ').expect("holder: bad line");
        let bytes = unhex(hex);
        match kind {
            "HEAP" => heap.push(bytes),
            "STACK" => {
                assert!(bytes.len() <= STACK_BUF, "holder: stack payload too long");
                stack_buf.0[..bytes.len()].copy_from_slice(&bytes);
                stack_len = bytes.len();
            }
            _ => panic!("holder: unknown line kind {kind}"),
        }
    }
    let stack_buf = std::hint::black_box(stack_buf);
    {
        let mut out = std::io::stdout().lock();
        for b in &heap {
            writeln!(out, "{MARK} BUF {:x} {}", b.as_ptr() as usize, b.len()).unwrap();
        }
        writeln!(
            out,
            "{MARK} STACK {:x} {}",
            stack_buf.0.as_ptr() as usize,
            stack_len
        )
        .unwrap();
        writeln!(out, "{MARK} READY").unwrap();
        out.flush().unwrap();
    }
    // Block until the generator closes our stdin, after it has dumped us.
    let mut rest = Vec::new();
    let _ = input.read_to_end(&mut rest);
    std::hint::black_box(&stack_buf);
    std::hint::black_box(&heap);
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------

/// Rule ids of the built-in rules the planted secrets belong to.
pub mod rule {
    pub const GITHUB_CLASSIC: &str = "github-classic-token";
    pub const GITHUB_FINE_GRAINED: &str = "github-fine-grained-pat";
    pub const AWS_ACCESS_KEY_ID: &str = "aws-access-key-id";
    pub const GITLAB_PAT: &str = "gitlab-pat";
    pub const SLACK: &str = "slack-token";
    pub const STRIPE_SECRET: &str = "stripe-secret-key";
    pub const JWT: &str = "jwt";
    pub const PEM_RSA: &str = "pem-rsa-private-key";
    pub const URL_PASSWORD: &str = "url-userinfo-password";
    pub const BEARER: &str = "http-bearer-token";
    pub const PASSWORD: &str = "generic-password";

    /// Every rule some planted secret belongs to.
    pub const PLANTED: &[&str] = &[
        GITHUB_CLASSIC,
        GITHUB_FINE_GRAINED,
        AWS_ACCESS_KEY_ID,
        GITLAB_PAT,
        SLACK,
        STRIPE_SECRET,
        JWT,
        PEM_RSA,
        URL_PASSWORD,
        BEARER,
        PASSWORD,
    ];
}

/// A heap or stack buffer, as laid out before planting: the bytes, and for
/// each secret in it, its index in `Plan::secrets` and its byte offset.
struct Buffer {
    bytes: Vec<u8>,
    secrets: Vec<(usize, usize)>,
}

impl Buffer {
    fn new() -> Self {
        Buffer {
            bytes: Vec::new(),
            secrets: Vec::new(),
        }
    }

    fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(b);
        self
    }

    fn text(&mut self, s: &str, enc: Enc) -> &mut Self {
        self.bytes.extend_from_slice(&enc.encode(s));
        self
    }

    fn secret(&mut self, index: usize, s: &str, enc: Enc) -> &mut Self {
        self.secrets.push((index, self.bytes.len()));
        self.text(s, enc)
    }
}

/// A real minidump of a live process that holds planted secrets.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub dump: PathBuf,
    pub secrets: Vec<Planted>,
    /// (address, length) of every application-memory buffer.
    pub buffers: Vec<(u64, u64)>,
    /// Process id of the (now exited) holder.
    pub pid: u32,
}

/// Kills and reaps the holder if generation fails half-way.
struct HolderGuard {
    child: Option<Child>,
}

impl Drop for HolderGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// How the holder is started, for dumpers other than minidump-writer
/// (see `support::elf`). The default is what [`generate`] uses.
#[derive(Debug, Clone, Default)]
pub struct HolderSetup {
    /// `argv[0]` instead of the test binary's path (a short one keeps the
    /// secret argument inside a core's 80-byte `pr_psargs`).
    pub arg0: Option<String>,
    /// Put the secret argument before libtest's own arguments.
    pub secret_arg_first: bool,
    /// Working directory of the holder (where a kernel core lands).
    pub cwd: Option<PathBuf>,
    /// Environment variables besides the planted ones.
    pub env: Vec<(String, String)>,
}

/// How the holder ends after a dumper has run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It exits normally once its stdin is closed.
    Exits,
    /// The dumper killed it with a signal (a kernel core dump).
    Signalled,
}

/// Writes `dump` from the live holder `pid`, given the (address, length)
/// of its heap buffers; says how the holder will end.
pub type Dumper<'a> = dyn Fn(u32, &[(u64, u64)], &Path) -> Result<Ending, String> + 'a;

/// The planted dump of this test binary, generated on first use in the
/// scratch directory `name` and shared by its tests.
#[allow(dead_code)] // not every test binary uses the shared planted dump
pub fn planted(name: &str) -> &'static Fixture {
    static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| generate(&scratch_dir(name).join("planted.dmp")))
}

/// Starts the holder, dumps it to `dump` and returns what was planted.
/// Panics (after killing the holder) on any failure.
pub fn generate(dump: &Path) -> Fixture {
    generate_with(dump, &HolderSetup::default(), &write_minidump)
}

/// The minidump-writer dumper: heap buffers as application memory.
fn write_minidump(pid: u32, addrs: &[(u64, u64)], dump: &Path) -> Result<Ending, String> {
    let mut file =
        std::fs::File::create(dump).map_err(|e| format!("create {}: {e}", dump.display()))?;
    let mut config = MinidumpWriterConfig::new(pid as i32, pid as i32);
    config.set_app_memory(
        addrs
            .iter()
            .map(|&(ptr, length)| AppMemory {
                ptr: ptr as usize,
                length: length as usize,
            })
            .collect(),
    );
    config
        .write(&mut file)
        .map_err(|e| format!("minidump-writer: {e:?}"))?;
    file.sync_all().map_err(|e| format!("sync: {e}"))?;
    Ok(Ending::Exits)
}

/// [`generate`] with another way of starting and dumping the holder.
pub fn generate_with(dump: &Path, setup: &HolderSetup, dumper: &Dumper<'_>) -> Fixture {
    use Enc::{Ascii, Utf16le};
    let mut secrets: Vec<Planted> = Vec::new();
    let mut add = |rule: &'static str, value: String, enc: Enc, place: Place| {
        secrets.push(Planted {
            rule,
            value,
            enc,
            place,
        });
        secrets.len() - 1
    };

    // --- environment and argv ---
    let stripe = format!("sk_live_{}", alnum(32));
    let db_password = alnum(24);
    let slack = format!(
        "xoxb-{}-{}-{}",
        random_from(DIGITS, 12),
        random_from(DIGITS, 13),
        alnum(24)
    );
    // A digit and a symbol, as password rules want a "generated" look.
    let argv_password = format!("{}{}!{}", alnum(10), random_from(DIGITS, 1), alnum(12));
    add(
        rule::STRIPE_SECRET,
        stripe.clone(),
        Ascii,
        Place::Env {
            var: "SECRET_TOKEN",
        },
    );
    add(
        rule::URL_PASSWORD,
        db_password.clone(),
        Ascii,
        Place::Env {
            var: "DATABASE_URL",
        },
    );
    add(
        rule::SLACK,
        slack.clone(),
        Ascii,
        Place::Env {
            var: "SLACK_BOT_TOKEN",
        },
    );
    add(rule::PASSWORD, argv_password.clone(), Ascii, Place::Argv);
    let env = [
        ("SECRET_TOKEN", stripe),
        (
            "DATABASE_URL",
            format!("postgres://app:{db_password}@db.internal:5432/app"),
        ),
        ("SLACK_BOT_TOKEN", slack),
    ];
    let argv_secret = format!("password={argv_password}");

    // --- heap and stack buffers (vaddr filled in once the holder reports) ---
    let mut buffers: Vec<Buffer> = Vec::new();
    let pending = Place::Heap { vaddr: 0 };

    // An ASCII config blob with several secrets.
    let ghp = format!("ghp_{}", alnum(36));
    let bearer = alnum(40);
    let jwt = {
        let header = base64url(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload =
            base64url(format!(r#"{{"sub":"{}","iat":1700000000}}"#, alnum(16)).as_bytes());
        format!("{header}.{payload}.{}", base64url(&random_bytes(32)))
    };
    let mut b = Buffer::new();
    let i_ghp = add(rule::GITHUB_CLASSIC, ghp.clone(), Ascii, pending.clone());
    let i_bearer = add(rule::BEARER, bearer.clone(), Ascii, pending.clone());
    let i_jwt = add(rule::JWT, jwt.clone(), Ascii, pending.clone());
    b.text("[deploy]\ngithub_token = \"", Ascii)
        .secret(i_ghp, &ghp, Ascii)
        .text("\"\nheaders = \"Authorization: Bearer ", Ascii)
        .secret(i_bearer, &bearer, Ascii)
        .text("\"\nsession = ", Ascii)
        .secret(i_jwt, &jwt, Ascii)
        .text("\n", Ascii)
        .raw(&[0; 8]);
    buffers.push(b);

    // UTF-16LE at an odd byte offset (as in a packed Windows-style struct).
    let fine = format!("github_pat_{}_{}", alnum(22), alnum(59));
    let i_fine = add(
        rule::GITHUB_FINE_GRAINED,
        fine.clone(),
        Utf16le,
        pending.clone(),
    );
    let mut b = Buffer::new();
    b.raw(&[0x07])
        .text("GH_TOKEN=", Utf16le)
        .secret(i_fine, &fine, Utf16le)
        .raw(&[0, 0, 0]);
    buffers.push(b);

    // UTF-16LE at an even offset.
    let akia = format!("AKIA{}", random_from(BASE32, 16));
    let i_akia = add(
        rule::AWS_ACCESS_KEY_ID,
        akia.clone(),
        Utf16le,
        pending.clone(),
    );
    let mut b = Buffer::new();
    b.text("aws_access_key_id=", Utf16le)
        .secret(i_akia, &akia, Utf16le)
        .raw(&[0, 0]);
    buffers.push(b);

    // ASCII at an odd offset, and the GitLab token again in UTF-16LE at an
    // odd offset in the same buffer.
    let glpat = format!("glpat-{}", alnum(20));
    let i_gl = add(rule::GITLAB_PAT, glpat.clone(), Ascii, pending.clone());
    let i_gl16 = add(rule::GITLAB_PAT, glpat.clone(), Utf16le, pending.clone());
    let mut b = Buffer::new();
    b.raw(&[0x01, 0x02, 0x03])
        .text(" token=", Ascii)
        .secret(i_gl, &glpat, Ascii)
        .raw(&[0, 0xff, 0xfe])
        .secret(i_gl16, &glpat, Utf16le)
        .raw(&[0, 0]);
    buffers.push(b);

    // A real RSA key in PEM armour. The body lines are the secret.
    let pem = rsa_private_key_pem();
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("\n");
    let i_pem = add(rule::PEM_RSA, body.clone(), Ascii, pending.clone());
    let mut b = Buffer::new();
    let body_at = pem.find(&body).expect("body in PEM");
    b.text(&pem[..body_at], Ascii)
        .secret(i_pem, &body, Ascii)
        .text(&pem[body_at + body.len()..], Ascii)
        .raw(&[0]);
    buffers.push(b);

    // The stack buffer: another classic token, in UTF-16LE at an odd offset.
    let ghp2 = format!("ghp_{}", alnum(36));
    let i_stack = add(
        rule::GITHUB_CLASSIC,
        ghp2.clone(),
        Utf16le,
        Place::Stack { vaddr: 0 },
    );
    let mut stack = Buffer::new();
    stack
        .raw(&[0x55])
        .text("token: ", Utf16le)
        .secret(i_stack, &ghp2, Utf16le)
        .raw(&[0, 0]);

    // --- run the holder ---
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new(&exe);
    if let Some(arg0) = &setup.arg0 {
        std::os::unix::process::CommandExt::arg0(&mut cmd, arg0);
    }
    if let Some(cwd) = &setup.cwd {
        cmd.current_dir(cwd);
    }
    if setup.secret_arg_first {
        cmd.arg(&argv_secret);
    }
    cmd.args(["--exact", HOLDER_TEST, "--nocapture", "--test-threads=1"]);
    if !setup.secret_arg_first {
        cmd.arg(&argv_secret);
    }
    cmd.env_clear()
        .env(HOLDER_ENV, "1")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .envs(setup.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut guard = HolderGuard {
        child: Some(cmd.spawn().expect("spawn the secret holder")),
    };
    let child = guard.child.as_mut().unwrap();
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

    let mut stdin: ChildStdin = child.stdin.take().unwrap();
    {
        let mut msg = String::new();
        for b in &buffers {
            msg.push_str(&format!("HEAP {}\n", hex(&b.bytes)));
        }
        msg.push_str(&format!("STACK {}\nEND\n", hex(&stack.bytes)));
        stdin
            .write_all(msg.as_bytes())
            .expect("write to the holder");
        stdin.flush().expect("write to the holder");
    }

    // Wait for the holder's addresses.
    let deadline = Instant::now() + TIMEOUT;
    let records = match read_holder_records(&rx, MARK, deadline) {
        Ok(r) => r,
        Err(e) => {
            drop(guard);
            panic!(
                "secret holder {e}; stderr: {}",
                stderr_thread.join().unwrap_or_default()
            )
        }
    };
    let mut addrs: Vec<(u64, u64)> = Vec::new();
    let mut stack_addr: Option<(u64, u64)> = None;
    for (tag, addr, len) in records {
        match tag.as_str() {
            "BUF" => addrs.push((addr, len)),
            "STACK" => stack_addr = Some((addr, len)),
            _ => panic!("unexpected holder record {tag}"),
        }
    }
    assert_eq!(
        addrs.len(),
        buffers.len(),
        "holder reported the wrong number of buffers"
    );
    for (b, &(_, len)) in buffers.iter().zip(&addrs) {
        assert_eq!(b.bytes.len() as u64, len, "holder buffer length");
    }
    let (stack_base, _) = stack_addr.expect("holder reported its stack buffer");
    for (b, &(base, _)) in buffers.iter().zip(&addrs) {
        for &(i, off) in &b.secrets {
            secrets[i].place = Place::Heap {
                vaddr: base + off as u64,
            };
        }
    }
    for &(i, off) in &stack.secrets {
        secrets[i].place = Place::Stack {
            vaddr: stack_base + off as u64,
        };
    }

    // Dump it.
    let ending = match dumper(pid, &addrs, dump) {
        Ok(ending) => ending,
        Err(e) => {
            let _ = std::fs::remove_file(dump);
            drop(guard);
            panic!("could not dump the secret holder: {e}");
        }
    };

    // Let the holder finish and reap it. A holder killed by the dumper
    // keeps its stdin until it is gone: seeing EOF first, it could start
    // freeing its buffers while the kernel writes its core.
    if ending == Ending::Exits {
        drop(stdin);
    }
    let mut child = guard.child.take().unwrap();
    let status = loop {
        match child.try_wait().expect("wait for the holder") {
            Some(s) => break s,
            None if Instant::now() > deadline + Duration::from_secs(10) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("secret holder did not exit after its stdin was closed");
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let stderr = stderr_thread.join().unwrap_or_default();
    match ending {
        Ending::Exits => assert!(
            status.success(),
            "secret holder failed: {status}; stderr: {stderr}"
        ),
        Ending::Signalled => assert!(
            std::os::unix::process::ExitStatusExt::signal(&status).is_some(),
            "secret holder was not killed by the dumper's signal: {status}; stderr: {stderr}"
        ),
    }

    Fixture {
        dump: dump.to_path_buf(),
        secrets,
        buffers: addrs,
        pid,
    }
}

/// A directory under the cargo target dir for this test binary's generated
/// dumps: `<target>/tmp/<name>-<pid>`. Directories left by earlier runs
/// whose process is gone are removed first (a `static` fixture is never
/// dropped, so it cannot clean up after itself).
/// Reads a holder process's `MARK TAG hexaddr len` lines up to `MARK
/// READY`, skipping anything else it prints (libtest's own output). Returns
/// (tag, address, length) records, or what went wrong with what was seen.
pub fn read_holder_records(
    rx: &mpsc::Receiver<String>,
    mark: &str,
    deadline: Instant,
) -> Result<Vec<(String, u64, u64)>, String> {
    let mut records = Vec::new();
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .map_err(|e| format!("did not become ready ({e}); stdout so far: {seen:?}"))?;
        let Some(at) = line.find(mark) else {
            seen.push(line);
            continue;
        };
        let words: Vec<&str> = line[at + mark.len()..].split_whitespace().collect();
        match words.as_slice() {
            ["READY"] => return Ok(records),
            [tag, addr, len] => {
                let addr = u64::from_str_radix(addr, 16)
                    .map_err(|e| format!("bad address in {line:?}: {e}"))?;
                let len = len
                    .parse::<u64>()
                    .map_err(|e| format!("bad length in {line:?}: {e}"))?;
                records.push((tag.to_string(), addr, len));
            }
            _ => return Err(format!("sent an unexpected line {line:?}")),
        }
    }
}

pub fn scratch_dir(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&root).expect("create the target tmp dir");
    if let Ok(entries) = std::fs::read_dir(&root) {
        for e in entries.flatten() {
            let file_name = e.file_name();
            let Some(rest) = file_name
                .to_str()
                .and_then(|n| n.strip_prefix(&format!("{name}-")))
            else {
                continue;
            };
            if let Ok(pid) = rest.parse::<u32>() {
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    }
    let dir = root.join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the scratch dir");
    dir
}

// ---------------------------------------------------------------------------
// Running the binary, and small helpers
// ---------------------------------------------------------------------------

/// The outcome of one `dumpscrub` run.
#[derive(Debug)]
pub struct Run {
    /// Exit code; `None` if killed by a signal.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Run {
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The JSON report written to stdout with `--report -`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not a JSON report ({e}); exit {:?}, stderr: {}",
                self.code,
                self.stderr_text()
            )
        })
    }
}

/// Runs the `dumpscrub` binary with `args`, with no fingerprint key from
/// the environment. Killed after two minutes.
pub fn dumpscrub<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = Command::new(env!("CARGO_BIN_EXE_dumpscrub"))
        .args(args)
        .env_remove("DUMPSCRUB_FINGERPRINT_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run dumpscrub");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for dumpscrub") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("dumpscrub did not finish in two minutes");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        code: status.code(),
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

pub fn sha256_file(path: &Path) -> String {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    sha256(&data)
}

pub fn sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Offsets of every occurrence of `needle` in `hay`.
pub fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return Vec::new();
    }
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Runs a future to completion on the current thread (the processor is
/// async; no async runtime is in the dependency tree).
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct ThreadWaker(std::thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// Sorted `[start, end)` spans merged where they overlap or touch, so that
/// "is this byte inside a finding" is a binary search. Written here, not
/// taken from `redact::plan`, so the tests do not check the code with itself.
pub fn merge_spans(spans: impl IntoIterator<Item = (u64, u64)>) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = spans.into_iter().collect();
    v.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (s, e) in v {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}
