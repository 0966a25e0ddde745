// Installed when the plugin uses Store: wasi:keyvalue (store + atomics).
import { open } from "wasi:keyvalue/store@0.2.0-draft";
import { increment } from "wasi:keyvalue/atomics@0.2.0-draft";
import { type KvError, KvFailure, installHost } from "../host.js";
import { payload } from "./payload.js";

function kv<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    const p = payload(e) as KvError | undefined;
    if (p && typeof p.tag === "string") throw new KvFailure(p);
    throw e;
  }
}

installHost({
  openBucket(name) {
    const bucket = kv(() => open(name));
    return {
      get: (key) => kv(() => bucket.get(key) ?? undefined),
      set: (key, value) => kv(() => bucket.set(key, value)),
      delete: (key) => kv(() => bucket.delete(key)),
      exists: (key) => kv(() => bucket.exists(key)),
      // u64 crosses as a number in QuickJS and may come back as a BigInt in StarlingMonkey.
      increment: (key, delta) => Number(kv(() => increment(bucket, key, delta))),
      listKeys: (cursor) => {
        const page = kv(() => bucket.listKeys(cursor));
        return { keys: page.keys, cursor: page.cursor ?? undefined };
      },
    };
  },
});
