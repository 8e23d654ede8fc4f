//! The `xdrgen` command line: `check`, `dump` and `generate` over `.x` files.

mod cli;

use clap::Parser;

/// mimalloc (its v2), set up in [`tune_allocator`]: a third of the generator's instructions are
/// allocations and frees of the token trees and syntax trees it formats, and on libvirt's files
/// mimalloc takes about a quarter off the run's time (issue 13).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tune_allocator();
    cli::run(cli::Cli::parse())
}

/// mimalloc keeps freed pages for 10 ms by default: libvirt's files then peaked at 44 MiB of
/// resident memory instead of glibc's 24. Returning them at once brings the peak to 23 MiB, at a
/// few per cent of the time. (Committing on demand would save 5 MiB more, but that option is
/// read when the first arena is made, which std's start-up does before `main`.) A delay set in
/// the environment (`MIMALLOC_PURGE_DELAY`) is left as it is.
fn tune_allocator() {
    #[cfg(feature = "mimalloc")]
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // mimalloc.h's `mi_option_purge_delay` (the crate does not name it): the numbers are
        // part of mimalloc's ABI, retired options keep their slots.
        const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
        // SAFETY: `mi_option_set` stores an integer in mimalloc's option table; any option
        // number and value are valid (a number out of range is ignored). It is not
        // thread-safe: this runs first in `main`, before the program starts any thread.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
        }
    }
}
