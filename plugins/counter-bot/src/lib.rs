//! Remembers, per task, how often Pyrus called it, and answers with the count: the smallest
//! bot with state. The count lives in the host's key-value store (granted in the host config
//! with `key_value_stores = ["default"]`), so it survives restarts and, with the Redis
//! backend, is shared by every host. The optional variable `label` names the counter in the
//! reply.
//!
//! Host config:
//! ```toml
//! [bots.counter]
//! plugin = "plugins/target/wasm32-wasip2/release/counter_bot.wasm"
//! secret = { env = "COUNTER_BOT_SECRET" }
//! key_value_stores = ["default"]
//! variables = { label = "Counter" }
//! ```

use pyrus_plugin_sdk::store::Store;
use pyrus_plugin_sdk::{variables, Bot, BotReply, BotRequest, CallInfo, PluginError};

pub struct CounterBot;

impl Bot for CounterBot {
    fn handle(req: BotRequest, _call: &CallInfo) -> Result<Option<BotReply>, PluginError> {
        let task_id = req
            .task_id()
            .ok_or_else(|| PluginError::bad_request("the body has no task_id"))?;
        let store = Store::open("default")?;
        let count = store.increment(&counter_key(&task_id.to_string()), 1)?;
        let label = variables::get("label").unwrap_or_else(|| "Counter".to_string());
        Ok(Some(BotReply::new().text(reply_text(&label, count))))
    }
}

/// Where a task's count is kept.
pub fn counter_key(task_id: &str) -> String {
    format!("task:{task_id}:calls")
}

pub fn reply_text(label: &str, count: u64) -> String {
    let times = if count == 1 { "time" } else { "times" };
    format!("{label}: this bot was called {count} {times} on this task.")
}

#[cfg(target_arch = "wasm32")]
pyrus_plugin_sdk::export_bot!(CounterBot);

#[cfg(test)]
mod tests {
    use super::{counter_key, reply_text};

    #[test]
    fn texts_and_keys() {
        assert_eq!(
            reply_text("Counter", 1),
            "Counter: this bot was called 1 time on this task."
        );
        assert_eq!(
            reply_text("Visits", 3),
            "Visits: this bot was called 3 times on this task."
        );
        assert_eq!(counter_key("42"), "task:42:calls");
    }
}
