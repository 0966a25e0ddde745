/**
 * How jco's componentize hands an imported function's `result` error to JS: it throws an
 * Error whose `payload` is the WIT error value. Both engines (QuickJS, StarlingMonkey) agree.
 * @module
 */
export function payload(e: unknown): unknown {
  return typeof e === "object" && e !== null && "payload" in e ? (e as { payload: unknown }).payload : undefined;
}

/** Drops a resource now: wasi:http requires child resources (streams) gone before `finish`. */
export function drop(resource: unknown): void {
  const dispose = (Symbol as { dispose?: symbol }).dispose;
  const r = resource as Record<symbol, unknown> | null;
  if (dispose !== undefined && r && typeof r[dispose] === "function") (r[dispose] as () => void).call(r);
}
