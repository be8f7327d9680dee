//! Linux ELF core dump layout builder.
//!
//! A core file is an ELF header, a program header table and, at the file
//! offsets those headers give, one PT_NOTE segment (thread registers,
//! process info, the file mappings) and one PT_LOAD segment per captured
//! mapping. The `object` crate parses and bounds-checks the headers and the
//! note records; this module turns them into claims:
//!
//! * PT_LOAD file bytes are `memory` at their virtual address;
//! * the ELF header, the program and section header tables, section names
//!   and every note header are `structure`;
//! * note payloads are `structure` (register sets, signal info, auxv: gdb
//!   needs them intact to unwind) except `NT_FILE` and `NT_PRPSINFO`, which
//!   are free text (mapped paths; `pr_psargs` holds the start of argv) and
//!   so are `stream`s that may be redacted.
//!
//! Anything that points outside the file fails closed. Only 64-bit
//! little-endian x86-64 and aarch64 cores are accepted: those are the ones
//! whose thread records we know how to read and that the tests exercise
//! with real cores; other cores are refused with the reason.

use std::collections::BTreeMap;

use object::elf::{self, FileHeader64, ProgramHeader64};
use object::read::elf::{FileHeader, ProgramHeader, SectionHeader};
use object::LittleEndian;

use super::{partition, AddrSpan, Claim, Format, Layout, LayoutError, Origin, RangeKind};

const LE: LittleEndian = LittleEndian;
/// `sizeof(Elf64_Ehdr)`, `sizeof(Elf64_Phdr)`, `sizeof(Elf64_Shdr)`.
const EHDR_SIZE: u64 = 64;
const PHDR_SIZE: u64 = 56;
const SHDR_SIZE: u64 = 64;

/// True when `data` starts with the ELF magic. Class, byte order and file
/// type are checked by [`build`] so that a 32-bit core or an executable
/// gets a precise refusal rather than "not a crash dump".
pub fn sniff(data: &[u8]) -> bool {
    data.starts_with(&elf::ELFMAG)
}

/// Offsets inside `struct elf_prstatus` (64-bit Linux, same on x86-64 and
/// aarch64): `pr_pid`, and the stack pointer inside `pr_reg`
/// (`user_regs_struct.rsp` is register 19; aarch64 `user_pt_regs.sp`
/// follows the 31 general registers). `pr_reg` starts at 112.
const PRSTATUS_PID: usize = 32;
const PRSTATUS_REG: usize = 112;

fn stack_pointer_offset(machine: u16) -> Option<usize> {
    match machine {
        m if m == elf::EM_X86_64.0 => Some(PRSTATUS_REG + 19 * 8),
        m if m == elf::EM_AARCH64.0 => Some(PRSTATUS_REG + 31 * 8),
        _ => None,
    }
}

/// Report names for the notes Linux kernels and gdb write into cores.
fn note_name(owner: &[u8], n_type: u32) -> String {
    let name = match (owner, n_type) {
        (b"CORE", 1) => "NT_PRSTATUS",
        (b"CORE", 2) => "NT_PRFPREG",
        (b"CORE", 3) => "NT_PRPSINFO",
        (b"CORE", 4) => "NT_TASKSTRUCT",
        (b"CORE", 6) => "NT_AUXV",
        (b"CORE", 0x5349_4749) => "NT_SIGINFO",
        (b"CORE", 0x4649_4c45) => "NT_FILE",
        (b"LINUX", 0x46e6_2b7f) => "NT_PRXFPREG",
        (b"LINUX", 0x201) => "NT_386_IOPERM",
        (b"LINUX", 0x202) => "NT_X86_XSTATE",
        (b"LINUX", 0x204) => "NT_X86_SHSTK",
        (b"LINUX", 0x205) => "NT_X86_XSAVE_LAYOUT",
        (b"LINUX", 0x400) => "NT_ARM_VFP",
        (b"LINUX", 0x401) => "NT_ARM_TLS",
        (b"LINUX", 0x402) => "NT_ARM_HW_BREAK",
        (b"LINUX", 0x403) => "NT_ARM_HW_WATCH",
        (b"LINUX", 0x404) => "NT_ARM_SYSTEM_CALL",
        (b"LINUX", 0x405) => "NT_ARM_SVE",
        (b"LINUX", 0x406) => "NT_ARM_PAC_MASK",
        (b"LINUX", 0x409) => "NT_ARM_TAGGED_ADDR_CTRL",
        (b"LINUX", 0x40a) => "NT_ARM_PAC_ENABLED_KEYS",
        (b"GDB", 1) => "NT_GDB_TDESC",
        _ => {
            return format!(
                "note {} type {n_type:#x}",
                String::from_utf8_lossy(owner).escape_debug()
            )
        }
    };
    name.to_string()
}

/// Notes whose payload is free text a secret can sit in and that no tool
/// needs byte-exact to unwind: the mapped paths and the process summary
/// (`pr_fname`, `pr_psargs`).
fn is_text_note(owner: &[u8], n_type: u32) -> bool {
    owner == b"CORE" && matches!(n_type, 3 | 0x4649_4c45)
}

struct Builder<'a> {
    data: &'a [u8],
    path: &'a str,
    claims: Vec<Claim>,
}

impl Builder<'_> {
    fn err(&self, msg: String) -> LayoutError {
        LayoutError(format!("{}: {msg}", self.path))
    }

    fn size(&self) -> u64 {
        self.data.len() as u64
    }

    /// Claims `start..start+len` after checking it lies inside the file.
    fn claim(
        &mut self,
        start: u64,
        len: u64,
        kind: RangeKind,
        vaddr: Option<u64>,
        origin: Origin,
        what: &dyn Fn() -> String,
    ) -> Result<(), LayoutError> {
        if start.checked_add(len).is_none_or(|end| end > self.size()) {
            return Err(self.err(format!(
                "{} at offset {start:#x} with length {len} extends past the end of the file ({} bytes)",
                what(),
                self.size()
            )));
        }
        if len > 0 {
            self.claims.push(Claim {
                start,
                len,
                kind,
                vaddr,
                origin,
            });
        }
        Ok(())
    }

    /// File offset of `inner`, a sub-slice of the mapped file.
    fn offset_of(&self, inner: &[u8]) -> u64 {
        (inner.as_ptr() as usize).wrapping_sub(self.data.as_ptr() as usize) as u64
    }
}

/// Refuses, with the reason, every ELF file this builder does not lay out.
fn check_ident(data: &[u8], path: &str) -> Result<(), LayoutError> {
    let err = |m: String| Err(LayoutError(format!("{path}: {m}")));
    let (Some(&class), Some(&order)) = (data.get(4), data.get(5)) else {
        return err(format!(
            "ELF header is truncated ({} bytes, need {EHDR_SIZE})",
            data.len()
        ));
    };
    match class {
        c if c == elf::ELFCLASS64.0 => {}
        c if c == elf::ELFCLASS32.0 => {
            return err("32-bit ELF core files are not supported (only 64-bit little-endian x86-64 and aarch64 cores are)".into())
        }
        c => return err(format!("ELF class {c} is not a valid ELF class")),
    }
    match order {
        d if d == elf::ELFDATA2LSB.0 => {}
        d if d == elf::ELFDATA2MSB.0 => {
            return err("big-endian ELF core files are not supported (only 64-bit little-endian x86-64 and aarch64 cores are)".into())
        }
        d => return err(format!("ELF data encoding {d} is not a valid byte order")),
    }
    if (data.len() as u64) < EHDR_SIZE {
        return err(format!(
            "ELF header is truncated ({} bytes, need {EHDR_SIZE})",
            data.len()
        ));
    }
    Ok(())
}

pub fn build(data: &[u8], path: &str) -> Result<Layout, LayoutError> {
    check_ident(data, path)?;
    let mut b = Builder {
        data,
        path,
        claims: Vec::new(),
    };
    let header =
        FileHeader64::<LittleEndian>::parse(data).map_err(|e| b.err(format!("ELF header: {e}")))?;
    let e_type = header.e_type(LE).0;
    if e_type != elf::ET_CORE.0 {
        return Err(b.err(format!(
            "ELF file of type {e_type} is not a core dump (e_type {} is ET_CORE)",
            elf::ET_CORE.0
        )));
    }
    let machine = header.e_machine(LE).0;
    let Some(sp_at) = stack_pointer_offset(machine) else {
        return Err(b.err(format!(
            "ELF core for machine {machine} is not supported (only x86-64 and aarch64 cores are)"
        )));
    };
    if u64::from(header.e_ehsize(LE)) != EHDR_SIZE {
        return Err(b.err(format!(
            "ELF header size is {}, expected {EHDR_SIZE}",
            header.e_ehsize(LE)
        )));
    }
    b.claim(
        0,
        EHDR_SIZE,
        RangeKind::Structure,
        None,
        Origin::named("ELF header"),
        &|| "ELF header".into(),
    )?;

    let phdrs = header
        .program_headers(LE, data)
        .map_err(|e| b.err(format!("program header table: {e}")))?;
    if phdrs.is_empty() {
        return Err(b.err("ELF core has no program headers".into()));
    }
    b.claim(
        header.e_phoff(LE),
        phdrs.len() as u64 * PHDR_SIZE,
        RangeKind::Structure,
        None,
        Origin::named("program headers"),
        &|| "program header table".into(),
    )?;
    claim_sections(&mut b, header)?;

    let mut regions = 0usize;
    let mut notes = 0usize;
    let mut threads: Vec<(u32, u64)> = Vec::new();
    let mut mappings: Vec<(u64, u64, String)> = Vec::new();
    for (i, ph) in phdrs.iter().enumerate() {
        let vaddr = ph.p_vaddr(LE);
        let (offset, filesz) = (ph.p_offset(LE), ph.p_filesz(LE));
        let p_type = ph.p_type(LE);
        let what = || {
            format!(
                "program header {i} (type {:#x}, address {vaddr:#x})",
                p_type.0
            )
        };
        if filesz > 0 && offset.checked_add(filesz).is_none_or(|e| e > b.size()) {
            return Err(b.err(format!(
                "{} covers file bytes {offset:#x}..+{filesz:#x}, past the end of the file ({} bytes)",
                what(),
                b.size()
            )));
        }
        if p_type == elf::PT_LOAD {
            regions += 1;
            if filesz > ph.p_memsz(LE) {
                return Err(b.err(format!(
                    "{} has more file bytes ({filesz:#x}) than memory ({:#x})",
                    what(),
                    ph.p_memsz(LE)
                )));
            }
            let origin = Origin {
                name: format!("PT_LOAD {vaddr:#x}"),
                stream_type: None,
                stream_index: u32::try_from(i).ok(),
            };
            b.claim(
                offset,
                filesz,
                RangeKind::Memory,
                Some(vaddr),
                origin,
                &what,
            )?;
        } else if p_type == elf::PT_NOTE {
            claim_notes(
                &mut b,
                ph,
                i,
                sp_at,
                &mut notes,
                &mut threads,
                &mut mappings,
            )?;
        }
    }

    let stacks = threads
        .iter()
        .filter_map(|&(tid, sp)| {
            phdrs
                .iter()
                .filter(|ph| ph.p_type(LE) == elf::PT_LOAD)
                .find(|ph| {
                    let start = ph.p_vaddr(LE);
                    sp >= start && sp - start < ph.p_memsz(LE)
                })
                .map(|ph| AddrSpan {
                    start: ph.p_vaddr(LE),
                    len: ph.p_memsz(LE),
                    name: format!("thread {tid}"),
                })
        })
        .collect();

    Ok(Layout {
        format: Format::ElfCore,
        file_size: b.size(),
        ranges: partition(b.size(), &b.claims),
        regions,
        streams: notes,
        modules: modules(mappings),
        stacks,
    })
}

/// The section header table and section names. The kernel writes section
/// headers only when there are too many segments to count in `e_phnum`;
/// gdb always writes them. Section contents other than names lie inside
/// the segments and are labelled there.
fn claim_sections(
    b: &mut Builder<'_>,
    header: &FileHeader64<LittleEndian>,
) -> Result<(), LayoutError> {
    let data = b.data;
    let shdrs = header
        .section_headers(LE, data)
        .map_err(|e| b.err(format!("section header table: {e}")))?;
    if shdrs.is_empty() {
        return Ok(());
    }
    b.claim(
        header.e_shoff(LE),
        shdrs.len() as u64 * SHDR_SIZE,
        RangeKind::Structure,
        None,
        Origin::named("section headers"),
        &|| "section header table".into(),
    )?;
    for (i, sh) in shdrs.iter().enumerate() {
        if sh.sh_type(LE) == elf::SHT_STRTAB {
            b.claim(
                sh.sh_offset(LE),
                sh.sh_size(LE),
                RangeKind::Structure,
                None,
                Origin::named("section names"),
                &|| format!("string table section {i}"),
            )?;
        }
    }
    Ok(())
}

/// Claims one PT_NOTE segment: every note header (and the alignment
/// padding) as structure, each payload by its type, and collects the
/// thread stack pointers and file mappings the notes declare.
fn claim_notes(
    b: &mut Builder<'_>,
    ph: &ProgramHeader64<LittleEndian>,
    segment: usize,
    sp_at: usize,
    count: &mut usize,
    threads: &mut Vec<(u32, u64)>,
    mappings: &mut Vec<(u64, u64, String)>,
) -> Result<(), LayoutError> {
    let data = b.data;
    let seg_start = ph.p_offset(LE);
    let seg_end = seg_start.saturating_add(ph.p_filesz(LE));
    let mut iter = ph
        .notes(LE, data)
        .map_err(|e| b.err(format!("PT_NOTE segment (program header {segment}): {e}")))?
        .into_iter()
        .flatten();
    // Everything between two payloads is note headers, names and padding.
    let mut cursor = seg_start;
    let header_origin = Origin::named("note header");
    loop {
        let note = match iter.next() {
            None => break,
            Some(Err(e)) => {
                return Err(b.err(format!(
                    "note {} in PT_NOTE segment (program header {segment}): {e}",
                    *count
                )))
            }
            Some(Ok(n)) => n,
        };
        let index = *count;
        *count += 1;
        let owner = note.name();
        let n_type = note.n_type(LE).0;
        let desc = note.desc();
        let desc_start = b.offset_of(desc);
        let desc_len = desc.len() as u64;
        let name = note_name(owner, n_type);
        b.claim(
            cursor,
            desc_start.saturating_sub(cursor),
            RangeKind::Structure,
            None,
            header_origin.clone(),
            &|| format!("header of note {index}"),
        )?;
        let kind = if is_text_note(owner, n_type) {
            RangeKind::Stream
        } else {
            RangeKind::Structure
        };
        let origin = Origin {
            name: name.clone(),
            stream_type: Some(n_type),
            stream_index: u32::try_from(index).ok(),
        };
        b.claim(desc_start, desc_len, kind, None, origin, &|| {
            format!("{name} note {index}")
        })?;
        cursor = desc_start.saturating_add(desc_len);

        if owner == b"CORE" && n_type == elf::NT_PRSTATUS.0 {
            let tid = read_u32(desc, PRSTATUS_PID);
            let sp = read_u64(desc, sp_at);
            match (tid, sp) {
                (Some(tid), Some(sp)) => threads.push((tid, sp)),
                _ => {
                    return Err(b.err(format!(
                        "NT_PRSTATUS note {index} is {desc_len} bytes, too short to hold the thread's registers"
                    )))
                }
            }
        } else if owner == b"CORE" && n_type == elf::NT_FILE.0 {
            let files = parse_nt_file(desc)
                .ok_or_else(|| b.err(format!("NT_FILE note {index} is malformed")))?;
            mappings.extend(files);
        }
    }
    b.claim(
        cursor,
        seg_end.saturating_sub(cursor),
        RangeKind::Structure,
        None,
        header_origin,
        &|| format!("PT_NOTE segment (program header {segment})"),
    )
}

fn read_u32(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

fn read_u64(d: &[u8], at: usize) -> Option<u64> {
    let b = d.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

/// `NT_FILE`: `count`, `page_size`, `count` × (start, end, file offset in
/// pages), then `count` NUL-terminated paths. Returns (start, end, path).
fn parse_nt_file(d: &[u8]) -> Option<Vec<(u64, u64, String)>> {
    let count = usize::try_from(read_u64(d, 0)?).ok()?;
    let names_at = count.checked_mul(24)?.checked_add(16)?;
    let mut names = d.get(names_at..)?.split(|&c| c == 0);
    let mut out = Vec::with_capacity(count.min(d.len() / 24));
    for i in 0..count {
        let at = 16 + i * 24;
        let (start, end) = (read_u64(d, at)?, read_u64(d, at + 8)?);
        let name = names.next()?;
        out.push((start, end, String::from_utf8_lossy(name).into_owned()));
    }
    Some(out)
}

/// One span per mapped file, from its lowest to its highest mapped
/// address, ordered by address.
fn modules(mappings: Vec<(u64, u64, String)>) -> Vec<AddrSpan> {
    let mut by_path: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (start, end, path) in mappings {
        if end <= start {
            continue;
        }
        let e = by_path.entry(path).or_insert((start, end));
        e.0 = e.0.min(start);
        e.1 = e.1.max(end);
    }
    let mut out: Vec<AddrSpan> = by_path
        .into_iter()
        .map(|(name, (start, end))| AddrSpan {
            start,
            len: end - start,
            name,
        })
        .collect();
    out.sort_by(|a, b| (a.start, &a.name).cmp(&(b.start, &b.name)));
    out
}
