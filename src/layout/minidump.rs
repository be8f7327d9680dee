//! Minidump layout builder.
//!
//! The `minidump` crate validates the header and gives us the memory lists,
//! but it keeps one stream of each type and drops entries it cannot parse.
//! A scrubber must account for every byte, so this module also walks the
//! stream directory itself and labels every stream, descriptor and string
//! it references, with bounds checks on every read. Anything that points
//! outside the file is an error: a dump we do not fully understand is never
//! passed as clean.

use minidump::{
    Minidump, MinidumpException, MinidumpMemory64List, MinidumpMemoryList, MinidumpMiscInfo,
    MinidumpModuleList, MinidumpSystemInfo, MinidumpThreadList,
};

use super::{partition, AddrSpan, Claim, Format, Layout, LayoutError, Origin, RangeKind};

const HEADER_SIZE: u64 = 32;
const DIRECTORY_ENTRY_SIZE: u64 = 12;
const SIGNATURE: u32 = 0x504d_444d; // "MDMP"

/// True when `data` starts with the minidump signature.
pub fn sniff(data: &[u8]) -> bool {
    data.len() >= 4 && u32::from_le_bytes([data[0], data[1], data[2], data[3]]) == SIGNATURE
}

/// Well-known stream types, by the names the Windows SDK, Breakpad and
/// Crashpad give them.
pub fn stream_name(stream_type: u32) -> String {
    let name = match stream_type {
        0 => "UnusedStream",
        3 => "ThreadListStream",
        4 => "ModuleListStream",
        5 => "MemoryListStream",
        6 => "ExceptionStream",
        7 => "SystemInfoStream",
        8 => "ThreadExListStream",
        9 => "Memory64ListStream",
        10 => "CommentStreamA",
        11 => "CommentStreamW",
        12 => "HandleDataStream",
        13 => "FunctionTableStream",
        14 => "UnloadedModuleListStream",
        15 => "MiscInfoStream",
        16 => "MemoryInfoListStream",
        17 => "ThreadInfoListStream",
        18 => "HandleOperationListStream",
        19 => "TokenStream",
        20 => "JavaScriptDataStream",
        21 => "SystemMemoryInfoStream",
        22 => "ProcessVmCountersStream",
        23 => "IptTraceStream",
        24 => "ThreadNamesStream",
        0x4350_0001 => "CrashpadInfoStream",
        0x4767_0001 => "BreakpadInfoStream",
        0x4767_0002 => "AssertionInfoStream",
        0x4767_0003 => "LinuxCpuInfo",
        0x4767_0004 => "LinuxProcStatus",
        0x4767_0005 => "LinuxLsbRelease",
        0x4767_0006 => "LinuxCmdLine",
        0x4767_0007 => "LinuxEnviron",
        0x4767_0008 => "LinuxAuxv",
        0x4767_0009 => "LinuxMaps",
        0x4767_000a => "LinuxDsoDebug",
        0x4767_000b => "LinuxProcStat",
        0x4767_000c => "LinuxProcUptime",
        0x4767_000d => "LinuxProcLimits",
        0x4d7a_0001 => "MozMacosCrashInfoStream",
        0x4d7a_0002 => "MozMacosBootargsStream",
        0x4d7a_0003 => "MozLinuxLimits",
        _ => return format!("stream type {stream_type:#010x}"),
    };
    name.to_string()
}

/// Streams that are binary records tools interpret field by field and
/// that hold no free text: kept as structure.
fn is_structure_only(stream_type: u32) -> bool {
    matches!(stream_type, 13 | 15 | 16 | 17 | 18 | 21 | 22 | 0x4767_0001)
}

/// Bounds-checked little-endian reads over the mapped file.
struct Reader<'a> {
    data: &'a [u8],
    path: &'a str,
}

impl<'a> Reader<'a> {
    fn size(&self) -> u64 {
        self.data.len() as u64
    }

    fn bytes(
        &self,
        offset: u64,
        len: u64,
        what: &dyn Fn() -> String,
    ) -> Result<&'a [u8], LayoutError> {
        let end = offset.checked_add(len).filter(|&e| e <= self.size());
        match end {
            Some(end) => Ok(&self.data[offset as usize..end as usize]),
            None => Err(LayoutError(format!(
                "{}: {} at offset {:#x} with length {} extends past the end of the file ({} bytes)",
                self.path,
                what(),
                offset,
                len,
                self.size()
            ))),
        }
    }

    fn u32(&self, offset: u64, what: &dyn Fn() -> String) -> Result<u32, LayoutError> {
        let b = self.bytes(offset, 4, what)?;
        Ok(u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }

    fn u64(&self, offset: u64, what: &dyn Fn() -> String) -> Result<u64, LayoutError> {
        let b = self.bytes(offset, 8, what)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
}

/// One directory entry.
#[derive(Debug, Clone, Copy)]
struct Entry {
    index: u32,
    stream_type: u32,
    size: u64,
    rva: u64,
}

struct Builder<'a> {
    r: Reader<'a>,
    claims: Vec<Claim>,
    regions: usize,
}

impl<'a> Builder<'a> {
    fn claim(
        &mut self,
        start: u64,
        len: u64,
        kind: RangeKind,
        vaddr: Option<u64>,
        origin: &Origin,
    ) {
        if len > 0 {
            self.claims.push(Claim {
                start,
                len,
                kind,
                vaddr,
                origin: origin.clone(),
            });
        }
    }

    fn err(&self, msg: String) -> LayoutError {
        LayoutError(format!("{}: {}", self.r.path, msg))
    }

    /// Checks that `offset..offset+len` lies inside the file and claims it.
    fn claim_checked(
        &mut self,
        start: u64,
        len: u64,
        kind: RangeKind,
        vaddr: Option<u64>,
        origin: &Origin,
        what: &dyn Fn() -> String,
    ) -> Result<(), LayoutError> {
        self.r.bytes(start, len, what)?;
        self.claim(start, len, kind, vaddr, origin);
        Ok(())
    }

    /// Location of an array of `count` records of `entry_size` inside a
    /// stream, after a header of `header` bytes. Some writers pad the header
    /// by four bytes for alignment; accept both as rust-minidump does.
    fn array_start(
        &self,
        e: &Entry,
        header: u64,
        count: u64,
        entry_size: u64,
    ) -> Result<u64, LayoutError> {
        let need = count
            .checked_mul(entry_size)
            .and_then(|n| n.checked_add(header))
            .ok_or_else(|| self.err(format!("{}: entry count {count} overflows", describe(e))))?;
        if e.size == need + 4 {
            return Ok(e.rva + header + 4);
        }
        if e.size < need {
            return Err(self.err(format!(
                "{} (directory index {}) declares {count} entries of {entry_size} bytes but is only {} bytes long",
                stream_name(e.stream_type),
                e.index,
                e.size
            )));
        }
        Ok(e.rva + header)
    }

    /// A length-prefixed string referenced by RVA: a MINIDUMP_STRING (u32
    /// byte length, then UTF-16LE) or a Crashpad MinidumpUTF8String /
    /// MinidumpByteArray (u32 length, then bytes). The length is structure,
    /// the characters are payload.
    fn counted_string(&mut self, rva: u64, origin: &Origin, what: &str) -> Result<(), LayoutError> {
        if rva == 0 {
            return Ok(());
        }
        let len = self.r.u32(rva, &|| format!("{what} length"))? as u64;
        self.claim(rva, 4, RangeKind::Structure, None, origin);
        self.claim_checked(
            rva + 4,
            len,
            RangeKind::Stream,
            None,
            &sub(origin, what),
            &|| what.to_string(),
        )
    }

    /// A location descriptor (u32 size, u32 rva) at `at`.
    fn location(&self, at: u64, what: &dyn Fn() -> String) -> Result<(u64, u64), LayoutError> {
        let size = self.r.u32(at, what)? as u64;
        let rva = self.r.u32(at + 4, what)? as u64;
        if size > 0 {
            self.r.bytes(rva, size, what)?;
        }
        Ok((size, rva))
    }

    fn stream(&mut self, e: Entry) -> Result<(), LayoutError> {
        let origin = Origin {
            name: stream_name(e.stream_type),
            stream_type: Some(e.stream_type),
            stream_index: Some(e.index),
        };
        if e.size == 0 {
            return Ok(());
        }
        self.r.bytes(e.rva, e.size, &|| {
            format!("{} (directory index {})", origin.name, e.index)
        })?;
        match e.stream_type {
            3 => self.thread_list(&e, &origin, 48),
            8 => self.thread_list(&e, &origin, 64),
            4 => self.module_list(&e, &origin),
            5 => self.memory_list(&e, &origin),
            9 => self.memory64_list(&e, &origin),
            6 => self.exception(&e, &origin),
            7 => self.system_info(&e, &origin),
            12 => self.handle_data(&e, &origin),
            14 => self.unloaded_modules(&e, &origin),
            24 => self.thread_names(&e, &origin),
            0x4350_0001 => self.crashpad_info(&e, &origin),
            t if is_structure_only(t) => {
                self.claim(e.rva, e.size, RangeKind::Structure, None, &origin);
                Ok(())
            }
            _ => {
                self.claim(e.rva, e.size, RangeKind::Stream, None, &origin);
                Ok(())
            }
        }
    }

    fn memory_descriptor(
        &mut self,
        at: u64,
        origin: &Origin,
        what: &str,
    ) -> Result<(), LayoutError> {
        let what_fn = || what.to_string();
        let base = self.r.u64(at, &what_fn)?;
        let size = self.r.u32(at + 8, &what_fn)? as u64;
        let rva = self.r.u32(at + 12, &what_fn)? as u64;
        // RVA 0 is the header, never memory: full-memory dumps write thread
        // stacks this way to say "the bytes are in the Memory64List".
        if rva == 0 {
            return Ok(());
        }
        self.r.bytes(rva, size, &what_fn)?;
        self.claim(rva, size, RangeKind::Memory, Some(base), origin);
        self.regions += 1;
        Ok(())
    }

    fn thread_list(
        &mut self,
        e: &Entry,
        origin: &Origin,
        entry_size: u64,
    ) -> Result<(), LayoutError> {
        let count = self.r.u32(e.rva, &|| "thread count".into())? as u64;
        let first = self.array_start(e, 4, count, entry_size)?;
        self.claim(e.rva, e.size, RangeKind::Structure, None, origin);
        let stack_origin = sub(origin, "thread stack");
        let ctx_origin = sub(origin, "thread context");
        for i in 0..count {
            let t = first + i * entry_size;
            self.memory_descriptor(
                t + 24,
                &stack_origin,
                &format!("thread {i} stack descriptor"),
            )?;
            let (size, rva) = self.location(t + 40, &|| format!("thread {i} context"))?;
            self.thread_context(rva, size, &ctx_origin)?;
            if entry_size == 64 {
                self.memory_descriptor(
                    t + 48,
                    &sub(origin, "backing store"),
                    &format!("thread {i} backing store"),
                )?;
            }
        }
        Ok(())
    }

    /// A thread context is structure (unwinding needs its registers),
    /// except the SSE registers: crypto code keeps AES round keys there and
    /// no unwinder reads them, so they are scanned and may be zeroed.
    fn thread_context(&mut self, rva: u64, size: u64, origin: &Origin) -> Result<(), LayoutError> {
        let Some((from, to)) = xmm_area(self.r.data, rva, size) else {
            self.claim(rva, size, RangeKind::Structure, None, origin);
            return Ok(());
        };
        let (start, end) = (rva + from, rva + to);
        self.claim(rva, from, RangeKind::Structure, None, origin);
        self.claim(
            start,
            to - from,
            RangeKind::Stream,
            None,
            &sub(origin, "XMM registers"),
        );
        self.claim(end, size - to, RangeKind::Structure, None, origin);
        Ok(())
    }

    fn module_list(&mut self, e: &Entry, origin: &Origin) -> Result<(), LayoutError> {
        const MODULE_SIZE: u64 = 108;
        let count = self.r.u32(e.rva, &|| "module count".into())? as u64;
        let first = self.array_start(e, 4, count, MODULE_SIZE)?;
        self.claim(e.rva, e.size, RangeKind::Structure, None, origin);
        for i in 0..count {
            let m = first + i * MODULE_SIZE;
            let name_rva = self.r.u32(m + 20, &|| format!("module {i} name"))? as u64;
            self.counted_string(name_rva, origin, "module name")?;
            // Debug identifiers (CodeView, misc): symbol lookup needs them intact.
            for (at, what) in [(m + 76, "CodeView record"), (m + 84, "misc debug record")] {
                let (size, rva) = self.location(at, &|| format!("module {i} {what}"))?;
                self.claim(rva, size, RangeKind::Structure, None, &sub(origin, what));
            }
        }
        Ok(())
    }

    fn memory_list(&mut self, e: &Entry, origin: &Origin) -> Result<(), LayoutError> {
        let count = self.r.u32(e.rva, &|| "memory region count".into())? as u64;
        let first = self.array_start(e, 4, count, 16)?;
        self.claim(e.rva, e.size, RangeKind::Structure, None, origin);
        for i in 0..count {
            self.memory_descriptor(first + i * 16, origin, &format!("memory region {i}"))?;
        }
        Ok(())
    }

    fn memory64_list(&mut self, e: &Entry, origin: &Origin) -> Result<(), LayoutError> {
        let count = self.r.u64(e.rva, &|| "Memory64List count".into())?;
        let base_rva = self.r.u64(e.rva + 8, &|| "Memory64List base RVA".into())?;
        let first = self.array_start(e, 16, count, 16)?;
        self.claim(e.rva, e.size, RangeKind::Structure, None, origin);
        let mut rva = base_rva;
        for i in 0..count {
            let d = first + i * 16;
            let base = self.r.u64(d, &|| format!("Memory64List region {i}"))?;
            let size = self.r.u64(d + 8, &|| format!("Memory64List region {i}"))?;
            self.claim_checked(rva, size, RangeKind::Memory, Some(base), origin, &|| {
                format!("Memory64List region {i} (address {base:#x})")
            })?;
            self.regions += 1;
            rva += size; // cannot overflow: claim_checked bounded it by the file size
        }
        Ok(())
    }

    fn exception(&mut self, e: &Entry, origin: &Origin) -> Result<(), LayoutError> {
        if e.size < 168 {
            return Err(self.err(format!(
                "ExceptionStream (directory index {}) is {} bytes, expected at least 168",
                e.index, e.size
            )));
        }
        self.claim(e.rva, e.size, RangeKind::Structure, None, origin);
        let (size, rva) = self.location(e.rva + 160, &|| "exception thread context".into())?;
        self.thread_context(rva, size, &sub(origin, "thread context"))?;
        Ok(())
    }

    fn system_info(&mut self, e: &Entry, origin: &Origin) -> Result<(), LayoutError> {
        self.claim(e.rva, e.size, RangeKind::Structure, None, origin);
        if e.size >= 28 {
            let csd = self.r.u32(e.rva + 24, &|| "CSD version".into())? as u64;
            self.counted_string(csd, origin, "CSD version")?;
        }
        Ok(())
    }

    fn handle_data(&mut self, e: &Entry, origin: &Origin) -> Result<(), LayoutError> {
        self.claim(e.rva, e.size, RangeKind::Structure, None, origin);
        let header = self.r.u32(e.rva, &|| "handle data header".into())? as u64;
        let desc_size = self.r.u32(e.rva + 4, &|| "handle data header".into())? as u64;
        let count = self.r.u32(e.rva + 8, &|| "handle data header".into())? as u64;
        if desc_size < 16 {
            return Err(self.err(format!(
                "HandleDataStream descriptor size {desc_size} is too small"
            )));
        }
        let first = self.array_start(e, header, count, desc_size)?;
        for i in 0..count {
            let d = first + i * desc_size;
            let type_rva = self.r.u32(d + 8, &|| format!("handle {i}"))? as u64;
            let name_rva = self.r.u32(d + 12, &|| format!("handle {i}"))? as u64;
            self.counted_string(type_rva, origin, "handle type name")?;
            self.counted_string(name_rva, origin, "handle object name")?;
        }
        Ok(())
    }

    fn unloaded_modules(&mut self, e: &Entry, origin: &Origin) -> Result<(), LayoutError> {
        self.claim(e.rva, e.size, RangeKind::Structure, None, origin);
        let header = self.r.u32(e.rva, &|| "unloaded module header".into())? as u64;
        let entry_size = self.r.u32(e.rva + 4, &|| "unloaded module header".into())? as u64;
        let count = self.r.u32(e.rva + 8, &|| "unloaded module header".into())? as u64;
        if entry_size < 24 {
            return Err(self.err(format!(
                "UnloadedModuleListStream entry size {entry_size} is too small"
            )));
        }
        let first = self.array_start(e, header, count, entry_size)?;
        for i in 0..count {
            let name_rva = self.r.u32(first + i * entry_size + 20, &|| {
                format!("unloaded module {i}")
            })? as u64;
            self.counted_string(name_rva, origin, "unloaded module name")?;
        }
        Ok(())
    }

    fn thread_names(&mut self, e: &Entry, origin: &Origin) -> Result<(), LayoutError> {
        let count = self.r.u32(e.rva, &|| "thread name count".into())? as u64;
        let first = self.array_start(e, 4, count, 12)?;
        self.claim(e.rva, e.size, RangeKind::Structure, None, origin);
        for i in 0..count {
            let rva = self
                .r
                .u64(first + i * 12 + 4, &|| format!("thread name {i}"))?;
            self.counted_string(rva, origin, "thread name")?;
        }
        Ok(())
    }

    fn crashpad_info(&mut self, e: &Entry, origin: &Origin) -> Result<(), LayoutError> {
        self.claim(e.rva, e.size, RangeKind::Structure, None, origin);
        if e.size < 52 {
            return Ok(());
        }
        let (size, rva) = self.location(e.rva + 36, &|| "Crashpad simple annotations".into())?;
        if size > 0 {
            self.string_dictionary(rva, origin)?;
        }
        let (size, rva) = self.location(e.rva + 44, &|| "Crashpad module list".into())?;
        if size == 0 {
            return Ok(());
        }
        self.claim(rva, size, RangeKind::Structure, None, origin);
        let count = self.r.u32(rva, &|| "Crashpad module count".into())? as u64;
        for i in 0..count {
            let link = rva + 4 + i * 12;
            let (msize, mrva) = self.location(link + 4, &|| format!("Crashpad module {i}"))?;
            if msize < 28 {
                continue;
            }
            self.claim(mrva, msize, RangeKind::Structure, None, origin);
            let (lsize, lrva) = self.location(mrva + 4, &|| {
                format!("Crashpad module {i} list annotations")
            })?;
            if lsize > 0 {
                self.claim(lrva, lsize, RangeKind::Structure, None, origin);
                let n = self
                    .r
                    .u32(lrva, &|| "Crashpad list annotation count".into())?
                    as u64;
                for j in 0..n {
                    let srva = self
                        .r
                        .u32(lrva + 4 + j * 4, &|| "Crashpad list annotation".into())?
                        as u64;
                    self.counted_string(srva, origin, "Crashpad list annotation")?;
                }
            }
            let (ssize, srva) = self.location(mrva + 12, &|| {
                format!("Crashpad module {i} simple annotations")
            })?;
            if ssize > 0 {
                self.string_dictionary(srva, origin)?;
            }
            let (asize, arva) = self.location(mrva + 20, &|| {
                format!("Crashpad module {i} annotation objects")
            })?;
            if asize > 0 {
                self.claim(arva, asize, RangeKind::Structure, None, origin);
                let n = self.r.u32(arva, &|| "Crashpad annotation count".into())? as u64;
                for j in 0..n {
                    let a = arva + 4 + j * 12;
                    let name = self.r.u32(a, &|| "Crashpad annotation".into())? as u64;
                    let value = self.r.u32(a + 8, &|| "Crashpad annotation".into())? as u64;
                    self.counted_string(name, origin, "Crashpad annotation name")?;
                    self.counted_string(value, origin, "Crashpad annotation value")?;
                }
            }
        }
        Ok(())
    }

    fn string_dictionary(&mut self, rva: u64, origin: &Origin) -> Result<(), LayoutError> {
        let count = self
            .r
            .u32(rva, &|| "Crashpad annotation dictionary".into())? as u64;
        let len = count
            .checked_mul(8)
            .and_then(|n| n.checked_add(4))
            .ok_or_else(|| self.err("Crashpad annotation dictionary count overflows".into()))?;
        self.claim_checked(rva, len, RangeKind::Structure, None, origin, &|| {
            "Crashpad annotation dictionary".into()
        })?;
        for i in 0..count {
            let key = self
                .r
                .u32(rva + 4 + i * 8, &|| "Crashpad annotation key".into())?
                as u64;
            let value = self
                .r
                .u32(rva + 8 + i * 8, &|| "Crashpad annotation value".into())?
                as u64;
            self.counted_string(key, origin, "Crashpad annotation key")?;
            self.counted_string(value, origin, "Crashpad annotation value")?;
        }
        Ok(())
    }
}

/// Where the XMM registers lie inside a thread context, relative to its
/// start, for the CPU context layouts we know: x86-64 (`CONTEXT_AMD64`,
/// 1232 bytes, XMM0-15 in the FXSAVE area at 0x100 + 0xa0) and x86
/// (`CONTEXT_X86` with extended registers: XMM0-7 at 0xcc + 0xa0). Other
/// CPUs' vector registers stay structure.
fn xmm_area(data: &[u8], rva: u64, size: u64) -> Option<(u64, u64)> {
    const CONTEXT_AMD64: u32 = 0x0010_0000;
    const CONTEXT_X86_EXTENDED: u32 = 0x0001_0020;
    let end = rva.checked_add(size)?;
    let ctx = data.get(rva as usize..usize::try_from(end).ok()?)?;
    let u32_at = |o: usize| {
        ctx.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if size >= 1232 && u32_at(0x30)? & CONTEXT_AMD64 == CONTEXT_AMD64 {
        return Some((0x1a0, 0x2a0));
    }
    if size >= 716 && u32_at(0)? & CONTEXT_X86_EXTENDED == CONTEXT_X86_EXTENDED {
        return Some((0x16c, 0x1ec));
    }
    None
}

fn sub(origin: &Origin, what: &str) -> Origin {
    Origin {
        name: format!("{} / {}", origin.name, what),
        stream_type: origin.stream_type,
        stream_index: origin.stream_index,
    }
}

fn describe(e: &Entry) -> String {
    format!(
        "{} (directory index {})",
        stream_name(e.stream_type),
        e.index
    )
}

/// Builds the layout of a minidump held in `data`. `path` is used in errors.
pub fn build(data: &[u8], path: &str) -> Result<Layout, LayoutError> {
    let r = Reader { data, path };
    if !sniff(data) {
        return Err(LayoutError(format!(
            "{path}: not a minidump (no MDMP signature)"
        )));
    }
    // The crate's own header checks (version, directory) come first, so a
    // file it rejects is never scrubbed on our parser's word alone.
    let dump = Minidump::read(data).map_err(|e| {
        LayoutError(format!(
            "{path}: the minidump crate cannot read this file: {e}"
        ))
    })?;

    let stream_count = r.u32(8, &|| "header".into())? as u64;
    let dir_rva = r.u32(12, &|| "header".into())? as u64;
    r.bytes(0, HEADER_SIZE, &|| "header".into())?;
    let dir_len = stream_count * DIRECTORY_ENTRY_SIZE;
    r.bytes(dir_rva, dir_len, &|| {
        format!("stream directory of {stream_count} entries")
    })?;

    let mut b = Builder {
        r,
        claims: Vec::new(),
        regions: 0,
    };
    b.claim(
        0,
        HEADER_SIZE,
        RangeKind::Structure,
        None,
        &Origin::named("header"),
    );
    b.claim(
        dir_rva,
        dir_len,
        RangeKind::Structure,
        None,
        &Origin::named("stream directory"),
    );
    for index in 0..stream_count {
        let at = dir_rva + index * DIRECTORY_ENTRY_SIZE;
        let entry = Entry {
            index: index as u32,
            stream_type: b.r.u32(at, &|| "directory entry".into())?,
            size: b.r.u32(at + 4, &|| "directory entry".into())? as u64,
            rva: b.r.u32(at + 8, &|| "directory entry".into())? as u64,
        };
        b.stream(entry)?;
    }

    cross_check_memory(&dump, data, &b.claims, path)?;

    let ranges = partition(data.len() as u64, &b.claims);
    let (modules, stacks) = address_maps(&dump);
    Ok(Layout {
        format: Format::Minidump,
        file_size: data.len() as u64,
        ranges,
        regions: b.regions,
        streams: stream_count as usize,
        modules,
        stacks,
    })
}

/// The module images (ModuleList: base, size, name) and thread stacks the
/// dump declares, as the `minidump` crate reads them. A thread's stack is
/// its ThreadList stack descriptor (start and size, `thread <id>`) and also
/// the captured region holding its stack pointer (thread and exception
/// contexts), because that region is what unwinders read: WoW64 and
/// full-memory dumps describe one stack and run on another. A list the
/// crate cannot read gives no spans: policies then treat that memory as
/// neither code nor stack and remove it, the safe direction.
fn address_maps(dump: &Minidump<'_, &[u8]>) -> (Vec<AddrSpan>, Vec<AddrSpan>) {
    let mut modules: Vec<AddrSpan> = dump
        .get_stream::<MinidumpModuleList>()
        .map(|list| {
            list.iter()
                .map(|m| AddrSpan {
                    start: m.raw.base_of_image,
                    len: m.raw.size_of_image as u64,
                    name: m.name.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut stacks = Vec::new();
    let system = dump.get_stream::<MinidumpSystemInfo>().ok();
    let misc = dump.get_stream::<MinidumpMiscInfo>().ok();
    let memory = dump.get_memory();
    let sp_region = |sp: Option<u64>, name: String, stacks: &mut Vec<AddrSpan>| {
        if let Some(region) = sp.and_then(|sp| memory.as_ref()?.memory_at_address(sp)) {
            stacks.push(AddrSpan {
                start: region.base_address(),
                len: region.size(),
                name,
            });
        }
    };
    if let Ok(list) = dump.get_stream::<MinidumpThreadList>() {
        for t in &list.threads {
            let name = format!("thread {}", t.raw.thread_id);
            stacks.push(AddrSpan {
                start: t.raw.stack.start_of_memory_range,
                len: t.raw.stack.memory.data_size as u64,
                name: name.clone(),
            });
            let sp = system
                .as_ref()
                .and_then(|s| t.context(s, misc.as_ref()))
                .map(|c| c.get_stack_pointer());
            sp_region(sp, name, &mut stacks);
        }
    }
    if let Ok(e) = dump.get_stream::<MinidumpException>() {
        let sp = system
            .as_ref()
            .and_then(|s| e.context(s, misc.as_ref()))
            .map(|c| c.get_stack_pointer());
        sp_region(sp, format!("thread {}", e.raw.thread_id), &mut stacks);
    }
    modules.retain(|m| m.len > 0);
    stacks.retain(|s| s.len > 0);
    modules.sort_by_key(|m| m.start);
    stacks.sort_by_key(|s| s.start);
    (modules, stacks)
}

/// The crashed process's pointer size in bytes, from the CPU its system
/// information names.
pub fn pointer_size(data: &[u8]) -> Option<usize> {
    let dump = Minidump::read(data).ok()?;
    let info = dump.get_stream::<MinidumpSystemInfo>().ok()?;
    info.cpu.pointer_width().size_in_bytes().map(usize::from)
}

/// Every memory region the `minidump` crate sees must be one we claimed as
/// memory at the same file offset and address. The crate hands out slices
/// of the mapping, so the offset is the slice's distance from the start.
fn cross_check_memory(
    dump: &Minidump<'_, &[u8]>,
    data: &[u8],
    claims: &[Claim],
    path: &str,
) -> Result<(), LayoutError> {
    let base = data.as_ptr() as usize;
    let mut seen: Vec<(u64, u64, u64)> = Vec::new();
    if let Ok(list) = dump.get_stream::<MinidumpMemoryList>() {
        for m in list.iter() {
            seen.push((
                m.bytes.as_ptr() as usize as u64 - base as u64,
                m.bytes.len() as u64,
                m.base_address,
            ));
        }
    }
    if let Ok(list) = dump.get_stream::<MinidumpMemory64List>() {
        for m in list.iter() {
            seen.push((
                m.bytes.as_ptr() as usize as u64 - base as u64,
                m.bytes.len() as u64,
                m.base_address,
            ));
        }
    }
    let mut ours: Vec<(u64, u64, u64)> = claims
        .iter()
        .filter(|c| c.kind == RangeKind::Memory)
        .map(|c| (c.start, c.len, c.vaddr.unwrap_or(0)))
        .collect();
    ours.sort_unstable();
    for s in seen.iter().filter(|s| s.1 > 0) {
        if ours.binary_search(s).is_err() {
            return Err(LayoutError(format!(
                "{path}: memory region at address {:#x} (file offset {:#x}, {} bytes) read by the minidump crate is not described by the stream directory",
                s.2, s.0, s.1
            )));
        }
    }
    Ok(())
}
