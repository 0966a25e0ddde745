//! End-to-end tests of outbound HTTP (`wasi:http`) and the SDK's Pyrus API client: the real
//! binary and plugins, with local servers standing in for the Pyrus API and other systems.

mod support;

use support::mock::MockServer;
use support::Host;

const SECRET: &str = "outbound-secret";

fn host(mock: &MockServer, extra_fetch: &str) -> Host {
    let allowed = format!("http://127.0.0.1:{}", mock.port);
    let url = mock.url("/hello");
    Host::builder(&format!(
        r#"
        [server]
        listen = "127.0.0.1:0"

        [bots.denied]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "OUT_SECRET" }}
        settings = "fetch"
        variables = {{ url = "{url}" }}

        [bots.other-port]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "OUT_SECRET" }}
        settings = "fetch"
        variables = {{ url = "{url}" }}
        allowed_outbound_hosts = ["http://127.0.0.1:1"]

        [bots.fetch]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "OUT_SECRET" }}
        settings = "fetch"
        variables = {{ url = "{url}" }}
        allowed_outbound_hosts = ["{allowed}"]
        {extra_fetch}

        [bots.many]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "OUT_SECRET" }}
        settings = "fetch-many"
        variables = {{ url = "{url}" }}
        allowed_outbound_hosts = ["{allowed}"]
        max_outbound_requests = 3

        [bots.comment]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "OUT_SECRET" }}
        settings = "comment"
        allowed_outbound_hosts = ["{allowed}"]
        "#
    ))
    .env("OUT_SECRET", SECRET)
    .start()
}

fn text(host: &Host, bot: &str, body: &[u8]) -> String {
    let r = host.post_signed(&format!("/bots/{bot}"), SECRET, body);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["text"].as_str().unwrap().to_string()
}

const TASK: &[u8] = br#"{"task_id": 1, "task": {"id": 1}}"#;

#[test]
fn requests_are_denied_unless_the_host_is_allowed() {
    let mock = MockServer::start();
    mock.answer("/hello", 200, &[], "hi there");
    let host = host(&mock, "");
    assert_eq!(
        text(&host, "denied", TASK),
        "error: the host denied the request (allowed_outbound_hosts)"
    );
    assert_eq!(
        text(&host, "other-port", TASK),
        "error: the host denied the request (allowed_outbound_hosts)"
    );
    assert!(mock.requests().is_empty(), "a denied request went out");
    host.wait_for_log("outbound request denied", std::time::Duration::from_secs(5));
    assert!(host.log().contains("is not in allowed_outbound_hosts"));

    assert_eq!(text(&host, "fetch", TASK), "200 hi there");
    assert_eq!(mock.requests().len(), 1);
    assert_eq!(mock.requests()[0].path, "/hello");
}

#[test]
fn requests_per_call_and_response_size_are_capped() {
    let mock = MockServer::start();
    mock.answer("/hello", 200, &[], vec![b'x'; 10 * 1024]);
    let host = host(&mock, "max_outbound_response_kb = 4");
    assert_eq!(
        text(&host, "many", TASK),
        "sent 3, then: the host denied the request (allowed_outbound_hosts)"
    );
    assert_eq!(mock.requests().len(), 3);
    assert_eq!(
        text(&host, "fetch", TASK),
        "error: the response is over the host's limit"
    );
}

#[test]
fn the_pyrus_api_client_comments_with_the_webhook_token() {
    let mock = MockServer::start();
    mock.answer(
        "/v4/tasks/77/comments",
        200,
        &[],
        r#"{"task": {"id": 77, "comments": []}}"#,
    );
    let host = host(&mock, "");
    let body = format!(
        r#"{{"task_id": 77, "access_token": "webhook-token-abc", "api_url": "{}",
            "task": {{"id": 77}}}}"#,
        mock.url("/v4/")
    );
    assert_eq!(text(&host, "comment", body.as_bytes()), "commented: 77");
    let requests = mock.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/v4/tasks/77/comments")
    );
    assert_eq!(r.headers["authorization"], "Bearer webhook-token-abc");
    let comment: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(comment["text"], "posted through the API");
    assert!(!host.log().contains("webhook-token-abc"), "{}", host.log());

    // The rate limit surfaces typed, with its headers.
    mock.answer(
        "/v4/tasks/77/comments",
        429,
        &[
            ("X-RateLimit-Limit", "5000"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "42"),
        ],
        r#"{"error":"too many requests","error_code":"too_many_requests"}"#,
    );
    assert_eq!(
        text(&host, "comment", body.as_bytes()),
        "error: Pyrus rate limit reached, resets in 42 s"
    );
}
