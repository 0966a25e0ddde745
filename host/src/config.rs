//! The TOML config: what to listen on, and which plugin serves which bot or extension.
//!
//! Parsing is strict (unknown keys are errors: a typo must not silently fall back to a
//! default), and every error names the file, the key and the problem.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::capabilities::{self, Entry, GrantError, Grants, Section};
use crate::delivery::{AsyncPolicy, Credentials, DedupPolicy, Mode, MAX_WINDOW_S};
use crate::names::{Kind, PluginName};
use crate::runtime::engine::{EngineSettings, MAX_INSTANCES, MAX_WARM_SLOTS, WARM_SLOTS};
use crate::runtime::limits::{Limits, MAX_MEMORY_MB};
pub use crate::secret::Secrets;
use crate::secret::{Secret, SecretSource};

/// Pyrus waits 60 s for a bot's answer; a longer plugin timeout could never be useful.
pub const MAX_TIMEOUT_MS: u64 = 60_000;

/// Time for a whole request body once its head arrived: Pyrus sends a body of megabytes in
/// well under a second; a slow drip is an attack.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// A Pyrus comment or extension reply is small; 16 MiB is far past any real one.
pub const MAX_REPLY_KB: u64 = 16 * 1024;

const SECRET_FORMS: &str =
    "Use { env = \"VAR\" } or { file = \"PATH\" } (inline secrets are not accepted)";

/// A config that parsed and validated, with secrets resolved.
#[derive(Debug)]
pub struct Config {
    pub path: PathBuf,
    pub server: ServerConfig,
    /// `[runtime] max_wasm_stack_kb`, in bytes.
    pub max_wasm_stack: usize,
    /// `[runtime] max_instances`: instances alive at once over all plugins.
    pub max_instances: u32,
    /// `[runtime] warm_slots`: unused memory slots kept for the plugin that used them last.
    pub warm_slots: u32,
    pub bots: BTreeMap<PluginName, PluginConfig>,
    pub extensions: BTreeMap<PluginName, PluginConfig>,
    /// Secrets that could not be read, when loaded with [`Secrets::Defer`]; those plugins
    /// carry a placeholder that verifies nothing real.
    pub unavailable_secrets: Vec<ConfigError>,
    /// `[admin] token`: the admin page is served only when it is set.
    pub admin_token: Option<Arc<Secret>>,
    /// The capabilities' own sections (`[store]`), or their defaults.
    pub capabilities: capabilities::Settings,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub max_body_bytes: usize,
    /// Where compiled plugins are cached; `None` when caching is off.
    pub cache_dir: Option<PathBuf>,
    /// Whether to watch the config and plugin files and reload on change.
    pub watch: bool,
    /// How long a shutdown waits for calls in flight.
    pub shutdown_grace: Duration,
    /// Serve HTTPS with this certificate and key instead of plain HTTP.
    pub tls: Option<TlsConfig>,
    /// `max_connections`, `header_timeout_ms`.
    pub connections: ConnectionLimits,
    /// `body_timeout_ms`: time for a request's whole body to arrive once its head has.
    pub body_timeout: Duration,
}

/// How connections are bounded (`[server]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once; past it a new one is closed at once.
    pub max_connections: usize,
    /// Time for a request's head (line and headers) to arrive, on a new connection and
    /// between keep-alive requests.
    pub header_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 4096,
            header_timeout: Duration::from_secs(15),
        }
    }
}

/// `[server.tls]`: PEM files, resolved against the config's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// One `[bots.NAME]` or `[extensions.NAME]` entry.
#[derive(Debug, Clone)]
pub struct PluginConfig {
    /// The component file, resolved against the config file's folder.
    pub plugin: PathBuf,
    pub secret: Arc<Secret>,
    /// The file the secret was read from, when it came from one (watched for changes).
    pub secret_file: Option<PathBuf>,
    pub settings: Option<String>,
    pub limits: Limits,
    /// What the plugin may do beyond answering, per capability.
    pub grants: Arc<Grants>,
    /// Extensions only: whether `/extensions/NAME/inbound/...` reaches the plugin.
    pub inbound: bool,
    /// Bots only: how retries of a call are recognised and answered (`dedup_window_s`).
    pub dedup: DedupPolicy,
    /// Bots only: answered in the webhook, or queued and posted later (`mode`).
    pub mode: Mode,
}

/// A config problem: which file, which key, what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {key}: {problem}")]
pub struct ConfigError {
    pub file: PathBuf,
    pub key: String,
    pub problem: String,
}

#[derive(Debug, Deserialize)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    runtime: RawRuntime,
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    admin: RawAdmin,
    #[serde(default)]
    bots: BTreeMap<String, RawPlugin>,
    #[serde(default)]
    extensions: BTreeMap<String, RawPlugin>,
    /// The capabilities' sections (`[store]`); anything else is an unknown section.
    #[serde(flatten)]
    sections: toml::Table,
}

/// `[defaults]`: limits, and the capability keys that may be set for every plugin.
#[derive(Debug, Default, Deserialize)]
struct RawDefaults {
    #[serde(flatten)]
    limits: RawLimits,
    #[serde(flatten)]
    delivery: RawDelivery,
    #[serde(flatten)]
    capabilities: toml::Table,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    #[serde(default = "default_listen")]
    listen: String,
    #[serde(default = "default_max_body")]
    max_body_bytes: usize,
    cache_dir: Option<PathBuf>,
    #[serde(default = "yes")]
    compile_cache: bool,
    #[serde(default = "yes")]
    watch: bool,
    #[serde(default = "default_shutdown_grace_ms")]
    shutdown_grace_ms: u64,
    tls: Option<RawTls>,
    max_connections: Option<usize>,
    header_timeout_ms: Option<u64>,
    body_timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: PathBuf,
    key: PathBuf,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    token: Option<toml::Value>,
}

/// Long enough for a call at the longest plugin timeout Pyrus allows to finish.
fn default_shutdown_grace_ms() -> u64 {
    MAX_TIMEOUT_MS
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            listen: default_listen(),
            max_body_bytes: default_max_body(),
            cache_dir: None,
            compile_cache: true,
            watch: true,
            shutdown_grace_ms: default_shutdown_grace_ms(),
            tls: None,
            max_connections: None,
            header_timeout_ms: None,
            body_timeout_ms: None,
        }
    }
}

fn yes() -> bool {
    true
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}

/// On-premise Pyrus sends bodies over 2 MB; 16 MiB is what mature Pyrus libraries settled on.
fn default_max_body() -> usize {
    16 * 1024 * 1024
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuntime {
    max_wasm_stack_kb: Option<u64>,
    max_instances: Option<u32>,
    warm_slots: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
struct RawLimits {
    timeout_ms: Option<u64>,
    memory_mb: Option<u64>,
    max_concurrency: Option<u32>,
    max_reply_kb: Option<u64>,
    fuel: Option<u64>,
}

/// How a bot's calls are delivered (`crate::delivery`).
#[derive(Debug, Default, Deserialize)]
struct RawDelivery {
    dedup_window_s: Option<u64>,
    mode: Option<String>,
    async_timeout_ms: Option<u64>,
    pyrus_api_bases: Option<Vec<String>>,
    pyrus_login: Option<String>,
    pyrus_security_key: Option<toml::Value>,
    post_attempts: Option<u32>,
    post_backoff_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct RawPlugin {
    plugin: PathBuf,
    // Kept raw so that a wrong shape (e.g. an inline string) gets a message that says what
    // is accepted, instead of serde's "did not match any variant".
    secret: Option<toml::Value>,
    settings: Option<String>,
    #[serde(default)]
    inbound: bool,
    #[serde(flatten)]
    limits: RawLimits,
    #[serde(flatten)]
    delivery: RawDelivery,
    /// The capabilities' keys (`variables`, `key_value_stores`, ...); what none of them
    /// reads is an unknown key.
    #[serde(flatten)]
    capabilities: toml::Table,
}

impl Config {
    /// The engine this config needs: its stack size, and fuel if any plugin has a budget.
    pub fn engine_settings(&self) -> EngineSettings {
        let any_fuel = self
            .bots
            .values()
            .chain(self.extensions.values())
            .any(|p| p.limits.fuel.is_some());
        EngineSettings {
            max_wasm_stack: self.max_wasm_stack,
            max_instances: self.max_instances,
            warm_slots: self.warm_slots,
            fuel: any_fuel,
        }
    }

    /// Reads, parses and validates `path`, resolving every secret.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::load_with(path, Secrets::Require)
    }

    /// Like [`Config::load`], with a choice about unreadable secrets.
    pub fn load_with(path: &Path, secrets: Secrets) -> Result<Config, ConfigError> {
        let err = |key: &str, problem: String| ConfigError {
            file: path.to_path_buf(),
            key: key.to_string(),
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err("(file)", e.to_string()))?;
        Self::parse_with(path, &text, secrets)
    }

    /// Parses config text as if it were read from `path` (relative paths resolve against
    /// `path`'s folder).
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        Self::parse_with(path, text, Secrets::Require)
    }

    fn parse_with(path: &Path, text: &str, secrets: Secrets) -> Result<Config, ConfigError> {
        let err = |key: &str, problem: String| ConfigError {
            file: path.to_path_buf(),
            key: key.to_string(),
            problem,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            // toml's message already says where; keep it on one line.
            let message = e.message().to_string();
            let at = e
                .span()
                .map(|s| format!(" (line {})", line_of(text, s.start)))
                .unwrap_or_default();
            err("(syntax)", format!("{message}{at}"))
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();

        let listen = raw.server.listen.parse().map_err(|e| {
            err(
                "server.listen",
                format!("{e}: expected HOST:PORT such as 127.0.0.1:8080"),
            )
        })?;
        if raw.server.max_body_bytes == 0 {
            return Err(err(
                "server.max_body_bytes",
                "must be greater than 0".into(),
            ));
        }
        let defaults = limits(&raw.defaults.limits, &Limits::default(), "defaults", &err)?;
        let default_dedup = dedup(
            &raw.defaults.delivery,
            DedupPolicy::default(),
            "defaults",
            &err,
        )?;
        for (key, set) in [
            ("pyrus_login", raw.defaults.delivery.pyrus_login.is_some()),
            (
                "pyrus_security_key",
                raw.defaults.delivery.pyrus_security_key.is_some(),
            ),
        ] {
            if set {
                return Err(err(
                    &format!("defaults.{key}"),
                    "is one bot's own: set it in [bots.NAME]".into(),
                ));
            }
        }
        // Checked here too, so that a bad default is reported even before a bot uses it.
        mode(
            &raw.defaults.delivery,
            &RawDelivery::default(),
            "defaults",
            &base,
            &err,
        )?;
        if let Some(key) = raw
            .defaults
            .capabilities
            .keys()
            .find(|k| !Grants::owns_key(k, true))
        {
            return Err(err(&format!("defaults.{key}"), "unknown key".into()));
        }
        let grant_err = |e: GrantError| err(&e.key, e.problem);
        // Checked here too, so that a bad default is reported even before a plugin uses it.
        Grants::parse(&mut Entry::new(
            "defaults".into(),
            toml::Table::new(),
            &raw.defaults.capabilities,
            &base,
            Secrets::Defer,
        ))
        .map_err(grant_err)?;

        let mut unavailable_secrets = Vec::new();
        let mut section = |kind: Kind, entries: BTreeMap<String, RawPlugin>| {
            let mut out = BTreeMap::new();
            for (name, entry) in entries {
                let key = format!("{}.{name}", kind.section());
                let name = PluginName::new(name).map_err(|e| err(&key, e.to_string()))?;
                let (source, secret) = match secret(entry.secret, &key, &base, &err) {
                    Ok(found) => found,
                    Err(e) if secrets == Secrets::Defer => {
                        unavailable_secrets.push(e);
                        // Never served: only tools that do not verify load with Defer.
                        let placeholder = SecretSource::Env { env: String::new() };
                        (placeholder, Secret::new(b"\0unavailable"))
                    }
                    Err(e) => return Err(e),
                };
                let limits = limits(&entry.limits, &defaults, &key, &err)?;
                if kind == Kind::Extension {
                    if let Some(bot_key) = entry.delivery.bot_key() {
                        return Err(err(
                            &format!("{key}.{bot_key}"),
                            "is for bots: extension webhooks are answered as they come".into(),
                        ));
                    }
                }
                let dedup = dedup(&entry.delivery, default_dedup, &key, &err)?;
                let mode = mode(&entry.delivery, &raw.defaults.delivery, &key, &base, &err)?;
                if entry.inbound && kind == Kind::Bot {
                    return Err(err(
                        &format!("{key}.inbound"),
                        "is for extensions: external systems call extensions, not bots".into(),
                    ));
                }
                let mut caps = Entry::new(
                    key.clone(),
                    entry.capabilities,
                    &raw.defaults.capabilities,
                    &base,
                    secrets,
                );
                let grants = Grants::parse(&mut caps).map_err(grant_err)?;
                let (rest, unavailable) = caps.into_rest();
                unavailable_secrets.extend(unavailable.into_iter().map(grant_err));
                if let Some(unknown) = rest.keys().next() {
                    return Err(err(&format!("{key}.{unknown}"), "unknown key".into()));
                }
                out.insert(
                    name,
                    PluginConfig {
                        plugin: base.join(&entry.plugin),
                        secret: Arc::new(secret),
                        secret_file: match &source {
                            SecretSource::File { file } => Some(base.join(file)),
                            SecretSource::Env { .. } => None,
                        },
                        settings: entry.settings,
                        limits,
                        grants: Arc::new(grants),
                        inbound: entry.inbound,
                        dedup,
                        mode,
                    },
                );
            }
            Ok::<_, ConfigError>(out)
        };
        let bots = section(Kind::Bot, raw.bots)?;
        let extensions = section(Kind::Extension, raw.extensions)?;

        let mut sections = raw.sections;
        let capabilities = capabilities::Settings::parse(|name| Section {
            name,
            value: sections.remove(name),
            base: base.clone(),
        })
        .map_err(grant_err)?;
        if let Some(unknown) = sections.keys().next() {
            let mut known = vec![
                "server",
                "runtime",
                "defaults",
                "admin",
                "bots",
                "extensions",
            ];
            known.extend(capabilities::Settings::sections());
            return Err(err(
                unknown,
                format!("unknown section; the sections are {}", known.join(", ")),
            ));
        }

        if raw.server.shutdown_grace_ms > 3_600_000 {
            return Err(err(
                "server.shutdown_grace_ms",
                format!(
                    "{} is out of range 0..=3600000",
                    raw.server.shutdown_grace_ms
                ),
            ));
        }
        let mut connections = ConnectionLimits::default();
        if let Some(n) = raw.server.max_connections {
            if !(1..=1_000_000).contains(&n) {
                return Err(err(
                    "server.max_connections",
                    format!("{n} is out of range 1..=1000000"),
                ));
            }
            connections.max_connections = n;
        }
        if let Some(ms) = raw.server.header_timeout_ms {
            if !(100..=600_000).contains(&ms) {
                return Err(err(
                    "server.header_timeout_ms",
                    format!("{ms} is out of range 100..=600000"),
                ));
            }
            connections.header_timeout = Duration::from_millis(ms);
        }
        let body_timeout = match raw.server.body_timeout_ms {
            None => DEFAULT_BODY_TIMEOUT,
            Some(ms) if (100..=600_000).contains(&ms) => Duration::from_millis(ms),
            Some(ms) => {
                return Err(err(
                    "server.body_timeout_ms",
                    format!("{ms} is out of range 100..=600000"),
                ))
            }
        };
        let admin_token = match raw.admin.token {
            None => None,
            Some(raw) => Some(Arc::new(secret(Some(raw), "admin", &base, &err)?.1)),
        };
        let tls = raw.server.tls.map(|t| TlsConfig {
            cert: base.join(t.cert),
            key: base.join(t.key),
        });
        let max_wasm_stack = match raw.runtime.max_wasm_stack_kb {
            None => EngineSettings::default().max_wasm_stack,
            Some(kb) if (64..=1024).contains(&kb) => (kb as usize) << 10,
            Some(kb) => {
                return Err(err(
                    "runtime.max_wasm_stack_kb",
                    format!("{kb} is out of range 64..=1024"),
                ))
            }
        };
        let max_instances = match raw.runtime.max_instances {
            None => MAX_INSTANCES,
            Some(n) if (1..=MAX_INSTANCES).contains(&n) => n,
            Some(n) => {
                return Err(err(
                    "runtime.max_instances",
                    format!("{n} is out of range 1..={MAX_INSTANCES}"),
                ))
            }
        };
        let warm_slots = match raw.runtime.warm_slots {
            None => WARM_SLOTS,
            Some(n) if n <= MAX_WARM_SLOTS => n,
            Some(n) => {
                return Err(err(
                    "runtime.warm_slots",
                    format!("{n} is out of range 0..={MAX_WARM_SLOTS}"),
                ))
            }
        };
        Ok(Config {
            path: path.to_path_buf(),
            max_wasm_stack,
            max_instances,
            warm_slots,
            server: ServerConfig {
                listen,
                max_body_bytes: raw.server.max_body_bytes,
                cache_dir: match (raw.server.compile_cache, raw.server.cache_dir) {
                    (false, _) => None,
                    (true, Some(dir)) => Some(base.join(dir)),
                    (true, None) => crate::cache::default_dir(),
                },
                watch: raw.server.watch,
                shutdown_grace: Duration::from_millis(raw.server.shutdown_grace_ms),
                tls,
                connections,
                body_timeout,
            },
            bots,
            extensions,
            unavailable_secrets,
            admin_token,
            capabilities,
        })
    }
}

impl Config {
    /// The entries of one kind, by name.
    pub fn section(&self, kind: Kind) -> &BTreeMap<PluginName, PluginConfig> {
        match kind {
            Kind::Bot => &self.bots,
            Kind::Extension => &self.extensions,
        }
    }

    /// Every plugin entry, bots first.
    pub fn entries(&self) -> impl Iterator<Item = (Kind, &PluginName, &PluginConfig)> + Clone {
        Kind::ALL
            .into_iter()
            .flat_map(move |kind| self.section(kind).iter().map(move |(n, p)| (kind, n, p)))
    }

    /// Every plugin's grants, for the capabilities to open what they need.
    pub fn grants(&self) -> impl Iterator<Item = &Grants> + Clone {
        self.entries().map(|(_, _, p)| &*p.grants)
    }
}

/// Reads the secret of the entry at `key` (`bots.hello`).
fn secret(
    raw: Option<toml::Value>,
    key: &str,
    base: &Path,
    err: &dyn Fn(&str, String) -> ConfigError,
) -> Result<(SecretSource, Secret), ConfigError> {
    // `admin` has a `token`, plugins a `secret`.
    let secret_key = if key == "admin" {
        "admin.token".to_string()
    } else {
        format!("{key}.secret")
    };
    let source: SecretSource = raw
        .ok_or_else(|| {
            err(
                &secret_key,
                format!("missing: every call is verified with it. {SECRET_FORMS}"),
            )
        })?
        .try_into()
        .map_err(|_| err(&secret_key, format!("not a secret source. {SECRET_FORMS}")))?;
    let secret = source
        .resolve(base)
        .map_err(|e| err(&secret_key, e.to_string()))?;
    Ok((source, secret))
}

/// Reads just the secret of the bot (or else extension) `name` in the config at `path`,
/// for tools that sign a body: the other plugins' secrets need not be available.
pub fn load_secret(path: &Path, name: &str) -> Result<Secret, ConfigError> {
    let err = |key: &str, problem: String| ConfigError {
        file: path.to_path_buf(),
        key: key.to_string(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err("(file)", e.to_string()))?;
    let mut raw: RawConfig =
        toml::from_str(&text).map_err(|e| err("(syntax)", e.message().to_string()))?;
    let (key, entry) = match (raw.bots.remove(name), raw.extensions.remove(name)) {
        (Some(entry), _) => (format!("bots.{name}"), entry),
        (None, Some(entry)) => (format!("extensions.{name}"), entry),
        (None, None) => return Err(err(name, "no bot or extension of that name".into())),
    };
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Ok(secret(entry.secret, &key, base, &err)?.1)
}

fn limits(
    raw: &RawLimits,
    inherit: &Limits,
    key: &str,
    err: &dyn Fn(&str, String) -> ConfigError,
) -> Result<Limits, ConfigError> {
    let mut limits = inherit.clone();
    if let Some(ms) = raw.timeout_ms {
        if ms == 0 || ms > MAX_TIMEOUT_MS {
            return Err(err(
                &format!("{key}.timeout_ms"),
                format!("{ms} is out of range 1..={MAX_TIMEOUT_MS} (Pyrus waits 60 s at most)"),
            ));
        }
        limits.timeout = Duration::from_millis(ms);
    }
    if let Some(mb) = raw.memory_mb {
        if mb == 0 || mb > MAX_MEMORY_MB {
            return Err(err(
                &format!("{key}.memory_mb"),
                format!("{mb} is out of range 1..={MAX_MEMORY_MB}"),
            ));
        }
        limits.memory_bytes = (mb as usize) << 20;
    }
    if let Some(n) = raw.max_concurrency {
        if n == 0 || n > MAX_INSTANCES {
            return Err(err(
                &format!("{key}.max_concurrency"),
                format!("{n} is out of range 1..={MAX_INSTANCES}"),
            ));
        }
        limits.max_concurrency = n;
    }
    if let Some(kb) = raw.max_reply_kb {
        if kb == 0 || kb > MAX_REPLY_KB {
            return Err(err(
                &format!("{key}.max_reply_kb"),
                format!("{kb} is out of range 1..={MAX_REPLY_KB}"),
            ));
        }
        limits.max_reply_bytes = (kb as usize) << 10;
    }
    if let Some(fuel) = raw.fuel {
        if fuel == 0 {
            return Err(err(&format!("{key}.fuel"), "must be greater than 0".into()));
        }
        limits.fuel = Some(fuel);
    }
    Ok(limits)
}

fn dedup(
    raw: &RawDelivery,
    inherit: DedupPolicy,
    key: &str,
    err: &dyn Fn(&str, String) -> ConfigError,
) -> Result<DedupPolicy, ConfigError> {
    match raw.dedup_window_s {
        None => Ok(inherit),
        Some(s) if s <= MAX_WINDOW_S => Ok(DedupPolicy {
            window: Duration::from_secs(s),
        }),
        Some(s) => Err(err(
            &format!("{key}.dedup_window_s"),
            format!("{s} is out of range 0..={MAX_WINDOW_S} (0 turns de-duplication off)"),
        )),
    }
}

impl RawDelivery {
    /// The first key set that only bots take.
    fn bot_key(&self) -> Option<&'static str> {
        [
            ("dedup_window_s", self.dedup_window_s.is_some()),
            ("mode", self.mode.is_some()),
            ("async_timeout_ms", self.async_timeout_ms.is_some()),
            ("pyrus_api_bases", self.pyrus_api_bases.is_some()),
            ("pyrus_login", self.pyrus_login.is_some()),
            ("pyrus_security_key", self.pyrus_security_key.is_some()),
            ("post_attempts", self.post_attempts.is_some()),
            ("post_backoff_ms", self.post_backoff_ms.is_some()),
        ]
        .into_iter()
        .find_map(|(key, set)| set.then_some(key))
    }
}

/// The longest an async job's plugin run may take: 10 minutes.
pub const MAX_ASYNC_TIMEOUT_MS: u64 = 600_000;

/// A bot's `mode` and, for async bots, how its jobs run and post; `[defaults]` behind it.
fn mode(
    raw: &RawDelivery,
    defaults: &RawDelivery,
    key: &str,
    base: &Path,
    err: &dyn Fn(&str, String) -> ConfigError,
) -> Result<Mode, ConfigError> {
    let mode = raw.mode.as_deref().or(defaults.mode.as_deref());
    let asynchronous = match mode {
        None | Some("sync") => false,
        Some("async") => true,
        Some(other) => {
            return Err(err(
                &format!("{key}.mode"),
                format!("{other:?}: one of \"sync\" (default), \"async\""),
            ))
        }
    };
    let mut policy = AsyncPolicy::default();
    if let Some(ms) = raw.async_timeout_ms.or(defaults.async_timeout_ms) {
        if ms == 0 || ms > MAX_ASYNC_TIMEOUT_MS {
            return Err(err(
                &format!("{key}.async_timeout_ms"),
                format!("{ms} is out of range 1..={MAX_ASYNC_TIMEOUT_MS}"),
            ));
        }
        policy.timeout = Duration::from_millis(ms);
    }
    if let Some(bases) = raw
        .pyrus_api_bases
        .as_ref()
        .or(defaults.pyrus_api_bases.as_ref())
    {
        let bad = bases.iter().find(|b| {
            !(b.starts_with("https://") || b.starts_with("http://"))
                || b.parse::<axum::http::Uri>().is_err()
        });
        if bases.is_empty() || bad.is_some() {
            return Err(err(
                &format!("{key}.pyrus_api_bases"),
                "a list of API base URLs such as \"https://api.pyrus.com/v4/\"".into(),
            ));
        }
        policy.api_bases = bases
            .iter()
            .map(|b| format!("{}/", b.trim_end_matches('/')))
            .collect();
    }
    if let Some(n) = raw.post_attempts.or(defaults.post_attempts) {
        if !(1..=100).contains(&n) {
            return Err(err(
                &format!("{key}.post_attempts"),
                format!("{n} is out of range 1..=100"),
            ));
        }
        policy.attempts = n;
    }
    if let Some(ms) = raw.post_backoff_ms.or(defaults.post_backoff_ms) {
        if !(10..=600_000).contains(&ms) {
            return Err(err(
                &format!("{key}.post_backoff_ms"),
                format!("{ms} is out of range 10..=600000"),
            ));
        }
        policy.backoff = Duration::from_millis(ms);
    }
    policy.credentials = match (&raw.pyrus_login, &raw.pyrus_security_key) {
        (None, None) => None,
        (Some(login), Some(source)) => {
            let source: SecretSource = source.clone().try_into().map_err(|_| {
                err(
                    &format!("{key}.pyrus_security_key"),
                    format!("not a secret source. {SECRET_FORMS}"),
                )
            })?;
            let security_key = source
                .resolve(base)
                .map_err(|e| err(&format!("{key}.pyrus_security_key"), e.to_string()))?;
            Some(Credentials {
                login: login.clone(),
                security_key: Arc::new(security_key),
            })
        }
        (Some(_), None) => {
            return Err(err(
                &format!("{key}.pyrus_security_key"),
                "missing: pyrus_login needs it".into(),
            ))
        }
        (None, Some(_)) => {
            return Err(err(
                &format!("{key}.pyrus_login"),
                "missing: pyrus_security_key needs it".into(),
            ))
        }
    };
    Ok(match asynchronous {
        true => Mode::Async(Arc::new(policy)),
        false => Mode::Sync,
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/etc/pyrus/host.toml"), text)
    }

    #[test]
    fn full_config_with_defaults_and_overrides() {
        std::env::set_var("PYRUS_CFG_TEST_SECRET", "s3cret");
        let c = parse(
            r#"
            [server]
            listen = "0.0.0.0:9000"
            [defaults]
            timeout_ms = 5000
            [bots.hello]
            plugin = "plugins/hello.wasm"
            secret = { env = "PYRUS_CFG_TEST_SECRET" }
            settings = "x"
            memory_mb = 16
            [bots.other]
            plugin = "/abs/other.wasm"
            secret = { env = "PYRUS_CFG_TEST_SECRET" }
            "#,
        )
        .unwrap();
        assert_eq!(c.server.listen.port(), 9000);
        assert_eq!(c.server.max_body_bytes, 16 << 20);
        let hello = &c.bots[&PluginName::new("hello").unwrap()];
        assert_eq!(hello.plugin, Path::new("/etc/pyrus/plugins/hello.wasm"));
        assert_eq!(hello.limits.timeout, Duration::from_millis(5000));
        assert_eq!(hello.limits.memory_bytes, 16 << 20);
        assert_eq!(hello.settings.as_deref(), Some("x"));
        let other = &c.bots[&PluginName::new("other").unwrap()];
        assert_eq!(other.plugin, Path::new("/abs/other.wasm"));
        assert_eq!(other.limits.memory_bytes, Limits::default().memory_bytes);
    }

    #[test]
    fn errors_name_the_key() {
        std::env::set_var("PYRUS_CFG_TEST_SECRET", "s3cret");
        let cases = [
            ("[bots.a]\nplugin = \"a.wasm\"\n", "bots.a.secret"),
            (
                "[bots.a]\nplugin = \"a.wasm\"\nsecret = { env = \"PYRUS_CFG_TEST_UNSET\" }\n",
                "bots.a.secret",
            ),
            ("[server]\nlisten = \"nowhere\"\n", "server.listen"),
            ("[defaults]\ntimeout_ms = 0\n", "defaults.timeout_ms"),
            (
                "[defaults]\nmax_concurrency = 0\n",
                "defaults.max_concurrency",
            ),
            ("[defaults]\nfuel = 0\n", "defaults.fuel"),
            (
                "[defaults]\ndedup_window_s = 86401\n",
                "defaults.dedup_window_s",
            ),
            ("[defaults]\nmode = \"later\"\n", "defaults.mode"),
            ("[defaults]\npyrus_login = \"bot@x\"\n", "defaults.pyrus_login"),
            (
                "[defaults]\npyrus_api_bases = [\"ftp://x\"]\n",
                "defaults.pyrus_api_bases",
            ),
            (
                "[bots.a]\nplugin = \"a.wasm\"\nsecret = { env = \"PYRUS_CFG_TEST_SECRET\" }\nmode = \"async\"\npyrus_login = \"bot@x\"\n",
                "bots.a.pyrus_security_key",
            ),
            (
                "[bots.a]\nplugin = \"a.wasm\"\nsecret = { env = \"PYRUS_CFG_TEST_SECRET\" }\nmode = \"async\"\nasync_timeout_ms = 0\n",
                "bots.a.async_timeout_ms",
            ),
            (
                "[extensions.a]\nplugin = \"a.wasm\"\nsecret = { env = \"PYRUS_CFG_TEST_SECRET\" }\nmode = \"async\"\n",
                "extensions.a.mode",
            ),
            (
                "[extensions.a]\nplugin = \"a.wasm\"\nsecret = { env = \"PYRUS_CFG_TEST_SECRET\" }\ndedup_window_s = 5\n",
                "extensions.a.dedup_window_s",
            ),
            (
                "[runtime]\nmax_wasm_stack_kb = 8\n",
                "runtime.max_wasm_stack_kb",
            ),
            ("[runtime]\nmax_instances = 0\n", "runtime.max_instances"),
            ("[runtime]\nmax_instances = 5000\n", "runtime.max_instances"),
            ("[runtime]\nwarm_slots = 2001\n", "runtime.warm_slots"),
            (
                "[bots.\"a/b\"]\nplugin = \"a.wasm\"\nsecret = { env = \"X\" }\n",
                "bots.a/b",
            ),
            ("[server]\nlisen = \"x\"\n", "(syntax)"),
        ];
        for (text, key) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(e.key, key, "{text}: {e}");
            assert!(e.to_string().starts_with("/etc/pyrus/host.toml: "), "{e}");
        }
    }

    #[test]
    fn capability_keys_are_read_by_their_capability_and_the_rest_refused() {
        std::env::set_var("PYRUS_CFG_CAP_SECRET", "s3cret");
        let c = parse(
            r#"
            [defaults]
            max_log_messages = 7
            timeout_ms = 900
            [store]
            path = "state.redb"
            max_key_bytes = 64
            [bots.a]
            plugin = "a.wasm"
            secret = { env = "PYRUS_CFG_CAP_SECRET" }
            key_value_stores = ["default"]
            variables = { login = "bob", token = { env = "PYRUS_CFG_CAP_SECRET" } }
            allowed_outbound_hosts = ["https://api.pyrus.com"]
            max_output_kb = 1
            "#,
        )
        .unwrap();
        let a = &c.bots[&PluginName::new("a").unwrap()];
        assert_eq!(a.limits.timeout, Duration::from_millis(900));
        assert_eq!(a.grants.log, 7);
        assert_eq!(a.grants.stdio, 1024);
        assert_eq!(a.grants.keyvalue.stores(), ["default"]);
        assert_eq!(a.grants.variables["token"].expose(), b"s3cret");
        assert_eq!(
            a.grants.describe(),
            [
                "stores default",
                "variables login, token",
                "outbound to 1 hosts"
            ]
        );
        assert_eq!(c.capabilities.keyvalue.limits.max_key_bytes, 64);

        let cases = [
            ("[bots.a]\nplugin = \"a.wasm\"\nsecret = { env = \"PYRUS_CFG_CAP_SECRET\" }\nkey_value_store = [\"x\"]\n", "bots.a.key_value_store"),
            ("[defaults]\nvariables = { a = \"b\" }\n", "defaults.variables"),
            ("[stores]\npath = \"x\"\n", "stores"),
            ("[store]\nmax_key_bytes = 0\n", "store.max_key_bytes"),
            ("[defaults]\nmax_log_messages = 100001\n", "defaults.max_log_messages"),
            ("[bots.a]\nplugin = \"a.wasm\"\nsecret = { env = \"PYRUS_CFG_CAP_SECRET\" }\nallowed_outbound_hosts = [\"ftp://x\"]\n", "bots.a.allowed_outbound_hosts"),
            ("[bots.a]\nplugin = \"a.wasm\"\nsecret = { env = \"PYRUS_CFG_CAP_SECRET\" }\nvariables = { v = 3 }\n", "bots.a.variables.v"),
        ];
        for (text, key) in cases {
            let e = parse(text).expect_err(text);
            assert_eq!(e.key, key, "{text}: {e}");
        }
    }

    #[test]
    fn a_tls_redis_url_is_refused_at_load() {
        let e = parse("[store]\nbackend = \"redis\"\nurl = \"rediss://10.0.0.5:6380/0\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("store.url") && e.contains("not built into this host"),
            "{e}"
        );
    }

    #[test]
    fn the_redis_url_may_come_from_the_environment_and_never_shows_its_password() {
        std::env::set_var("PYRUS_CFG_REDIS_URL", "redis://:hunter2@10.0.0.5:6379/1");
        let c = parse("[store]\nbackend = \"redis\"\nurl = { env = \"PYRUS_CFG_REDIS_URL\" }\n")
            .unwrap();
        let shown = format!("{c:?}");
        assert!(
            shown.contains("10.0.0.5:6379") && !shown.contains("hunter2"),
            "{shown}"
        );
        let e = parse("[store]\nbackend = \"redis\"\nurl = { env = \"PYRUS_CFG_UNSET_URL\" }\n")
            .unwrap_err();
        assert_eq!(e.key, "store.url");
    }

    #[test]
    fn async_bots_read_their_policy_and_the_security_key_never_shows() {
        std::env::set_var("PYRUS_CFG_BOT_KEY", "bot-key-value");
        std::env::set_var("PYRUS_CFG_TEST_SECRET", "s3cret");
        let c = parse(
            r#"
            [defaults]
            dedup_window_s = 30
            pyrus_api_bases = ["http://127.0.0.1:9/v4"]
            [bots.a]
            plugin = "a.wasm"
            secret = { env = "PYRUS_CFG_TEST_SECRET" }
            mode = "async"
            async_timeout_ms = 120000
            pyrus_login = "bot@x"
            pyrus_security_key = { env = "PYRUS_CFG_BOT_KEY" }
            [bots.b]
            plugin = "a.wasm"
            secret = { env = "PYRUS_CFG_TEST_SECRET" }
            "#,
        )
        .unwrap();
        let a = &c.bots[&PluginName::new("a").unwrap()];
        let Mode::Async(policy) = &a.mode else {
            panic!("bots.a is async")
        };
        assert_eq!(policy.timeout, Duration::from_secs(120));
        assert_eq!(policy.api_bases, ["http://127.0.0.1:9/v4/"]);
        assert_eq!(a.dedup.window, Duration::from_secs(30));
        assert!(policy.base_for(Some("http://127.0.0.1:9/v4/")).is_ok());
        assert!(policy
            .base_for(Some("https://evil.example.com/v4/"))
            .is_err());
        let b = &c.bots[&PluginName::new("b").unwrap()];
        assert!(matches!(b.mode, Mode::Sync));
        assert!(!format!("{c:?}").contains("bot-key-value"));
    }

    #[test]
    fn inline_secret_is_refused() {
        let e = parse("[bots.a]\nplugin = \"a.wasm\"\nsecret = \"plain\"\n").unwrap_err();
        assert_eq!(e.key, "bots.a.secret");
        assert!(e.problem.contains("inline secrets are not accepted"), "{e}");
        assert!(!e.to_string().contains("plain"), "{e}");
    }
}
