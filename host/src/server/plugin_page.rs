//! `GET /admin/plugins/{kind}/{name}`: one plugin's last hour in larger charts (calls and
//! errors, latency percentiles, CPU, memory, and for an async bot its jobs in the queue and
//! the oldest one's age, with its versions marked), its recent failures
//! (never a body), its versions and its config (limits and grants; never a secret, never its
//! settings, which may hold credentials).

use std::fmt::Write;
use std::time::{Duration, UNIX_EPOCH};

use super::admin::{escape, head};
use super::charts::{chart, Line, Marks};
use super::overview::{PluginView, QueueView};
use crate::delivery::sampler::SAMPLE_EVERY;
use crate::registry::Loaded;

fn date(secs: u64) -> String {
    super::admin::date(UNIX_EPOCH + Duration::from_secs(secs))
}

pub fn render(loaded: &Loaded, view: &PluginView) -> String {
    let marks = view.marks();
    let calls = view.series(|m| Some(f64::from(m.calls)));
    let errors = view.series(|m| Some(f64::from(m.errors)));
    let p50 = view.series(|m| m.p50_ms);
    let p95 = view.series(|m| m.p95_ms);
    let p99 = view.series(|m| m.p99_ms);
    // CPU per minute as a share of one core.
    let cpu = view.series(|m| Some(m.cpu_ms / 600.0));
    let memory = view.series(|m| m.peak_memory_mb);
    let limits = &loaded.plugin.sandbox.limits;
    let name = escape(loaded.name.as_str());
    let mut html = format!(
        "{head}\n<title>{name} · pyrus-host admin</title>\n</head><body><main>\n\
         <p><a href=\"/admin\">← all plugins</a></p>\n\
         <h1 id=\"plugin\" data-kind=\"{kind}\" data-name=\"{name}\">{kind} {name} <small>v{version}</small></h1>\n\
         <p>SHA-1 <code>{sha}</code> · {contract} · loaded {loaded_at} · file <code>{path}</code></p>\n\
         <p>Last 15 min: {calls} calls, {errors} errors, p99 {p99_15m} · CPU {share:.1}% of all plugins' (5 min) · peak memory {memory_15m}</p>\n",
        head = head(),
        kind = loaded.kind.as_str(),
        version = loaded.load_count,
        sha = escape(&loaded.hash),
        contract = escape(&view.contract),
        loaded_at = super::admin::date(loaded.loaded_at),
        path = escape(&loaded.path.display().to_string()),
        calls = view.calls_15m,
        errors = view.errors_15m,
        p99_15m = view
            .p99_15m_ms
            .map_or("–".to_string(), |ms| format!("{ms:.1} ms")),
        share = view.cpu_share * 100.0,
        memory_15m = view
            .peak_memory_mb
            .map_or("–".to_string(), |mb| format!("{mb:.1} MiB")),
    );
    html.push_str(&chart(
        "chart-calls",
        "Calls and errors per minute",
        "",
        &[
            Line {
                name: "calls",
                values: &calls,
            },
            Line {
                name: "errors",
                values: &errors,
            },
        ],
        &marks,
    ));
    // An async bot's calls are answered at once: what waits is in its queue.
    if let Some(queue) = &view.queue {
        queue_charts(&mut html, view, queue, &marks);
    }
    html.push_str(&chart(
        "chart-latency",
        "Latency per minute (ms; each within +41 % of the truth)",
        " ms",
        &[
            Line {
                name: "p50",
                values: &p50,
            },
            Line {
                name: "p95",
                values: &p95,
            },
            Line {
                name: "p99",
                values: &p99,
            },
        ],
        &marks,
    ));
    html.push_str(&chart(
        "chart-cpu",
        "CPU (% of one core, per minute)",
        "%",
        &[Line {
            name: "cpu",
            values: &cpu,
        }],
        &marks,
    ));
    html.push_str(&chart(
        "chart-memory",
        &format!(
            "Peak memory of a call (MiB; limit {} MiB)",
            view.memory_limit_mb
        ),
        " MiB",
        &[Line {
            name: "memory",
            values: &memory,
        }],
        &marks,
    ));

    html.push_str("<h2>Recent failures</h2>\n<table id=\"failures\"><tr><th>At</th><th>Status</th><th>Outcome</th><th>Attempt</th><th>Cause</th></tr>\n");
    for f in &view.failures {
        let _ = writeln!(
            html,
            "<tr class=\"failure\"><td>{}</td><td>{}</td><td class=\"outcome\">{}</td><td>{}</td><td>{}</td></tr>",
            date(f.at),
            f.status,
            f.outcome,
            f.attempt.map_or(String::new(), |a| a.to_string()),
            escape(&f.cause)
        );
    }
    if view.failures.is_empty() {
        html.push_str("<tr><td colspan=\"5\">No failure kept.</td></tr>\n");
    }
    html.push_str("</table>\n<h2>Versions loaded in the last hour</h2>\n<ul id=\"versions\">\n");
    for v in &view.versions {
        let _ = writeln!(
            html,
            "<li data-version=\"{}\">v{} at {}</li>",
            v.version,
            v.version,
            date(v.at)
        );
    }
    if view.versions.is_empty() {
        html.push_str("<li>None.</li>\n");
    }
    html.push_str("</ul>\n<h2>Config</h2>\n<table id=\"config\">\n");
    let mut config = vec![
        ("timeout_ms", limits.timeout.as_millis().to_string()),
        ("memory_mb", (limits.memory_bytes >> 20).to_string()),
        ("max_concurrency", limits.max_concurrency.to_string()),
        ("max_reply_kb", (limits.max_reply_bytes >> 10).to_string()),
        (
            "fuel",
            limits.fuel.map_or("none".to_string(), |f| f.to_string()),
        ),
        ("inbound", loaded.plugin.takes_inbound().to_string()),
    ];
    let grants = loaded.plugin.sandbox.grants.describe();
    config.push((
        "grants",
        match grants.is_empty() {
            true => "none".to_string(),
            false => grants.join("; "),
        },
    ));
    for (key, value) in config {
        let _ = writeln!(html, "<tr><th>{key}</th><td>{}</td></tr>", escape(&value));
    }
    html.push_str("</table>\n</main></body></html>\n");
    html
}

/// An async bot's queue: its last sample, then per minute the most jobs waiting or running
/// (and parked), and the oldest one's largest age.
fn queue_charts(html: &mut String, view: &PluginView, queue: &QueueView, marks: Marks<'_>) {
    let _ = writeln!(
        html,
        r#"<p id="queue" data-depth="{depth}" data-oldest-s="{oldest}" data-parked="{parked}">Queue at {at}: {depth} jobs waiting or running · oldest {oldest} s · <span class="{class}">{parked} parked</span> (sampled every {every} s)</p>"#,
        depth = queue.depth,
        oldest = queue.oldest_age_s,
        parked = queue.parked,
        at = date(queue.sampled_at),
        class = if queue.parked > 0 { "bad" } else { "ok" },
        every = SAMPLE_EVERY.as_secs(),
    );
    let depth = view.series(|m| m.queue_depth.map(f64::from));
    let parked = view.series(|m| m.queue_parked.map(f64::from));
    let oldest = view.series(|m| m.queue_oldest_s.map(f64::from));
    html.push_str(&chart(
        "chart-queue-depth",
        "Jobs in the queue (the most per minute; parked ones apart)",
        "",
        &[
            Line {
                name: "queue_depth",
                values: &depth,
            },
            Line {
                name: "parked",
                values: &parked,
            },
        ],
        marks,
    ));
    html.push_str(&chart(
        "chart-queue-age",
        "Age of the oldest job waiting or running (s; the most per minute)",
        " s",
        &[Line {
            name: "oldest_job_age",
            values: &oldest,
        }],
        marks,
    ));
}
