import { type Id, type JsonObject, int, list, obj, parseId, str } from "./json.js";
import type { Action, ApprovalChoice, ChannelType } from "./enums.js";
import { type Attachment, Field, parseAttachment } from "./field.js";
import { Person } from "./person.js";

/** An approver on a workflow step and their decision. */
export interface Approval {
  person?: Person | undefined;
  approvalChoice?: ApprovalChoice | undefined;
  step?: number | undefined;
}

/** Reads an approval entry; undefined when `v` is not an object. */
export function parseApproval(v: unknown): Approval | undefined {
  const o = obj(v);
  return o && { person: Person.from(o.person), approvalChoice: str(o.approval_choice), step: int(o.step) };
}

/** Approvals by step (outer list: steps). */
export function parseApprovalSteps(v: unknown): Approval[][] {
  return list(v, (step) => (Array.isArray(step) ? list(step, parseApproval) : undefined));
}

/** The external channel of a comment (a messenger chat, an email thread...). */
export interface Channel {
  type: ChannelType;
  to?: unknown;
  from?: unknown;
}

const people = (v: unknown): Person[] => list(v, Person.from);

/**
 * One comment of a task: text, and/or the changes it made (field updates, approvals,
 * reassignment...). Most comments Pyrus sends have **no text**: they record a change.
 *
 * @example
 * ```ts
 * const c = task.lastComment();
 * if (c?.approvalChoice === "rejected") log.info(`rejected by ${c.author?.fullName()}`);
 * ```
 */
export class Comment {
  id: Id | undefined;
  /** The text as sent; prefer {@link Comment.text}, which skips blank text. */
  textRaw: string | undefined;
  formattedText: string | undefined;
  createDate: string | undefined;
  author: Person | undefined;
  reassignedTo: Person | undefined;
  fieldUpdates: Field[];
  approvalChoice: ApprovalChoice | undefined;
  approvalStep: number | undefined;
  resetToStep: number | undefined;
  changedStep: number | undefined;
  action: Action | undefined;
  attachments: Attachment[];
  channel: Channel | undefined;
  approvalsAdded: Approval[][];
  approvalsRemoved: Approval[][];
  approvalsRerequested: Approval[][];
  subscribersAdded: Person[];
  subscribersRemoved: Person[];
  participantsAdded: Person[];
  participantsRemoved: Person[];
  addedListIds: Id[];
  removedListIds: Id[];
  dueDate: string | undefined;
  due: string | undefined;
  duration: number | undefined;
  spentMinutes: number | undefined;
  replyNoteId: Id | undefined;

  private constructor(o: JsonObject) {
    this.id = parseId(o.id);
    this.textRaw = str(o.text);
    this.formattedText = str(o.formatted_text);
    this.createDate = str(o.create_date);
    this.author = Person.from(o.author);
    this.reassignedTo = Person.from(o.reassigned_to);
    this.fieldUpdates = list(o.field_updates, Field.from);
    this.approvalChoice = str(o.approval_choice);
    this.approvalStep = int(o.approval_step);
    this.resetToStep = int(o.reset_to_step);
    this.changedStep = int(o.changed_step);
    this.action = str(o.action);
    this.attachments = list(o.attachments, parseAttachment);
    const ch = obj(o.channel);
    const chType = ch && str(ch.type);
    this.channel = ch && chType !== undefined ? { type: chType, to: ch.to, from: ch.from } : undefined;
    this.approvalsAdded = parseApprovalSteps(o.approvals_added);
    this.approvalsRemoved = parseApprovalSteps(o.approvals_removed);
    this.approvalsRerequested = parseApprovalSteps(o.approvals_rerequested);
    this.subscribersAdded = people(o.subscribers_added);
    this.subscribersRemoved = people(o.subscribers_removed);
    this.participantsAdded = people(o.participants_added);
    this.participantsRemoved = people(o.participants_removed);
    this.addedListIds = list(o.added_list_ids, parseId);
    this.removedListIds = list(o.removed_list_ids, parseId);
    this.dueDate = str(o.due_date);
    this.due = str(o.due);
    this.duration = int(o.duration);
    this.spentMinutes = int(o.spent_minutes);
    this.replyNoteId = parseId(o.reply_note_id);
  }

  /** Reads a comment from parsed JSON; undefined when `v` is not an object. */
  static from(this: void, v: unknown): Comment | undefined {
    const o = obj(v);
    return o && new Comment(o);
  }

  /** The comment's text, if it has non-blank text. */
  text(): string | undefined {
    return this.textRaw !== undefined && this.textRaw.trim() !== "" ? this.textRaw : undefined;
  }
}
