//! The vendored wasmtime patches (`patches/wasmtime/`), checked in an engine configured
//! exactly like the host's (`runtime::engine::new_engine`: pooling allocator, pagemap scan,
//! 1 MiB of linear memory kept resident).
//!
//! 1. A pooled memory slot whose guest dirtied more than 32 disjoint runs of pages is reset
//!    in place, so the next instance in the slot does not fault those pages back in (and
//!    sees them reset). Unpatched wasmtime 48.0.8 decommits everything past the 32nd run.
//! 2. Modules with thousands of functions in tables and exports instantiate and call the
//!    right functions (the O(1) function lookup built at module load).
//!
//! The modules are written as bytes by a tiny encoder below (the host has no `wat`).

use pyrus_host::runtime::engine::{new_engine, EngineSettings};
use wasmtime::{Engine, Instance, Module, Store};

/// Disjoint runs of dirty pages per call: more than the 32 regions one PAGEMAP_SCAN of
/// unpatched wasmtime reports, fewer pages than the host keeps resident (1 MiB = 256).
const RUNS: u32 = 100;
/// One page written, one left alone: every written page is a run of its own.
const STRIDE: u32 = 8192;
/// 64 KiB wasm pages in the memory; data segments at both ends make wasmtime build an
/// image of the whole 4 MiB, so the memory is image-backed like a pre-initialised heap.
const MEMORY_PAGES: u32 = 64;

#[test]
fn a_slot_dirtied_in_many_runs_is_reset_in_place_and_does_not_fault_again() {
    if !cfg!(target_os = "linux") || !pagemap_scan_supported() {
        eprintln!("no PAGEMAP_SCAN (Linux 6.7+): the pool resets by madvise, nothing to test");
        return;
    }
    let engine = new_engine(&EngineSettings::default()).unwrap();
    let module = Module::new(&engine, dirtying_module()).unwrap();

    let mut faults = Vec::new();
    for round in 0..8 {
        let (mut store, instance) = instantiate(&engine, &module);
        let check = instance
            .get_typed_func::<(), u32>(&mut store, "check")
            .unwrap();
        let touch = instance
            .get_typed_func::<(), ()>(&mut store, "touch")
            .unwrap();
        // Every instance starts from the image: the previous round's writes were reset.
        assert_eq!(
            check.call(&mut store, ()).unwrap(),
            7 + 9,
            "round {round}: not reset"
        );
        let before = minor_faults();
        touch.call(&mut store, ()).unwrap();
        faults.push(minor_faults() - before);
        assert_eq!(
            check.call(&mut store, ()).unwrap(),
            RUNS * (RUNS + 1) / 2 + 9
        );
        // Dropping the store returns the memory slot to the pool, which resets it; the
        // next round gets the same slot back (the pool prefers the module's last slot).
    }
    eprintln!("minor faults per call, {RUNS} dirty runs: {faults:?}");
    // The first rounds fault the pages in. After that a slot reset in place keeps them all
    // resident; unpatched wasmtime faults the ~{RUNS - 32} runs past the 32nd every time.
    let steady = faults[2..].iter().max().unwrap();
    assert!(
        *steady < 16,
        "pages of the {RUNS} runs fault again after every reset: {faults:?}"
    );
}

#[test]
fn a_slot_dirtied_past_keep_resident_is_still_reset() {
    // The other way a scan stops early: more dirty pages than `keep_resident`. The pages
    // past the budget are decommitted, and the instance must still see a fresh memory.
    if !cfg!(target_os = "linux") {
        return;
    }
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    pool.total_memories(4)
        .total_core_instances(4)
        .total_tables(4)
        .total_stacks(4)
        .max_memory_size(8 << 20)
        .linear_memory_keep_resident(16 * 4096)
        .pagemap_scan(wasmtime::Enabled::Auto);
    let mut config = wasmtime::Config::new();
    config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, dirtying_module()).unwrap();
    for round in 0..4 {
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let check = instance
            .get_typed_func::<(), u32>(&mut store, "check")
            .unwrap();
        let touch = instance
            .get_typed_func::<(), ()>(&mut store, "touch")
            .unwrap();
        assert_eq!(
            check.call(&mut store, ()).unwrap(),
            7 + 9,
            "round {round}: not reset"
        );
        touch.call(&mut store, ()).unwrap();
        assert_eq!(
            check.call(&mut store, ()).unwrap(),
            RUNS * (RUNS + 1) / 2 + 9
        );
    }
}

#[test]
fn modules_with_thousands_of_functions_in_tables_call_the_right_ones() {
    const FUNCS: u32 = 3000;
    let engine = new_engine(&EngineSettings::default()).unwrap();
    let many = Module::new(&engine, many_functions_module(FUNCS)).unwrap();
    let importer = Module::new(&engine, importing_module(FUNCS)).unwrap();
    for _ in 0..3 {
        let (mut store, instance) = instantiate(&engine, &many);
        // Through the table: funcrefs of every even function, made at instantiation.
        let call = instance
            .get_typed_func::<u32, u32>(&mut store, "call")
            .unwrap();
        for slot in 0..FUNCS / 2 {
            assert_eq!(call.call(&mut store, slot).unwrap(), 2 * slot * 7 + 1);
        }
        // Exported functions called from the host (array-to-Wasm trampolines).
        for k in (0..FUNCS).step_by(97) {
            let f = instance
                .get_typed_func::<(), u32>(&mut store, &format!("f{k}"))
                .unwrap();
            assert_eq!(f.call(&mut store, ()).unwrap(), k * 7 + 1);
        }
        // Another instance's imports wired to this instance's exports, into its table.
        let imports: Vec<wasmtime::Extern> = (0..FUNCS)
            .step_by(3)
            .map(|k| instance.get_export(&mut store, &format!("f{k}")).unwrap())
            .collect();
        let second = Instance::new(&mut store, &importer, &imports).unwrap();
        let call = second
            .get_typed_func::<u32, u32>(&mut store, "call")
            .unwrap();
        for (slot, k) in (0..FUNCS).step_by(3).enumerate() {
            assert_eq!(call.call(&mut store, slot as u32).unwrap(), k * 7 + 1);
        }
    }
}

fn instantiate(engine: &Engine, module: &Module) -> (Store<()>, Instance) {
    let mut store = Store::new(engine, ());
    // The host's engine counts epochs; no ticker runs here, so any deadline is fine.
    store.set_epoch_deadline(1 << 40);
    let instance = Instance::new(&mut store, module, &[]).unwrap();
    (store, instance)
}

/// Minor page faults of this thread so far.
fn minor_faults() -> i64 {
    // SAFETY: getrusage only writes the struct it is given.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_THREAD, &mut usage), 0);
        usage.ru_minflt
    }
}

/// Whether the kernel has the PAGEMAP_SCAN ioctl (Linux 6.7): without it wasmtime resets
/// slots with madvise whatever the patch does.
fn pagemap_scan_supported() -> bool {
    #[repr(C)]
    struct PmScanArg {
        size: u64,
        flags: u64,
        start: u64,
        end: u64,
        walk_end: u64,
        vec: u64,
        vec_len: u64,
        max_pages: u64,
        category_inverted: u64,
        category_mask: u64,
        category_anyof_mask: u64,
        return_mask: u64,
    }
    // _IOWR('f', 16, struct pm_scan_arg)
    const PAGEMAP_SCAN: u64 =
        (3 << 30) | ((size_of::<PmScanArg>() as u64) << 16) | (0x66 << 8) | 16;
    let Ok(file) = std::fs::File::open("/proc/self/pagemap") else {
        return false;
    };
    let mut arg = PmScanArg {
        size: size_of::<PmScanArg>() as u64,
        flags: 0,
        start: 0,
        end: 0,
        walk_end: 0,
        vec: 0,
        vec_len: 0,
        max_pages: 0,
        category_inverted: 0,
        category_mask: 0,
        category_anyof_mask: 0,
        return_mask: 0,
    };
    use std::os::fd::AsRawFd;
    // SAFETY: the argument is a valid pm_scan_arg describing an empty range.
    unsafe { libc::ioctl(file.as_raw_fd(), PAGEMAP_SCAN as _, &mut arg) >= 0 }
}

/// `touch` writes `k + 1` to the byte at `k * STRIDE` for `k` in `0..RUNS`; `check` sums
/// those bytes and the last byte of memory. The image has 7 at 0 and 9 at the last byte.
fn dirtying_module() -> Vec<u8> {
    let mut m = Wasm::new();
    m.section(1, |s| {
        s.u32(2);
        s.bytes(&[0x60, 0, 0]); // () -> ()
        s.bytes(&[0x60, 0, 1, 0x7f]); // () -> i32
    });
    m.section(3, |s| {
        s.u32(2);
        s.u32(0);
        s.u32(1);
    });
    m.section(5, |s| {
        s.u32(1);
        s.byte(0);
        s.u32(MEMORY_PAGES);
    });
    m.section(7, |s| {
        s.u32(2);
        s.export("touch", 0, 0);
        s.export("check", 0, 1);
    });
    m.section(10, |s| {
        s.u32(2);
        s.function(&[(1, 0x7f)], |c| {
            c.byte(0x03).byte(0x40); // loop
            c.local_get(0).i32_const(STRIDE as i32).byte(0x6c); // addr = i * STRIDE
            c.local_get(0).i32_const(1).byte(0x6a); // i + 1
            c.byte(0x3a).u32(0).u32(0); // i32.store8
            next_or_loop(c, RUNS);
            c.byte(0x0b); // end loop
        });
        s.function(&[(2, 0x7f)], |c| {
            c.byte(0x03).byte(0x40); // loop
            c.local_get(1);
            c.local_get(0).i32_const(STRIDE as i32).byte(0x6c);
            c.byte(0x2d).u32(0).u32(0); // i32.load8_u
            c.byte(0x6a).byte(0x21).u32(1); // sum += ..
            next_or_loop(c, RUNS);
            c.byte(0x0b);
            c.local_get(1);
            c.i32_const((MEMORY_PAGES * 65536 - 1) as i32)
                .byte(0x2d)
                .u32(0)
                .u32(0);
            c.byte(0x6a);
        });
    });
    m.section(11, |s| {
        s.u32(2);
        s.data(0, &[7]);
        s.data(MEMORY_PAGES * 65536 - 1, &[9]);
    });
    m.finish()
}

/// `i += 1; if i < n { continue the loop }` with `i` in local 0.
fn next_or_loop(c: &mut Bytes, n: u32) {
    c.local_get(0).i32_const(1).byte(0x6a).byte(0x22).u32(0); // local.tee 0
    c.i32_const(n as i32).byte(0x49).byte(0x0d).u32(0); // i32.lt_u; br_if 0
}

/// `funcs` functions `f{k}` returning `7k + 1`, all exported; the even ones in a table
/// (slot `k / 2`), called by `call(slot)` with call_indirect.
fn many_functions_module(funcs: u32) -> Vec<u8> {
    let mut m = Wasm::new();
    m.section(1, |s| {
        s.u32(2);
        s.bytes(&[0x60, 0, 1, 0x7f]); // () -> i32
        s.bytes(&[0x60, 1, 0x7f, 1, 0x7f]); // (i32) -> i32
    });
    m.section(3, |s| {
        s.u32(funcs + 1);
        for _ in 0..funcs {
            s.u32(0);
        }
        s.u32(1);
    });
    table_section(&mut m, funcs / 2);
    m.section(7, |s| {
        s.u32(funcs + 1);
        for k in 0..funcs {
            s.export(&format!("f{k}"), 0, k);
        }
        s.export("call", 0, funcs);
    });
    element_section(&mut m, (0..funcs).step_by(2));
    m.section(10, |s| {
        s.u32(funcs + 1);
        for k in 0..funcs {
            s.function(&[], |c| {
                c.i32_const((k * 7 + 1) as i32);
            });
        }
        call_indirect_body(s);
    });
    m.finish()
}

/// Imports every third function of [`many_functions_module`] (in order) into a table,
/// called by `call(slot)`.
fn importing_module(funcs: u32) -> Vec<u8> {
    let imported = funcs.div_ceil(3);
    let mut m = Wasm::new();
    m.section(1, |s| {
        s.u32(2);
        s.bytes(&[0x60, 0, 1, 0x7f]);
        s.bytes(&[0x60, 1, 0x7f, 1, 0x7f]);
    });
    m.section(2, |s| {
        s.u32(imported);
        for k in (0..funcs).step_by(3) {
            s.name("m");
            s.name(&format!("f{k}"));
            s.byte(0).u32(0);
        }
    });
    m.section(3, |s| {
        s.u32(1);
        s.u32(1);
    });
    table_section(&mut m, imported);
    m.section(7, |s| {
        s.u32(1);
        s.export("call", 0, imported);
    });
    element_section(&mut m, 0..imported);
    m.section(10, |s| {
        s.u32(1);
        call_indirect_body(s);
    });
    m.finish()
}

fn table_section(m: &mut Wasm, size: u32) {
    m.section(4, |s| {
        s.u32(1);
        s.byte(0x70).byte(0).u32(size); // funcref, min only
    });
}

fn element_section(m: &mut Wasm, funcs: impl ExactSizeIterator<Item = u32>) {
    m.section(9, |s| {
        s.u32(1);
        s.byte(0).i32_const(0).byte(0x0b); // active, table 0, offset 0
        s.u32(funcs.len() as u32);
        for f in funcs {
            s.u32(f);
        }
    });
}

/// `(func (param i32) (result i32) (call_indirect (type 0) (local.get 0)))`
fn call_indirect_body(s: &mut Bytes) {
    s.function(&[], |c| {
        c.local_get(0).byte(0x11).u32(0).u32(0);
    });
}

/// A module being written: the header, then sections.
struct Wasm(Vec<u8>);

impl Wasm {
    fn new() -> Wasm {
        Wasm(b"\0asm\x01\0\0\0".to_vec())
    }

    fn section(&mut self, id: u8, body: impl FnOnce(&mut Bytes)) {
        let mut s = Bytes(Vec::new());
        body(&mut s);
        self.0.push(id);
        let mut len = Bytes(Vec::new());
        len.u32(s.0.len() as u32);
        self.0.extend(len.0);
        self.0.extend(s.0);
    }

    fn finish(self) -> Vec<u8> {
        self.0
    }
}

struct Bytes(Vec<u8>);

impl Bytes {
    fn byte(&mut self, b: u8) -> &mut Bytes {
        self.0.push(b);
        self
    }

    fn bytes(&mut self, b: &[u8]) -> &mut Bytes {
        self.0.extend_from_slice(b);
        self
    }

    fn u32(&mut self, mut v: u32) -> &mut Bytes {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                return self.byte(b);
            }
            self.byte(b | 0x80);
        }
    }

    fn i32_const(&mut self, v: i32) -> &mut Bytes {
        self.byte(0x41);
        let mut v = v as i64;
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if (v == 0 && b & 0x40 == 0) || (v == -1 && b & 0x40 != 0) {
                return self.byte(b);
            }
            self.byte(b | 0x80);
        }
    }

    fn local_get(&mut self, i: u32) -> &mut Bytes {
        self.byte(0x20).u32(i)
    }

    fn name(&mut self, name: &str) -> &mut Bytes {
        self.u32(name.len() as u32).bytes(name.as_bytes())
    }

    fn export(&mut self, name: &str, kind: u8, index: u32) -> &mut Bytes {
        self.name(name).byte(kind).u32(index)
    }

    /// A code entry: locals as (count, type), then the body and `end`.
    fn function(&mut self, locals: &[(u32, u8)], body: impl FnOnce(&mut Bytes)) {
        let mut f = Bytes(Vec::new());
        f.u32(locals.len() as u32);
        for &(n, ty) in locals {
            f.u32(n).byte(ty);
        }
        body(&mut f);
        f.byte(0x0b);
        self.u32(f.0.len() as u32);
        self.0.extend(f.0);
    }

    /// An active data segment for memory 0 at `offset`.
    fn data(&mut self, offset: u32, bytes: &[u8]) -> &mut Bytes {
        self.byte(0).i32_const(offset as i32).byte(0x0b);
        self.u32(bytes.len() as u32).bytes(bytes)
    }
}
