/**
 * Key-value state that outlives a call (counters, what a bot already did for a task, an
 * extension's account mapping), through `wasi:keyvalue`. The host grants each plugin the
 * stores it may open (`key_value_stores = ["default"]`) and keeps every plugin's keys apart.
 * In native tests a `Map` stands in (`testing.store(name)`).
 *
 * @example
 * ```ts
 * import { Store } from "pyrus-plugin-sdk";
 * const store = Store.open("default");
 * const calls = store.increment(`task:${taskId}`);   // atomic, 1 on the first call
 * store.setJson("last-reply", { approved: true });
 * ```
 * @module
 */
import { type Bucket, type KvError, KvFailure, host } from "./host.js";
import { type IntoPluginError, PluginError } from "./errors.js";
import { decodeUtf8, encodeUtf8 } from "./utf8.js";

/** Why a store operation failed: `access-denied`, `no-such-store`, `other` (the host's text), `json`. */
export type StoreErrorKind = "access-denied" | "no-such-store" | "other" | "json";

/**
 * A store operation failed. Escaping a handler it answers 503 `store_unavailable` when the
 * host cannot reach its backend, else 500 `store_error`: Pyrus retries either way.
 */
export class StoreError extends Error implements IntoPluginError {
  readonly kind: StoreErrorKind;

  constructor(kind: StoreErrorKind, message: string) {
    super(message);
    this.name = "StoreError";
    this.kind = kind;
  }

  static fromKv(e: KvError): StoreError {
    switch (e.tag) {
      case "access-denied":
        return new StoreError("access-denied", "the host does not grant this store (key_value_stores)");
      case "no-such-store":
        return new StoreError("no-such-store", "no such store");
      default:
        return new StoreError("other", e.val);
    }
  }

  /**
   * Whether the host could not reach its store backend (e.g. Redis is down): the call may
   * succeed if tried again later.
   */
  isUnavailable(): boolean {
    return this.kind === "other" && this.message.startsWith("store unavailable");
  }

  toPluginError(): PluginError {
    return this.isUnavailable()
      ? new PluginError("store_unavailable", this.message, 503)
      : new PluginError("store_error", this.message, 500);
  }
}

function kv<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof KvFailure) throw StoreError.fromKv(e.error);
    throw e;
  }
}

/** An open store (a `wasi:keyvalue` bucket) in this plugin's namespace. */
export class Store {
  readonly #bucket: Bucket;

  private constructor(bucket: Bucket) {
    this.#bucket = bucket;
  }

  /** Opens the store `name` (one of the plugin's `key_value_stores`). Throws {@link StoreError}. */
  static open(name: string): Store {
    return new Store(kv(() => host().openBucket(name)));
  }

  /** The value at `key`, if any. */
  get(key: string): Uint8Array | undefined {
    return kv(() => this.#bucket.get(key));
  }

  /** The value at `key` as text (invalid UTF-8 is replaced). */
  getString(key: string): string | undefined {
    const v = this.get(key);
    return v === undefined ? undefined : decodeUtf8(v);
  }

  /**
   * The JSON value at `key`, decoded.
   *
   * @example
   * ```ts
   * const seen = store.getJson<number[]>("seen-tasks") ?? [];
   * ```
   */
  getJson<T = unknown>(key: string): T | undefined {
    const text = this.getString(key);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new StoreError("json", `stored JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Stores `value` (text is stored as UTF-8) at `key`. When this returns the write is durable. */
  set(key: string, value: string | Uint8Array): void {
    const bytes = typeof value === "string" ? encodeUtf8(value) : value;
    kv(() => this.#bucket.set(key, bytes));
  }

  /** Stores `value` at `key` as JSON. */
  setJson(key: string, value: unknown): void {
    this.set(key, JSON.stringify(value));
  }

  /** Removes `key` (nothing happens when it is absent). */
  delete(key: string): void {
    kv(() => this.#bucket.delete(key));
  }

  /** Whether `key` has a value. */
  exists(key: string): boolean {
    return kv(() => this.#bucket.exists(key));
  }

  /**
   * Adds `delta` (default 1) to the counter at `key` (0 when absent) and returns the new value,
   * in one atomic step, also across several hosts sharing a Redis store. Counters are stored as
   * decimal text, so `getString` reads them too.
   */
  increment(key: string, delta = 1): number {
    if (!Number.isSafeInteger(delta) || delta < 0) throw new RangeError("delta must be a non-negative integer");
    return kv(() => this.#bucket.increment(key, delta));
  }

  /** Every key of this store (all pages). */
  keys(): string[] {
    const out: string[] = [];
    let cursor: string | undefined;
    do {
      const page = kv(() => this.#bucket.listKeys(cursor));
      out.push(...page.keys);
      cursor = page.cursor;
    } while (cursor !== undefined);
    return out;
  }
}
