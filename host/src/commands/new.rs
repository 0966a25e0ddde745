//! `pyrus-host new bot|extension NAME [--lang rust|python|js]`: scaffold a plugin that builds
//! and tests at once, with its sample body, config and the steps to run it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use pyrus_host::names::PluginName;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Kind {
    Bot,
    Extension,
}

/// The language the plugin is written in.
#[derive(Clone, Copy, Default, clap::ValueEnum)]
pub enum Lang {
    #[default]
    Rust,
    Python,
    /// TypeScript (also `ts`, `typescript`), built with jco (QuickJS).
    #[value(name = "js", alias = "typescript", alias = "ts")]
    Js,
}

#[derive(clap::Args)]
pub struct NewArgs {
    /// What to create.
    #[arg(value_enum)]
    kind: Kind,
    /// The language to write it in.
    #[arg(long, value_enum, default_value_t = Lang::Rust)]
    lang: Lang,
    /// The plugin's name: the crate's name and its name in the config (letters, digits, `-`,
    /// `_`).
    name: String,
    /// The folder to create (default: ./NAME). It must not exist or be empty.
    #[arg(long)]
    path: Option<PathBuf>,
    /// The SDK folder of pyrus-plugin-host (the Rust crate; the Python and TypeScript SDKs
    /// are in its `python` and `js` folders, the build scripts in `../scripts`). Default: the
    /// SDK this host was built with.
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
    let (section, what, sample, test_call, world) = match args.kind {
        Kind::Bot => (
            "bots",
            "bot's secret key",
            (
                "sample-task.json",
                include_str!("templates/sample-task.json"),
            ),
            format!("{name} --body sample-task.json"),
            "bot-plugin",
        ),
        Kind::Extension => (
            "extensions",
            "extension's secret",
            (
                "sample-sendmessage.json",
                include_str!("templates/sample-sendmessage.json"),
            ),
            format!("{name} --method sendmessage --body sample-sendmessage.json"),
            "extension-plugin",
        ),
    };
    let scripts = sdk.parent().map(|p| p.join("scripts")).unwrap_or_default();
    let plugin_path = match args.lang {
        Lang::Rust => format!("target/wasm32-wasip2/release/{wasm}.wasm"),
        // The build scripts name a component after its folder, which --path may choose.
        Lang::Python | Lang::Js => {
            let folder = std::path::absolute(&dir)
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().replace('-', "_")))
                .unwrap_or_else(|| wasm.clone());
            format!("target/{folder}.wasm")
        }
    };
    let root = sdk.parent().unwrap_or(&sdk);
    let kind = match args.kind {
        Kind::Bot => "bot",
        Kind::Extension => "extension",
    };
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{crate}}", name)
            .replace("{{type}}", &type_name(name))
            .replace("{{sdk}}", &toml_string(&sdk))
            .replace("{{sdk_python}}", &toml_string(&sdk.join("python")))
            .replace("{{root}}", &toml_string(root))
            .replace("{{kind}}", kind)
            .replace("{{section}}", section)
            .replace("{{wasm}}", &wasm)
            .replace("{{plugin_path}}", &plugin_path)
            .replace("{{world}}", world)
            .replace("{{env}}", &env)
            .replace("{{what}}", what)
    };

    let mut files = vec![
        (sample.0, sample.1.to_string()),
        (
            "pyrus-host.toml",
            fill(include_str!("templates/config.toml.tmpl")),
        ),
    ];
    let (test, build) = match args.lang {
        Lang::Rust => {
            let source = match args.kind {
                Kind::Bot => include_str!("templates/bot.rs.tmpl"),
                Kind::Extension => include_str!("templates/extension.rs.tmpl"),
            };
            files.extend([
                (
                    "Cargo.toml",
                    fill(include_str!("templates/Cargo.toml.tmpl")),
                ),
                ("src/lib.rs", fill(source)),
                (
                    ".gitignore",
                    include_str!("templates/gitignore.tmpl").to_string(),
                ),
                (
                    ".cargo/config.toml",
                    // The repository's own: the example plugins are built with the same settings.
                    include_str!("../../../.cargo/config.toml").to_string(),
                ),
            ]);
            (
                "cargo test".to_string(),
                "cargo build --release --target wasm32-wasip2".to_string(),
            )
        }
        Lang::Python => {
            let scripts = find_scripts(&scripts, "build-python-plugins", "Python")?;
            let (source, test) = match args.kind {
                Kind::Bot => (
                    include_str!("templates/python/bot.py.tmpl"),
                    include_str!("templates/python/test_bot.py.tmpl"),
                ),
                Kind::Extension => (
                    include_str!("templates/python/extension.py.tmpl"),
                    include_str!("templates/python/test_extension.py.tmpl"),
                ),
            };
            files.extend([
                ("app.py", fill(source)),
                ("tests/test_app.py", fill(test)),
                (
                    "pyproject.toml",
                    fill(include_str!("templates/python/pyproject.toml.tmpl")),
                ),
                (
                    "conftest.py",
                    fill(include_str!("templates/python/conftest.py.tmpl")),
                ),
                (
                    ".gitignore",
                    include_str!("templates/python/gitignore.tmpl").to_string(),
                ),
            ]);
            steps(&scripts, "test-python", "build-python-plugins")
        }
        Lang::Js => {
            let scripts = find_scripts(&scripts, "build-js-plugins", "TypeScript")?;
            let (source, test_file, test) = match args.kind {
                Kind::Bot => (
                    include_str!("templates/js/bot.ts.tmpl"),
                    "test/bot.test.ts",
                    include_str!("templates/js/bot.test.ts.tmpl"),
                ),
                Kind::Extension => (
                    include_str!("templates/js/extension.ts.tmpl"),
                    "test/extension.test.ts",
                    include_str!("templates/js/extension.test.ts.tmpl"),
                ),
            };
            files.extend([
                ("src/index.ts", fill(source)),
                (test_file, fill(test)),
                (
                    "package.json",
                    fill(include_str!("templates/js/package.json.tmpl")),
                ),
                (
                    "tsconfig.json",
                    fill(include_str!("templates/js/tsconfig.json.tmpl")),
                ),
                (
                    ".gitignore",
                    include_str!("templates/js/gitignore.tmpl").to_string(),
                ),
            ]);
            steps(&scripts, "test-js", "build-js-plugins")
        }
    };
    for (file, text) in files {
        let path = dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }

    let host = host_command();
    println!("Created {kind} {name} in {}. Next:", dir.display());
    println!("  cd {}", shell_word(&dir.display().to_string()));
    println!("  {test}");
    println!("  {build}");
    println!("  {host} call --config pyrus-host.toml {test_call}");
    println!("  {env}=change-me {host} serve --config pyrus-host.toml");
    Ok(ExitCode::SUCCESS)
}

/// The repository's `scripts` folder, if it has `build_script` (the build of `lang` plugins).
fn find_scripts(scripts: &Path, build_script: &str, lang: &str) -> anyhow::Result<PathBuf> {
    scripts
        .canonicalize()
        .ok()
        .filter(|s| s.join(build_script).is_file())
        .with_context(|| {
            format!(
                "the {lang} build scripts are not at {}: pass --sdk PATH/TO/pyrus-plugin-host/sdk",
                scripts.display()
            )
        })
}

/// The test and build steps of a plugin built by the repository's scripts (Python, JS):
/// `SCRIPTS/TEST .` and `SCRIPTS/BUILD --out-dir target .`, run from the plugin's folder.
fn steps(scripts: &Path, test: &str, build: &str) -> (String, String) {
    let script = |s: &str| shell_word(&scripts.join(s).display().to_string());
    (
        format!("{} .", script(test)),
        format!("{} --out-dir target .", script(build)),
    )
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
