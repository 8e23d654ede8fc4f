//! A global allocator that records, per thread, the largest single allocation made while a probe
//! is active, and the peak of the bytes live at once. Test binaries install it with
//! `#[global_allocator] static A: CountingAlloc = CountingAlloc;` to prove that hostile lengths
//! are rejected before anything is allocated from them.
//!
//! Hand-written (about thirty lines) because the crates that count allocations measure totals
//! across all threads, and the test harness runs tests in parallel threads.
#![allow(unsafe_code)] // a GlobalAlloc impl is unsafe by definition; it only forwards to System.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    /// Bytes allocated and not freed on this thread since the probe started (frees of older
    /// blocks make it negative).
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// The recording allocator: `System` plus a per-thread maximum.
pub struct CountingAlloc;

fn record(size: usize) {
    // try_with: during thread teardown the slots may be gone; nothing to record then.
    let _ = ACTIVE.try_with(|active| {
        if active.get() {
            let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
        }
    });
    live(size as isize);
}

/// Adds `delta` to the live bytes while a probe is active.
fn live(delta: isize) {
    let _ = ACTIVE.try_with(|active| {
        if active.get() {
            let _ = LIVE.try_with(|l| {
                let now = l.get() + delta;
                l.set(now);
                let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
            });
        }
    });
}

// SAFETY: every call is forwarded unchanged to `System`; recording touches only const-initialised
// thread-locals, which never allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live(-(layout.size() as isize));
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        live(-(layout.size() as isize));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` and returns its result with the largest single allocation it made on this thread.
pub fn largest_allocation_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LARGEST.with(|l| l.set(0));
    ACTIVE.with(|a| a.set(true));
    let r = f();
    ACTIVE.with(|a| a.set(false));
    (r, LARGEST.with(Cell::get))
}

/// Runs `f` and returns its result with the most bytes it held allocated at once on this
/// thread (blocks it allocated and had not yet freed; what it returns counts as held).
pub fn peak_live_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    ACTIVE.with(|a| a.set(true));
    let r = f();
    ACTIVE.with(|a| a.set(false));
    (r, PEAK.with(Cell::get).max(0) as usize)
}

/// Whether [`CountingAlloc`] is this binary's global allocator (otherwise every probe reads 0
/// and a test relying on it would prove nothing).
pub fn installed() -> bool {
    let (_, largest) = largest_allocation_during(|| std::hint::black_box(vec![0u8; 4097]));
    largest >= 4097
}
