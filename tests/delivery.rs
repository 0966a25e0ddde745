//! End-to-end tests of retry de-duplication: the real binary, a real test plugin that counts
//! its runs in its store, real HTTP deliveries with `X-Pyrus-Retry` as Pyrus sends them, on
//! the redb file and on a real `redis-server` shared by two hosts.

mod support;

use std::time::Duration;

use support::{redis, sign, Host};

const SECRET: &str = "delivery-secret";

/// One delivery of a bot call on task 42 whose last comment is `last_comment`: the
/// `access_token` differs between deliveries, as a retry may carry a fresh one.
fn delivery(last_comment: u64, token: &str) -> Vec<u8> {
    format!(
        r#"{{"event":"comment","access_token":"{token}","task_id":42,"user_id":7,
            "task":{{"id":42,"text":"dedup","comments":[{{"id":1,"text":"first"}},{{"id":{last_comment}}}]}},
            "api_url":"https://api.pyrus.com/v4/"}}"#
    )
    .into_bytes()
}

/// Delivers `body` to `bot` as attempt `attempt` of 3; answers status and comment text.
fn deliver(host: &Host, bot: &str, body: &[u8], attempt: u32) -> (u16, String) {
    let sig = sign(SECRET, body);
    let retry = format!("{attempt}/3");
    let r = host.post(
        &format!("/bots/{bot}"),
        body,
        &[
            ("X-Pyrus-Sig", &sig),
            ("X-Pyrus-Retry", &retry),
            ("User-Agent", "Pyrus-Bot-4"),
        ],
    );
    let text = match r.status {
        200 => r.json()["text"].as_str().unwrap_or_default().to_string(),
        _ => r.error_code(),
    };
    (r.status, text)
}

/// The value of the metric line starting with `prefix`, 0 when absent.
fn metric(host: &Host, prefix: &str) -> f64 {
    host.get("/metrics")
        .body
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn redb_host() -> Host {
    Host::builder(
        r#"
        [server]
        listen = "127.0.0.1:0"

        [store]
        path = "{dir}/state.redb"

        [bots.slow]
        plugin = "{plugins}/misbehaving.wasm"
        secret = { env = "DELIVERY_SECRET" }
        settings = "slow-count"
        key_value_stores = ["default"]

        [bots.flaky]
        plugin = "{plugins}/misbehaving.wasm"
        secret = { env = "DELIVERY_SECRET" }
        settings = "flaky-count"
        key_value_stores = ["default"]

        [bots.nodedup]
        plugin = "{plugins}/misbehaving.wasm"
        secret = { env = "DELIVERY_SECRET" }
        settings = "flaky-count"
        key_value_stores = ["default"]
        dedup_window_s = 0
        "#,
    )
    .env("DELIVERY_SECRET", SECRET)
    .start()
}

/// Three deliveries of one call: the second while the first runs, the third after it
/// finished. The plugin runs once (its store counts 1 run) and all three get its answer,
/// the first attempt's. A new comment on the task is a new call and runs again.
#[test]
fn three_deliveries_of_one_call_run_the_plugin_once_and_get_the_same_answer() {
    let host = redb_host();
    let (first, second) = std::thread::scope(|s| {
        let first = s.spawn(|| deliver(&host, "slow", &delivery(9, "token-one"), 1));
        // The plugin takes 1.5 s: the retry arrives while it runs.
        std::thread::sleep(Duration::from_millis(400));
        let second = s.spawn(|| deliver(&host, "slow", &delivery(9, "token-two"), 2));
        (first.join().unwrap(), second.join().unwrap())
    });
    assert_eq!(first, (200, "run 1 attempt 1".into()));
    assert_eq!(second, (200, "run 1 attempt 1".into()));
    let third = deliver(&host, "slow", &delivery(9, "token-three"), 3);
    assert_eq!(third, (200, "run 1 attempt 1".into()));
    assert_eq!(
        metric(
            &host,
            "pyrus_duplicates_answered_total{bot=\"slow\",mode=\"sync\"}"
        ),
        2.0
    );

    let next = deliver(&host, "slow", &delivery(10, "token-four"), 1);
    assert_eq!(next, (200, "run 2 attempt 1".into()));
    // Tokens are secrets: none reaches the log.
    let log = host.log();
    assert!(!log.contains("token-"), "{log}");
}

/// A first attempt that failed is not replayed: the retry runs the plugin again, and its
/// success is what later retries get. With `dedup_window_s = 0` every delivery runs.
#[test]
fn a_failed_attempt_is_run_again_and_a_zero_window_turns_deduplication_off() {
    let host = redb_host();
    let body = delivery(9, "token-one");
    assert_eq!(
        deliver(&host, "flaky", &body, 1),
        (500, "first_run_fails".into())
    );
    assert_eq!(
        deliver(&host, "flaky", &body, 2),
        (200, "run 2 attempt 2".into())
    );
    assert_eq!(
        deliver(&host, "flaky", &body, 3),
        (200, "run 2 attempt 2".into())
    );

    assert_eq!(
        deliver(&host, "nodedup", &body, 1),
        (500, "first_run_fails".into())
    );
    assert_eq!(
        deliver(&host, "nodedup", &body, 2),
        (200, "run 2 attempt 2".into())
    );
    assert_eq!(
        deliver(&host, "nodedup", &body, 3),
        (200, "run 3 attempt 3".into())
    );
}

/// The records live in the redb file: a retry after a restart of the host still gets the
/// stored answer.
#[test]
fn a_stored_answer_survives_a_restart_of_the_host() {
    let builder = |dir: &str| {
        Host::builder(&format!(
            r#"
            [server]
            listen = "127.0.0.1:0"
            [store]
            path = "{dir}/state.redb"
            [bots.slow]
            plugin = "{{plugins}}/misbehaving.wasm"
            secret = {{ env = "DELIVERY_SECRET" }}
            settings = "slow-count"
            key_value_stores = ["default"]
            "#
        ))
        .env("DELIVERY_SECRET", SECRET)
    };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().display().to_string();
    let mut host = builder(&dir).start();
    assert_eq!(
        deliver(&host, "slow", &delivery(9, "a"), 1),
        (200, "run 1 attempt 1".into())
    );
    // The sweep commits the records durably about once a second.
    std::thread::sleep(Duration::from_millis(2500));
    host.terminate();
    assert_eq!(host.wait_exit(Duration::from_secs(30)), Some(0));
    drop(host);
    let host = builder(&dir).start();
    assert_eq!(
        deliver(&host, "slow", &delivery(9, "b"), 2),
        (200, "run 1 attempt 1".into())
    );
}

/// Two hosts sharing one Redis: the same call delivered to both while the first runs runs
/// the plugin once, and both answer its answer; a later retry to either is replayed.
#[test]
fn two_hosts_sharing_redis_run_a_call_delivered_to_both_once() {
    let Some(redis) = redis() else { return };
    let config = format!(
        r#"
        [server]
        listen = "127.0.0.1:0"
        [store]
        backend = "redis"
        url = "{}"
        [bots.slow]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "DELIVERY_SECRET" }}
        settings = "slow-count"
        key_value_stores = ["default"]
        "#,
        redis.url
    );
    let a = Host::builder(&config)
        .env("DELIVERY_SECRET", SECRET)
        .start();
    let b = Host::builder(&config)
        .env("DELIVERY_SECRET", SECRET)
        .start();
    let (first, second) = std::thread::scope(|s| {
        let first = s.spawn(|| deliver(&a, "slow", &delivery(9, "token-one"), 1));
        std::thread::sleep(Duration::from_millis(400));
        let second = s.spawn(|| deliver(&b, "slow", &delivery(9, "token-two"), 2));
        (first.join().unwrap(), second.join().unwrap())
    });
    assert_eq!(first, (200, "run 1 attempt 1".into()));
    assert_eq!(second, (200, "run 1 attempt 1".into()));
    assert_eq!(
        deliver(&a, "slow", &delivery(9, "token-three"), 3),
        (200, "run 1 attempt 1".into())
    );
    assert_eq!(
        metric(
            &b,
            "pyrus_duplicates_answered_total{bot=\"slow\",mode=\"sync\"}"
        ),
        1.0
    );
}

// ---- async mode: a mock Pyrus API on loopback ----

use support::mock::MockServer;

/// A call on task `task` whose last comment is 9, naming the mock as its API.
fn async_delivery(api: &MockServer, task: u64, token: &str) -> Vec<u8> {
    format!(
        r#"{{"event":"comment","access_token":"{token}","task_id":{task},"user_id":7,
            "task":{{"id":{task},"text":"async","author":{{"id":1,"first_name":"Bob","email":"bob@example.com"}},
                     "comments":[{{"id":9,"text":"hi"}}]}},
            "api_url":"{}"}}"#,
        api.url("/v4/")
    )
    .into_bytes()
}

/// The requests the mock API got on task `task`'s comments.
fn comments(api: &MockServer, task: u64) -> Vec<support::mock::Recorded> {
    let path = format!("/v4/tasks/{task}/comments");
    api.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .collect()
}

fn queue(host: &Host) -> serde_json::Value {
    host.health().json()["queue"].clone()
}

fn async_config(api: &MockServer, dir: &str, extra: &str) -> String {
    format!(
        r#"
        [server]
        listen = "127.0.0.1:0"
        [store]
        path = "{dir}/state.redb"
        [defaults]
        pyrus_api_bases = ["{api}"]
        [bots.slow]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "DELIVERY_SECRET" }}
        settings = "slow-count"
        key_value_stores = ["default"]
        mode = "async"
        [bots.hello]
        plugin = "{{plugins}}/hello_bot.wasm"
        secret = {{ env = "DELIVERY_SECRET" }}
        mode = "async"
        post_attempts = 3
        post_backoff_ms = 100
        {extra}
        "#,
        api = api.url("/v4/")
    )
}

/// Async mode: Pyrus gets an empty 200 before the plugin is done; the reply arrives at the
/// API as a comment on the task, with the call's token; a retry is acknowledged and not
/// queued again; a call naming an API the config does not allow is refused.
#[test]
fn async_calls_are_acknowledged_at_once_and_posted_once_as_comments() {
    let api = MockServer::start();
    api.answer("/v4/tasks/42/comments", 200, &[], r#"{"task":{"id":42}}"#);
    let dir = tempfile::tempdir().unwrap();
    let host = Host::builder(&async_config(&api, &dir.path().display().to_string(), ""))
        .env("DELIVERY_SECRET", SECRET)
        .start();

    let body = async_delivery(&api, 42, "token-one");
    let sig = sign(SECRET, &body);
    let r = host.post("/bots/slow", &body, &[("X-Pyrus-Sig", &sig)]);
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    // The plugin takes 1.5 s: the answer came before its comment could exist.
    assert!(comments(&api, 42).is_empty());

    support::wait_until("the comment is posted", Duration::from_secs(30), || {
        comments(&api, 42).len() == 1
    });
    let posted = &comments(&api, 42)[0];
    assert_eq!(
        posted.headers.get("authorization").map(String::as_str),
        Some("Bearer token-one")
    );
    let comment: serde_json::Value = serde_json::from_str(&posted.body).unwrap();
    assert_eq!(comment["text"], "run 1 attempt 1");

    // A retry of the same call (a fresh token) is acknowledged, not queued again.
    let retry = async_delivery(&api, 42, "token-two");
    let r = host.post(
        "/bots/slow",
        &retry,
        &[
            ("X-Pyrus-Sig", &sign(SECRET, &retry)),
            ("X-Pyrus-Retry", "2/3"),
        ],
    );
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    support::wait_until("the queue is empty", Duration::from_secs(30), || {
        queue(&host)["depth"] == 0
    });
    assert_eq!(
        metric(
            &host,
            "pyrus_duplicates_answered_total{bot=\"slow\",mode=\"async\"}"
        ),
        1.0
    );
    std::thread::sleep(Duration::from_millis(2000));
    assert_eq!(comments(&api, 42).len(), 1);

    // An api_url the config does not allow: refused, with a clear error, never queued.
    let elsewhere = String::from_utf8(async_delivery(&api, 43, "t"))
        .unwrap()
        .replace(&api.url("/v4/"), "https://evil.example.com/v4/");
    let r = host.post(
        "/bots/slow",
        elsewhere.as_bytes(),
        &[("X-Pyrus-Sig", &sign(SECRET, elsewhere.as_bytes()))],
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "api_url_not_allowed");
    let log = host.log();
    assert!(
        !log.contains("token-one") && !log.contains("token-two"),
        "{log}"
    );
}

/// The API down then up: the post is retried with backoff until it goes through. A 429's
/// Retry-After is waited for. A post that keeps failing parks the job after
/// `post_attempts`, visible in /healthz, /metrics and the admin page, and an operator's
/// replay (a POST with the admin token) posts it.
#[test]
fn failed_posts_are_retried_honour_retry_after_and_park_then_replay() {
    let api = MockServer::start();
    let dir = tempfile::tempdir().unwrap();
    let host = Host::builder(&async_config(&api, &dir.path().display().to_string(), ""))
        .env("DELIVERY_SECRET", SECRET)
        .start();
    let send = |task: u64| {
        let body = async_delivery(&api, task, "token-x");
        let r = host.post(
            "/bots/hello",
            &body,
            &[("X-Pyrus-Sig", &sign(SECRET, &body))],
        );
        assert_eq!(r.status, 200, "{}", r.body);
    };

    // Down, then up.
    api.answer("/v4/tasks/1/comments", 503, &[], "{}");
    send(1);
    support::wait_until("two failed posts", Duration::from_secs(30), || {
        comments(&api, 1).len() >= 2
    });
    api.answer("/v4/tasks/1/comments", 200, &[], "{}");
    support::wait_until("the job is done", Duration::from_secs(30), || {
        queue(&host)["depth"] == 0
    });
    let tries = comments(&api, 1).len();
    assert!(tries >= 3, "{tries}");
    let last = &comments(&api, 1)[tries - 1].body;
    assert!(last.contains("Hello, bob@example.com."), "{last}");

    // 429 with Retry-After: 2 (the backoff alone would retry after 100 ms).
    api.answer(
        "/v4/tasks/2/comments",
        429,
        &[("Retry-After", "2")],
        r#"{"error":"slow down","error_code":"too_many_requests"}"#,
    );
    send(2);
    support::wait_until("the first post", Duration::from_secs(30), || {
        comments(&api, 2).len() == 1
    });
    let first = std::time::Instant::now();
    api.answer("/v4/tasks/2/comments", 200, &[], "{}");
    support::wait_until("the second post", Duration::from_secs(30), || {
        comments(&api, 2).len() == 2
    });
    assert!(
        first.elapsed() >= Duration::from_millis(1800),
        "{:?}",
        first.elapsed()
    );

    // Failing for good: parked after 3 attempts.
    api.answer("/v4/tasks/3/comments", 500, &[], "{}");
    send(3);
    support::wait_until("the job is parked", Duration::from_secs(30), || {
        queue(&host)["parked"] == 1
    });
    assert_eq!(comments(&api, 3).len(), 3);
    assert_eq!(metric(&host, "pyrus_queue_parked"), 1.0);
    let bearer = format!("Bearer {}", support::TEST_ADMIN_TOKEN);
    let page = host.get_with("/admin", &[("Authorization", &bearer)]).body;
    assert!(
        page.contains("1 parked") && page.contains("/replay"),
        "{page}"
    );
    assert!(!page.contains("token-x"), "{page}");
    // A replay needs the token, and a POST.
    assert_eq!(host.post("/admin/jobs/3/replay", b"", &[]).status, 401);
    assert_eq!(host.get("/admin/jobs/3/replay").status, 405);
    api.answer("/v4/tasks/3/comments", 200, &[], "{}");
    let id = page
        .split("/admin/jobs/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_string();
    let r = host.post(
        &format!("/admin/jobs/{id}/replay"),
        b"",
        &[("Authorization", &bearer)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, format!("job {id} replayed\n"));
    support::wait_until(
        "the replayed job is posted",
        Duration::from_secs(30),
        || queue(&host)["parked"] == 0 && queue(&host)["depth"] == 0,
    );
    assert_eq!(comments(&api, 3).len(), 4);
    assert!(metric(&host, "pyrus_jobs_total{outcome=\"posted\"}") >= 3.0);
}

/// `kill -9` of the host with jobs queued and one running: after a restart every accepted
/// call is posted exactly once, and a retry of one of them is not queued again.
#[test]
fn after_kill_9_every_accepted_call_is_posted_exactly_once() {
    let api = MockServer::start();
    for task in 1..=8 {
        api.answer(&format!("/v4/tasks/{task}/comments"), 200, &[], "{}");
    }
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().display().to_string();
    let config = async_config(&api, &dir, "");
    let mut host = Host::builder(&config)
        .env("DELIVERY_SECRET", SECRET)
        .start();
    for task in 1..=8 {
        let body = async_delivery(&api, task, "token-k");
        let r = host.post(
            "/bots/slow",
            &body,
            &[("X-Pyrus-Sig", &sign(SECRET, &body))],
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // The plugin takes 1.5 s a run: some run now, the rest wait in the queue.
    support::wait_until("a job runs", Duration::from_secs(30), || {
        metric(
            &host,
            "pyrus_plugin_instances_in_use{kind=\"bot\",plugin=\"slow\"}",
        ) >= 1.0
    });
    host.kill_9();
    let posted_before: usize = (1..=8).map(|t| comments(&api, t).len()).sum();
    assert!(posted_before < 8, "every job finished before the kill");

    let host = Host::builder(&config)
        .env("DELIVERY_SECRET", SECRET)
        .start();
    support::wait_until("the queue is empty", Duration::from_secs(60), || {
        queue(&host)["depth"] == 0
    });
    for task in 1..=8 {
        assert_eq!(comments(&api, task).len(), 1, "task {task}");
    }
    // The de-duplication record was written with the job: a retry is not queued again.
    let body = async_delivery(&api, 1, "token-later");
    let r = host.post(
        "/bots/slow",
        &body,
        &[("X-Pyrus-Sig", &sign(SECRET, &body))],
    );
    assert_eq!(r.status, 200);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(comments(&api, 1).len(), 1);
}

/// When the call's token is refused, the host gets one with the bot's own credentials
/// (`POST {api}/auth`) and posts with it; the security key and both tokens stay out of the
/// log, /healthz and the admin page.
#[test]
fn a_refused_call_token_is_replaced_by_one_from_the_bots_credentials() {
    let api = MockServer::start();
    api.answer(
        "/v4/tasks/5/comments",
        401,
        &[],
        r#"{"error":"expired","error_code":"expired_token"}"#,
    );
    api.answer(
        "/v4/auth",
        200,
        &[],
        r#"{"access_token":"bot-token-from-auth"}"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let extra = r#"
        [bots.creds]
        plugin = "{plugins}/hello_bot.wasm"
        secret = { env = "DELIVERY_SECRET" }
        mode = "async"
        post_attempts = 10
        post_backoff_ms = 200
        pyrus_login = "bot@test-org"
        pyrus_security_key = { env = "CREDS_BOT_KEY" }
    "#;
    let host = Host::builder(&async_config(
        &api,
        &dir.path().display().to_string(),
        extra,
    ))
    .env("DELIVERY_SECRET", SECRET)
    .env("CREDS_BOT_KEY", "very-secret-bot-key")
    .start();
    let body = async_delivery(&api, 5, "token-call");
    let r = host.post(
        "/bots/creds",
        &body,
        &[("X-Pyrus-Sig", &sign(SECRET, &body))],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    support::wait_until("the host authenticates", Duration::from_secs(30), || {
        api.requests().iter().any(|r| r.path == "/v4/auth")
    });
    api.answer("/v4/tasks/5/comments", 200, &[], "{}");
    support::wait_until("the comment is posted", Duration::from_secs(30), || {
        queue(&host)["depth"] == 0
    });
    let auth = api
        .requests()
        .into_iter()
        .find(|r| r.path == "/v4/auth")
        .unwrap();
    let credentials: serde_json::Value = serde_json::from_str(&auth.body).unwrap();
    assert_eq!(credentials["login"], "bot@test-org");
    assert_eq!(credentials["security_key"], "very-secret-bot-key");
    let posts = comments(&api, 5);
    assert_eq!(
        posts[0].headers.get("authorization").map(String::as_str),
        Some("Bearer token-call")
    );
    assert_eq!(
        posts
            .last()
            .unwrap()
            .headers
            .get("authorization")
            .map(String::as_str),
        Some("Bearer bot-token-from-auth")
    );
    let bearer = format!("Bearer {}", support::TEST_ADMIN_TOKEN);
    let seen = format!(
        "{}{}{}",
        host.log(),
        host.health().body,
        host.get_with("/admin", &[("Authorization", &bearer)]).body
    );
    for secret in ["very-secret-bot-key", "token-call", "bot-token-from-auth"] {
        assert!(!seen.contains(secret), "{secret} leaked: {seen}");
    }
}

/// A plugin learns whether it runs in the webhook or from the queue
/// (`pyrus:plugin/delivery`), and the queue's run count as its attempt.
#[test]
fn the_plugin_knows_whether_it_runs_queued() {
    let api = MockServer::start();
    api.answer("/v4/tasks/8/comments", 200, &[], "{}");
    let dir = tempfile::tempdir().unwrap();
    let extra = r#"
        [bots.info-sync]
        plugin = "{plugins}/misbehaving.wasm"
        secret = { env = "DELIVERY_SECRET" }
        settings = "info"
        [bots.info-async]
        plugin = "{plugins}/misbehaving.wasm"
        secret = { env = "DELIVERY_SECRET" }
        settings = "info"
        mode = "async"
    "#;
    let host = Host::builder(&async_config(
        &api,
        &dir.path().display().to_string(),
        extra,
    ))
    .env("DELIVERY_SECRET", SECRET)
    .start();
    let body = async_delivery(&api, 8, "token-i");
    let sig = sign(SECRET, &body);
    let r = host.post("/bots/info-sync", &body, &[("X-Pyrus-Sig", &sig)]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["delivery"], "sync");
    let r = host.post("/bots/info-async", &body, &[("X-Pyrus-Sig", &sig)]);
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    support::wait_until("the comment is posted", Duration::from_secs(30), || {
        comments(&api, 8).len() == 1
    });
    let posted: serde_json::Value = serde_json::from_str(&comments(&api, 8)[0].body).unwrap();
    assert_eq!(posted["delivery"], "queued");
    assert_eq!(posted["attempt"], 1);
    assert_eq!(posted["name"], "info-async");
}

/// Two hosts sharing one Redis queue: the same async call delivered to both is posted
/// once; the jobs a host held when it was killed are finished by the other (after the
/// visibility timeout), each posted exactly once.
#[test]
fn two_hosts_sharing_redis_post_each_call_once_and_finish_a_killed_hosts_jobs() {
    let Some(redis) = redis() else { return };
    let api = MockServer::start();
    for task in 1..=6 {
        api.answer(&format!("/v4/tasks/{task}/comments"), 200, &[], "{}");
    }
    let config = format!(
        r#"
        [server]
        listen = "127.0.0.1:0"
        [store]
        backend = "redis"
        url = "{}"
        [defaults]
        pyrus_api_bases = ["{}"]
        [bots.slow]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "DELIVERY_SECRET" }}
        settings = "slow-count"
        key_value_stores = ["default"]
        mode = "async"
        "#,
        redis.url,
        api.url("/v4/")
    );
    let mut a = Host::builder(&config)
        .env("DELIVERY_SECRET", SECRET)
        .start();
    let b = Host::builder(&config)
        .env("DELIVERY_SECRET", SECRET)
        .start();
    let deliver_to = |host: &Host, task: u64, token: &str| {
        let body = async_delivery(&api, task, token);
        let r = host.post(
            "/bots/slow",
            &body,
            &[("X-Pyrus-Sig", &sign(SECRET, &body))],
        );
        assert_eq!((r.status, r.body.clone()), (200, String::new()));
    };
    deliver_to(&a, 1, "token-a");
    deliver_to(&b, 1, "token-b");
    support::wait_until("the call is posted", Duration::from_secs(30), || {
        comments(&api, 1).len() == 1
    });

    for task in 2..=6 {
        deliver_to(&a, task, "token-k");
    }
    support::wait_until("host a runs a job", Duration::from_secs(30), || {
        metric(
            &a,
            "pyrus_plugin_instances_in_use{kind=\"bot\",plugin=\"slow\"}",
        ) >= 1.0
    });
    a.kill_9();
    support::wait_until(
        "host b finished every job",
        Duration::from_secs(120),
        || queue(&b)["depth"] == 0,
    );
    for task in 1..=6 {
        assert_eq!(comments(&api, task).len(), 1, "task {task}");
    }
    assert_eq!(
        metric(
            &b,
            "pyrus_duplicates_answered_total{bot=\"slow\",mode=\"async\"}"
        ),
        1.0
    );
}
