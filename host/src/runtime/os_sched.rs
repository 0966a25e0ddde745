//! What the host asks of the OS scheduler for its own threads.
//!
//! On 2 cores under load, more threads are ready than there are cores, and Linux's EEVDF
//! scheduler lets each run a slice (about 1.4 ms here by default) before the next: a worker woken by a
//! quick bot's request could wait several slices behind the host's own busy threads. Two
//! levers need no privilege: the nice value (only raised), and since Linux 6.12 a thread's
//! requested slice (`sched_setattr` with `sched_runtime`), which sets how soon after waking
//! it runs: a short slice means an early deadline, so a waking worker preempts a thread
//! with a longer one.

use std::time::Duration;

/// The slice asked for the async runtime's workers (the kernel's shortest): they read
/// requests and answer (and the deadline timer wakes callers), in short bursts.
pub const WORKER_SLICE: Duration = Duration::from_micros(100);

/// Asks the OS for `nice` and `slice` (zero: the kernel's default) for the calling thread.
/// Best effort: an older kernel ignores the slice, and a failure leaves the thread as it
/// was. A thread never asks for a lower nice value than it has (which needs privilege, and
/// would fail the whole request): a thread inherits its creator's.
pub fn set_current_thread(nice: i32, slice: Duration) {
    // SAFETY: getpriority and sched_setattr on the calling thread (who 0) with an
    // initialised attribute of the size given in it.
    unsafe {
        *libc::__errno_location() = 0;
        let current = libc::getpriority(libc::PRIO_PROCESS, 0);
        let current = if *libc::__errno_location() == 0 {
            current
        } else {
            0
        };
        let mut attr: libc::sched_attr = std::mem::zeroed();
        attr.size = std::mem::size_of::<libc::sched_attr>() as u32;
        attr.sched_policy = libc::SCHED_OTHER as u32;
        attr.sched_nice = nice.max(current);
        attr.sched_runtime = slice.as_nanos() as u64;
        libc::syscall(
            libc::SYS_sched_setattr,
            0,
            &attr as *const libc::sched_attr,
            0,
        );
    }
}

/// Asks for [`WORKER_SLICE`] once per thread; for the async runtime's `on_thread_park`,
/// which only its workers (not its blocking threads) call.
pub fn worker_parks() {
    thread_local! {
        static DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if !DONE.with(|d| d.replace(true)) {
        set_current_thread(0, WORKER_SLICE);
    }
}

/// CPU time the calling thread has used.
pub fn thread_cpu_time() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}
