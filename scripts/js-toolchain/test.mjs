// Runs the native tests of the JS SDK (sdk/js/test) and of the JS plugins (plugins/*-js/test),
// or of the plugin DIRs given only: type-checks each package (tsc --noEmit), bundles each
// *.test.ts with the SDK's sources (esbuild; Node 20 cannot run TypeScript itself), then runs
// them with `node --test`. Run through scripts/test-js, which installs the toolchain first.
//
//   node scripts/js-toolchain/test.mjs [DIR...]
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const toolchain = join(root, "target/toolchains/js");
const { build } = await import(join(toolchain, "node_modules/esbuild/lib/main.js"));
const sdk = join(root, "sdk/js");
const out = join(root, "target/js-tests");

const plugin = (dir) => ({ name: basename(dir), dir, tsconfigs: [join(dir, "tsconfig.json")].filter(existsSync) });
const dirs = process.argv.slice(2).map((d) => resolve(d));
const packages = [];
if (dirs.length > 0) {
  for (const dir of dirs) {
    if (!existsSync(join(dir, "package.json"))) {
      console.error(`error: ${dir} has no package.json: not a JS plugin`);
      process.exit(2);
    }
    packages.push(plugin(dir));
  }
} else {
  packages.push({ name: "sdk-js", dir: sdk, tsconfigs: [join(sdk, "tsconfig.json"), join(sdk, "test/tsconfig.json")] });
  for (const d of readdirSync(join(root, "plugins")).sort()) {
    const dir = join(root, "plugins", d);
    if (d.endsWith("-js") && existsSync(join(dir, "package.json"))) packages.push(plugin(dir));
  }
}
/** `path` relative to the repository when it is inside, else absolute. */
function shown(path) {
  const r = relative(root, path);
  return r.startsWith("..") || isAbsolute(r) ? path : r;
}

let failed = false;
for (const p of packages) {
  for (const tsconfig of p.tsconfigs) {
    console.log(`==> tsc --noEmit -p ${shown(tsconfig)}`);
    // From the package's folder when it is outside the repository, so that errors name its files plainly.
    const cwd = shown(p.dir) === p.dir ? p.dir : root;
    const r = spawnSync(join(toolchain, "node_modules/.bin/tsc"), ["-p", tsconfig, "--noEmit"], { stdio: "inherit", cwd });
    if (r.status !== 0) failed = true;
  }
}
if (failed) process.exit(1);

// Only the bundles of the packages tested here: another run may be testing other plugins.
for (const p of packages) rmSync(join(out, p.name), { recursive: true, force: true });
const files = [];
for (const p of packages) {
  const testDir = join(p.dir, "test");
  if (!existsSync(testDir)) continue;
  const tests = readdirSync(testDir).filter((f) => f.endsWith(".test.ts")).map((f) => join(testDir, f));
  for (const t of tests) {
    const outfile = join(out, p.name, basename(t).replace(/\.ts$/, ".mjs"));
    await build({
      entryPoints: [t],
      outfile,
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      sourcemap: "inline",
      alias: {
        "pyrus-plugin-sdk/testing": join(sdk, "src/testing.ts"),
        "pyrus-plugin-sdk": join(sdk, "src/index.ts"),
      },
      logLevel: "warning",
    });
    files.push(outfile);
  }
}
console.log(`==> node --test (${files.length} files)`);
// The SDK's sample test reads the public bodies kept beside the clone (../shared/samples).
const env = { ...process.env, PYRUS_SAMPLES_DIR: process.env.PYRUS_SAMPLES_DIR ?? join(root, "../shared/samples") };
const r = spawnSync(process.execPath, ["--enable-source-maps", "--test", "--test-reporter=spec", ...files], { stdio: "inherit", env });
process.exit(r.status ?? 1);
