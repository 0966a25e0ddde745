/**
 * Tolerant readers for JSON that Pyrus sends: a value of the wrong type reads as absent
 * instead of failing the request (Pyrus adds fields and changes shapes over time).
 * @module
 */

/** A parsed JSON object. */
export type JsonObject = { readonly [key: string]: unknown };

/** `v` if it is a JSON object (not null, not an array). */
export function obj(v: unknown): JsonObject | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as JsonObject) : undefined;
}

/** `v` if it is a string. */
export function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** `v` if it is a finite number. */
export function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** `v` if it is an integer number. */
export function int(v: unknown): number | undefined {
  return typeof v === "number" && Number.isInteger(v) ? v : undefined;
}

/** `v` if it is a boolean. */
export function bool(v: unknown): boolean | undefined {
  return typeof v === "boolean" ? v : undefined;
}

/** A string, or "" when absent or null (Pyrus sends `"last_name": ""` as often as nothing). */
export function strOrEmpty(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** The elements of `v` read by `f` (those it rejects are dropped); [] when `v` is not a list. */
export function list<T>(v: unknown, f: (item: unknown) => T | undefined): T[] {
  if (!Array.isArray(v)) return [];
  const out: T[] = [];
  for (const item of v) {
    const x = f(item);
    if (x !== undefined) out.push(x);
  }
  return out;
}

/**
 * A Pyrus object id (task, person, field, comment, catalog item...). Pyrus sends numbers, some
 * runners send numeric strings (`"task_id": "123"`): both read as a number.
 */
export type Id = number;

/**
 * Reads an id from a number or a numeric string; undefined otherwise.
 *
 * @example
 * ```ts
 * parseId(123);      // 123
 * parseId(" 123 ");  // 123
 * parseId("abc");    // undefined
 * ```
 */
export function parseId(v: unknown): Id | undefined {
  if (typeof v === "number") return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v === "string" && /^\s*[-+]?\d+\s*$/.test(v)) {
    const n = Number(v.trim());
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}
