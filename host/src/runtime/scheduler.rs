//! Fair sharing of the worker threads between plugins.
//!
//! A call runs its WebAssembly inside the poll of its future; the epoch ticker makes a
//! running call yield every tick ([`super::engine::EPOCH_TICK`]), and a host function that
//! waits (a sleep, a store round trip, an outbound request) yields too. Tokio runs whatever
//! is ready in FIFO order and knows nothing of plugins: with dozens of looping calls ready, a
//! short call waits behind a slice of each. So a call must hold one of a few *slots* (as
//! many as there are worker threads) to be polled, and gives it back whenever it stops. A
//! call stopped by the epoch is not made ready again by tokio: it queues here ([`Turn`]),
//! and so does a call that woke from a wait while every slot is taken.
//!
//! When a slot frees, it goes to a waiting call in this order:
//! 1. Calls that have used less than [`FRESH_BUDGET`] of CPU go before calls that have used
//!    more (two levels of a multi-level feedback queue): a bot that answers in a
//!    millisecond never waits behind plugins that loop, compute or copy for long.
//! 2. Within a level, the call whose plugin has used the least CPU *recently*: each
//!    plugin's CPU time decays with a half-life of [`HALF_LIFE`] (as the classic Unix
//!    scheduler ages a process's CPU usage). A plugin's calls share one account, so a
//!    plugin that keeps many calls running gets no more than one that runs one, and a
//!    plugin that waited long enough (its usage decayed below the others') runs again.
//! 3. The oldest ticket.
//!
//! Except that a plugin's oldest waiting call, once it has waited [`MAX_WAIT`], goes first
//! (oldest first), at most once per `MAX_WAIT` per plugin: long calls make progress (a
//! slice per `MAX_WAIT` at least) however many fresh calls arrive, and a quick call waits
//! behind at most one such slice per plugin, however many calls each plugin runs.
//!
//! The time a call holds a slot is its plugin's CPU use: exported per plugin in /metrics.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The CPU a call may use and still go before calls that have used more.
pub const FRESH_BUDGET: Duration = Duration::from_millis(5);

/// How long a call may wait for a slot before it goes ahead of every call that waited less.
pub const MAX_WAIT: Duration = Duration::from_millis(100);

/// How fast a plugin's past CPU use stops counting against it.
pub const HALF_LIFE: Duration = Duration::from_secs(1);

/// One plugin's use of the workers, shared by its calls and kept across reloads.
#[derive(Debug, Default)]
pub struct Account {
    /// CPU used recently, decaying; read and written under the scheduler's lock.
    recent: Mutex<Recent>,
    /// CPU used by this plugin's calls since the host started, in nanoseconds.
    busy: AtomicU64,
}

#[derive(Debug, Default)]
struct Recent {
    /// Nanoseconds of CPU, as of `at`.
    nanos: f64,
    at: Option<Instant>,
    /// When a call of this plugin last went first for having waited [`MAX_WAIT`].
    boosted: Option<Instant>,
}

impl Account {
    /// Recent CPU use as of `now`.
    fn recent(&self, now: Instant) -> f64 {
        let r = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        match r.at {
            Some(at) => r.nanos * decay(now.saturating_duration_since(at)),
            None => 0.0,
        }
    }

    fn charge(&self, spent: Duration, now: Instant) {
        let mut r = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let past = match r.at {
            Some(at) => r.nanos * decay(now.saturating_duration_since(at)),
            None => 0.0,
        };
        r.nanos = past + spent.as_nanos() as f64;
        r.at = Some(now);
    }

    /// Whether a call of this plugin may go first now for having waited (once per
    /// [`MAX_WAIT`]).
    fn may_boost(&self, now: Instant) -> bool {
        let r = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        r.boosted
            .is_none_or(|at| now.saturating_duration_since(at) >= MAX_WAIT)
    }

    fn boosted(&self, now: Instant) {
        let mut r = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        r.boosted = Some(now);
    }
}

/// What is left of CPU time used `ago`.
fn decay(ago: Duration) -> f64 {
    (-ago.as_secs_f64() / HALF_LIFE.as_secs_f64()).exp2()
}

impl Account {
    /// Time this plugin's calls have run on a worker (WebAssembly and the host functions
    /// they called, from instantiation to the end of the call).
    pub fn cpu_time(&self) -> Duration {
        Duration::from_nanos(self.busy.load(Ordering::Relaxed))
    }
}

/// One call's link between its store's epoch callback and its [`Fair`] future: a call that
/// yields at a tick must wait for its turn, not be polled again at once.
#[derive(Debug, Default)]
pub struct Turn {
    yielded: AtomicBool,
}

impl Turn {
    /// A future for the epoch callback's [`wasmtime::UpdateDeadline::YieldCustom`]: pending
    /// once without waking anyone (so the call leaves tokio's queue, and its [`Fair`] queues
    /// it here), then ready when the call is polled again, i.e. given a slot.
    pub fn yield_now(self: &Arc<Self>) -> impl Future<Output = ()> + Send + 'static {
        let turn = self.clone();
        let mut yielded = false;
        std::future::poll_fn(move |_| {
            if yielded {
                return Poll::Ready(());
            }
            yielded = true;
            turn.yielded.store(true, Ordering::Relaxed);
            Poll::Pending
        })
    }
}

/// The slots, and the calls waiting for one.
pub struct Scheduler {
    queue: Mutex<Queue>,
}

struct Queue {
    free: usize,
    next_id: u64,
    waiting: Vec<Waiter>,
}

struct Waiter {
    id: u64,
    /// Whether the call has used less than [`FRESH_BUDGET`].
    fresh: bool,
    since: Instant,
    account: Arc<Account>,
    waker: Waker,
    granted: bool,
}

impl Scheduler {
    /// A scheduler with `slots` calls polled at once: the number of worker threads.
    pub fn new(slots: usize) -> Scheduler {
        Scheduler {
            queue: Mutex::new(Queue {
                free: slots.max(1),
                next_id: 0,
                waiting: Vec::new(),
            }),
        }
    }

    /// Runs `call` for the plugin of `account`, polling it only while it holds a slot;
    /// `turn` is the one the call's epoch callback yields through.
    pub fn run<F: Future>(
        self: &Arc<Self>,
        account: &Arc<Account>,
        turn: Arc<Turn>,
        call: F,
    ) -> Fair<F> {
        Fair {
            call: Box::pin(call),
            scheduler: self.clone(),
            account: account.clone(),
            turn,
            waiting: None,
            used: Duration::ZERO,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // The queue's invariants hold between statements: a panic elsewhere leaves it usable.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a slot at once, or queues for one and returns the ticket.
    fn take(&self, account: &Arc<Account>, fresh: bool, waker: &Waker) -> Option<u64> {
        let mut q = self.lock();
        if q.free > 0 {
            let now = Instant::now();
            let heads = heads(&q.waiting);
            let mine = (u8::from(!fresh) + 1, account.recent(now));
            let first = (q.waiting.iter())
                .filter(|w| !w.granted)
                .all(|w| mine <= w.rank(now, &heads));
            if first {
                q.free -= 1;
                return None;
            }
        }
        Some(q.enqueue(account, fresh, waker))
    }

    /// Whether ticket `id` has been given a slot; if not, the waker to call when it is.
    fn granted(&self, id: u64, waker: &Waker) -> bool {
        let mut q = self.lock();
        let Some(i) = q.waiting.iter().position(|w| w.id == id) else {
            return false;
        };
        if q.waiting[i].granted {
            q.waiting.swap_remove(i);
            return true;
        }
        if !q.waiting[i].waker.will_wake(waker) {
            q.waiting[i].waker = waker.clone();
        }
        false
    }

    /// Gives a slot back after `spent` running for `account`'s plugin; with `requeue`
    /// (the call yielded at a tick), queues the call for its next slot in the same step.
    fn give_back(
        &self,
        account: &Arc<Account>,
        spent: Duration,
        fresh: bool,
        requeue: Option<&Waker>,
    ) -> Option<u64> {
        account
            .busy
            .fetch_add(spent.as_nanos() as u64, Ordering::Relaxed);
        let mut q = self.lock();
        account.charge(spent, Instant::now());
        q.free += 1;
        let ticket = requeue.map(|waker| q.enqueue(account, fresh, waker));
        grant(&mut q);
        ticket
    }

    /// Withdraws ticket `id` (its call was dropped, e.g. at its timeout).
    fn cancel(&self, id: u64) {
        let mut q = self.lock();
        if let Some(i) = q.waiting.iter().position(|w| w.id == id) {
            if q.waiting.swap_remove(i).granted {
                q.free += 1;
                grant(&mut q);
            }
        }
    }
}

impl Queue {
    fn enqueue(&mut self, account: &Arc<Account>, fresh: bool, waker: &Waker) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.waiting.push(Waiter {
            id,
            fresh,
            since: Instant::now(),
            account: account.clone(),
            waker: waker.clone(),
            granted: false,
        });
        id
    }
}

impl Waiter {
    /// Where the call stands, lowest first (then the oldest ticket): its class, and its
    /// plugin's recent CPU, except for calls that waited too long, which go in the order
    /// they came.
    fn rank(&self, now: Instant, heads: &HashMap<*const Account, u64>) -> (u8, f64) {
        match self.class(now, heads) {
            0 => (0, 0.0),
            class => (class, self.account.recent(now)),
        }
    }

    /// 0: its plugin's oldest waiting call, and waited [`MAX_WAIT`]; 1: fresh; 2: long.
    fn class(&self, now: Instant, heads: &HashMap<*const Account, u64>) -> u8 {
        let head = heads.get(&Arc::as_ptr(&self.account)) == Some(&self.id);
        if head
            && now.saturating_duration_since(self.since) >= MAX_WAIT
            && self.account.may_boost(now)
        {
            0
        } else {
            u8::from(!self.fresh) + 1
        }
    }
}

/// Each plugin's oldest waiting ticket.
fn heads(waiting: &[Waiter]) -> HashMap<*const Account, u64> {
    let mut heads = HashMap::new();
    for w in waiting.iter().filter(|w| !w.granted) {
        heads
            .entry(Arc::as_ptr(&w.account))
            .and_modify(|id: &mut u64| *id = (*id).min(w.id))
            .or_insert(w.id);
    }
    heads
}

/// Gives free slots to the waiting calls first in the order of the module's doc.
fn grant(q: &mut Queue) {
    let now = Instant::now();
    while q.free > 0 {
        let heads = heads(&q.waiting);
        let next = (q.waiting.iter_mut())
            .filter(|w| !w.granted)
            .map(|w| {
                let (class, recent) = w.rank(now, &heads);
                (class, recent, w)
            })
            .min_by(|(f, a, x), (g, b, y)| (f.cmp(g)).then(a.total_cmp(b)).then(x.id.cmp(&y.id)));
        let Some((class, _, next)) = next else { return };
        if class == 0 {
            next.account.boosted(now);
        }
        next.granted = true;
        next.waker.wake_by_ref();
        q.free -= 1;
    }
}

/// A call that runs only while it holds one of the scheduler's slots.
pub struct Fair<F: Future> {
    call: Pin<Box<F>>,
    scheduler: Arc<Scheduler>,
    account: Arc<Account>,
    turn: Arc<Turn>,
    /// The ticket of a call waiting for a slot.
    waiting: Option<u64>,
    /// CPU this call has used.
    used: Duration,
}

impl<F: Future> Future for Fair<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        match this.waiting {
            Some(id) if !this.scheduler.granted(id, cx.waker()) => return Poll::Pending,
            Some(_) => this.waiting = None,
            None => {
                let fresh = this.used < FRESH_BUDGET;
                if let Some(id) = this.scheduler.take(&this.account, fresh, cx.waker()) {
                    this.waiting = Some(id);
                    return Poll::Pending;
                }
            }
        }
        let started = Instant::now();
        let polled = this.call.as_mut().poll(cx);
        let spent = started.elapsed();
        this.used += spent;
        let requeue = polled.is_pending() && this.turn.yielded.swap(false, Ordering::Relaxed);
        this.waiting = (this.scheduler).give_back(
            &this.account,
            spent,
            this.used < FRESH_BUDGET,
            requeue.then_some(cx.waker()),
        );
        polled
    }
}

impl<F: Future> Drop for Fair<F> {
    fn drop(&mut self) {
        if let Some(id) = self.waiting {
            self.scheduler.cancel(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call that burns `slices` slices of `slice` each, yielding between them as the
    /// epoch callback makes a plugin yield.
    fn burn(
        scheduler: &Arc<Scheduler>,
        account: &Arc<Account>,
        slices: u32,
        slice: Duration,
    ) -> Fair<impl Future<Output = ()>> {
        let turn = Arc::new(Turn::default());
        let yields = turn.clone();
        scheduler.run(account, turn, async move {
            for _ in 0..slices {
                let until = Instant::now() + slice;
                while Instant::now() < until {
                    std::hint::spin_loop();
                }
                yields.yield_now().await;
            }
        })
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_quick_call_goes_before_busy_plugins() {
        let scheduler = Arc::new(Scheduler::new(1));
        let hog = Arc::new(Account::default());
        let quick = Arc::new(Account::default());
        let mut hogs = Vec::new();
        for _ in 0..20 {
            hogs.push(tokio::spawn(burn(
                &scheduler,
                &hog,
                50,
                Duration::from_millis(2),
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let started = Instant::now();
        burn(&scheduler, &quick, 3, Duration::from_micros(100)).await;
        let waited = started.elapsed();
        // 20 hogs in FIFO order would make it wait ~40 ms; fair, it waits one slice.
        assert!(waited < Duration::from_millis(15), "waited {waited:?}");
        for h in hogs {
            h.abort();
        }
        assert!(hog.cpu_time() > quick.cpu_time());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn plugins_share_alike_however_many_calls_they_run() {
        let scheduler = Arc::new(Scheduler::new(1));
        let many = Arc::new(Account::default());
        let one = Arc::new(Account::default());
        let mut tasks = Vec::new();
        for _ in 0..8 {
            tasks.push(tokio::spawn(burn(
                &scheduler,
                &many,
                1000,
                Duration::from_micros(500),
            )));
        }
        tasks.push(tokio::spawn(burn(
            &scheduler,
            &one,
            1000,
            Duration::from_micros(500),
        )));
        tokio::time::sleep(Duration::from_millis(200)).await;
        for t in &tasks {
            t.abort();
        }
        let (m, o) = (many.cpu_time().as_secs_f64(), one.cpu_time().as_secs_f64());
        assert!(
            o > 0.3 * (m + o),
            "one call got {o:.3} s, eight got {m:.3} s"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_long_call_progresses_under_a_flood_of_fresh_ones() {
        let scheduler = Arc::new(Scheduler::new(1));
        let (long, flood) = (Arc::new(Account::default()), Arc::new(Account::default()));
        let flooding = {
            let scheduler = scheduler.clone();
            tokio::spawn(async move {
                loop {
                    // Always a few fresh calls waiting.
                    let calls: Vec<_> = (0..4)
                        .map(|_| {
                            tokio::spawn(burn(&scheduler, &flood, 1, Duration::from_millis(1)))
                        })
                        .collect();
                    for c in calls {
                        let _ = c.await;
                    }
                }
            })
        };
        let started = Instant::now();
        let done = tokio::time::timeout(
            Duration::from_secs(5),
            burn(&scheduler, &long, 12, Duration::from_millis(1)),
        )
        .await;
        flooding.abort();
        assert!(done.is_ok(), "the long call starved");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_dropped_waiter_passes_its_slot_on() {
        let scheduler = Arc::new(Scheduler::new(1));
        let a = Arc::new(Account::default());
        let hog = tokio::spawn(burn(&scheduler, &a, 20, Duration::from_millis(1)));
        // Waits, then is dropped by its timeout while waiting or after being granted.
        for _ in 0..50 {
            let _ = tokio::time::timeout(
                Duration::from_micros(300),
                burn(&scheduler, &a, 1, Duration::from_micros(10)),
            )
            .await;
        }
        hog.await.unwrap();
        // Every slot came back: a new call runs at once.
        let q = scheduler.lock();
        assert_eq!(q.free, 1);
        assert!(q.waiting.is_empty());
    }
}
