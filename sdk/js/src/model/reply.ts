import type { Id } from "./json.js";
import type { Action, ApprovalChoice, ChannelType } from "./enums.js";
import { FieldUpdate } from "./field.js";
import type { PersonRef } from "./person.js";

/** Sends the comment to an external channel, e.g. continues a Telegram chat. */
export interface ReplyChannel {
  type: ChannelType;
  to?: unknown;
  from?: unknown;
}

/**
 * A comment the bot posts in reply (the schema of `POST /tasks/{id}/comments`), built with
 * chained calls. Unset parts are left out of the JSON, and the keys come in the Rust SDK's
 * order, so both SDKs answer byte for byte the same.
 *
 * @example
 * ```ts
 * const reply = new BotReply()
 *   .text("Checked by bot")
 *   .approve()
 *   .fieldUpdate(FieldUpdate.byId(7, "OK"))
 *   .fieldUpdate(FieldUpdate.byCode("u_Amount", 1365.27));
 * reply.toJson();
 * // {"text":"Checked by bot","approval_choice":"approved","field_updates":[{"id":7,"value":"OK"},{"code":"u_Amount","value":1365.27}]}
 * ```
 */
export class BotReply {
  textValue: string | undefined;
  formattedTextValue: string | undefined;
  subjectValue: string | undefined;
  approvalChoiceValue: ApprovalChoice | undefined;
  approvalStepsValue: number[] = [];
  reassignToValue: PersonRef | undefined;
  fieldUpdates: FieldUpdate[] = [];
  actionValue: Action | undefined;
  /** File GUIDs from `POST /files/upload`, or the other attachment forms as JSON. */
  attachments: unknown[] = [];
  approvalsAdded: PersonRef[][] = [];
  approvalsRemoved: PersonRef[][] = [];
  approvalsRerequested: PersonRef[][] = [];
  subscribersAdded: PersonRef[] = [];
  subscribersRemoved: PersonRef[] = [];
  participantsAdded: PersonRef[] = [];
  participantsRemoved: PersonRef[] = [];
  dueDateValue: string | undefined;
  dueValue: string | undefined;
  durationValue: number | undefined;
  cancelDue = false;
  scheduledDate: string | undefined;
  scheduledDatetimeUtc: string | undefined;
  cancelSchedule = false;
  addedListIds: Id[] = [];
  removedListIds: Id[] = [];
  spentMinutesValue: number | undefined;
  channelValue: ReplyChannel | undefined;
  skipSatisfaction = false;
  skipNotification = false;
  skipAutoReopen = false;
  editCommentId: Id | undefined;

  /** The comment's plain text. */
  text(text: string): this {
    this.textValue = text;
    return this;
  }

  /** The comment's rich text (Pyrus's HTML subset). */
  formattedText(html: string): this {
    this.formattedTextValue = html;
    return this;
  }

  /** A new subject (simple tasks). */
  subject(subject: string): this {
    this.subjectValue = subject;
    return this;
  }

  /** Approves the bot's step: the task moves on. */
  approve(): this {
    return this.approvalChoice("approved");
  }

  /** Rejects the bot's step: the task goes back. */
  reject(): this {
    return this.approvalChoice("rejected");
  }

  /** Acknowledges the bot's step. */
  acknowledge(): this {
    return this.approvalChoice("acknowledged");
  }

  /** Any decision on the bot's step. */
  approvalChoice(choice: ApprovalChoice): this {
    this.approvalChoiceValue = choice;
    return this;
  }

  /** The steps `approval_choice` applies to (default: the current step). */
  approvalSteps(steps: Iterable<number>): this {
    this.approvalStepsValue = [...steps];
    return this;
  }

  /**
   * The new responsible person (simple tasks).
   *
   * @example
   * ```ts
   * new BotReply().text("Over to you").reassignTo({ id: 1731 });
   * ```
   */
  reassignTo(person: PersonRef): this {
    this.reassignToValue = person;
    return this;
  }

  /** Adds one entry to `field_updates`. */
  fieldUpdate(update: FieldUpdate): this {
    this.fieldUpdates.push(update);
    return this;
  }

  /** Closes the task. */
  finish(): this {
    this.actionValue = "finished";
    return this;
  }

  /** Reopens the task. */
  reopen(): this {
    this.actionValue = "reopened";
    return this;
  }

  /** Attaches an uploaded file by its GUID. */
  attach(guid: string): this {
    this.attachments.push(guid);
    return this;
  }

  /** Adds an approver to workflow step `step` (1-based). */
  addApprover(step: number, person: PersonRef): this {
    const index = Math.max(1, Math.floor(step)) - 1;
    while (this.approvalsAdded.length <= index) this.approvalsAdded.push([]);
    this.approvalsAdded[index]!.push(person);
    return this;
  }

  /** Adds a subscriber (watcher). */
  addSubscriber(person: PersonRef): this {
    this.subscribersAdded.push(person);
    return this;
  }

  /** A due date, `YYYY-MM-DD`. */
  dueDate(date: string): this {
    this.dueDateValue = date;
    return this;
  }

  /** A due time, `YYYY-MM-DDThh:mm:ssZ`, and optionally a duration in minutes. */
  due(datetime: string, durationMinutes?: number): this {
    this.dueValue = datetime;
    this.durationValue = durationMinutes;
    return this;
  }

  /** Time tracking: minutes spent. */
  spentMinutes(minutes: number): this {
    this.spentMinutesValue = minutes;
    return this;
  }

  /**
   * Sends the comment to an external channel (`telegram`, `email`, `max_messenger`...).
   *
   * @example
   * ```ts
   * new BotReply().text("We are on it").channel("telegram");
   * ```
   */
  channel(type: ChannelType): this {
    this.channelValue = { type };
    return this;
  }

  /** The JSON object (what `JSON.stringify` uses). */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const put = (key: string, v: unknown, skip: boolean): void => {
      if (!skip) out[key] = v;
    };
    const list = (key: string, v: readonly unknown[]): void => put(key, v, v.length === 0);
    const opt = (key: string, v: unknown): void => put(key, v, v === undefined);
    const flag = (key: string, v: boolean): void => put(key, v, !v);
    opt("text", this.textValue);
    opt("formatted_text", this.formattedTextValue);
    opt("subject", this.subjectValue);
    opt("approval_choice", this.approvalChoiceValue);
    list("approval_steps", this.approvalStepsValue);
    opt("reassign_to", this.reassignToValue);
    list("field_updates", this.fieldUpdates);
    opt("action", this.actionValue);
    list("attachments", this.attachments);
    list("approvals_added", this.approvalsAdded);
    list("approvals_removed", this.approvalsRemoved);
    list("approvals_rerequested", this.approvalsRerequested);
    list("subscribers_added", this.subscribersAdded);
    list("subscribers_removed", this.subscribersRemoved);
    list("participants_added", this.participantsAdded);
    list("participants_removed", this.participantsRemoved);
    opt("due_date", this.dueDateValue);
    opt("due", this.dueValue);
    opt("duration", this.durationValue);
    flag("cancel_due", this.cancelDue);
    opt("scheduled_date", this.scheduledDate);
    opt("scheduled_datetime_utc", this.scheduledDatetimeUtc);
    flag("cancel_schedule", this.cancelSchedule);
    list("added_list_ids", this.addedListIds);
    list("removed_list_ids", this.removedListIds);
    opt("spent_minutes", this.spentMinutesValue);
    opt("channel", this.channelValue);
    flag("skip_satisfaction", this.skipSatisfaction);
    flag("skip_notification", this.skipNotification);
    flag("skip_auto_reopen", this.skipAutoReopen);
    opt("edit_comment_id", this.editCommentId);
    return out;
  }

  /** The reply as JSON text. */
  toJson(): string {
    return JSON.stringify(this);
  }
}
