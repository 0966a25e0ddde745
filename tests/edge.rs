//! End-to-end tests of the edge: what a flood of connections, a slowloris client or a slow
//! body can do to the real binary. Every limit is small here so that the tests are quick.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::{fixture, Host};

const SECRET: &str = "edge-secret";

fn start(server: &str) -> Host {
    let config = format!(
        r#"
        [server]
        listen = "127.0.0.1:0"
        {server}

        [bots.hello]
        plugin = "{{plugins}}/hello_bot.wasm"
        secret = {{ env = "EDGE_SECRET" }}
        "#
    );
    Host::builder(&config)
        .env("EDGE_SECRET", SECRET)
        .soft_open_files(1024)
        .start()
}

fn addr(host: &Host) -> String {
    host.url("").trim_start_matches("http://").to_string()
}

fn hello(host: &Host) -> u16 {
    host.post_signed("/bots/hello", SECRET, &fixture("comment-event.json"))
        .status
}

/// Whether the server closed `stream` (a read sees EOF or a reset) within `within`.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream
        .set_read_timeout(Some(within))
        .expect("set a read timeout");
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return false,
            Err(_) => return true,
        }
    }
}

fn metric(host: &Host, name: &str, reason: &str) -> f64 {
    let metrics = host.get("/metrics").body;
    metrics
        .lines()
        .find(|l| l.starts_with(name) && l.contains(&format!("reason=\"{reason}\"")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Lets this test process hold more connections than a default soft limit allows.
fn raise_own_open_files_limit() {
    // SAFETY: getrlimit and setrlimit only touch the struct passed to them.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
}

#[test]
fn idle_connections_past_a_1024_soft_limit_do_not_stop_signed_calls() {
    raise_own_open_files_limit();
    let host = start("");
    host.wait_for_log("open files limit", Duration::from_secs(5));
    assert!(host.log().contains("\"was\":1024"), "{}", host.log());
    let idle: Vec<TcpStream> = (0..1100)
        .map(|_| TcpStream::connect(addr(&host)).expect("connect"))
        .collect();
    // Calls keep being answered while the idle connections stay open.
    for _ in 0..20 {
        assert_eq!(hello(&host), 200);
    }
    drop(idle);
}

#[test]
fn a_slowloris_client_is_cut_at_the_header_timeout() {
    let host = start("header_timeout_ms = 1000");
    let mut slow = TcpStream::connect(addr(&host)).unwrap();
    slow.write_all(b"POST /bots/hello HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = Instant::now();
    // One header byte every 200 ms: never a whole head.
    let mut cut = false;
    while started.elapsed() < Duration::from_secs(8) {
        if slow.write_all(b"X").is_err() || closed_within(&mut slow, Duration::from_millis(200)) {
            cut = true;
            break;
        }
    }
    assert!(cut, "the slow client was never cut");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cut after {:?}",
        started.elapsed()
    );
    assert!(metric(&host, "pyrus_connections_closed_total", "header_timeout") >= 1.0);
    // An idle keep-alive connection is closed the same way.
    let mut idle = TcpStream::connect(addr(&host)).unwrap();
    assert!(closed_within(&mut idle, Duration::from_secs(5)));
    assert_eq!(hello(&host), 200);
}

#[test]
fn connections_over_max_connections_are_closed_at_once_and_counted() {
    let host = start("max_connections = 20\nheader_timeout_ms = 30000");
    // Each held connection is answered once (and kept alive), so the host has taken them
    // all before the next one knocks, however slowly a loaded machine lets it accept.
    let held: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut stream = TcpStream::connect(addr(&host)).unwrap();
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut head = [0u8; 12];
            stream.read_exact(&mut head).expect("an answer to /healthz");
            assert!(head.starts_with(b"HTTP/1.1 "), "{head:?}");
            stream
        })
        .collect();
    let mut over = TcpStream::connect(addr(&host)).unwrap();
    assert!(closed_within(&mut over, Duration::from_secs(2)));
    host.wait_for_log("connections refused", Duration::from_secs(5));
    drop(held);
    // Room again: calls go through, and the refusal was counted.
    // (Until the host has seen the held ones close, a new connection may still be refused.)
    support::wait_until("the host serves again", Duration::from_secs(10), || {
        let body = fixture("comment-event.json");
        ureq::post(&host.url("/bots/hello"))
            .set("X-Pyrus-Sig", &support::sign(SECRET, &body))
            .send_bytes(&body)
            .is_ok_and(|r| r.status() == 200)
    });
    assert!(metric(&host, "pyrus_connections_closed_total", "limit") >= 1.0);
}

#[test]
fn a_body_that_does_not_arrive_in_time_gets_408() {
    let host = start("body_timeout_ms = 500");
    let body = fixture("comment-event.json");
    let sig = support::sign(SECRET, &body);
    let mut stream = TcpStream::connect(addr(&host)).unwrap();
    write!(
        stream,
        "POST /bots/hello HTTP/1.1\r\nHost: x\r\nX-Pyrus-Sig: {sig}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body[..10]).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = String::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        answer.push_str(&String::from_utf8_lossy(&buf[..n]));
        if answer.contains("body_timeout") {
            break;
        }
    }
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("\"error_code\":\"body_timeout\""),
        "{answer}"
    );
}

#[test]
fn a_busy_plugin_refuses_before_the_body_is_read() {
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n{}",
        support::misbehaving(
            "bots",
            "EDGE_SECRET",
            &[("single", "sleep", "timeout_ms = 3_000\nmax_concurrency = 1")]
        )
    );
    let host = Host::builder(&config).env("EDGE_SECRET", SECRET).start();
    std::thread::scope(|s| {
        // Holds the plugin's one permit for 3 s.
        let first = s.spawn(|| host.post_signed("/bots/single", SECRET, b"{}"));
        std::thread::sleep(Duration::from_millis(300));
        // A call announcing a megabyte it never sends: the 503 comes without it.
        let mut stream = TcpStream::connect(addr(&host)).unwrap();
        stream
            .write_all(b"POST /bots/single HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
            .unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let mut answer = vec![0u8; 4096];
        let n = stream.read(&mut answer).expect("an answer before the body");
        let answer = String::from_utf8_lossy(&answer[..n]).to_string();
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.contains("plugin_busy"), "{answer}");
        assert_eq!(first.join().unwrap().status, 500);
    });
}
