/**
 * String enums of the protocol. Each is open: a value this SDK does not know is kept as the
 * string Pyrus sent (the `(string & {})` member), so a new value never breaks a plugin.
 * @module
 */

/** Why Pyrus called the bot. Real traffic always says `comment`; anything else is kept. */
export type Event = "comment" | "close" | (string & {});

/** What kind of account a person is. */
export type PersonType = "user" | "bot" | "role" | (string & {});

/** A decision on a workflow step. */
export type ApprovalChoice = "waiting" | "approved" | "rejected" | "revoked" | "acknowledged" | (string & {});

/** Closing or reopening a task. */
export type Action = "finished" | "reopened" | (string & {});

/** An external channel a comment is sent to or came from. */
export type ChannelType =
  | "email"
  | "telegram"
  | "vk"
  | "viber"
  | "whats_app"
  | "sms"
  | "web_widget"
  | "mobile_app"
  | "private_channel"
  | "custom"
  | "max_messenger"
  | (string & {});

/** The type of a form field, which decides the shape of its value. */
export type FieldType =
  | "text"
  | "money"
  | "number"
  | "date"
  | "time"
  | "checkmark"
  | "flag"
  | "due_date"
  | "due_date_time"
  | "catalog"
  | "file"
  | "person"
  | "author"
  | "table"
  | "multiple_choice"
  | "title"
  | "form_link"
  | "email"
  | "phone"
  | "step"
  | "status"
  | "note"
  | "creation_date"
  | "project"
  | (string & {});
