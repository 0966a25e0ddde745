//! `pyrus-host new bot|extension NAME`: scaffold a plugin crate that builds and tests at once.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use pyrus_host::names::PluginName;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Kind {
    Bot,
    Extension,
}

#[derive(clap::Args)]
pub struct NewArgs {
    /// What to create.
    #[arg(value_enum)]
    kind: Kind,
    /// The plugin's name: the crate's name and its name in the config (letters, digits, `-`,
    /// `_`).
    name: String,
    /// The folder to create (default: ./NAME). It must not exist or be empty.
    #[arg(long)]
    path: Option<PathBuf>,
    /// The pyrus-plugin-sdk crate to depend on (default: the SDK this host was built with).
    #[arg(long)]
    sdk: Option<PathBuf>,
}

/// The SDK folder of the source tree this binary was built from.
const BUILT_WITH_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sdk");

pub fn new(args: NewArgs) -> anyhow::Result<ExitCode> {
    let name = PluginName::new(args.name.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let name = name.as_str();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        bail!("{name:?}: a crate name must start with a letter");
    }
    let dir = args.path.unwrap_or_else(|| PathBuf::from(name));
    if dir.exists() && dir.read_dir()?.next().is_some() {
        bail!("{} exists and is not empty", dir.display());
    }
    let sdk = args.sdk.unwrap_or_else(|| PathBuf::from(BUILT_WITH_SDK));
    let sdk = std::fs::canonicalize(&sdk)
        .ok()
        .filter(|p| p.join("Cargo.toml").is_file())
        .with_context(|| {
            format!(
                "the SDK is not at {}: pass --sdk PATH/TO/pyrus-plugin-host/sdk",
                sdk.display()
            )
        })?;

    let wasm = name.replace('-', "_");
    let env = format!("{}_SECRET", wasm.to_ascii_uppercase());
    let (section, what, source, sample, test_call) = match args.kind {
        Kind::Bot => (
            "bots",
            "bot's secret key",
            include_str!("templates/bot.rs.tmpl"),
            (
                "sample-task.json",
                include_str!("templates/sample-task.json"),
            ),
            format!("{name} --body sample-task.json"),
        ),
        Kind::Extension => (
            "extensions",
            "extension's secret",
            include_str!("templates/extension.rs.tmpl"),
            (
                "sample-sendmessage.json",
                include_str!("templates/sample-sendmessage.json"),
            ),
            format!("{name} --method sendmessage --body sample-sendmessage.json"),
        ),
    };
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{crate}}", name)
            .replace("{{type}}", &type_name(name))
            .replace("{{sdk}}", &toml_string(&sdk))
            .replace("{{section}}", section)
            .replace("{{wasm}}", &wasm)
            .replace("{{env}}", &env)
            .replace("{{what}}", what)
    };

    for sub in ["src", ".cargo"] {
        std::fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let files = [
        (
            "Cargo.toml",
            fill(include_str!("templates/Cargo.toml.tmpl")),
        ),
        ("src/lib.rs", fill(source)),
        (sample.0, sample.1.to_string()),
        (
            "pyrus-host.toml",
            fill(include_str!("templates/config.toml.tmpl")),
        ),
        (
            ".gitignore",
            include_str!("templates/gitignore.tmpl").to_string(),
        ),
        (
            ".cargo/config.toml",
            // The repository's own: the example plugins are built with the same settings.
            include_str!("../../../.cargo/config.toml").to_string(),
        ),
    ];
    for (file, text) in files {
        let path = dir.join(file);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }

    let host = host_command();
    let kind = match args.kind {
        Kind::Bot => "bot",
        Kind::Extension => "extension",
    };
    println!("Created {kind} {name} in {}. Next:", dir.display());
    println!("  cd {}", shell_word(&dir.display().to_string()));
    println!("  cargo test");
    println!("  cargo build --release --target wasm32-wasip2");
    println!("  {host} call --config pyrus-host.toml {test_call}");
    println!("  {env}=change-me {host} serve --config pyrus-host.toml");
    Ok(ExitCode::SUCCESS)
}

/// How to run this binary from the new folder: its name if PATH finds this very binary,
/// else its absolute path.
fn host_command() -> String {
    let me = std::env::current_exe().and_then(std::fs::canonicalize).ok();
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("pyrus-host"))
            .find(|p| p.is_file())
            .and_then(|p| std::fs::canonicalize(p).ok())
    });
    match me {
        Some(me) if on_path.as_ref() != Some(&me) => shell_word(&me.display().to_string()),
        _ => "pyrus-host".to_string(),
    }
}

/// `my-bot` → `MyBot`.
fn type_name(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            let first = chars.next().unwrap().to_ascii_uppercase();
            std::iter::once(first).chain(chars).collect::<String>()
        })
        .collect()
}

/// A path as a TOML basic string's contents.
fn toml_string(path: &Path) -> String {
    path.display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_word(word: &str) -> String {
    if word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=:@".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::{shell_word, type_name};

    #[test]
    fn names() {
        assert_eq!(type_name("my-bot"), "MyBot");
        assert_eq!(type_name("crm_sync-2"), "CrmSync2");
        assert_eq!(shell_word("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_word("/tmp/ab"), "/tmp/ab");
    }
}
