/**
 * A messenger-style extension, the smallest useful one: `/authorize` checks the login and
 * password a user enters against the host config's settings, `/toggle` is acknowledged, and
 * `/sendmessage` "delivers" the message and answers a delivery id. Everything else answers the
 * SDK's `not_supported`. The same extension as plugins/echo-extension (Rust), reply for reply
 * (the delivery ids too).
 *
 * Host config: `settings = '{"login": "...", "password": "..."}'`.
 */
import {
  type AuthorizeReply,
  type CallInfo,
  type Extension,
  PluginError,
  type SendMessageReply,
  authorizeReply,
  delivered,
  encodeUtf8,
  exportExtension,
  log,
  secretsEqual,
} from "pyrus-plugin-sdk";

interface Settings {
  login: string;
  password: string;
}

/** The expected credentials, from the host config's `settings` (a 500: the host is misconfigured). */
function settings(call: CallInfo): Settings {
  const misconfigured = () =>
    new PluginError("misconfigured", `the host config's settings must be {"login": "...", "password": "..."}`, 500);
  let s: unknown;
  try {
    s = JSON.parse(call.settings ?? "");
  } catch {
    throw misconfigured();
  }
  const o = s as Partial<Settings> | null;
  if (typeof o !== "object" || o === null || typeof o.login !== "string" || typeof o.password !== "string") {
    throw misconfigured();
  }
  return { login: o.login, password: o.password };
}

/** A stable id for the same message: 64-bit FNV-1a over the parts' UTF-8, each closed by 0xff. */
export function fnv1a(parts: string[]): bigint {
  const MASK = 0xffffffffffffffffn;
  let hash = 0xcbf29ce484222325n;
  for (const part of parts) {
    for (const b of [...encodeUtf8(part), 0xff]) {
      hash ^= BigInt(b);
      hash = (hash * 0x100000001b3n) & MASK;
    }
  }
  return hash;
}

/** The extension, exported for the native tests. */
export const echo: Extension = {
  authorize(req, call): AuthorizeReply {
    const expected = settings(call);
    const login = req.credential("login") ?? "";
    const password = req.credential("password") ?? "";
    // Both compared in full, whatever the first says: the time tells a caller nothing.
    const loginOk = secretsEqual(login, expected.login);
    const passwordOk = secretsEqual(password, expected.password);
    if (loginOk && passwordOk) return authorizeReply(`echo:${login}`, `Echo (${login})`);
    throw new PluginError("bad_credentials", "the login or the password is wrong");
  },

  toggle(req): void {
    const account = req.accountId ?? "?";
    const state = req.deleted ? "deleted" : req.enabled ? "enabled" : "disabled";
    log.info(`account ${account} ${state}`);
  },

  sendMessage(req): SendMessageReply {
    const channel = req.channel();
    if (req.messageText.trim() === "" && req.attachmentIds.length === 0) {
      throw PluginError.badRequest("the message is empty");
    }
    const id = fnv1a([req.accountId ?? "", channel, req.messageText]);
    // Characters, not UTF-16 units, like the Rust extension's `chars().count()`.
    log.info(`delivered ${[...req.messageText].length} characters to ${channel}`);
    return delivered(`echo-${id.toString(16).padStart(16, "0")}`);
  },
};

/** The component's `pyrus:plugin/extension` export. */
export const extension = exportExtension(echo);
