//! End-to-end tests of the command line a plugin author and an operator use: `check`,
//! `call` (and `call --sign`), and `new` followed by every step it prints.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::Host;

fn host_cmd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pyrus-host"));
    cmd.env("XDG_CACHE_HOME", support::repo().join("target/test-cache"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    cmd
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run pyrus-host");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Writes `config` (with `{plugins}` filled in) into a temporary folder.
fn config_file(config: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, path) = Host::builder(config).without_admin_token().prepare();
    (dir, path)
}

const GOOD: &str = r#"
[bots.hello]
plugin = "{plugins}/hello_bot.wasm"
secret = { env = "CLI_TEST_HELLO_SECRET" }

[extensions.echo]
plugin = "{plugins}/echo_extension.wasm"
secret = { env = "CLI_TEST_ECHO_SECRET" }
settings = '{"login": "demo", "password": "pw"}'
timeout_ms = 2_000

[bots.trap]
plugin = "{plugins}/misbehaving.wasm"
secret = { env = "CLI_TEST_TRAP_SECRET" }
settings = "trap"
"#;

#[test]
fn check_passes_a_good_config_and_lists_its_plugins() {
    let (_dir, config) = config_file(GOOD);
    let (code, out, err) = run(host_cmd()
        .args(["check", "--config"])
        .arg(&config)
        .env("CLI_TEST_HELLO_SECRET", "a")
        .env("CLI_TEST_ECHO_SECRET", "b")
        .env("CLI_TEST_TRAP_SECRET", "c"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok: bots.hello:"), "{out}");
    assert!(
        out.contains("ok: extensions.echo:")
            && out.contains("world pyrus:plugin/extension-plugin@0.2.0"),
        "{out}"
    );
    assert!(out.contains("timeout 2000 ms"), "{out}");
    assert!(out.contains("3 plugins checked, no problems"), "{out}");
}

#[test]
fn check_reports_every_problem_with_its_key() {
    let (_dir, config) = config_file(
        r#"
        [bots.good]
        plugin = "{plugins}/hello_bot.wasm"
        secret = { env = "CLI_TEST_GOOD_SECRET" }

        [bots.wrong-world]
        plugin = "{plugins}/echo_extension.wasm"
        secret = { env = "CLI_TEST_GOOD_SECRET" }

        [bots.missing-file]
        plugin = "{plugins}/no_such_plugin.wasm"
        secret = { env = "CLI_TEST_GOOD_SECRET" }

        [extensions.no-secret]
        plugin = "{plugins}/echo_extension.wasm"
        secret = { env = "CLI_TEST_UNSET_SECRET" }
        "#,
    );
    let (code, out, _) = run(host_cmd()
        .args(["check", "-c"])
        .arg(&config)
        .env("CLI_TEST_GOOD_SECRET", "x")
        .env_remove("CLI_TEST_UNSET_SECRET"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ok: bots.good:"), "{out}");
    for key in [
        "bots.wrong-world.plugin: ",
        "bots.missing-file.plugin: cannot read",
        "extensions.no-secret.secret: environment variable CLI_TEST_UNSET_SECRET is not set",
    ] {
        assert!(out.contains(key), "{key:?} not in:\n{out}");
    }
    assert!(
        out.contains("does not fit the pyrus:plugin/bot-plugin world"),
        "{out}"
    );
    assert!(out.contains("4 plugins checked, 3 problems"), "{out}");

    // A config error stops at the config, with its key.
    let (_dir2, bad) = config_file("[server]\nlisten = \"127.0.0.1:0\"\ncolour = \"red\"\n");
    let (code, out, _) = run(host_cmd().args(["check", "-c"]).arg(&bad));
    assert_eq!(code, 1);
    assert!(out.contains("problem: ") && out.contains("colour"), "{out}");
}

#[test]
fn call_runs_a_bot_in_process_without_its_secret() {
    let (dir, config) = config_file(GOOD);
    let body = dir.path().join("task.json");
    std::fs::write(&body, support::fixture("comment-event.json")).unwrap();
    let (code, out, err) = run(host_cmd()
        .args(["call", "--config"])
        .arg(&config)
        .arg("hello")
        .arg("--body")
        .arg(&body)
        .env_remove("CLI_TEST_HELLO_SECRET"));
    assert_eq!(code, 0, "{out}{err}");
    let reply: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(reply["approval_choice"], "approved");
    assert!(
        reply["text"].as_str().unwrap().starts_with("Hello"),
        "{out}"
    );
    assert!(err.contains("200 OK in "), "{err}");

    // A failing plugin: the same status and error body Pyrus would get, and exit code 1.
    let (code, out, err) = run(host_cmd()
        .args(["call", "-c"])
        .arg(&config)
        .args(["trap", "--body"])
        .arg(&body));
    assert_eq!(code, 1, "{out}{err}");
    let reply: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(reply["error_code"], "plugin_trapped");
    assert!(err.contains("500 Internal Server Error"), "{err}");

    // Not JSON: refused before the plugin, as over HTTP.
    std::fs::write(&body, "not json").unwrap();
    let (code, out, _) = run(host_cmd()
        .args(["call", "-c"])
        .arg(&config)
        .args(["hello", "--body"])
        .arg(&body));
    assert_eq!(code, 1);
    assert!(out.contains("invalid_json"), "{out}");
}

#[test]
fn call_runs_extension_methods() {
    let (dir, config) = config_file(GOOD);
    let (code, out, err) = run(host_cmd()
        .args(["call", "-c"])
        .arg(&config)
        .args(["echo", "--method", "pulse"]));
    assert_eq!(code, 0, "{out}{err}");

    let body = dir.path().join("auth.json");
    std::fs::write(
        &body,
        r#"{"credentials":[{"code":"login","value":"demo"},{"code":"password","value":"pw"}]}"#,
    )
    .unwrap();
    let (code, out, err) = run(host_cmd()
        .args(["call", "-c"])
        .arg(&config)
        .args(["echo", "--method", "authorize", "--body"])
        .arg(&body));
    assert_eq!(code, 0, "{out}{err}");
    let reply: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(reply["account_id"], "echo:demo");

    // Forgetting --method, or naming a method that does not exist, says what to do.
    let (code, _, err) = run(host_cmd().args(["call", "-c"]).arg(&config).arg("echo"));
    assert_eq!(code, 1);
    assert!(
        err.contains("--method") && err.contains("sendmessage"),
        "{err}"
    );
    let (code, _, err) = run(host_cmd()
        .args(["call", "-c"])
        .arg(&config)
        .args(["echo", "--method", "explode"]));
    assert_eq!(code, 1);
    assert!(err.contains("unknown method"), "{err}");
    let (code, _, err) = run(host_cmd().args(["call", "-c"]).arg(&config).arg("nobody"));
    assert_eq!(code, 1);
    assert!(
        err.contains("no bot or extension named \"nobody\""),
        "{err}"
    );
}

#[test]
fn call_sign_prints_the_signature_pyrus_would_send() {
    let (dir, config) = config_file(GOOD);
    let body = dir.path().join("task.json");
    std::fs::write(&body, support::fixture("comment-event.json")).unwrap();
    let (code, out, err) = run(host_cmd()
        .args(["call", "-c"])
        .arg(&config)
        .args(["hello", "--sign", "--body"])
        .arg(&body)
        .env("CLI_TEST_HELLO_SECRET", "the-bot-key"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        support::sign("the-bot-key", &support::fixture("comment-event.json"))
    );
    // Without the secret, --sign cannot work, and says why without printing anything else.
    let (code, out, err) = run(host_cmd()
        .args(["call", "-c"])
        .arg(&config)
        .args(["hello", "--sign", "--body"])
        .arg(&body)
        .env_remove("CLI_TEST_HELLO_SECRET"));
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("CLI_TEST_HELLO_SECRET is not set"), "{err}");
}

/// `new`, then each step it prints, as written, in a shell: the plugin author's path.
#[test]
fn new_scaffolds_plugins_whose_printed_steps_work() {
    let work = tempfile::tempdir().unwrap();
    let greeting = "Hello, Ada Lovelace! Task 1001 is approved.";
    for (lang, kind, name, expect, initial_mib) in [
        ("rust", "bot", "demo-bot", greeting, 4),
        ("rust", "extension", "demo-ext", "chat-42-1", 4),
        // componentize-py's CPython starts with a 13 MiB heap.
        ("python", "bot", "demo-py-bot", greeting, 13),
        ("python", "extension", "demo-py-ext", "chat-42-1", 13),
        // A QuickJS component starts with less than 2 MiB of memory in all.
        ("js", "bot", "demo-js-bot", greeting, 2),
        ("js", "extension", "demo-js-ext", "chat-42-1", 2),
    ] {
        let (code, out, err) = run(host_cmd()
            .args(["new", kind, name, "--lang", lang])
            .current_dir(work.path()));
        assert_eq!(code, 0, "{out}{err}");
        let steps: Vec<&str> = out
            .lines()
            .skip_while(|l| !l.ends_with("Next:"))
            .skip(1)
            .map(str::trim)
            .collect();
        assert_eq!(steps.len(), 5, "{out}");
        assert_eq!(steps[0], format!("cd {name}"));
        let dir = work.path().join(name);
        // The steps that test, build and call the plugin.
        for step in &steps[1..4] {
            let (code, out, err) = run(Command::new("sh")
                .args(["-c", step])
                .current_dir(&dir)
                .env("CARGO_TERM_COLOR", "never")
                .env("XDG_CACHE_HOME", support::repo().join("target/test-cache")));
            assert_eq!(code, 0, "`{step}` failed:\n{out}\n{err}");
            if step.contains(" call ") {
                assert!(out.contains(expect), "`{step}` printed:\n{out}\n{err}");
            }
        }
        // A plugin starts with some memory (a Rust crate's .cargo/config.toml links it
        // with 4 MiB): under a 1 MiB limit (the least a config can set) the call fails,
        // saying so.
        let config = std::fs::read_to_string(dir.join("pyrus-host.toml")).unwrap();
        assert!(config.contains("memory_mb = 64"), "{config}");
        std::fs::write(
            dir.join("small.toml"),
            config.replace("memory_mb = 64", "memory_mb = 1"),
        )
        .unwrap();
        let (code, out, err) = run(Command::new("sh")
            .args(["-c", &steps[3].replace("pyrus-host.toml", "small.toml")])
            .current_dir(&dir));
        assert_ne!(code, 0, "{out}{err}");
        assert!(
            format!("{out}{err}").contains(&format!("asked for {initial_mib} MiB of memory")),
            "{out}{err}"
        );
        std::fs::remove_file(dir.join("small.toml")).unwrap();
        serve_step(&dir, steps[4], name);
        // A second `new` into the same folder refuses instead of overwriting.
        let (code, _, err) = run(host_cmd()
            .args(["new", kind, name, "--lang", lang])
            .current_dir(work.path()));
        assert_eq!(code, 1);
        assert!(err.contains("not empty"), "{err}");
    }
}

/// Runs the printed `serve` step (on a free port instead of 8080) and sends it a signed call.
fn serve_step(dir: &Path, step: &str, name: &str) {
    let config = dir.join("pyrus-host.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("127.0.0.1:8080", "127.0.0.1:0")).unwrap();
    // The step is `VAR=value COMMAND...`: the shell's `exec` takes the command, the
    // environment is set here, so that killing the child kills the host.
    let (assignment, command) = step.split_once(' ').unwrap();
    let (var, value) = assignment
        .split_once('=')
        .expect("the step sets the secret");
    let mut child = Command::new("sh")
        .args(["-c", &format!("exec {command} --log-format json")])
        .env(var, value)
        .current_dir(dir)
        .env("XDG_CACHE_HOME", support::repo().join("target/test-cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let json: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if let Some(addr) = json["fields"]["addr"].as_str() {
                let _ = tx.send(addr.to_string());
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(60));
    let result = addr.map(|addr| {
        let (path, body) = if name.ends_with("bot") {
            (
                format!("/bots/{name}"),
                include_str!("../host/src/commands/templates/sample-task.json"),
            )
        } else {
            (
                format!("/extensions/{name}/sendmessage"),
                include_str!("../host/src/commands/templates/sample-sendmessage.json"),
            )
        };
        ureq::post(&format!("http://{addr}{path}"))
            .set("X-Pyrus-Sig", &support::sign("change-me", body.as_bytes()))
            .send_bytes(body.as_bytes())
            .map(|r| r.status())
            .map_err(|e| e.to_string())
    });
    let _ = child.kill();
    let _ = child.wait();
    let status = result
        .expect("serve step never listened")
        .expect("signed call failed");
    assert_eq!(status, 200);
}
