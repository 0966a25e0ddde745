// Builds plugins/*-js (or the DIRs given) into components: type-check (tsc --noEmit), bundle
// the plugin and the SDK into one ES module (esbuild), then `jco componentize` (QuickJS by
// default, or StarlingMonkey), into plugins/target/wasm32-wasip2/release or --out-dir DIR.
// Run through scripts/build-js-plugins, which installs the toolchain first.
//
//   node scripts/js-toolchain/build.mjs [--engine quickjs|starlingmonkey] [--force] [--out-dir DIR] [DIR...]
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const toolchain = join(root, "target/toolchains/js");
const bin = (name) => join(toolchain, "node_modules/.bin", name);
const { build } = await import(join(toolchain, "node_modules/esbuild/lib/main.js"));
const sdk = join(root, "sdk/js");
const work = join(root, "target/js-build");

const WORLDS = {
  "bot-plugin": ["bot"],
  "extension-plugin": ["extension"],
  "extension-inbound-plugin": ["extension", "inbound"],
};
// The SDK modules that call a capability, and the binding that installs it in the component.
const CAPABILITIES = { "store.ts": "store", "variables.ts": "config", "http.ts": "http" };

function usage(message) {
  if (message) console.error(`error: ${message}`);
  console.error("usage: scripts/build-js-plugins [--engine quickjs|starlingmonkey] [--force] [--out-dir DIR] [DIR...]");
  process.exit(2);
}

let engine = "quickjs";
let force = false;
let outDir = join(root, "plugins/target/wasm32-wasip2/release");
const dirs = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--engine") {
    engine = { quickjs: "quickjs", qjs: "quickjs", starlingmonkey: "starlingmonkey", sm: "starlingmonkey" }[args[++i]];
    if (!engine) usage("--engine takes quickjs or starlingmonkey");
  } else if (a === "--out-dir") {
    if (i + 1 >= args.length) usage("--out-dir takes a folder");
    outDir = resolve(args[++i]);
  } else if (a === "--force") force = true;
  else if (a === "-h" || a === "--help") usage();
  else if (a.startsWith("-")) usage(`unknown option ${a}`);
  else dirs.push(resolve(a));
}
if (dirs.length === 0) {
  for (const d of readdirSync(join(root, "plugins")).sort()) {
    if (d.endsWith("-js") && existsSync(join(root, "plugins", d, "package.json"))) dirs.push(join(root, "plugins", d));
  }
}

/** The newest modification time under `path` (files only; node_modules, dist and target skipped). */
function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let t = 0;
  for (const e of readdirSync(path)) {
    if (e === "node_modules" || e === "dist" || e === "target") continue;
    t = Math.max(t, newest(join(path, e)));
  }
  return t;
}

/** `path` relative to the repository when it is inside, else absolute. */
function shown(path) {
  const r = relative(root, path);
  return r.startsWith("..") || isAbsolute(r) ? path : r;
}

function run(cmd, argv, what, cwd = root) {
  const r = spawnSync(cmd, argv, { cwd, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (r.status !== 0) {
    process.stderr.write(r.stdout + r.stderr);
    throw new Error(`${what} failed`);
  }
  return r.stdout;
}

// The world's capability imports, by the SDK binding that uses them.
const IMPORTS = {
  store: [/^\s*import wasi:keyvalue\/(store|atomics|batch)@[^;]+;\s*$/gm],
  config: [/^\s*import wasi:config\/store@[^;]+;\s*$/gm],
  http: [/^\s*import wasi:http\/outgoing-handler@[^;]+;\s*$/gm],
};

/**
 * A copy of wit/ whose `capabilities` world imports only what the plugin uses (`used`): jco
 * makes the component import every interface of the world, and, like the Rust SDK's
 * components, these should import only what they call.
 */
function stageWit(used) {
  const keep = Object.keys(IMPORTS).filter((c) => used.has(c)).sort();
  const dir = join(work, `wit-${keep.join("-") || "log"}`);
  rmSync(dir, { recursive: true, force: true });
  cpSync(join(root, "wit"), dir, { recursive: true });
  const file = join(dir, "plugin.wit");
  let text = readFileSync(file, "utf8");
  for (const [cap, patterns] of Object.entries(IMPORTS)) {
    if (used.has(cap)) continue;
    for (const re of patterns) {
      re.lastIndex = 0;
      if (!re.test(text)) throw new Error(`wit/plugin.wit: the ${cap} imports moved; update IMPORTS in scripts/js-toolchain/build.mjs`);
      text = text.replace(re, "");
    }
  }
  writeFileSync(file, text);
  return dir;
}

const alias = {
  "pyrus-plugin-sdk/testing": join(sdk, "src/testing.ts"),
  "pyrus-plugin-sdk": join(sdk, "src/index.ts"),
};
const bundleOptions = {
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  alias,
  // The WIT interfaces are imported by the component, not bundled.
  external: ["pyrus:*", "wasi:*"],
  metafile: true,
  logLevel: "silent",
  legalComments: "none",
};

let failures = 0;
const jcoVersion = JSON.parse(readFileSync(join(toolchain, "node_modules/@bytecodealliance/jco/package.json"), "utf8")).version;
const toolStamp = Math.max(newest(join(root, "wit")), newest(join(sdk, "src")), newest(join(sdk, "package.json")),
  statSync(fileURLToPath(import.meta.url)).mtimeMs, statSync(join(toolchain, "package-lock.json")).mtimeMs);

for (const dir of dirs) {
  const name = basename(dir);
  const t0 = Date.now();
  try {
    const pkgFile = join(dir, "package.json");
    if (!existsSync(pkgFile)) throw new Error(`${shown(dir)} has no package.json`);
    const pkg = JSON.parse(readFileSync(pkgFile, "utf8"));
    const world = pkg.pyrus?.world;
    if (!WORLDS[world]) {
      throw new Error(`${name}/package.json: "pyrus": {"world": ...} must be one of ${Object.keys(WORLDS).join(", ")}`);
    }
    const entry = ["src/index.ts", "src/index.js"].map((f) => join(dir, f)).find(existsSync);
    if (!entry) throw new Error(`${name} has no src/index.ts`);
    const stem = name.replace(/-/g, "_");
    const out = join(outDir, `${stem}${engine === "starlingmonkey" ? "_sm" : ""}.wasm`);
    const sources = Math.max(newest(dir), toolStamp);
    if (!force && existsSync(out) && statSync(out).mtimeMs > sources) {
      console.log(`${name}: up to date (${shown(out)})`);
      continue;
    }

    // 1. Type-check the plugin (its tests too) against the SDK's sources.
    if (existsSync(join(dir, "tsconfig.json"))) {
      console.log(`${name}: type-checking (tsc --noEmit)`);
      // From the plugin's folder when it is outside the repository, so that errors name its files plainly.
      run(bin("tsc"), ["-p", join(dir, "tsconfig.json"), "--noEmit"], `${name}: tsc`, shown(dir) === dir ? dir : root);
    }

    // 2. Which capabilities does the plugin use? Bundle once and see which SDK modules keep
    //    code in the output (the SDK is side-effect free, so unused ones are dropped).
    const probe = await build({ ...bundleOptions, entryPoints: [entry], write: false, outfile: "probe.js" });
    const [probeOut] = Object.values(probe.metafile.outputs);
    const exported = new Set(probeOut.exports);
    const missing = WORLDS[world].filter((e) => !exported.has(e));
    if (missing.length) {
      throw new Error(`${name}: world ${world} needs the entry module to export ${missing.map((m) => `\`${m}\``).join(" and ")} ` +
        `(e.g. export const ${missing[0]} = ${missing[0] === "bot" ? "exportBot(handler)" : missing[0] === "inbound" ? "exportInbound(ext)" : "exportExtension(ext)"})`);
    }
    const used = new Set(["log"]);
    for (const [input, info] of Object.entries(probeOut.inputs)) {
      const abs = resolve(root, input);
      const cap = CAPABILITIES[basename(abs)];
      if (cap && dirname(abs) === join(sdk, "src") && info.bytesInOutput > 0) used.add(cap);
    }

    // QuickJS (componentize-qjs 0.4.5, from jco 1.35.0) cannot link a world that imports
    // wasi:http ("mismatched resource types" for wasi:http/types at snapshot time), so a
    // QuickJS build leaves the import out, and a plugin that sends HTTP is built with
    // StarlingMonkey instead.
    let buildEngine = engine;
    if (engine === "quickjs" && used.has("http")) {
      buildEngine = "starlingmonkey";
      console.log(`${name}: uses outbound HTTP, which QuickJS components cannot import with jco ${jcoVersion}: building with StarlingMonkey (give it memory_mb >= 10)`);
    }

    // 3. The final bundle: the bindings of the capabilities used, then the plugin.
    const buildDir = join(work, name);
    mkdirSync(buildDir, { recursive: true });
    const wrapper = join(buildDir, "entry.ts");
    const rel = (p) => JSON.stringify(relative(buildDir, p).replace(/\\/g, "/"));
    writeFileSync(wrapper,
      "// Generated by scripts/js-toolchain/build.mjs: the capabilities the plugin uses, then the plugin.\n" +
      [...used].sort().map((c) => `import ${rel(join(sdk, "src/wasi", `${c}.ts`))};\n`).join("") +
      `export * from ${rel(entry)};\n`);
    const bundleFile = join(buildDir, `${stem}.js`);
    await build({ ...bundleOptions, entryPoints: [wrapper], outfile: bundleFile, write: true });
    const capabilities = [...used].sort().join(", ");
    console.log(`${name}: bundled ${relative(root, bundleFile)} (${(statSync(bundleFile).size / 1024).toFixed(1)} KiB; capabilities: ${capabilities})`);

    // 4. The component.
    const wit = stageWit(used);
    const argv = ["componentize", bundleFile, "--wit", wit, "--world-name", world, "-o", out];
    if (buildEngine === "quickjs") argv.push("--backend", "qjs", "--backend-qjs-disable-async");
    mkdirSync(outDir, { recursive: true });
    const t1 = Date.now();
    console.log(`${name}: jco componentize (${buildEngine}, world ${world})`);
    run(bin("jco"), argv, `${name}: jco componentize`);
    const size = (statSync(out).size / 1024 / 1024).toFixed(1);
    console.log(`${name}: built ${shown(out)} (${size} MB, componentize ${((Date.now() - t1) / 1000).toFixed(1)} s, total ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failures++;
    const message = e instanceof Error ? e.message : String(e);
    console.error(message.startsWith(name) ? message : `${name}: ${message}`);
  }
}
process.exit(failures ? 1 : 0);
