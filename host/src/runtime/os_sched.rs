//! What the host asks of the OS scheduler for its own threads.
//!
//! On 2 cores under load, more threads are ready than there are cores, and Linux's EEVDF
//! scheduler lets each run a slice of about 3 ms before the next: a worker woken by a
//! quick bot's request could wait several slices behind the host's own busy threads. Two
//! levers need no privilege: the nice value (only raised), and since Linux 6.12 a thread's
//! requested slice (`sched_setattr` with `sched_runtime`), which sets how soon after waking
//! it runs: a short slice means an early deadline, so a waking worker preempts a thread
//! with a longer one.

use std::time::Duration;

/// The slice asked for the async runtime's workers (the kernel's shortest): they read
/// requests, answer and run quick calls, in short bursts.
pub const WORKER_SLICE: Duration = Duration::from_micros(100);

/// Asks the OS for `nice` and `slice` (zero: the kernel's default) for the calling thread.
/// Best effort: an older kernel ignores the slice, and a failure leaves the thread as it
/// was.
pub fn set_current_thread(nice: i32, slice: Duration) {
    // SAFETY: sched_setattr on the calling thread (pid 0) with an initialised attribute of
    // the size given in it.
    unsafe {
        let mut attr: libc::sched_attr = std::mem::zeroed();
        attr.size = std::mem::size_of::<libc::sched_attr>() as u32;
        attr.sched_policy = libc::SCHED_OTHER as u32;
        attr.sched_nice = nice;
        attr.sched_runtime = slice.as_nanos() as u64;
        libc::syscall(
            libc::SYS_sched_setattr,
            0,
            &attr as *const libc::sched_attr,
            0,
        );
    }
}
