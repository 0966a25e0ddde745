# Sourced by scripts/build-js-plugins and scripts/test-js: installs the pinned JS toolchain
# (jco, TypeScript, esbuild, @types/node) into target/toolchains/js, once per lockfile.
# Needs only Node >= 20 and npm on PATH. Sets JS_TOOLCHAIN to the install folder.

js_toolchain_ensure() {
    local root; root="$(pwd)"
    local src="$root/scripts/js-toolchain"
    JS_TOOLCHAIN="$root/target/toolchains/js"
    # shellcheck source=../toolchains.env
    . "$root/scripts/toolchains.env"
    command -v node >/dev/null || { echo "error: node (>= 20) is not on PATH" >&2; return 1; }
    command -v npm >/dev/null || { echo "error: npm is not on PATH" >&2; return 1; }
    local major; major="$(node -p 'process.versions.node.split(".")[0]')"
    if [ "$major" -lt 20 ]; then echo "error: Node $major found; Node >= 20 is needed" >&2; return 1; fi
    # toolchains.env is the one place versions live; package.json (which npm needs) must agree.
    node - "$src/package.json" "$JCO_VERSION" "$PREVIEW2_SHIM_VERSION" "$TYPESCRIPT_VERSION" \
        "$ESBUILD_VERSION" "$TYPES_NODE_VERSION" <<'JS' || return 1
const [file, jco, shim, ts, esbuild, typesNode] = process.argv.slice(2);
const p = JSON.parse(require("fs").readFileSync(file, "utf8"));
const want = { "@bytecodealliance/jco": jco, typescript: ts, esbuild, "@types/node": typesNode };
const bad = Object.entries(want).filter(([k, v]) => p.devDependencies[k] !== v)
  .map(([k, v]) => `${k}: package.json has ${p.devDependencies[k]}, toolchains.env says ${v}`);
if (p.overrides["@bytecodealliance/preview2-shim"] !== shim)
  bad.push(`@bytecodealliance/preview2-shim: package.json overrides ${p.overrides["@bytecodealliance/preview2-shim"]}, toolchains.env says ${shim}`);
if (bad.length) {
  console.error("error: scripts/js-toolchain/package.json disagrees with scripts/toolchains.env:\n  " + bad.join("\n  ") +
    "\nEdit both, then refresh the lock: (cd scripts/js-toolchain && npm install --package-lock-only --ignore-scripts)");
  process.exit(1);
}
JS
    if [ -x "$JS_TOOLCHAIN/node_modules/.bin/jco" ] && cmp -s "$src/package-lock.json" "$JS_TOOLCHAIN/package-lock.json"; then
        return 0
    fi
    echo "==> installing the JS toolchain (jco $JCO_VERSION, typescript $TYPESCRIPT_VERSION, esbuild $ESBUILD_VERSION) into target/toolchains/js"
    mkdir -p "$JS_TOOLCHAIN"
    cp "$src/package.json" "$src/package-lock.json" "$JS_TOOLCHAIN/"
    # No install scripts: esbuild's only checks its binary, and nothing else has any.
    (cd "$JS_TOOLCHAIN" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || {
        rm -f "$JS_TOOLCHAIN/package-lock.json"   # so that the next run retries
        return 1
    }
}
