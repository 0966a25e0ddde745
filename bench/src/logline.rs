//! `bench logline`: what the per-call log line costs, tracing-subscriber's JSON format
//! against the host's own (`pyrus_host::log_format::JsonLine`), side by side in one run:
//! the call's span made, its `task_id` recorded, the `call` event inside it, the span
//! closed, the line formatted into a sink (the writer thread's work is the same for both).

use std::time::{Duration, Instant};

use tracing::Dispatch;

/// A subscriber to time, by name.
type Subscriber = (&'static str, fn() -> Dispatch);

pub fn run(calls: usize, rounds: usize) -> anyhow::Result<()> {
    let subscribers: [Subscriber; 2] = [
        ("tracing-subscriber json", || {
            Dispatch::new(
                tracing_subscriber::fmt()
                    .json()
                    .with_span_list(false)
                    .with_writer(std::io::sink)
                    .finish(),
            )
        }),
        ("pyrus-host JsonLine", || {
            Dispatch::new(
                tracing_subscriber::fmt()
                    .fmt_fields(pyrus_host::log_format::SpanFields)
                    .event_format(pyrus_host::log_format::JsonLine)
                    .with_writer(std::io::sink)
                    .finish(),
            )
        }),
    ];
    println!("the call's span, task_id recorded, one `call` event, the span closed; {calls} calls per round, {rounds} rounds taking turns");
    let mut best = [Duration::MAX; 2];
    for _ in 0..rounds.max(1) {
        for (i, (_, make)) in subscribers.iter().enumerate() {
            let dispatch = make();
            let took = tracing::dispatcher::with_default(&dispatch, || time_calls(calls));
            best[i] = best[i].min(took / calls.max(1) as u32);
        }
    }
    for ((name, _), best) in subscribers.iter().zip(best) {
        println!(
            "{name:<26} {:>8.2} us per call (fastest round)",
            best.as_secs_f64() * 1e6
        );
    }
    println!(
        "JsonLine / tracing-subscriber = {:.2}",
        best[1].as_secs_f64() / best[0].as_secs_f64()
    );
    Ok(())
}

fn time_calls(calls: usize) -> Duration {
    let started = Instant::now();
    for i in 0..calls {
        let span = tracing::info_span!(
            "bot_call",
            bot = %"hello-bot",
            task_id = tracing::field::Empty,
            attempt = 1u32,
        );
        span.record("task_id", tracing::field::display(4242 + i));
        let _entered = span.enter();
        tracing::info!(
            status = 200u16,
            outcome = "ok",
            duration_us = 5168u64,
            "call"
        );
    }
    started.elapsed()
}
