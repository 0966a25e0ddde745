// Header lookup shared by outbound responses and inbound requests.

/** The first header named `name`, compared case-insensitively (HTTP names are). */
export function findHeader(headers: readonly [string, string][], name: string): string | undefined {
  const n = name.toLowerCase();
  return headers.find(([k]) => k.toLowerCase() === n)?.[1];
}
