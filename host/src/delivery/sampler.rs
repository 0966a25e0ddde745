//! Samples each async bot's share of the queue (jobs waiting or running, the oldest one's
//! age, parked jobs) every [`SAMPLE_EVERY`] into the operator's window
//! ([`crate::server::stats`]), where each minute keeps the most it saw. One read of the
//! queue per interval, however many calls arrive or admin pages are open.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::MissedTickBehavior;

use super::queue::JobQueue;
use super::{Mode, STORE_TIMEOUT};
use crate::names::Kind;
use crate::server::AppState;

/// How often the queue is sampled: several times a minute, so that a minute's maximum
/// sees a short pile-up, and seldom enough that a scan of the queue costs nothing.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(10);

/// Samples until the process ends.
pub async fn run(state: Arc<AppState>, queue: Arc<dyn JobQueue>) {
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let bots: Vec<String> = (state.registry.load().plugins(Kind::Bot))
            .filter(|bot| matches!(bot.mode, Mode::Async(_)))
            .map(|bot| bot.name.to_string())
            .collect();
        if bots.is_empty() {
            continue;
        }
        match tokio::time::timeout(STORE_TIMEOUT, queue.bot_stats(bots.clone())).await {
            Ok(Ok(stats)) => {
                for (bot, stats) in bots.iter().zip(stats) {
                    state.stats.record_queue(bot, stats);
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot read each bot's queue"),
            Err(_) => tracing::warn!("the queue did not tell each bot's jobs in time"),
        }
    }
}
