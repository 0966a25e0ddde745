//! End-to-end tests of what an operator relies on: Prometheus metrics, graceful shutdown,
//! HTTPS, and the admin page (in a real headless Chromium).

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{fixture, Host};

const SECRET: &str = "ops-secret";
const ADMIN_TOKEN: &str = "admin-token-for-tests";

fn config(extra: &str) -> String {
    format!(
        r#"
        [server]
        listen = "127.0.0.1:0"
        {extra}

        [bots.hello]
        plugin = "{{plugins}}/hello_bot.wasm"
        secret = {{ env = "OPS_SECRET" }}

        [bots.trap]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "OPS_SECRET" }}
        settings = "trap"

        [bots.slow]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "OPS_SECRET" }}
        settings = "slow"

        [extensions.echo]
        plugin = "{{plugins}}/echo_extension.wasm"
        secret = {{ env = "OPS_SECRET" }}
        "#
    )
}

/// The value of the sample `name{labels}` in Prometheus text, 0 when absent.
fn sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .find(|(series, _)| {
            let (series_name, rest) = series.split_once('{').unwrap_or((series, ""));
            series_name == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|(_, value)| value.parse().unwrap())
        .unwrap_or(0.0)
}

#[test]
fn metrics_move_with_real_calls() {
    let host = Host::builder(&config("")).env("OPS_SECRET", SECRET).start();
    let body = fixture("comment-event.json");
    let before = host.get("/metrics");
    assert_eq!(before.status, 200);
    assert!(before
        .content_type
        .as_deref()
        .unwrap()
        .starts_with("text/plain"));
    let ok = |m: &str| {
        sample(
            m,
            "pyrus_calls_total",
            &[("plugin", "hello"), ("outcome", "ok")],
        )
    };
    let base_ok = ok(&before.body);

    for _ in 0..3 {
        assert_eq!(host.post_signed("/bots/hello", SECRET, &body).status, 200);
    }
    assert_eq!(host.post_signed("/bots/trap", SECRET, &body).status, 500);
    assert_eq!(host.post_signed("/bots/hello", "wrong", &body).status, 403);
    assert_eq!(host.post_signed("/bots/nobody", SECRET, &body).status, 404);
    assert_eq!(host.get("/extensions/echo/pulse").status, 200);

    let m = host.get("/metrics").body;
    assert_eq!(ok(&m) - base_ok, 3.0, "{m}");
    assert_eq!(
        sample(
            &m,
            "pyrus_calls_total",
            &[("plugin", "trap"), ("outcome", "trap")]
        ),
        1.0,
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            "pyrus_calls_total",
            &[("plugin", "hello"), ("outcome", "rejected_signature")]
        ),
        1.0,
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            "pyrus_calls_total",
            &[("kind", "extension"), ("plugin", "echo"), ("outcome", "ok")]
        ),
        1.0,
        "{m}"
    );
    // Made-up names are not recorded (a caller could invent any number of them).
    assert!(!m.contains("nobody"), "{m}");
    // The latency histogram counts every recorded call of hello (3 ok + 1 refused).
    assert_eq!(
        sample(
            &m,
            "pyrus_call_duration_seconds_count",
            &[("plugin", "hello")]
        ),
        4.0,
        "{m}"
    );
    assert!(m.contains("pyrus_call_duration_seconds_bucket{"), "{m}");
    assert_eq!(sample(&m, "pyrus_plugins_loaded", &[("kind", "bot")]), 3.0);
    assert!(m.contains("pyrus_instances_in_use 0"), "{m}");
    assert!(!m.contains(SECRET));
}

#[test]
fn instances_in_use_and_reloads_show_in_metrics() {
    let host = Host::builder(&config("")).env("OPS_SECRET", SECRET).start();
    let body = fixture("comment-event.json");
    std::thread::scope(|s| {
        let slow = s.spawn(|| host.post_signed("/bots/slow", SECRET, &body));
        support::wait_until(
            "the slow call is counted in use",
            Duration::from_secs(10),
            || {
                let m = host.get("/metrics").body;
                sample(&m, "pyrus_plugin_instances_in_use", &[("plugin", "slow")]) == 1.0
                    && sample(&m, "pyrus_instances_in_use", &[]) == 1.0
            },
        );
        assert_eq!(slow.join().unwrap().status, 200);
    });
    let m = host.get("/metrics").body;
    assert_eq!(sample(&m, "pyrus_instances_in_use", &[]), 0.0, "{m}");

    // A reload (the config rewritten) and a failed one (garbage) are counted.
    let path = host.dir().join("host.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}\n# touched\n")).unwrap();
    support::wait_until("a reload", Duration::from_secs(20), || {
        sample(&host.get("/metrics").body, "pyrus_reloads_total", &[]) >= 1.0
    });
    std::fs::write(&path, "this is [not toml").unwrap();
    support::wait_until("a failed reload", Duration::from_secs(20), || {
        sample(
            &host.get("/metrics").body,
            "pyrus_reload_failures_total",
            &[],
        ) >= 1.0
    });
}

#[test]
fn sigterm_lets_a_call_in_flight_finish_then_exits_0() {
    let mut host = Host::builder(&config("")).env("OPS_SECRET", SECRET).start();
    let body = fixture("comment-event.json");
    let url = host.url("/bots/slow");
    let sig = support::sign(SECRET, &body);
    let call = {
        let body = body.clone();
        std::thread::spawn(move || {
            ureq::post(&url)
                .set("X-Pyrus-Sig", &sig)
                .send_bytes(&body)
                .map(|r| (r.status(), r.into_string().unwrap()))
                .map_err(|e| e.to_string())
        })
    };
    support::wait_until("the slow call is running", Duration::from_secs(10), || {
        sample(&host.get("/metrics").body, "pyrus_instances_in_use", &[]) == 1.0
    });
    host.terminate();
    host.wait_for_log("shutting down", Duration::from_secs(5));
    // New connections are refused while the call finishes.
    let refused = std::net::TcpStream::connect(host.base.trim_start_matches("http://"));
    assert!(refused.is_err(), "the host still accepts connections");
    let (status, reply) = call
        .join()
        .unwrap()
        .expect("the call in flight was cut off");
    assert_eq!(status, 200);
    assert!(reply.contains("slow but done"), "{reply}");
    assert_eq!(
        host.wait_exit(Duration::from_secs(20)),
        Some(0),
        "{}",
        host.log()
    );
    assert!(
        host.log().contains("every call in flight finished"),
        "{}",
        host.log()
    );
}

#[test]
fn shutdown_is_bounded_by_the_grace_period() {
    let mut host = Host::builder(&config("shutdown_grace_ms = 300"))
        .env("OPS_SECRET", SECRET)
        .start();
    let body = fixture("comment-event.json");
    let url = host.url("/bots/slow");
    let sig = support::sign(SECRET, &body);
    let call = std::thread::spawn(move || {
        ureq::post(&url)
            .set("X-Pyrus-Sig", &sig)
            .send_bytes(&body)
            .map(|r| r.status())
            .map_err(|e| e.to_string())
    });
    support::wait_until("the slow call is running", Duration::from_secs(10), || {
        sample(&host.get("/metrics").body, "pyrus_instances_in_use", &[]) == 1.0
    });
    host.terminate();
    assert_eq!(host.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(host.log().contains("cut off"), "{}", host.log());
    assert!(
        call.join().unwrap().is_err(),
        "the cut call cannot have answered"
    );
}

/// A self-signed certificate for localhost and 127.0.0.1, made with openssl.
fn self_signed(dir: &Path) -> bool {
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
        ])
        .current_dir(dir)
        .output();
    matches!(status, Ok(out) if out.status.success())
}

#[test]
fn https_serves_a_signed_call() {
    let certs = tempfile::tempdir().unwrap();
    assert!(
        self_signed(certs.path()),
        "openssl could not make a certificate"
    );
    let dir = certs.path().display();
    let host = Host::builder(&config(&format!(
        "[server.tls]\ncert = \"{dir}/cert.pem\"\nkey = \"{dir}/key.pem\""
    )))
    .env("OPS_SECRET", SECRET)
    .start();
    let port = host.base.rsplit(':').next().unwrap();
    let body = fixture("comment-event.json");
    let body_file = certs.path().join("body.json");
    std::fs::write(&body_file, &body).unwrap();
    let out = Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(certs.path().join("cert.pem"))
        .args(["-w", "\n%{http_code}", "-H"])
        .arg(format!("X-Pyrus-Sig: {}", support::sign(SECRET, &body)))
        .arg("--data-binary")
        .arg(format!("@{}", body_file.display()))
        .arg(format!("https://localhost:{port}/bots/hello"))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.ends_with("\n200"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("approved"), "{text}");
    // Plain HTTP on the TLS port gets no answer but a failed handshake.
    let plain = Command::new("curl")
        .args(["-sS", "-m", "5"])
        .arg(format!("http://127.0.0.1:{port}/healthz"))
        .output()
        .unwrap();
    assert!(!plain.status.success());
    // And the host keeps serving after it.
    let again = Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(certs.path().join("cert.pem"))
        .arg(format!("https://localhost:{port}/healthz"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("\"status\""));
}

/// `curl`s `path` over HTTPS, trusting the test certificate: the body, or curl's error.
fn https_get(certs: &std::path::Path, port: &str, path: &str) -> String {
    let out = Command::new("curl")
        .args(["-sS", "-m", "10", "--cacert"])
        .arg(certs.join("cert.pem"))
        .arg(format!("https://localhost:{port}{path}"))
        .output()
        .expect("curl");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Silent TCP connections to the TLS port: handshakes in progress are capped at
/// `max_connections` (the rest closed at once) and cut at `header_timeout_ms`, so they
/// cannot pile up; HTTPS serves again as soon as they are cut.
#[test]
fn silent_tls_handshakes_are_capped_and_cut() {
    let certs = tempfile::tempdir().unwrap();
    assert!(self_signed(certs.path()));
    let dir = certs.path().display();
    let host = Host::builder(&config(&format!(
        "max_connections = 20\nheader_timeout_ms = 1000\n\n\
         [server.tls]\ncert = \"{dir}/cert.pem\"\nkey = \"{dir}/key.pem\""
    )))
    .env("OPS_SECRET", SECRET)
    .start();
    let port = host.base.rsplit(':').next().unwrap().to_string();
    let addr = host.base.trim_start_matches("http://").to_string();

    let started = std::time::Instant::now();
    let mut silent: Vec<std::net::TcpStream> = (0..40)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    // Every one is closed by the host: at once past the cap, after 1 s otherwise.
    for stream in &mut silent {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut byte = [0u8; 1];
        match std::io::Read::read(stream, &mut byte) {
            Ok(0) => {}
            Ok(_) => panic!("the host sent bytes to a client that said nothing"),
            Err(e) => assert!(
                e.kind() == std::io::ErrorKind::ConnectionReset,
                "still open after {:?}: {e}",
                started.elapsed()
            ),
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    let health = https_get(certs.path(), &port, "/healthz");
    assert!(health.contains("\"status\""), "{health}");
    let metrics = https_get(certs.path(), &port, "/metrics");
    let closed = |reason| {
        sample(
            &metrics,
            "pyrus_connections_closed_total",
            &[("reason", reason)],
        )
    };
    assert!(closed("handshake_limit") >= 15.0, "{metrics}");
    assert!(closed("handshake_timeout") >= 15.0, "{metrics}");
    host.wait_for_log("handshakes refused", Duration::from_secs(5));
}

#[test]
fn tls_with_a_bad_key_refuses_to_start_and_says_why() {
    let certs = tempfile::tempdir().unwrap();
    assert!(self_signed(certs.path()));
    std::fs::write(certs.path().join("key.pem"), "not a key").unwrap();
    let dir = certs.path().display();
    let (code, err) = Host::builder(&config(&format!(
        "[server.tls]\ncert = \"{dir}/cert.pem\"\nkey = \"{dir}/key.pem\""
    )))
    .env("OPS_SECRET", SECRET)
    .start_expecting_failure();
    assert_eq!(code, 1);
    assert!(err.contains("cannot read the private key"), "{err}");
}

#[test]
fn admin_page_is_off_without_a_token_and_refused_without_it() {
    let host = Host::builder(&config(""))
        .without_admin_token()
        .env("OPS_SECRET", SECRET)
        .start();
    assert_eq!(host.get("/admin").status, 404);
    // Without a token, /healthz is the summary for anyone.
    let h = host.get("/healthz").json();
    assert_eq!(h["status"], "ok");
    assert!(h.get("reload").is_none(), "{h}");

    let host = Host::builder(&config("[admin]\ntoken = { env = \"OPS_ADMIN_TOKEN\" }"))
        .env("OPS_SECRET", SECRET)
        .env("OPS_ADMIN_TOKEN", ADMIN_TOKEN)
        .start();
    assert_eq!(host.get("/admin").status, 401);
    assert_eq!(host.get("/admin?token=wrong").status, 401);
    let wrong = host.get_with("/admin", &[("Authorization", "Bearer wrong")]);
    assert_eq!(wrong.status, 401);
    assert!(!wrong.body.contains("hello"));
    let page = host.get_with(
        "/admin",
        &[("Authorization", &format!("Bearer {ADMIN_TOKEN}"))],
    );
    assert_eq!(page.status, 200);
    assert!(page.body.contains("hello") && page.body.contains("echo"));
    assert!(!page.body.contains(SECRET) && !page.body.contains(ADMIN_TOKEN));
}

#[test]
fn healthz_shows_details_only_to_the_admin() {
    let host = Host::builder(&config("[admin]\ntoken = { env = \"OPS_ADMIN_TOKEN\" }"))
        .env("OPS_SECRET", SECRET)
        .env("OPS_ADMIN_TOKEN", ADMIN_TOKEN)
        .start();
    let bearer = |t: &str| format!("Bearer {t}");
    for public in [
        host.get("/healthz"),
        host.get_with("/healthz", &[("Authorization", &bearer("wrong"))]),
        host.get_with("/healthz", &[("Cookie", "pyrus_admin=99999999999.00")]),
    ] {
        assert_eq!(public.status, 200);
        let h = public.json();
        assert_eq!(h["status"], "ok");
        assert_eq!(
            (h["bots"].as_u64(), h["extensions"].as_u64()),
            (Some(3), Some(1))
        );
        assert_eq!(h["failed"], 0);
        // No plugin paths, hashes, limits or reload text.
        assert!(
            !public.body.contains(".wasm") && h.get("reload").is_none(),
            "{h}"
        );
    }
    let admin = host.get_with("/healthz", &[("Authorization", &bearer(ADMIN_TOKEN))]);
    let h = admin.json();
    let hello = h["bots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "hello");
    let hello = hello.unwrap_or_else(|| panic!("{h}"));
    assert!(hello["plugin"].as_str().unwrap().ends_with(".wasm"));
    assert!(h.get("reload").is_some());
}

#[test]
fn the_admin_cookie_is_a_session_not_the_token() {
    let host = Host::builder(&config("[admin]\ntoken = { env = \"OPS_ADMIN_TOKEN\" }"))
        .env("OPS_SECRET", SECRET)
        .env("OPS_ADMIN_TOKEN", ADMIN_TOKEN)
        .start();
    let answer = host.raw_request(&format!(
        "GET /admin?token={ADMIN_TOKEN} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    ));
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    let set_cookie = answer
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .unwrap_or_else(|| panic!("no cookie: {answer}"));
    assert!(!set_cookie.contains(ADMIN_TOKEN), "{set_cookie}");
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Max-Age=43200",
        "Path=/admin",
    ] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    // Plain HTTP here: not `Secure`, which a browser would then never send back.
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
    let session = set_cookie.split(';').next().unwrap();
    let page = host.get_with("/admin", &[("Cookie", session)]);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("hello"));
    // A session whose expiry was pushed out, or that was cut, is refused.
    let value = session.strip_prefix("pyrus_admin=").unwrap();
    let (expires, mac) = value.split_once('.').unwrap();
    let later = expires.parse::<u64>().unwrap() + 1;
    for forged in [
        format!("{later}.{mac}"),
        format!("{expires}."),
        expires.to_string(),
    ] {
        let refused = host.get_with("/admin", &[("Cookie", &format!("pyrus_admin={forged}"))]);
        assert_eq!(refused.status, 401, "{forged}");
    }
}

/// Headless Chromium, if installed: CI installs it and sets PYRUS_REQUIRE_CHROMIUM=1 so that
/// its absence fails there instead of skipping.
fn chromium() -> Option<String> {
    for candidate in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(candidate)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Some(candidate.to_string());
        }
    }
    assert!(
        std::env::var_os("PYRUS_REQUIRE_CHROMIUM").is_none(),
        "PYRUS_REQUIRE_CHROMIUM is set but no chromium was found"
    );
    eprintln!("SKIPPED: no chromium on PATH (Debian: apt-get install chromium)");
    None
}

fn dump_dom(browser: &str, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--virtual-time-budget=3000", "--dump-dom", url])
        .output()
        .expect("run chromium");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn admin_page_in_chromium_shows_plugins_calls_and_reloads() {
    let Some(browser) = chromium() else { return };
    let host = Host::builder(&config("[admin]\ntoken = { env = \"OPS_ADMIN_TOKEN\" }"))
        .env("OPS_SECRET", SECRET)
        .env("OPS_ADMIN_TOKEN", ADMIN_TOKEN)
        .start();
    let body = fixture("comment-event.json");
    assert_eq!(host.post_signed("/bots/hello", SECRET, &body).status, 200);
    assert_eq!(host.post_signed("/bots/hello", SECRET, &body).status, 200);
    assert_eq!(host.post_signed("/bots/trap", SECRET, &body).status, 500);
    let path = host.dir().join("host.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}\n# touched\n")).unwrap();
    host.wait_for_log("\"reloaded\"", Duration::from_secs(20));

    // Without the token the browser gets the refusal, not the page.
    let refused = dump_dom(&browser, &host.url("/admin"));
    assert!(refused.contains("needs the admin token"), "{refused}");
    assert!(!refused.contains("id=\"plugins\""));

    // With it (once, in the URL), the page: each plugin, its calls and errors, the reload.
    let dom = dump_dom(&browser, &host.url(&format!("/admin?token={ADMIN_TOKEN}")));
    let row = |name: &str| {
        dom.split("<tr class=\"plugin\"")
            .find(|r| r.contains(&format!("data-name=\"{name}\"")))
            .unwrap_or_else(|| panic!("no row for {name} in:\n{dom}"))
            .to_string()
    };
    for name in ["hello", "trap", "slow", "echo"] {
        row(name);
    }
    let hello = row("hello");
    assert!(hello.contains("<td>2</td>"), "hello's calls: {hello}");
    let trap = row("trap");
    assert!(
        trap.contains("plugin trapped") || trap.contains("trapped"),
        "{trap}"
    );
    assert!(dom.contains("id=\"reloads\""), "{dom}");
    assert!(dom.contains("1 reloads, 0 with problems"), "{dom}");
    assert!(dom.contains("http-equiv=\"refresh\""), "{dom}");
    assert!(!dom.contains(ADMIN_TOKEN) && !dom.contains(SECRET));
}

/// `component` with a custom section named `name` appended: the same program, bytes no
/// cache has seen.
fn unseen_copy(component: &[u8], name: &str) -> Vec<u8> {
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name.as_bytes());
    let mut out = component.to_vec();
    out.push(0);
    assert!(payload.len() < 128);
    out.push(payload.len() as u8);
    out.extend_from_slice(&payload);
    out
}

/// With a cold compile cache the host listens before its plugins are compiled: `/healthz`
/// says what is still compiling, a call to a plugin at the end of the compile queue moves it
/// to the front and is answered long before the queue drains, and every plugin serves once
/// compiled (each logged with its time).
#[test]
fn the_host_listens_at_once_and_compiles_in_the_background() {
    let misbehaving = std::fs::read(support::plugin("misbehaving")).unwrap();
    let hello = std::fs::read(support::plugin("hello_bot")).unwrap();
    let nonce = format!("{}-{:?}", std::process::id(), std::time::SystemTime::now());
    let mut config =
        String::from("[server]\nlisten = \"127.0.0.1:0\"\ncache_dir = \"{dir}/cache\"\n");
    let mut builder_files = Vec::new();
    for i in 0..12 {
        let file = format!("slow-{i:02}.wasm");
        config.push_str(&format!(
            "[bots.slow-{i:02}]\nplugin = \"{{dir}}/{file}\"\nsecret = {{ env = \"OPS_SECRET\" }}\nsettings = \"echo\"\n"
        ));
        builder_files.push((file, unseen_copy(&misbehaving, &format!("{nonce}-{i}"))));
    }
    // Last in name order, so last in the queue.
    config.push_str(
        "[bots.zz-hello]\nplugin = \"{dir}/zz-hello.wasm\"\nsecret = { env = \"OPS_SECRET\" }\n",
    );
    builder_files.push(("zz-hello.wasm".into(), unseen_copy(&hello, &nonce)));
    let mut builder = Host::builder(&config)
        .env("OPS_SECRET", SECRET)
        .without_waiting_for_compiles();
    for (name, bytes) in builder_files {
        builder = builder.file(&name, bytes);
    }
    let host = builder.start();

    let health = host.health().json();
    assert_eq!(health["status"], "compiling", "{health}");
    assert!(
        health["compiling"].as_array().unwrap().len() >= 10,
        "{health}"
    );

    let r = host.post_signed("/bots/zz-hello", SECRET, &fixture("comment-event.json"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("approved"), "{}", r.body);
    let left = host.health().json()["compiling"].as_array().unwrap().len();
    assert!(left >= 3, "hello waited for {} other compiles", 12 - left);

    support::wait_until("every plugin compiled", Duration::from_secs(180), || {
        host.health().json()["status"] == "ok"
    });
    let r = host.post_signed("/bots/slow-00", SECRET, b"{\"a\":1}");
    assert_eq!(r.status, 200, "{}", r.body);
    let log = host.log();
    assert_eq!(
        log.matches("plugin compiled and serving").count(),
        13,
        "{log}"
    );
}

fn screenshot(browser: &str, url: &str, file: &Path) {
    let profile = tempfile::tempdir().unwrap();
    let status = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1500,1100",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--virtual-time-budget=3000")
        .arg(format!("--screenshot={}", file.display()))
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        std::fs::metadata(file).is_ok_and(|m| m.len() > 10_000),
        "no screenshot at {} ({status:?})",
        file.display()
    );
}

/// The numbers of one chart line in `html`: the `data-values` of the element whose
/// `data-series` is `series`, after `anchor`.
fn series_values(html: &str, anchor: &str, series: &str) -> Vec<Option<f64>> {
    let from = html
        .find(anchor)
        .unwrap_or_else(|| panic!("no {anchor} in:\n{html}"));
    let rest = &html[from..];
    let at = rest
        .find(&format!("data-series=\"{series}\" data-values=\""))
        .unwrap_or_else(|| panic!("no {series} series after {anchor}"));
    let values = rest[at..].split("data-values=\"").nth(1).unwrap();
    let values = &values[..values.find('"').unwrap()];
    values
        .split(',')
        .map(|v| (v != "-").then(|| v.parse().unwrap()))
        .collect()
}

/// The operator's view with real traffic behind it, in a real headless Chromium: a slow
/// bot's p99 point, a failing bot's failures (with the attempt), a new version's mark, the
/// CPU share and memory, each plugin's page; the same data as JSON and in `pyrus-host
/// status`. Screenshots go to target/test-artifacts/.
#[test]
fn the_admin_page_charts_what_each_plugin_did() {
    let Some(browser) = chromium() else { return };
    let hello = std::fs::read(support::plugin("hello_bot")).unwrap();
    let config = r#"
        [server]
        listen = "127.0.0.1:0"
        cache_dir = "{dir}/cache"

        [bots.hello]
        plugin = "{dir}/hello.wasm"
        secret = { env = "OPS_SECRET" }

        [bots.slow]
        plugin = "{plugins}/misbehaving.wasm"
        secret = { env = "OPS_SECRET" }
        settings = "slow"

        [bots.trap]
        plugin = "{plugins}/misbehaving.wasm"
        secret = { env = "OPS_SECRET" }
        settings = "trap"
    "#;
    let host = Host::builder(config)
        .env("OPS_SECRET", SECRET)
        .file("hello.wasm", hello.clone())
        .start();
    let body = fixture("comment-event.json");
    for _ in 0..5 {
        assert_eq!(host.post_signed("/bots/hello", SECRET, &body).status, 200);
    }
    assert_eq!(host.post_signed("/bots/slow", SECRET, b"{}").status, 200);
    for attempt in ["1/3", "2/3", "3/3"] {
        let sig = support::sign(SECRET, &body);
        let r = host.post(
            "/bots/trap",
            &body,
            &[("X-Pyrus-Sig", &sig), ("X-Pyrus-Retry", attempt)],
        );
        assert_eq!(r.status, 500);
    }
    // A new version of hello (other bytes, same program): a reload mark on its charts.
    std::fs::write(
        host.dir().join("hello.wasm"),
        unseen_copy(&hello, &format!("v2-{}", std::process::id())),
    )
    .unwrap();
    support::wait_until("hello's v2 serves", Duration::from_secs(120), || {
        host.health().body.contains("\"load_count\":2")
    });
    assert_eq!(host.post_signed("/bots/hello", SECRET, &body).status, 200);

    let token = support::TEST_ADMIN_TOKEN;
    let dom = dump_dom(&browser, &host.url(&format!("/admin?token={token}")));
    let row = |name: &str| format!("data-kind=\"bot\" data-name=\"{name}\"");
    // The slow bot's p99 point is its 2 s sleep (within a bucket above it). Sums and maxima
    // over the hour: a minute may have turned during the test.
    let p99 = series_values(&dom, &row("slow"), "p99");
    assert_eq!(p99.len(), 60);
    let slow_p99 = p99.iter().flatten().fold(0.0f64, |a, &b| a.max(b));
    assert!((2000.0..=2900.0).contains(&slow_p99), "{p99:?}");
    // The failing bot: three errors; hello: six calls and no error.
    let trap_errors = series_values(&dom, &row("trap"), "errors");
    assert_eq!(
        trap_errors.iter().flatten().sum::<f64>(),
        3.0,
        "{trap_errors:?}"
    );
    let hello_errors = series_values(&dom, &row("hello"), "errors");
    assert_eq!(hello_errors.iter().flatten().sum::<f64>(), 0.0);
    let hello_calls = series_values(&dom, &row("hello"), "calls");
    assert_eq!(hello_calls.iter().flatten().sum::<f64>(), 6.0);
    // hello's v2 is marked on its charts; the others have no mark.
    let hello_row = &dom[dom.find(&row("hello")).unwrap()..];
    let hello_row = &hello_row[..hello_row.find("</tr>").unwrap()];
    assert!(
        hello_row.contains("class=\"reload\"") && hello_row.contains("data-version=\"2\""),
        "{hello_row}"
    );
    let slow_row = &dom[dom.find(&row("slow")).unwrap()..];
    assert!(!slow_row[..slow_row.find("</tr>").unwrap()].contains("class=\"reload\""));
    // CPU shares add up to the whole; memory is shown against the limit.
    let shares: f64 = dom
        .split("data-share=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].parse::<f64>().unwrap())
        .sum();
    assert!((0.99..=1.01).contains(&shares), "{shares}");
    assert!(dom.contains("of 64 MiB"), "{dom}");
    assert!(!dom.contains(SECRET) && !dom.contains(token));

    // The trap bot's page: its failures with outcome and attempt, its config, no settings.
    let page = dump_dom(
        &browser,
        &host.url(&format!("/admin/plugins/bots/trap?token={token}")),
    );
    assert_eq!(page.matches("<tr class=\"failure\">").count(), 3, "{page}");
    assert!(page.contains("<td class=\"outcome\">trap</td>"), "{page}");
    for attempt in 1..=3 {
        assert!(page.contains(&format!("<td>{attempt}</td>")), "{page}");
    }
    assert!(page.contains("<th>memory_mb</th><td>64</td>"), "{page}");
    assert!(!page.contains("<th>settings</th>"), "{page}");
    assert!(page.contains("id=\"chart-latency\""), "{page}");

    // The same numbers as JSON, behind the token; and in the terminal.
    assert_eq!(host.get("/admin/api/plugins").status, 401);
    let api = host
        .get_with(
            "/admin/api/plugins",
            &[("Authorization", &format!("Bearer {token}"))],
        )
        .json();
    let trap = api["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "trap")
        .unwrap();
    assert_eq!(trap["errors_15m"], 3, "{trap}");
    assert_eq!(trap["failures"][0]["attempt"], 3, "{trap}");
    let status = Command::new(env!("CARGO_BIN_EXE_pyrus-host"))
        .args(["status", "--config"])
        .arg(host.dir().join("host.toml"))
        .args(["--url", &host.base])
        .env("OPS_SECRET", SECRET)
        .env("PYRUS_TEST_ADMIN_TOKEN", token)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let trap_line = table
        .lines()
        .find(|l| l.contains(" trap "))
        .expect("a trap row");
    assert!(
        trap_line.starts_with("bot") && trap_line.contains("  3  "),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.contains(" hello ") && l.contains("v2")),
        "{table}"
    );

    // Screenshots, for a person to look at.
    let artifacts = support::repo().join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    screenshot(
        &browser,
        &host.url(&format!("/admin?token={token}")),
        &artifacts.join("admin-overview.png"),
    );
    screenshot(
        &browser,
        &host.url(&format!("/admin/plugins/bots/hello?token={token}")),
        &artifacts.join("admin-plugin-hello.png"),
    );
    println!("screenshots: {}/admin-*.png", artifacts.display());
}

/// What the admin JSON says of plugin `name` of `host`.
fn plugin_json(host: &Host, name: &str) -> serde_json::Value {
    let bearer = format!("Bearer {}", support::TEST_ADMIN_TOKEN);
    let api = host
        .get_with("/admin/api/plugins", &[("Authorization", &bearer)])
        .json();
    (api["plugins"].as_array().unwrap().iter())
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no plugin {name} in {api}"))
        .clone()
}

/// The largest value of `field` over a plugin's minutes in the JSON.
fn max_per_minute(plugin: &serde_json::Value, field: &str) -> Option<f64> {
    (plugin["minutes"].as_array().unwrap().iter())
        .filter_map(|m| m[field].as_f64())
        .reduce(f64::max)
}

/// An admin page as a browser shows it: in headless Chromium where there is one, else as
/// the host serves it (it draws its charts without JavaScript).
fn admin_page(host: &Host, browser: Option<&str>, path: &str) -> String {
    let token = support::TEST_ADMIN_TOKEN;
    match browser {
        Some(browser) => dump_dom(browser, &host.url(&format!("{path}?token={token}"))),
        None => {
            let bearer = format!("Bearer {token}");
            host.get_with(path, &[("Authorization", &bearer)]).body
        }
    }
}

/// The operator's view of an async bot's queue, with real jobs piling up behind a Pyrus
/// API that answers 503 (`Retry-After: 2`) and one job it refuses for good (parked): the
/// bot's depth, oldest job's age and parked jobs per minute and now, in the JSON, on its
/// page's charts, in its admin row and in `pyrus-host status`, on every host sharing the
/// `[store]` (`hosts` of them: on Redis a host that never received a job shows them too);
/// the sync bot beside it shows none of it; once the API is back the depth falls to 0.
fn an_async_bots_queue_is_charted(store: &str, hosts: usize) {
    let browser = chromium();
    let api = support::mock::MockServer::start();
    for task in 1..=4 {
        let path = format!("/v4/tasks/{task}/comments");
        api.answer(&path, 503, &[("Retry-After", "2")], "{}");
    }
    api.answer(
        "/v4/tasks/5/comments",
        400,
        &[],
        r#"{"error":"no such task","error_code":"bad_request"}"#,
    );
    let config = format!(
        r#"
        [server]
        listen = "127.0.0.1:0"
        [store]
        {store}
        [defaults]
        pyrus_api_bases = ["{api}"]
        [bots.queued]
        plugin = "{{plugins}}/hello_bot.wasm"
        secret = {{ env = "OPS_SECRET" }}
        mode = "async"
        post_attempts = 100
        [bots.hello]
        plugin = "{{plugins}}/hello_bot.wasm"
        secret = {{ env = "OPS_SECRET" }}
        "#,
        api = api.url("/v4/")
    );
    let hosts: Vec<Host> = (0..hosts)
        .map(|_| Host::builder(&config).env("OPS_SECRET", SECRET).start())
        .collect();
    for task in 1..=5 {
        let body = format!(
            r#"{{"event":"comment","access_token":"token-q{task}","task_id":{task},
                "task":{{"id":{task},"author":{{"id":1,"first_name":"Bob","email":"bob@example.com"}},
                         "comments":[{{"id":9,"text":"hi"}}]}},
                "api_url":"{}"}}"#,
            api.url("/v4/")
        );
        let r = hosts[0].post_signed("/bots/queued", SECRET, body.as_bytes());
        assert_eq!((r.status, r.body.as_str()), (200, ""));
    }
    let hello = hosts[0].post_signed("/bots/hello", SECRET, &fixture("comment-event.json"));
    assert_eq!(hello.status, 200, "{}", hello.body);

    // Sampled every 10 s: within a few samples every host sees the four jobs retried, aged
    // a second or more, and the refused one parked.
    for host in &hosts {
        support::wait_until("the jobs are sampled", Duration::from_secs(40), || {
            let q = &plugin_json(host, "queued")["queue"];
            q["depth"].as_u64() >= Some(4)
                && q["oldest_age_s"].as_u64() >= Some(1)
                && q["parked"] == 1
        });
        let queued = plugin_json(host, "queued");
        assert!(queued["queue"]["sampled_at"].as_u64() > Some(0), "{queued}");
        assert!(
            max_per_minute(&queued, "queue_depth") >= Some(4.0),
            "{queued}"
        );
        assert!(
            max_per_minute(&queued, "queue_oldest_s") >= Some(1.0),
            "{queued}"
        );
        assert_eq!(
            max_per_minute(&queued, "queue_parked"),
            Some(1.0),
            "{queued}"
        );
        let hello = plugin_json(host, "hello");
        assert!(hello["queue"].is_null(), "{hello}");
        assert_eq!(max_per_minute(&hello, "queue_depth"), None, "{hello}");
        assert_eq!(hello["calls_15m"], u64::from(host.base == hosts[0].base));
    }

    let host = hosts.last().unwrap();
    let page = admin_page(host, browser.as_deref(), "/admin/plugins/bots/queued");
    let most = |series: &str, chart: &str| {
        series_values(&page, &format!("id=\"{chart}\""), series)
            .into_iter()
            .flatten()
            .fold(0.0f64, f64::max)
    };
    assert!(most("queue_depth", "chart-queue-depth") >= 4.0, "{page}");
    assert_eq!(most("parked", "chart-queue-depth"), 1.0, "{page}");
    assert!(most("oldest_job_age", "chart-queue-age") >= 1.0, "{page}");
    assert!(page.contains("id=\"queue\" data-depth=\""), "{page}");
    let sync_page = admin_page(host, browser.as_deref(), "/admin/plugins/bots/hello");
    assert!(sync_page.contains("id=\"chart-calls\""), "{sync_page}");
    assert!(!sync_page.contains("chart-queue"), "{sync_page}");
    let overview = admin_page(host, browser.as_deref(), "/admin");
    let row = |name: &str| {
        let from = overview
            .find(&format!("data-kind=\"bot\" data-name=\"{name}\""))
            .unwrap_or_else(|| panic!("no {name} row in {overview}"));
        let row = &overview[from..];
        row[..row.find("</tr>").unwrap()].to_string()
    };
    let queued_row = row("queued");
    let depth: u64 = queued_row
        .split("data-depth=\"")
        .nth(1)
        .and_then(|rest| rest[..rest.find('"')?].parse().ok())
        .unwrap_or_else(|| panic!("no queue cell in {queued_row}"));
    assert!(depth >= 4, "{queued_row}");
    assert!(queued_row.contains("1 parked"), "{queued_row}");
    assert!(
        !row("hello").contains("class=\"queue\""),
        "{}",
        row("hello")
    );
    for seen in [&page, &sync_page, &overview] {
        assert!(!seen.contains("token-q") && !seen.contains(SECRET));
    }
    if let Some(browser) = &browser {
        // For a person to look at, beside the other admin screenshots.
        let artifacts = support::repo().join("target/test-artifacts");
        std::fs::create_dir_all(&artifacts).unwrap();
        let token = support::TEST_ADMIN_TOKEN;
        screenshot(
            browser,
            &host.url(&format!("/admin/plugins/bots/queued?token={token}")),
            &artifacts.join(format!("admin-plugin-queued-{}-hosts.png", hosts.len())),
        );
    }
    let status = Command::new(env!("CARGO_BIN_EXE_pyrus-host"))
        .args(["status", "--config"])
        .arg(host.dir().join("host.toml"))
        .args(["--url", &host.base])
        .env("OPS_SECRET", SECRET)
        .env("PYRUS_TEST_ADMIN_TOKEN", support::TEST_ADMIN_TOKEN)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{table}");
    let line = |name: &str| {
        (table.lines())
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap_or_else(|| panic!("no {name} row in {table}"))
            .to_string()
    };
    assert!(
        line("queued").contains(" jobs, oldest ") && line("queued").contains(", 1 parked"),
        "{table}"
    );
    assert!(!line("hello").contains("jobs"), "{table}");

    // The API is back: the jobs are posted, and the next sample shows none waiting; the
    // hour's charts keep the pile-up, the parked job stays for an operator.
    for task in 1..=4 {
        api.answer(&format!("/v4/tasks/{task}/comments"), 200, &[], "{}");
    }
    for host in &hosts {
        support::wait_until(
            "the queue is sampled empty",
            Duration::from_secs(40),
            || plugin_json(host, "queued")["queue"]["depth"] == 0,
        );
        let queued = plugin_json(host, "queued");
        assert_eq!(queued["queue"]["parked"], 1, "{queued}");
        assert!(
            max_per_minute(&queued, "queue_depth") >= Some(4.0),
            "{queued}"
        );
        assert_eq!(host.health().json()["queue"]["depth"], 0);
    }
}

#[test]
fn an_async_bots_queue_is_charted_per_minute_on_redb() {
    an_async_bots_queue_is_charted(r#"path = "{dir}/state.redb""#, 1);
}

/// On Redis the numbers are the shared queue's: the second host, which received no call,
/// shows the same jobs.
#[test]
fn an_async_bots_queue_is_charted_per_minute_on_redis_by_every_host() {
    let Some(redis) = support::redis() else {
        return;
    };
    an_async_bots_queue_is_charted(&format!("backend = \"redis\"\nurl = \"{}\"", redis.url), 2);
}

/// Resident KiB of the compiled code the host mapped from its compile cache.
fn resident_code_kib(pid: u32) -> u64 {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let mut in_cache = false;
    let mut total = 0;
    for line in smaps.lines() {
        if line
            .split_whitespace()
            .next()
            .is_some_and(|f| f.contains('-') && !f.ends_with(':'))
        {
            in_cache = line.ends_with(".cwasm");
        } else if in_cache && line.starts_with("Rss:") {
            total += line
                .split_whitespace()
                .nth(1)
                .unwrap()
                .parse::<u64>()
                .unwrap();
        }
    }
    total
}

/// An idle plugin holds no resident code: its compiled code stays in the kernel's page
/// cache and is mapped back when it is called (about 0.6 MiB each before, for hello-bot:
/// 600 MiB for 1,000 idle plugins). Freshly compiled and loaded from the cache alike.
#[test]
fn idle_plugins_hold_no_resident_code() {
    let hello = std::fs::read(support::plugin("hello_bot")).unwrap();
    let nonce = format!(
        "idle-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    );
    let cache = tempfile::tempdir().unwrap();
    let mut config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ncache_dir = \"{}\"\n",
        cache.path().display()
    );
    for i in 0..6 {
        config.push_str(&format!(
            "[bots.h{i}]\nplugin = \"{{dir}}/h{i}.wasm\"\nsecret = {{ env = \"OPS_SECRET\" }}\n"
        ));
    }
    let start = |label: &str| {
        let host = (0..6)
            .fold(Host::builder(&config).env("OPS_SECRET", SECRET), |b, i| {
                b.file(
                    &format!("h{i}.wasm"),
                    unseen_copy(&hello, &format!("{nonce}-{i}")),
                )
            })
            .start();
        let idle = resident_code_kib(host.pid());
        println!("{label}: {idle} KiB of code resident for 6 idle plugins");
        assert!(
            idle <= 6 * 64,
            "{label}: {idle} KiB resident for 6 idle plugins"
        );
        host
    };
    // Compiled at this start (cold cache), then loaded from the cache (warm).
    drop(start("cold cache"));
    let host = start("warm cache");
    for i in 0..6 {
        let r = host.post_signed(
            &format!("/bots/h{i}"),
            SECRET,
            &fixture("comment-event.json"),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let called = resident_code_kib(host.pid());
    println!("after one call each: {called} KiB resident");
    assert!(
        called > 6 * 64,
        "the measure sees code once it runs: {called} KiB"
    );
}

/// Minor page faults of process `pid` so far (`/proc/PID/stat`, field 10).
fn minor_faults(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name (field 2) may hold spaces: count from the `)` that ends it.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after.split_whitespace().nth(7).unwrap().parse().unwrap()
}

/// Plugins called in turn each keep a memory slot of their own (`[runtime] warm_slots`):
/// a call finds its memory image still mapped, where a call that takes another plugin's
/// slot maps its image again (an mmap, a TLB flush) and faults its pages back in.
#[test]
fn plugins_called_in_turn_keep_their_warm_memory_slots() {
    let hello = std::fs::read(support::plugin("hello_bot")).unwrap();
    let mut config =
        String::from("[server]\nlisten = \"127.0.0.1:0\"\ncache_dir = \"{dir}/cache\"\n");
    for i in 0..4 {
        config.push_str(&format!(
            "[bots.h{i}]\nplugin = \"{{dir}}/h{i}.wasm\"\nsecret = {{ env = \"OPS_SECRET\" }}\ndedup_window_s = 0\n"
        ));
    }
    let faults_per_call = |runtime: &str| {
        let host = (0..4)
            .fold(
                Host::builder(&format!("{config}{runtime}")).env("OPS_SECRET", SECRET),
                |b, i| {
                    b.file(
                        &format!("h{i}.wasm"),
                        unseen_copy(&hello, &format!("warm-{i}")),
                    )
                },
            )
            .start();
        let call_all = || {
            for i in 0..4 {
                let r = host.post_signed(
                    &format!("/bots/h{i}"),
                    SECRET,
                    &fixture("comment-event.json"),
                );
                assert_eq!(r.status, 200, "{}", r.body);
            }
        };
        // Enough rounds for every lane thread to have run each plugin once.
        for _ in 0..8 {
            call_all();
        }
        let before = minor_faults(host.pid());
        for _ in 0..25 {
            call_all();
        }
        (minor_faults(host.pid()) - before) as f64 / 100.0
    };
    let warm = faults_per_call("");
    let stolen = faults_per_call("[runtime]\nwarm_slots = 0\n");
    println!("page faults per call: {warm:.1} with warm slots, {stolen:.1} with none kept");
    assert!(
        stolen >= 1.0 && warm * 2.0 < stolen,
        "warm slots: {warm:.1} faults per call, none kept: {stolen:.1}"
    );
}
