//! Call deadlines that fire on time: one thread sleeps until the earliest deadline and wakes
//! the call's caller then.
//!
//! Tokio's timer rounds a deadline up to its next millisecond tick and then sleeps in
//! `epoll_wait`, whose timeout is whole milliseconds rounded up again: a 100 ms
//! `tokio::time::timeout` fired 1.25 ms late at the median and up to 3 ms late on an idle
//! machine here (against 0.17 ms for a thread's own sleep). A timed-out call must answer
//! within a tick or two of its deadline, so call deadlines use this timer instead.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The timer thread and the deadlines it waits for.
pub struct Deadlines {
    shared: Arc<Shared>,
}

struct Shared {
    timers: Mutex<Timers>,
    /// Signalled when a deadline earlier than every other is added, and at the end.
    changed: Condvar,
}

#[derive(Default)]
struct Timers {
    next_id: u64,
    waiting: BTreeMap<(Instant, u64), Waker>,
    stop: bool,
}

impl Deadlines {
    /// Starts the timer thread; it ends when this is dropped.
    pub fn start() -> Deadlines {
        let shared = Arc::new(Shared {
            timers: Mutex::new(Timers::default()),
            changed: Condvar::new(),
        });
        let thread = shared.clone();
        std::thread::Builder::new()
            .name("call-deadlines".into())
            .spawn(move || {
                // Woken, it runs before threads with the default slice, as the workers do.
                super::os_sched::set_current_thread(0, super::os_sched::WORKER_SLICE);
                thread.run();
            })
            .expect("spawn the call deadline thread");
        Deadlines { shared }
    }

    /// A future that is ready at `at` (never before).
    pub fn sleep_until(&self, at: Instant) -> Sleep {
        Sleep {
            shared: self.shared.clone(),
            at,
            id: None,
        }
    }

    /// Deadlines waited for now.
    pub fn pending(&self) -> usize {
        self.shared.lock().waiting.len()
    }
}

impl Drop for Deadlines {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.changed.notify_one();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Timers> {
        // A map of wakers: consistent between statements, whatever panicked.
        self.timers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run(&self) {
        let mut timers = self.lock();
        loop {
            if timers.stop {
                return;
            }
            let now = Instant::now();
            let mut due = Vec::new();
            while let Some(entry) = timers.waiting.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                due.push(entry.remove());
            }
            if !due.is_empty() {
                drop(timers);
                due.into_iter().for_each(Waker::wake);
                timers = self.lock();
                continue;
            }
            let wait = match timers.waiting.first_key_value() {
                Some(((at, _), _)) => at.saturating_duration_since(now),
                None => Duration::from_secs(3600),
            };
            timers = (self.changed)
                .wait_timeout(timers, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Ready at its instant; see [`Deadlines::sleep_until`].
pub struct Sleep {
    shared: Arc<Shared>,
    at: Instant,
    /// Its key in the timer's map, once registered.
    id: Option<u64>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if Instant::now() >= this.at {
            this.unregister();
            return Poll::Ready(());
        }
        let mut timers = this.shared.lock();
        match this.id {
            Some(id) => {
                // Absent only once the timer thread took it, i.e. past `at`: ready above.
                if let Some(waker) = timers.waiting.get_mut(&(this.at, id)) {
                    waker.clone_from(cx.waker());
                }
            }
            None => {
                let id = timers.next_id;
                timers.next_id += 1;
                let first = timers
                    .waiting
                    .first_key_value()
                    .is_none_or(|((at, _), _)| this.at < *at);
                timers.waiting.insert((this.at, id), cx.waker().clone());
                this.id = Some(id);
                if first {
                    drop(timers);
                    this.shared.changed.notify_one();
                }
            }
        }
        Poll::Pending
    }
}

impl Sleep {
    fn unregister(&mut self) {
        if let Some(id) = self.id.take() {
            self.shared.lock().waiting.remove(&(self.at, id));
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.unregister();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn a_deadline_fires_at_its_instant_and_an_earlier_one_added_later_first() {
        let deadlines = Deadlines::start();
        let started = Instant::now();
        let mut far = Box::pin(deadlines.sleep_until(started + Duration::from_secs(30)));
        // Registers the far deadline: the thread now sleeps until it.
        assert!(futures_poll(&mut far).is_pending());
        let near = started + Duration::from_millis(20);
        deadlines.sleep_until(near).await;
        assert!(Instant::now() >= near, "fired before its deadline");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the earlier deadline waited for the later one"
        );
        assert_eq!(deadlines.pending(), 1);
        drop(far);
        assert_eq!(
            deadlines.pending(),
            0,
            "a dropped deadline leaves its entry"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn many_deadlines_each_fire_once_and_leave_nothing_behind() {
        let deadlines = Arc::new(Deadlines::start());
        let started = Instant::now();
        let tasks: Vec<_> = (0..50u64)
            .map(|i| {
                let at = started + Duration::from_millis(i % 7);
                let sleep = deadlines.sleep_until(at);
                tokio::spawn(async move {
                    sleep.await;
                    assert!(Instant::now() >= at);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(deadlines.pending(), 0);
    }

    fn futures_poll<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
        let waker = Waker::noop();
        Pin::new(f).poll(&mut Context::from_waker(waker))
    }
}
