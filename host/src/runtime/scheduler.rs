//! Fair sharing of the cores between plugins, on threads apart from the async runtime's.
//!
//! A call runs its WebAssembly inside the poll of its future; the epoch ticker makes a
//! running call yield every tick ([`super::engine::EPOCH_TICK`]), and a host function that
//! waits (a sleep, a store round trip, an outbound request) yields too. Tokio runs whatever
//! is ready in FIFO order and knows nothing of plugins: with dozens of looping calls ready, a
//! short call would wait behind a slice of each. And some work no epoch interrupts: a bulk
//! memory instruction (a 100 MiB `memory.copy` takes tens of milliseconds), a host function,
//! dropping a large store. So calls never run on the async runtime's workers, which only
//! read requests and write answers; they run in two lanes of threads:
//!
//! - **Quick**: one thread per core at the default priority. A call starts here; a call
//!   stopped by the epoch ([`Turn`]) or woken from a wait queues again for the lane's next
//!   free thread.
//! - **Long**: once a call has used [`FRESH_BUDGET`] of CPU (at its next stop), or from its
//!   start when its plugin's recent calls used more than that each on average, it moves to
//!   threads of its own (one per core) at nice [`LONG_NICE`]. The OS gives the cores to the
//!   workers and the quick lane first and preempts a long call wherever it is, even in the
//!   middle of an instruction no epoch interrupts; a long call still gets about a tenth of a
//!   busy core, so it progresses.
//!
//! The workers (and the deadline timer, [`super::deadline`]) ask for a short OS slice
//! ([`os_sched::WORKER_SLICE`]): a worker woken by a request or a timeout preempts a lane
//! thread at once instead of waiting out its slice.
//!
//! In each lane, a free thread takes the waiting call first in this order (work that frees
//! resources goes before all: a cancelled call's drop, a large store's reset):
//! 1. A plugin's oldest waiting call, once it has waited [`MAX_WAIT`], at most once per
//!    `MAX_WAIT` per plugin: long calls make progress however many others arrive.
//! 2. The call whose plugin has used the least CPU *recently*: each plugin's CPU time
//!    decays with a half-life of [`HALF_LIFE`] (as the classic Unix scheduler ages a
//!    process's CPU usage). A plugin's calls share one account, so a plugin that keeps many
//!    calls running gets no more than one that runs one.
//! 3. The oldest ticket.
//!
//! The CPU a lane thread spends polling a call (its own CPU clock) is the plugin's CPU use:
//! exported per plugin in /metrics.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use tracing::Instrument;

use super::os_sched;

/// The CPU a call may use on the quick lane.
pub const FRESH_BUDGET: Duration = Duration::from_millis(5);

/// How long a call may wait for a thread before it goes ahead of every call that waited less.
pub const MAX_WAIT: Duration = Duration::from_millis(100);

/// How fast a plugin's past CPU use stops counting against it.
pub const HALF_LIFE: Duration = Duration::from_secs(1);

/// One plugin's use of the lanes, shared by its calls and kept across reloads.
#[derive(Debug, Default)]
pub struct Account {
    /// CPU used recently, decaying; its lock is held only to read or add to it.
    recent: Mutex<Recent>,
    /// CPU used by this plugin's calls since the host started, in nanoseconds.
    busy: AtomicU64,
}

#[derive(Debug, Default)]
struct Recent {
    /// Nanoseconds of CPU, as of `at`.
    nanos: f64,
    /// Calls ended, decaying like `nanos`.
    calls: f64,
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
        r.decay_to(now);
        r.nanos += spent.as_nanos() as f64;
    }

    /// Counts a call of this plugin that ended.
    pub fn call_ended(&self) {
        let mut r = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        r.decay_to(Instant::now());
        r.calls += 1.0;
    }

    /// Whether this plugin's recent calls used more than [`FRESH_BUDGET`] each on average
    /// (a call still running counts as one): its next call starts on the long lane.
    fn expects_long(&self) -> bool {
        let r = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        // Both decay alike, so their ratio needs no decay.
        r.nanos > FRESH_BUDGET.as_nanos() as f64 * r.calls.max(1.0)
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

impl Recent {
    fn decay_to(&mut self, now: Instant) {
        if let Some(at) = self.at {
            let left = decay(now.saturating_duration_since(at));
            self.nanos *= left;
            self.calls *= left;
        }
        self.at = Some(now);
    }
}

/// What is left of CPU time used `ago`.
fn decay(ago: Duration) -> f64 {
    (-ago.as_secs_f64() / HALF_LIFE.as_secs_f64()).exp2()
}

impl Account {
    /// Time this plugin's calls have run on a lane (WebAssembly and the host functions
    /// they called, from instantiation to the end of the call).
    pub fn cpu_time(&self) -> Duration {
        Duration::from_nanos(self.busy.load(Ordering::Relaxed))
    }
}

/// One call's link between its store's epoch callback and its lane: a call that yields at
/// a tick must wait for its turn, not be polled again at once.
#[derive(Debug, Default)]
pub struct Turn {
    yielded: AtomicBool,
}

impl Turn {
    /// A future for the epoch callback's [`wasmtime::UpdateDeadline::YieldCustom`]: pending
    /// once without waking anyone (the lane thread sees the flag and queues the call
    /// again), then ready when the call is polled again, i.e. given a thread.
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

/// Calls waiting in one lane, in the order of the module's doc.
struct Queue<T> {
    next_id: u64,
    waiting: Vec<Waiter<T>>,
}

struct Waiter<T> {
    id: u64,
    since: Instant,
    account: Arc<Account>,
    /// Goes before every other (a cancelled call, whose drop frees its memory).
    urgent: bool,
    what: T,
}

impl<T> Queue<T> {
    fn new() -> Queue<T> {
        Queue {
            next_id: 0,
            waiting: Vec::new(),
        }
    }

    fn push(&mut self, account: &Arc<Account>, urgent: bool, what: T) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.waiting.push(Waiter {
            id,
            since: Instant::now(),
            account: account.clone(),
            urgent,
            what,
        });
        id
    }

    /// Takes the waiting call that goes next, if any.
    fn pop(&mut self) -> Option<Waiter<T>> {
        let now = Instant::now();
        let heads = heads(&self.waiting);
        let (i, class, _) = (self.waiting.iter().enumerate())
            .map(|(i, w)| {
                let (class, recent) = w.rank(now, &heads);
                (i, class, (recent, w.id))
            })
            .min_by(|(_, f, (a, x)), (_, g, (b, y))| {
                (f.cmp(g)).then(a.total_cmp(b)).then(x.cmp(y))
            })?;
        let next = self.waiting.swap_remove(i);
        if class == 1 {
            next.account.boosted(now);
        }
        Some(next)
    }
}

impl<T> Waiter<T> {
    /// Where the call stands, lowest first (then the oldest ticket): urgent calls, then a
    /// plugin's oldest call that waited too long, then the others by their plugin's recent
    /// CPU.
    fn rank(&self, now: Instant, heads: &HashMap<*const Account, u64>) -> (u8, f64) {
        if self.urgent {
            return (0, 0.0);
        }
        let head = heads.get(&Arc::as_ptr(&self.account)) == Some(&self.id);
        if head
            && now.saturating_duration_since(self.since) >= MAX_WAIT
            && self.account.may_boost(now)
        {
            (1, 0.0)
        } else {
            (2, self.account.recent(now))
        }
    }
}

/// Each plugin's oldest waiting ticket.
fn heads<T>(waiting: &[Waiter<T>]) -> HashMap<*const Account, u64> {
    let mut heads = HashMap::new();
    for w in waiting {
        heads
            .entry(Arc::as_ptr(&w.account))
            .and_modify(|id: &mut u64| *id = (*id).min(w.id))
            .or_insert(w.id);
    }
    heads
}

/// The two lanes.
pub struct Scheduler {
    quick: Arc<Lane>,
    long: Arc<Lane>,
}

impl Scheduler {
    /// A scheduler with `threads` threads in each lane, which poll calls inside `runtime`'s
    /// context (their timers and sockets are the runtime's).
    pub fn new(threads: usize, runtime: tokio::runtime::Handle) -> Scheduler {
        let threads = threads.max(1);
        Scheduler {
            quick: Lane::start(LaneKind::Quick, threads, runtime.clone()),
            long: Lane::start(LaneKind::Long, threads, runtime),
        }
    }

    /// Runs `call` for the plugin of `account` on the lanes' threads; `turn` is the one the
    /// call's epoch callback yields through. The call starts when the returned future is
    /// first polled; dropping that future afterwards drops the call on its lane (before, on
    /// the spot: nothing ran yet).
    pub fn run<F>(self: &Arc<Self>, account: &Arc<Account>, turn: Arc<Turn>, call: F) -> Fair<F>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Fair {
            stage: Stage::Start(Box::pin(call)),
            scheduler: self.clone(),
            account: account.clone(),
            turn,
        }
    }

    /// Runs `work` on the long lane, e.g. dropping a large store (resetting its memory takes
    /// milliseconds that nothing interrupts).
    pub fn run_long(
        &self,
        account: &Arc<Account>,
        work: impl Future<Output = ()> + Send + 'static,
    ) {
        let work = work.instrument(tracing::Span::current());
        // Urgent: it holds its admission and pool slot until it is done.
        self.spawn(
            account,
            Arc::new(Turn::default()),
            Start::Urgent,
            Box::pin(work),
        );
    }

    fn spawn(
        &self,
        account: &Arc<Account>,
        turn: Arc<Turn>,
        start: Start,
        call: Pin<Box<dyn Future<Output = ()> + Send>>,
    ) -> Arc<CallTask> {
        let task = Arc::new(CallTask {
            call: Mutex::new(Some(call)),
            state: Mutex::new(TaskState::Queued),
            account: account.clone(),
            turn,
            quick: Arc::downgrade(&self.quick),
            long: Arc::downgrade(&self.long),
            on_long: AtomicBool::new(start != Start::Quick),
            used: AtomicU64::new(0),
            cancelled: AtomicBool::new(false),
            urgent: start == Start::Urgent,
        });
        task.enqueue();
        task
    }
}

/// Where a call starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Quick,
    /// Its plugin's recent calls ran long.
    Long,
    /// Work that frees resources: on the long lane, before every other.
    Urgent,
}

/// Charges `spent` (CPU) to `account`'s plugin.
fn charge(account: &Account, spent: Duration) {
    account
        .busy
        .fetch_add(spent.as_nanos() as u64, Ordering::Relaxed);
    account.charge(spent, Instant::now());
}

/// A plugin call as its caller awaits it: handed to a lane at the first poll, its output
/// back through a channel.
pub struct Fair<F: Future> {
    stage: Stage<F>,
    scheduler: Arc<Scheduler>,
    account: Arc<Account>,
    turn: Arc<Turn>,
}

enum Stage<F: Future> {
    Start(Pin<Box<F>>),
    Running(Arc<CallTask>, tokio::sync::oneshot::Receiver<F::Output>),
    Done,
}

impl<F> Future for Fair<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        if let Stage::Start(_) = this.stage {
            let Stage::Start(call) = std::mem::replace(&mut this.stage, Stage::Done) else {
                unreachable!()
            };
            let start = if this.account.expects_long() {
                Start::Long
            } else {
                Start::Quick
            };
            let (tx, rx) = tokio::sync::oneshot::channel();
            // The call's log lines keep the request's span (bot, task id) on the lanes.
            let task = this.scheduler.spawn(
                &this.account,
                this.turn.clone(),
                start,
                Box::pin(
                    async move {
                        let _ = tx.send(call.await);
                    }
                    .instrument(tracing::Span::current()),
                ),
            );
            this.stage = Stage::Running(task, rx);
        }
        match &mut this.stage {
            Stage::Running(_, done) => match Pin::new(done).poll(cx) {
                Poll::Ready(Ok(out)) => {
                    this.stage = Stage::Done;
                    Poll::Ready(out)
                }
                // A lane drops a call unfinished only when it is cancelled (after this
                // future was dropped) or when it panicked.
                Poll::Ready(Err(_)) => panic!("a plugin call panicked on its lane"),
                Poll::Pending => Poll::Pending,
            },
            Stage::Start(_) | Stage::Done => panic!("a call polled after it ended"),
        }
    }
}

impl<F: Future> Drop for Fair<F> {
    fn drop(&mut self) {
        if let Stage::Running(task, _) = &self.stage {
            task.cancel();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LaneKind {
    Quick,
    Long,
}

/// One lane: threads of its own, polling the calls queued here in the module's order.
struct Lane {
    /// Calls made ready by anyone, workers included. Its lock is held only to push, take or
    /// count: a worker never waits for a lane thread (maybe preempted) that is ranking.
    inbox: Mutex<Inbox>,
    ready: Condvar,
    /// The ranked queue, only ever locked by the lane's own threads.
    queue: Mutex<Queue<Arc<CallTask>>>,
}

#[derive(Default)]
struct Inbox {
    tasks: Vec<Arc<CallTask>>,
    /// Threads asleep on `ready`: a push wakes one only if there is one (a futex call
    /// saved per call when all are busy).
    asleep: usize,
    /// Calls waiting in the ranked queue, as of its last change: a thread sleeps only when
    /// there are none there either.
    ranked: usize,
}

impl Lane {
    fn start(kind: LaneKind, threads: usize, runtime: tokio::runtime::Handle) -> Arc<Lane> {
        let lane = Arc::new(Lane {
            inbox: Mutex::new(Inbox::default()),
            ready: Condvar::new(),
            queue: Mutex::new(Queue::new()),
        });
        let name = match kind {
            LaneKind::Quick => "plugin-quick",
            LaneKind::Long => "plugin-long",
        };
        for i in 0..threads {
            let (lane, runtime) = (Arc::downgrade(&lane), runtime.clone());
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    if kind == LaneKind::Long {
                        lower_priority();
                    }
                    let _context = runtime.enter();
                    while let Some(task) = Lane::next(&lane) {
                        // A panic (a host bug) while dropping a call must not take the
                        // thread with it: the call ends, its caller panics in turn.
                        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            task.clone().run()
                        }));
                        if ran.is_err() {
                            *task.state() = TaskState::Done;
                        }
                    }
                })
                .expect("spawn a lane thread");
        }
        lane
    }

    fn lock(&self) -> MutexGuard<'_, Queue<Arc<CallTask>>> {
        // The queue's invariants hold between statements: a panic elsewhere leaves it usable.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next call to poll; `None` once the lane is gone.
    fn next(lane: &Weak<Lane>) -> Option<Arc<CallTask>> {
        loop {
            let lane = lane.upgrade()?;
            {
                let mut q = lane.lock();
                // Taken in a statement of its own: the inbox's lock is released before the
                // pushes, so no worker waits for them.
                let arrived = std::mem::take(&mut lane.inbox().tasks);
                for task in arrived {
                    let (account, urgent) = (task.account.clone(), task.urgent);
                    q.push(&account, urgent, task);
                }
                for w in q.waiting.iter_mut() {
                    w.urgent |= w.what.cancelled.load(Ordering::Relaxed);
                }
                let next = q.pop();
                // Published under the inbox's lock, where a thread decides to sleep: calls
                // this thread moved out of the inbox and left ranked here are never waiting
                // while a thread of the lane sleeps.
                let mut inbox = lane.inbox();
                inbox.ranked = q.waiting.len();
                let wake = inbox.ranked > 0 && inbox.asleep > 0;
                drop(inbox);
                if wake {
                    lane.ready.notify_one();
                }
                if let Some(next) = next {
                    return Some(next.what);
                }
            }
            let mut inbox = lane.inbox();
            if inbox.tasks.is_empty() && inbox.ranked == 0 {
                inbox.asleep += 1;
                // Wakes now and then to notice the lane's end.
                let (mut inbox, _) = (lane.ready)
                    .wait_timeout(inbox, Duration::from_secs(1))
                    .unwrap_or_else(|e| e.into_inner());
                inbox.asleep -= 1;
            }
        }
    }

    fn inbox(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn enqueue(&self, task: Arc<CallTask>) {
        let mut inbox = self.inbox();
        inbox.tasks.push(task);
        let asleep = inbox.asleep > 0;
        drop(inbox);
        if asleep {
            self.ready.notify_one();
        }
    }
}

/// Long calls run at this nice value: the OS gives a core to the async runtime's workers
/// and the quick lane first, and preempts a long call wherever it is, even inside a bulk
/// memory instruction or a host function, which no epoch interrupts. At 10 a long call
/// still gets about a tenth of a core that quick work keeps busy, so it progresses.
pub const LONG_NICE: i32 = 10;

thread_local! {
    static LONG_LANE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the current thread is one of the long lane's.
pub fn on_long_lane() -> bool {
    LONG_LANE.with(|l| l.get())
}

fn lower_priority() {
    LONG_LANE.with(|l| l.set(true));
    os_sched::set_current_thread(LONG_NICE, Duration::ZERO);
}

/// A call on a lane: its future, polled by one lane thread at a time.
struct CallTask {
    call: Mutex<Option<Pin<Box<dyn Future<Output = ()> + Send>>>>,
    state: Mutex<TaskState>,
    account: Arc<Account>,
    turn: Arc<Turn>,
    quick: Weak<Lane>,
    long: Weak<Lane>,
    /// Queued on the long lane from now on.
    on_long: AtomicBool,
    /// CPU used so far, in nanoseconds.
    used: AtomicU64,
    /// Its caller is gone (timed out): drop it at its next turn.
    cancelled: AtomicBool,
    /// Goes first whenever it waits (work that frees resources).
    urgent: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskState {
    /// Waiting for something (a timer, a socket) to wake it.
    Idle,
    /// In a lane's queue.
    Queued,
    /// Being polled.
    Running,
    /// Woken while being polled: queued again after the poll.
    Notified,
    Done,
}

impl CallTask {
    fn state(&self) -> MutexGuard<'_, TaskState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues the call on its lane.
    fn enqueue(self: &Arc<Self>) {
        let lane = if self.on_long.load(Ordering::Relaxed) {
            &self.long
        } else {
            &self.quick
        };
        if let Some(lane) = lane.upgrade() {
            lane.enqueue(self.clone());
        }
    }

    fn run(self: Arc<Self>) {
        let mut call = self.call.lock().unwrap_or_else(|e| e.into_inner());
        *self.state() = TaskState::Running;
        let Some(future) = call.as_mut() else {
            *self.state() = TaskState::Done;
            return;
        };
        if self.cancelled.load(Ordering::Relaxed) {
            // Dropping the call drops its store here, on its lane.
            *call = None;
            *self.state() = TaskState::Done;
            return;
        }
        let waker = Waker::from(self.clone());
        // The thread's own CPU clock: a poll's wall time includes the time the OS gave the
        // core to others.
        let started = os_sched::thread_cpu_time();
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            future.as_mut().poll(&mut Context::from_waker(&waker))
        }));
        let spent = os_sched::thread_cpu_time().saturating_sub(started);
        charge(&self.account, spent);
        let used = self
            .used
            .fetch_add(spent.as_nanos() as u64, Ordering::Relaxed)
            + spent.as_nanos() as u64;
        if used >= FRESH_BUDGET.as_nanos() as u64 {
            // At its next stop, the call moves on.
            self.on_long.store(true, Ordering::Relaxed);
        }
        // A panic (a bug of the host's) ends the call; its caller panics in turn.
        if !matches!(polled, Ok(Poll::Pending)) {
            *call = None;
            *self.state() = TaskState::Done;
            return;
        }
        drop(call);
        let yielded = self.turn.yielded.swap(false, Ordering::Relaxed);
        let mut state = self.state();
        if yielded || *state == TaskState::Notified {
            *state = TaskState::Queued;
            drop(state);
            self.enqueue();
        } else {
            *state = TaskState::Idle;
        }
    }

    fn cancel(self: &Arc<Self>) {
        self.cancelled.store(true, Ordering::Relaxed);
        let mut state = self.state();
        match *state {
            TaskState::Idle => {
                *state = TaskState::Queued;
                drop(state);
                self.enqueue();
            }
            // The lane sees the flag when it ranks its queue next.
            TaskState::Queued => {}
            TaskState::Running => *state = TaskState::Notified,
            TaskState::Notified | TaskState::Done => {}
        }
    }
}

impl Wake for CallTask {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut state = self.state();
        match *state {
            TaskState::Idle => {
                *state = TaskState::Queued;
                drop(state);
                self.enqueue();
            }
            TaskState::Running => *state = TaskState::Notified,
            TaskState::Queued | TaskState::Notified | TaskState::Done => {}
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
        let scheduler = Arc::new(Scheduler::new(1, tokio::runtime::Handle::current()));
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
        let scheduler = Arc::new(Scheduler::new(1, tokio::runtime::Handle::current()));
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
        // Once every call has used its quick budget, they share the long lane's thread.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let before = (many.cpu_time(), one.cpu_time());
        tokio::time::sleep(Duration::from_millis(300)).await;
        for t in &tasks {
            t.abort();
        }
        let m = (many.cpu_time() - before.0).as_secs_f64();
        let o = (one.cpu_time() - before.1).as_secs_f64();
        assert!(
            m + o > 0.0 && o > 0.3 * (m + o),
            "one call got {o:.3} s, eight got {m:.3} s"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_long_call_progresses_under_a_flood_of_fresh_ones() {
        let scheduler = Arc::new(Scheduler::new(1, tokio::runtime::Handle::current()));
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
    async fn a_call_dropped_while_it_waits_leaves_nothing_behind() {
        let scheduler = Arc::new(Scheduler::new(1, tokio::runtime::Handle::current()));
        let a = Arc::new(Account::default());
        let hog = tokio::spawn(burn(&scheduler, &a, 20, Duration::from_millis(1)));
        // Waits, then is dropped by its timeout while waiting or while it runs.
        for _ in 0..50 {
            let _ = tokio::time::timeout(
                Duration::from_micros(300),
                burn(&scheduler, &a, 1, Duration::from_micros(10)),
            )
            .await;
        }
        hog.await.unwrap();
        // Every dropped call left the lanes: a new call runs at once.
        let started = Instant::now();
        burn(
            &scheduler,
            &Arc::new(Account::default()),
            1,
            Duration::from_micros(10),
        )
        .await;
        assert!(started.elapsed() < Duration::from_millis(50));
        for lane in [&scheduler.quick, &scheduler.long] {
            assert!(lane.lock().waiting.is_empty() && lane.inbox().tasks.is_empty());
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_plugin_known_to_run_long_never_holds_up_a_quick_call() {
        let scheduler = Arc::new(Scheduler::new(1, tokio::runtime::Handle::current()));
        let (hog, quick) = (Arc::new(Account::default()), Arc::new(Account::default()));
        // The hog's calls use 10 ms each...
        for _ in 0..3 {
            burn(&scheduler, &hog, 10, Duration::from_millis(1)).await;
            hog.call_ended();
        }
        assert!(hog.expects_long());
        // ...so its next ones start on the long lane, where a 200 ms stretch without a
        // single yield (as a bulk memory instruction) holds up no quick thread.
        let stretch = tokio::spawn(burn(&scheduler, &hog, 1, Duration::from_millis(200)));
        tokio::time::sleep(Duration::from_millis(20)).await;
        let started = Instant::now();
        burn(&scheduler, &quick, 1, Duration::from_micros(100)).await;
        let waited = started.elapsed();
        assert!(waited < Duration::from_millis(50), "waited {waited:?}");
        assert!(!stretch.is_finished(), "the stretch should still run");
        stretch.await.unwrap();
        assert!(!quick.expects_long());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_call_dropped_on_the_long_lane_is_dropped_there() {
        let scheduler = Arc::new(Scheduler::new(1, tokio::runtime::Handle::current()));
        let account = Arc::new(Account::default());
        // Where the call's future was dropped: 0 not yet, 1 on a lane thread, 2 elsewhere.
        let dropped = Arc::new(std::sync::atomic::AtomicU8::new(0));
        struct Flag(Arc<std::sync::atomic::AtomicU8>);
        impl Drop for Flag {
            fn drop(&mut self) {
                let place = if on_long_lane() { 1 } else { 2 };
                self.0.store(place, Ordering::SeqCst);
            }
        }
        let turn = Arc::new(Turn::default());
        let (yields, flag) = (turn.clone(), Flag(dropped.clone()));
        let endless = scheduler.run(&account, turn, async move {
            let _flag = flag;
            loop {
                let until = Instant::now() + Duration::from_millis(1);
                while Instant::now() < until {
                    std::hint::spin_loop();
                }
                yields.yield_now().await;
            }
        });
        // Past its 5 ms quick budget, the call has moved to the long lane by then.
        let timed_out = tokio::time::timeout(Duration::from_millis(200), endless).await;
        assert!(timed_out.is_err());
        for _ in 0..100 {
            if dropped.load(Ordering::SeqCst) != 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            1,
            "the call kept running (0) or was dropped off the lane (2)"
        );
        assert!(account.cpu_time() > Duration::ZERO);
    }
}
