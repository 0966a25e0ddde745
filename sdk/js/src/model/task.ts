import { type Id, type JsonObject, bool, int, list, obj, parseId, str } from "./json.js";
import type { ApprovalChoice } from "./enums.js";
import { type Approval, Comment, parseApprovalSteps } from "./comment.js";
import { type Attachment, Field, type FieldKey, fieldMatches, parseAttachment } from "./field.js";
import { Person } from "./person.js";
import * as log from "../log.js";

/** A subscriber (watcher) of a task and their decision. */
export interface Subscriber {
  person?: Person | undefined;
  approvalChoice?: ApprovalChoice | undefined;
}

/** A workflow step of the task's form. */
export interface Step {
  step?: number | undefined;
  name?: string | undefined;
  /** Milliseconds the task has spent on this step. */
  elapsedTime?: number | undefined;
}

/**
 * A Pyrus task (the `task` object of `GET /tasks/{id}`, with comments).
 *
 * Its lists (fields, comments, approvals...) are built the first time they are read, so a
 * bot that reads only the author does not pay for a long comment history. A list Pyrus sent
 * in a shape the model does not fit reads as empty, with a warning in the log, and the rest
 * of the task stays usable.
 *
 * @example
 * ```ts
 * const task = Task.from({ id: 1, fields: [{ id: 1, type: "title", value: { fields: [
 *   { id: 2, type: "text", code: "u_Inner", value: "found" }] } }] });
 * task?.fieldByCode("u_Inner")?.text(); // "found"
 * ```
 */
export class Task {
  id: Id | undefined;
  text: string | undefined;
  formattedText: string | undefined;
  subject: string | undefined;
  createDate: string | undefined;
  lastModifiedDate: string | undefined;
  closeDate: string | undefined;
  isClosed: boolean | undefined;
  author: Person | undefined;
  responsible: Person | undefined;
  dueDate: string | undefined;
  due: string | undefined;
  duration: number | undefined;
  scheduledDate: string | undefined;
  scheduledDatetimeUtc: string | undefined;
  formId: Id | undefined;
  currentStepNumber: number | undefined;
  listIds: Id[];
  linkedTaskIds: Id[];
  parentTaskId: Id | undefined;
  lastNoteId: Id | undefined;
  /** The task object as Pyrus sent it, for fields this SDK does not model. */
  readonly raw: JsonObject;
  readonly #cache = new Map<string, unknown>();

  private constructor(o: JsonObject) {
    this.raw = o;
    this.id = parseId(o.id);
    this.text = str(o.text);
    this.formattedText = str(o.formatted_text);
    this.subject = str(o.subject);
    this.createDate = str(o.create_date);
    this.lastModifiedDate = str(o.last_modified_date);
    this.closeDate = str(o.close_date);
    this.isClosed = bool(o.is_closed);
    this.author = Person.from(o.author);
    this.responsible = Person.from(o.responsible);
    this.dueDate = str(o.due_date);
    this.due = str(o.due);
    this.duration = int(o.duration);
    this.scheduledDate = str(o.scheduled_date);
    this.scheduledDatetimeUtc = str(o.scheduled_datetime_utc);
    this.formId = parseId(o.form_id);
    this.currentStepNumber = int(o.current_step);
    this.listIds = list(o.list_ids, parseId);
    this.linkedTaskIds = list(o.linked_task_ids, parseId);
    this.parentTaskId = parseId(o.parent_task_id);
    this.lastNoteId = parseId(o.last_note_id);
  }

  /** Reads a task from parsed JSON; undefined when `v` is not an object. */
  static from(v: unknown): Task | undefined {
    const o = obj(v);
    return o && new Task(o);
  }

  /** The list `key`, built by `read` once; a non-list (other than absent/null) logs a warning. */
  #list<T>(key: string, read: (v: unknown) => T[]): T[] {
    let cached = this.#cache.get(key) as T[] | undefined;
    if (cached === undefined) {
      const v = this.raw[key];
      if (v !== undefined && v !== null && !Array.isArray(v)) {
        log.warn(`task.${key} is not a list; read as empty`);
      }
      cached = read(v);
      this.#cache.set(key, cached);
    }
    return cached;
  }

  /** The task's form fields, top level (see {@link Task.allFields} for nested ones). */
  fields(): Field[] {
    return this.#list("fields", (v) => list(v, Field.from));
  }

  /** Every comment, oldest first. */
  comments(): Comment[] {
    return this.#list("comments", (v) => list(v, Comment.from));
  }

  /** Approvers by workflow step: the outer list is the steps, in order. */
  approvals(): Approval[][] {
    return this.#list("approvals", parseApprovalSteps);
  }

  /** The workflow's steps, with their names. */
  steps(): Step[] {
    return this.#list("steps", (v) =>
      list(v, (s) => {
        const o = obj(s);
        return o && { step: int(o.step), name: str(o.name), elapsedTime: int(o.elapsed_time) };
      }),
    );
  }

  /** The people taking part in the task. */
  participants(): Person[] {
    return this.#list("participants", (v) => list(v, Person.from));
  }

  /** The task's subscribers (watchers), with their decisions. */
  subscribers(): Subscriber[] {
    return this.#list("subscribers", (v) =>
      list(v, (s) => {
        const o = obj(s);
        return o && { person: Person.from(o.person), approvalChoice: str(o.approval_choice) };
      }),
    );
  }

  /** Files attached to the task itself (comments carry their own). */
  attachments(): Attachment[] {
    return this.#list("attachments", (v) => list(v, parseAttachment));
  }

  /** Every field, depth first, including those nested in titles, tables and choices. */
  *allFields(): Generator<Field> {
    const stack: Field[] = [...this.fields()].reverse();
    for (let f = stack.pop(); f !== undefined; f = stack.pop()) {
      yield f;
      stack.push(...[...f.children()].reverse());
    }
  }

  /** The first field matching `key` (`{id}`, `{code}` or `{name}`), searching nested fields too. */
  field(key: FieldKey): Field | undefined {
    for (const f of this.allFields()) if (fieldMatches(key, f)) return f;
    return undefined;
  }

  /** The first field with this code (`u_Amount`), searching nested fields too. */
  fieldByCode(code: string): Field | undefined {
    return this.field({ code });
  }

  /** The first field with this name, searching nested fields too. */
  fieldByName(name: string): Field | undefined {
    return this.field({ name });
  }

  /** The field with this id, searching nested fields too. */
  fieldById(id: Id): Field | undefined {
    return this.field({ id });
  }

  /** The newest comment (the one that triggered the call, in practice). */
  lastComment(): Comment | undefined {
    const c = this.comments();
    return c[c.length - 1];
  }

  /**
   * The newest comment that has text (most comments Pyrus sends have none).
   *
   * @example
   * ```ts
   * const said = req.task?.lastTextComment()?.text() ?? "";
   * ```
   */
  lastTextComment(): Comment | undefined {
    const c = this.comments();
    for (let i = c.length - 1; i >= 0; i--) if (c[i]!.text() !== undefined) return c[i];
    return undefined;
  }

  /** The step the task is on, with its name, when the task has a workflow. */
  currentStep(): Step | undefined {
    const current = this.currentStepNumber;
    if (current === undefined) return undefined;
    return this.steps().find((s) => s.step === current);
  }

  /** The approvers of the current step. */
  currentApprovals(): Approval[] {
    const s = this.currentStepNumber;
    if (s === undefined || s < 1) return [];
    return this.approvals()[s - 1] ?? [];
  }
}
