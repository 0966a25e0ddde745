import { type Id, type JsonObject, list, obj, parseId, str } from "./json.js";
import { Secret, parseObject } from "./request.js";
import { PluginError } from "../errors.js";

/**
 * One credential the user entered when connecting the extension (`code` is declared in the
 * extension's settings in Pyrus, e.g. `login`, `password`, `token`). The value is a
 * {@link Secret}: it never shows in logs.
 */
export interface Credential {
  readonly code: string;
  readonly value: Secret;
}

function credentials(v: unknown): Credential[] {
  return list(v, (c) => {
    const o = obj(c);
    const code = o && str(o.code);
    return code === undefined ? undefined : { code, value: new Secret(str(o!.value) ?? "") };
  });
}

/** What every extension request has: the raw body, the account and the credentials. */
export class ExtensionRequest {
  accountId: string | undefined;
  channelId: string | undefined;
  credentials: Credential[];
  readonly #raw: JsonObject;

  constructor(o: JsonObject) {
    this.#raw = o;
    this.accountId = str(o.account_id);
    this.channelId = str(o.channel_id);
    this.credentials = credentials(o.credentials);
  }

  /**
   * The body as Pyrus sent it (parsed), for fields this SDK does not model. A getter, so that
   * `JSON.stringify` and `console.log` of the request never show the secrets it holds.
   */
  get raw(): JsonObject {
    return this.#raw;
  }

  /** Parses a body; a 400 `invalid_request` when it is not a JSON object. */
  static parse(json: string): ExtensionRequest {
    return new ExtensionRequest(parseObject(json, "the body is not understood"));
  }

  /**
   * The value of the credential with this code. Never log it.
   *
   * @example
   * ```ts
   * const token = req.credential("token") ?? "";
   * ```
   */
  credential(code: string): string | undefined {
    return this.credentials.find((c) => c.code === code)?.value.expose();
  }
}

/**
 * `POST /authorize`: a user connects the extension to a form, with credentials (access keys)
 * or an OAuth `authorization_code`.
 *
 * @example
 * ```ts
 * const req = AuthorizeRequest.parse('{"credentials":[{"code":"login","value":"me"}]}');
 * req.credential("login"); // "me"
 * ```
 */
export class AuthorizeRequest extends ExtensionRequest {
  /** The OAuth 2.0 code, in the OAuth variant. */
  authorizationCode: string | undefined;
  redirectUri: string | undefined;
  state: string | undefined;

  constructor(o: JsonObject) {
    super(o);
    this.authorizationCode = str(o.authorization_code);
    this.redirectUri = str(o.redirect_uri);
    this.state = str(o.state);
  }

  static override parse(json: string): AuthorizeRequest {
    return new AuthorizeRequest(parseObject(json, "the body is not understood"));
  }
}

/** `POST /toggle`: the extension was enabled, disabled or deleted in a form. */
export class ToggleRequest extends ExtensionRequest {
  enabled: boolean;
  deleted: boolean;

  constructor(o: JsonObject) {
    super(o);
    this.enabled = o.enabled === true;
    this.deleted = o.deleted === true;
  }

  static override parse(json: string): ToggleRequest {
    return new ToggleRequest(parseObject(json, "the body is not understood"));
  }
}

/**
 * `POST /sendmessage`: an operator replied in Pyrus; deliver the message to the external
 * channel.
 */
export class SendMessageRequest extends ExtensionRequest {
  messageText: string;
  /** Pyrus file ids, to download through the Extensions API. */
  attachmentIds: Id[];

  constructor(o: JsonObject) {
    super(o);
    this.messageText = str(o.message_text) ?? "";
    this.attachmentIds = list(o.attachment_ids, parseId);
  }

  static override parse(json: string): SendMessageRequest {
    return new SendMessageRequest(parseObject(json, "the body is not understood"));
  }

  /**
   * The channel to deliver to, or a 400 `invalid_request` when Pyrus sent none.
   *
   * @example
   * ```ts
   * SendMessageRequest.parse('{"channel_id":"c1"}').channel(); // "c1"
   * ```
   */
  channel(): string {
    if (this.channelId === undefined || this.channelId === "") {
      throw PluginError.badRequest("channel_id is missing");
    }
    return this.channelId;
  }
}

/**
 * The answer to `/authorize`: the account in the external system.
 *
 * @example
 * ```ts
 * return authorizeReply("bot-42", "Support bot"); // {"account_id":"bot-42","account_name":"Support bot"}
 * ```
 */
export interface AuthorizeReply {
  /** The account's unique id in the external system (a group id, a bot name...). */
  account_id: string;
  /** The name shown in the extension's settings in Pyrus. */
  account_name: string;
}

/** An {@link AuthorizeReply}. */
export function authorizeReply(accountId: string, accountName: string): AuthorizeReply {
  return { account_id: accountId, account_name: accountName };
}

/**
 * The answer to `/sendmessage`: the external system's id of the delivered message, when it
 * has one (this host's convention; Pyrus needs only a 2xx).
 */
export interface SendMessageReply {
  message_id?: string;
}

/**
 * A {@link SendMessageReply} for a delivered message.
 *
 * @example
 * ```ts
 * return delivered("msg-1"); // {"message_id":"msg-1"}
 * ```
 */
export function delivered(messageId: string): SendMessageReply {
  return { message_id: messageId };
}
