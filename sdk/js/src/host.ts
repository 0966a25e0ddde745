/**
 * The capabilities behind the SDK's `log`, `Store`, `variables` and `http`, swappable: inside
 * pyrus-host the `wasi/*` bindings install the real ones (the build script adds those the
 * plugin uses); natively (`node --test`) the in-memory fakes below answer, and tests drive
 * them through `pyrus-plugin-sdk/testing`. Plugin code never touches this module.
 * @module
 */

/** A log level, as the host's `log` interface names it. */
export type Level = "trace" | "debug" | "info" | "warn" | "error";

/** A `wasi:keyvalue` error, as the SDK sees it. */
export type KvError = { tag: "access-denied" } | { tag: "no-such-store" } | { tag: "other"; val: string };

/** An open bucket. Every method throws a {@link KvFailure} on error. */
export interface Bucket {
  get(key: string): Uint8Array | undefined;
  set(key: string, value: Uint8Array): void;
  delete(key: string): void;
  exists(key: string): boolean;
  increment(key: string, delta: number): number;
  /** One page of keys, and the cursor of the next page. */
  listKeys(cursor: string | undefined): { keys: string[]; cursor: string | undefined };
}

/** Thrown by a {@link Bucket}: the `wasi:keyvalue` error. */
export class KvFailure {
  constructor(readonly error: KvError) {}
}

/** An outgoing HTTP request, as the host's `wasi:http` takes it. */
export interface HostRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body: Uint8Array;
}

/** What the server answered. */
export interface HostResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

/**
 * Why a request got no response: `denied` (not in `allowed_outbound_hosts`), `too-large`,
 * `timeout`, or `failed` with the host's text.
 */
export type HostHttpError =
  | { kind: "denied" }
  | { kind: "too-large" }
  | { kind: "timeout" }
  | { kind: "failed"; message: string };

/** Thrown by {@link Host.send}. */
export class HttpFailure {
  constructor(readonly error: HostHttpError) {}
}

/** What the plugin can ask of the host. */
export interface Host {
  log(level: Level, message: string): void;
  openBucket(name: string): Bucket;
  variable(name: string): string | undefined;
  variables(): [string, string][];
  send(request: HostRequest): HostResponse;
}

/** The in-memory host of native tests; `pyrus-plugin-sdk/testing` reads and drives it. */
export class FakeHost implements Host {
  /** Every message logged, in order. */
  logs: { level: Level; message: string }[] = [];
  /** Store contents by store name, then key. */
  stores = new Map<string, Map<string, Uint8Array>>();
  /** The store names the "config" grants; undefined grants every name. */
  grantedStores: string[] | undefined = undefined;
  vars = new Map<string, string>();
  /** Answers outbound requests: the first responder that returns a response wins. */
  responders: ((req: HostRequest) => HostResponse | undefined)[] = [];
  /** Every outbound request sent, in order. */
  sent: HostRequest[] = [];

  log(level: Level, message: string): void {
    this.logs.push({ level, message });
  }

  openBucket(name: string): Bucket {
    if (this.grantedStores !== undefined && !this.grantedStores.includes(name)) {
      throw new KvFailure({ tag: "access-denied" });
    }
    let map = this.stores.get(name);
    if (!map) this.stores.set(name, (map = new Map()));
    const m = map;
    return {
      get: (key) => m.get(key),
      set: (key, value) => void m.set(key, Uint8Array.from(value)),
      delete: (key) => void m.delete(key),
      exists: (key) => m.has(key),
      increment: (key, delta) => {
        const old = m.get(key);
        const text = old ? String.fromCharCode(...old) : "0";
        if (!/^\d+$/.test(text)) throw new KvFailure({ tag: "other", val: `the value at ${key} is not a counter` });
        const n = Number(text) + delta;
        m.set(key, Uint8Array.from(String(n), (c) => c.charCodeAt(0)));
        return n;
      },
      listKeys: () => ({ keys: [...m.keys()].sort(), cursor: undefined }),
    };
  }

  variable(name: string): string | undefined {
    return this.vars.get(name);
  }

  variables(): [string, string][] {
    return [...this.vars.entries()];
  }

  send(request: HostRequest): HostResponse {
    this.sent.push(request);
    for (const r of this.responders) {
      const response = r(request);
      if (response) return response;
    }
    throw new HttpFailure({ kind: "failed", message: "no test responder answered (outbound HTTP is faked in native tests)" });
  }
}

let current: Host = new FakeHost();

/** The host in use. */
export function host(): Host {
  return current;
}

/**
 * Replaces the host (or one capability of it). Called by the `wasi/*` bindings at the start of
 * the component, and by `testing.reset()`.
 */
export function installHost(h: Partial<Host>): void {
  const base = current;
  current = {
    log: h.log ?? base.log.bind(base),
    openBucket: h.openBucket ?? base.openBucket.bind(base),
    variable: h.variable ?? base.variable.bind(base),
    variables: h.variables ?? base.variables.bind(base),
    send: h.send ?? base.send.bind(base),
  };
}

/** Makes `h` the whole host (tests). */
export function setHost(h: Host): void {
  current = h;
}
