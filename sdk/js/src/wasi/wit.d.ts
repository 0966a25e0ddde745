// The WIT interfaces the SDK imports, as jco's componentize maps them to ES modules (named
// exports in camelCase; `result` errors are thrown with the error in `.payload`; `option` is
// null or undefined). Only what the SDK calls is declared.

declare module "pyrus:plugin/log@0.2.0" {
  export function log(level: "trace" | "debug" | "info" | "warn" | "error", message: string): void;
}

declare module "wasi:keyvalue/store@0.2.0-draft" {
  export class Bucket {
    get(key: string): Uint8Array | null | undefined;
    set(key: string, value: Uint8Array): void;
    delete(key: string): void;
    exists(key: string): boolean;
    listKeys(cursor: string | null | undefined): { keys: string[]; cursor?: string | null | undefined };
  }
  export function open(identifier: string): Bucket;
}

declare module "wasi:keyvalue/atomics@0.2.0-draft" {
  import type { Bucket } from "wasi:keyvalue/store@0.2.0-draft";
  export function increment(bucket: Bucket, key: string, delta: number | bigint): number | bigint;
}

declare module "wasi:config/store@0.2.0-draft" {
  export function get(key: string): string | null | undefined;
  export function getAll(): [string, string][];
}

declare module "wasi:http/types@0.2.12" {
  export type Method = { tag: string; val?: string };
  export type Scheme = { tag: "HTTP" | "HTTPS" | "other"; val?: string };
  export class Fields {
    constructor();
    append(name: string, value: Uint8Array): void;
    entries(): [string, Uint8Array][];
  }
  export class OutputStream {
    blockingWriteAndFlush(contents: Uint8Array): void;
  }
  export class InputStream {
    blockingRead(len: number | bigint): Uint8Array;
  }
  export class Pollable {
    block(): void;
  }
  export class OutgoingBody {
    write(): OutputStream;
    static finish(body: OutgoingBody, trailers: Fields | undefined): void;
  }
  export class OutgoingRequest {
    constructor(headers: Fields);
    body(): OutgoingBody;
    setMethod(method: Method): void;
    setScheme(scheme: Scheme | undefined): void;
    setAuthority(authority: string | undefined): void;
    setPathWithQuery(path: string | undefined): void;
  }
  export class IncomingBody {
    stream(): InputStream;
    static finish(body: IncomingBody): unknown;
  }
  export class IncomingResponse {
    status(): number;
    headers(): Fields;
    consume(): IncomingBody;
  }
  export class FutureIncomingResponse {
    subscribe(): Pollable;
    get(): unknown;
  }
}

declare module "wasi:http/outgoing-handler@0.2.12" {
  import type { FutureIncomingResponse, OutgoingRequest } from "wasi:http/types@0.2.12";
  export function handle(request: OutgoingRequest, options: undefined): FutureIncomingResponse;
}
