//! `GET /admin`: a server-rendered status page for operators, refreshed every few seconds.
//! Served only when `[admin] token` is set, and only to a caller who presents it: as
//! `Authorization: Bearer TOKEN`, or once as `?token=TOKEN`, which sets a session cookie and
//! redirects to the bare URL (so the token does not stay in the address bar or history).
//!
//! The cookie never holds the token: it holds an expiry and an HMAC of it keyed by the
//! token, so it cannot be turned back into the token, lapses after [`SESSION`], and every
//! session ends when the token changes. `Secure` when the host serves TLS.

use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::charts::{self, Line};
use super::overview::PluginView;
use super::stats::{Recent, WINDOW_MINUTES};
use super::AppState;
use crate::delivery::job::{Job, JobId, QueueStats};
use crate::names::Kind;
use crate::registry::Loaded;
use crate::secret::Secret;

const COOKIE: &str = "pyrus_admin";
/// How long an admin session lasts.
const SESSION: Duration = Duration::from_secs(12 * 3600);
const REFRESH_SECONDS: u32 = 5;

#[derive(serde::Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

pub async fn page(
    State(state): State<Arc<AppState>>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = state.admin_token.load_full() else {
        return (
            StatusCode::NOT_FOUND,
            "the admin page is off: set [admin] token\n",
        )
            .into_response();
    };
    if let Some(trade) = trade_token(&state, &token, &query, "/admin") {
        return trade;
    }
    if !authorized(&token, &headers) {
        return refused();
    }
    let queue = queue_view(&state).await;
    Html(render(&state, queue.as_ref())).into_response()
}

/// The async queue as the page shows it: counts and the parked jobs.
struct QueueView {
    stats: QueueStats,
    parked: Vec<Job>,
}

/// Parked jobs listed at most.
const PARKED_SHOWN: usize = 100;

async fn queue_view(state: &AppState) -> Option<QueueView> {
    let queue = state.deliveries.queue.as_ref()?;
    let stats = state.deliveries.queue_stats().await?;
    let parked = queue.parked(PARKED_SHOWN).await.unwrap_or_default();
    Some(QueueView { stats, parked })
}

/// `POST /admin/jobs/{id}/replay`: puts a parked job back in the queue. A POST with the
/// admin token (bearer, or the session cookie, which is `SameSite=Strict` so other sites
/// cannot send it), never a GET link.
pub async fn replay(
    State(state): State<Arc<AppState>>,
    Path(id): Path<u64>,
    headers: HeaderMap,
) -> Response {
    if state.admin_token.load().is_none() {
        return (
            StatusCode::NOT_FOUND,
            "the admin page is off: set [admin] token\n",
        )
            .into_response();
    }
    if !is_admin(&state, &headers) {
        return refused();
    }
    let Some(queue) = &state.deliveries.queue else {
        return (
            StatusCode::NOT_FOUND,
            "no bot is async: there is no queue\n",
        )
            .into_response();
    };
    match queue.replay(JobId(id)).await {
        Ok(true) => {
            tracing::info!(job = id, "parked job replayed from the admin page");
            state.deliveries.wake_workers();
            // The page's button goes back to the page; a script gets a plain answer.
            let from_form = headers.get(header::CONTENT_TYPE).is_some_and(|v| {
                v.as_bytes()
                    .starts_with(b"application/x-www-form-urlencoded")
            });
            match from_form {
                true => (StatusCode::SEE_OTHER, [(header::LOCATION, "/admin")]).into_response(),
                false => (StatusCode::OK, format!("job {id} replayed\n")).into_response(),
            }
        }
        Ok(false) => (StatusCode::NOT_FOUND, "no parked job with that id\n").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    }
}

/// `GET /admin/plugins/{kind}/{name}`: one plugin's charts, failures, versions and config.
pub async fn plugin_page(
    State(state): State<Arc<AppState>>,
    Path((kind, name)): Path<(String, String)>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(token) = state.admin_token.load_full() {
        // Kind and name are checked before they go into the redirect.
        let known = Kind::from_section(&kind).is_some()
            && crate::names::PluginName::new(name.as_str()).is_ok();
        if known {
            let path = format!("/admin/plugins/{kind}/{name}");
            if let Some(trade) = trade_token(&state, &token, &query, &path) {
                return trade;
            }
        }
    }
    if let Some(refusal) = guard(&state, &headers) {
        return refusal;
    }
    let registry = state.registry.load();
    let found = Kind::from_section(&kind).and_then(|kind| {
        let loaded = registry.get(kind, &name)?;
        Some((loaded.clone(), super::overview::one(&state, kind, &name)?))
    });
    match found {
        Some((loaded, view)) => Html(super::plugin_page::render(&loaded, &view)).into_response(),
        None => (StatusCode::NOT_FOUND, "no such plugin\n").into_response(),
    }
}

/// `GET /admin/api/plugins`: what the page shows, as JSON, for scripts and
/// `pyrus-host status`.
pub async fn api_plugins(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(refusal) = guard(&state, &headers) {
        return refusal;
    }
    let registry = state.registry.load();
    let body = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "status": if registry.errors().is_empty() { "ok" } else { "degraded" },
        "instances_in_use": state.runtime.instances_in_use(),
        "plugins": super::overview::all(&state),
    });
    axum::Json(body).into_response()
}

/// The refusal to answer unless the caller is an admin (bearer token or session cookie).
fn guard(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    if state.admin_token.load().is_none() {
        return Some(
            (
                StatusCode::NOT_FOUND,
                "the admin page is off: set [admin] token\n",
            )
                .into_response(),
        );
    }
    (!is_admin(state, headers)).then(refused)
}

/// A `?token=` in the URL, checked and traded for a session cookie with a redirect to
/// `path` (so the token does not stay in the address bar or history). None without one.
fn trade_token(
    state: &AppState,
    token: &Secret,
    query: &TokenQuery,
    path: &str,
) -> Option<Response> {
    let given = query.token.as_ref()?;
    if !same(token, given) {
        return Some(refused());
    }
    let expires = now() + SESSION.as_secs();
    let secure = if state.tls { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={}; Path=/admin; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
        session(token, expires),
        SESSION.as_secs()
    );
    Some(
        (
            StatusCode::SEE_OTHER,
            [
                (header::SET_COOKIE, cookie),
                (header::LOCATION, path.to_string()),
            ],
        )
            .into_response(),
    )
}

/// Whether the request carries the admin token (as a bearer) or a live session cookie.
pub(crate) fn is_admin(state: &AppState, headers: &HeaderMap) -> bool {
    let token = state.admin_token.load();
    token
        .as_deref()
        .is_some_and(|token| authorized(token, headers))
}

fn authorized(token: &Secret, headers: &HeaderMap) -> bool {
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return same(token, bearer.trim());
    }
    cookie(headers).is_some_and(|value| live_session(token, &value))
}

/// The session value for `expires` (seconds since the Unix epoch): `EXPIRES.HMAC`.
fn session(token: &Secret, expires: u64) -> String {
    let mac = crate::signature::sign(token, format!("pyrus-admin-session:{expires}").as_bytes());
    format!("{expires}.{mac}")
}

fn live_session(token: &Secret, value: &str) -> bool {
    let Some(expires) = value
        .split_once('.')
        .and_then(|(e, _)| e.parse::<u64>().ok())
    else {
        return false;
    };
    let genuine: bool = session(token, expires)
        .as_bytes()
        .ct_eq(value.as_bytes())
        .into();
    genuine && expires > now() && expires <= now() + SESSION.as_secs()
}

fn now() -> u64 {
    (SystemTime::now().duration_since(SystemTime::UNIX_EPOCH)).map_or(0, |d| d.as_secs())
}

fn refused() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "the admin page needs the admin token\n",
    )
        .into_response()
}

/// The session cookie's value.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

fn same(token: &Secret, given: &str) -> bool {
    token.expose().ct_eq(given.as_bytes()).into()
}

fn render(state: &AppState, queue: Option<&QueueView>) -> String {
    let registry = state.registry.load();
    let reload = state.reload_status.lock().unwrap().clone();
    let mut html = String::with_capacity(8 * 1024);
    let degraded = !registry.errors().is_empty() || reload.last_error.is_some();
    let _ = write!(
        html,
        r#"{head}
<title>pyrus-host admin</title>
</head><body><main>
<h1>pyrus-host <small>{version}</small></h1>
<p id="status">Status: <b class="{class}">{status}</b> · up since {started} · {in_use} instances in use · refreshes every {REFRESH_SECONDS} s</p>
<h2>Plugins</h2>
<p class="note">Charts: the last 60 minutes, one point per minute; dashed lines mark a new version loaded. CPU share: of all plugins' CPU over 5 minutes. Queue: an async bot's jobs waiting or running and the oldest one's age, sampled every {sample_s} s.</p>
<table id="plugins"><tr><th>Kind</th><th>Name</th><th>Version (SHA-1)</th><th>Loaded at</th><th>Calls, last {WINDOW_MINUTES} min</th><th>Errors, last {WINDOW_MINUTES} min</th><th>Calls / min</th><th>Errors / min</th><th>p99 (ms)</th><th>CPU share</th><th>Peak memory</th><th>Queue now (async)</th><th>Last error</th><th>Plugin file</th></tr>
"#,
        head = head(),
        version = env!("CARGO_PKG_VERSION"),
        class = if degraded { "bad" } else { "ok" },
        status = if degraded { "degraded" } else { "ok" },
        started = date(state.started_at),
        in_use = state.runtime.instances_in_use(),
        sample_s = crate::delivery::sampler::SAMPLE_EVERY.as_secs(),
    );
    let views = super::overview::of_registry(state, &registry);
    for (plugin, view) in registry.all().zip(&views) {
        let load_error = registry.error(&plugin.key());
        let recent = state.stats.recent(plugin.kind, plugin.name.as_str());
        row(&mut html, plugin, &recent, view, load_error);
    }
    html.push_str("</table>\n<h2>Reloads</h2>\n");
    let _ = writeln!(
        html,
        "<p>{} reloads, {} with problems.</p>",
        reload.reloads, reload.failures
    );
    html.push_str(
        "<table id=\"reloads\"><tr><th>At</th><th>Result</th><th>Took</th><th>Details</th></tr>\n",
    );
    for event in reload.history.iter().rev() {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td class=\"{}\">{}</td><td>{} ms</td><td>{}</td></tr>",
            date(event.at),
            if event.ok { "ok" } else { "bad" },
            if event.ok { "ok" } else { "problems" },
            event.duration_ms,
            escape(&event.details),
        );
    }
    if reload.history.is_empty() {
        html.push_str("<tr><td colspan=\"4\">No reload since the start.</td></tr>\n");
    }
    html.push_str("</table>\n");
    if let Some(queue) = queue {
        queue_section(&mut html, queue);
    }
    html.push_str("</main></body></html>\n");
    html
}

/// Counts, and each parked job with why and a replay button (never the body or token).
fn queue_section(html: &mut String, queue: &QueueView) {
    let stats = &queue.stats;
    let _ = writeln!(
        html,
        "<h2>Async queue</h2>\n<p id=\"queue\">{} waiting or running · oldest {} s · <span class=\"{}\">{} parked</span></p>",
        stats.depth,
        stats.oldest_age_s,
        if stats.parked > 0 { "bad" } else { "ok" },
        stats.parked,
    );
    if queue.parked.is_empty() {
        return;
    }
    html.push_str("<table id=\"parked\"><tr><th>Job</th><th>Bot</th><th>Task</th><th>Accepted</th><th>Why parked</th><th></th></tr>\n");
    for job in &queue.parked {
        let accepted = std::time::UNIX_EPOCH + Duration::from_millis(job.accepted_ms);
        let _ = writeln!(
            html,
            "<tr class=\"job\"><td>{id}</td><td>{bot}</td><td>{task}</td><td>{at}</td><td>{why}</td><td><form method=\"post\" action=\"/admin/jobs/{id}/replay\"><button>Replay</button></form></td></tr>",
            id = job.id,
            bot = escape(&job.bot),
            task = job.task_id().map_or(String::new(), |t| t.to_string()),
            at = date(accepted),
            why = escape(job.parked.as_deref().unwrap_or_default()),
        );
    }
    html.push_str("</table>\n");
}

/// The `<head>` every admin page shares: style, and the refresh. With JavaScript the page
/// swaps in a fresh `<main>` every few seconds (the scroll position stays); without it,
/// the `<noscript>` refresh reloads the page.
pub(super) fn head() -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<noscript><meta http-equiv="refresh" content="{REFRESH_SECONDS}"></noscript>
<style>
body{{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}}
table{{border-collapse:collapse;margin-bottom:1.5em}}
th,td{{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}}
th{{background:#f3f3f3}} .bad{{color:#b00}} .ok{{color:#070}} code{{font-size:12px}}
.note{{color:#555;font-size:12px}} figure{{margin:0 0 1.2em}} figcaption{{font-weight:600}}
.legend{{margin:.2em 0;font-size:12px}} svg.spark{{display:block}}
</style>
<script>
setInterval(async () => {{
  try {{
    const r = await fetch(location.pathname, {{credentials: "same-origin"}});
    if (!r.ok) return;
    const next = new DOMParser().parseFromString(await r.text(), "text/html").querySelector("main");
    if (next) document.querySelector("main").replaceWith(next);
  }} catch (e) {{}}
}}, {REFRESH_SECONDS}000);
</script>"#
    )
}

fn row(
    html: &mut String,
    loaded: &Loaded,
    recent: &Recent,
    view: &PluginView,
    load_error: Option<&str>,
) {
    let kind = loaded.kind;
    let last_error = match (&recent.last_error, load_error) {
        (_, Some(load)) => format!("<span class=\"bad\">load failed: {}</span>", escape(load)),
        (Some(e), None) => format!("{} · {} · {}", date(e.at), e.status, escape(&e.message)),
        (None, None) => String::new(),
    };
    let marks = view.marks();
    let calls = view.series(|m| Some(f64::from(m.calls)));
    let errors = view.series(|m| Some(f64::from(m.errors)));
    let p99 = view.series(|m| m.p99_ms);
    let spark = |kind: &'static str, values: &[Option<f64>], unit: &str| {
        charts::sparkline(kind, &Line { name: kind, values }, &marks, unit)
    };
    let memory = match view.peak_memory_mb {
        Some(mb) => format!("{mb:.1} of {} MiB", view.memory_limit_mb),
        None => format!("– of {} MiB", view.memory_limit_mb),
    };
    let queue = match &view.queue {
        Some(q) => format!(
            "<td class=\"queue\" data-depth=\"{depth}\" data-oldest-s=\"{oldest}\" data-parked=\"{parked}\">{depth} jobs · oldest {oldest} s{parked_note}</td>",
            depth = q.depth,
            oldest = q.oldest_age_s,
            parked = q.parked,
            parked_note = match q.parked {
                0 => String::new(),
                n => format!(" · <span class=\"bad\">{n} parked</span>"),
            },
        ),
        None => "<td></td>".to_string(),
    };
    let _ = writeln!(
        html,
        "<tr class=\"plugin\" data-kind=\"{kind}\" data-name=\"{name}\"><td>{kind}</td><td class=\"name\"><a href=\"/admin/plugins/{section}/{name}\">{name}</a></td><td><code>{hash}</code> (v{count})</td><td>{loaded_at}</td><td>{calls}</td><td class=\"{err_class}\">{errors}</td><td>{spark_calls}</td><td>{spark_errors}</td><td>{spark_p99}</td><td class=\"cpu\" data-share=\"{share:.4}\">{share_pct:.1}%</td><td class=\"memory\">{memory}</td>{queue}<td>{last_error}</td><td><code>{path}</code></td></tr>",
        kind = kind.as_str(),
        section = kind.section(),
        spark_calls = spark("calls", &calls, "/min"),
        spark_errors = spark("errors", &errors, "/min"),
        spark_p99 = spark("p99", &p99, " ms"),
        share = view.cpu_share,
        share_pct = view.cpu_share * 100.0,
        name = escape(loaded.name.as_str()),
        hash = &loaded.hash[..12],
        count = loaded.load_count,
        loaded_at = date(loaded.loaded_at),
        calls = recent.calls,
        errors = recent.errors,
        err_class = if recent.errors > 0 { "bad" } else { "" },
        path = escape(&loaded.path.display().to_string()),
    );
}

pub(super) fn date(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

/// Escapes text for HTML element content and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<b a="x">&'"#),
            "&lt;b a=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
