import { type Id, type JsonObject, int, list, obj, parseId, str } from "./json.js";
import type { FieldType } from "./enums.js";
import { Person } from "./person.js";

/** A file attached to a task, a comment or a file field. */
export interface Attachment {
  id?: Id | undefined;
  name?: string | undefined;
  size?: number | undefined;
  md5?: string | undefined;
  url?: string | undefined;
  version?: number | undefined;
  rootId?: Id | undefined;
}

/** Reads an attachment; undefined when `v` is not an object. */
export function parseAttachment(v: unknown): Attachment | undefined {
  const o = obj(v);
  if (!o) return undefined;
  return {
    id: parseId(o.id),
    name: str(o.name),
    size: int(o.size),
    md5: str(o.md5),
    url: str(o.url),
    version: int(o.version),
    rootId: parseId(o.root_id),
  };
}

/** A catalog field's selected item(s). */
export interface CatalogValue {
  itemId?: Id | undefined;
  itemIds: Id[];
  headers: string[];
  values: string[];
  rows: string[][];
}

/**
 * The value under a catalog column header, for the (first) selected item.
 *
 * @example
 * ```ts
 * const f = task.fieldByCode("u_Client");
 * if (f?.value.kind === "catalog") catalogValueOf(f.value.value, "Email");
 * ```
 */
export function catalogValueOf(c: CatalogValue, header: string): string | undefined {
  const i = c.headers.indexOf(header);
  return i < 0 ? undefined : c.values[i];
}

/** One row of a table field. */
export interface TableRow {
  rowId?: number | undefined;
  cells: Field[];
  position?: number | undefined;
  delete: boolean;
}

/** A multiple-choice field's selection; a choice may reveal nested fields. */
export interface MultipleChoice {
  choiceId?: number | undefined;
  choiceIds: number[];
  choiceNames: string[];
  fields: Field[];
}

/** A title (section) field: an optional checkmark and the fields it holds. */
export interface Title {
  checkmark?: boolean | undefined;
  fields: Field[];
}

/** A link to other tasks. */
export interface FormLink {
  taskId?: Id | undefined;
  taskIds: Id[];
  subject?: string | undefined;
}

/** A project field's projects. */
export interface Project {
  projects: { id?: Id | undefined; name?: string | undefined; parent?: Id | undefined }[];
}

/**
 * A field's value, typed by the field's type (`kind` says which). A value whose shape does
 * not match its type, or a type this SDK does not know, is kept as `unknown` with the raw
 * JSON instead of failing the whole request.
 *
 * @example
 * ```ts
 * const v = task.fieldByCode("u_Amount")?.value;
 * if (v?.kind === "number") total += v.value;
 * ```
 */
export type FieldValue =
  /** No value: the field is empty. */
  | { readonly kind: "empty" }
  /** `text`, `email`, `phone`, `note`, `status`. */
  | { readonly kind: "text"; readonly value: string }
  /** `money`, `number` (also from text with a decimal comma, `"0,5"`). */
  | { readonly kind: "number"; readonly value: number }
  /** `date`, `due_date`, `creation_date`: `YYYY-MM-DD` (creation_date may carry a time). */
  | { readonly kind: "date"; readonly value: string }
  /** `due_date_time`: `YYYY-MM-DDThh:mm:ssZ`. */
  | { readonly kind: "datetime"; readonly value: string }
  /** `time`: `HH:mm`. */
  | { readonly kind: "time"; readonly value: string }
  /** `checkmark`: checked or not. */
  | { readonly kind: "checkmark"; readonly value: boolean }
  /** `flag`: `none`, `checked` or `unchecked`. */
  | { readonly kind: "flag"; readonly value: string }
  | { readonly kind: "catalog"; readonly value: CatalogValue }
  /** `file`: the attached files. */
  | { readonly kind: "files"; readonly value: Attachment[] }
  /** `person`, `author`. */
  | { readonly kind: "person"; readonly value: Person }
  | { readonly kind: "table"; readonly value: TableRow[] }
  | { readonly kind: "multiple_choice"; readonly value: MultipleChoice }
  /** `title`: a section header with nested fields. */
  | { readonly kind: "title"; readonly value: Title }
  | { readonly kind: "form_link"; readonly value: FormLink }
  /** `step`: the task's current step number. */
  | { readonly kind: "step"; readonly value: number }
  | { readonly kind: "project"; readonly value: Project }
  /** A type this SDK does not know, or a value of an unexpected shape, kept verbatim. */
  | { readonly kind: "unknown"; readonly value: unknown };

const EMPTY: FieldValue = { kind: "empty" };

function parseCheckmark(v: unknown): boolean | undefined {
  if (typeof v === "boolean") return v;
  if (typeof v !== "string") return undefined;
  switch (v.toLowerCase()) {
    case "checked":
    case "true":
      return true;
    case "unchecked":
    case "false":
      return false;
    default:
      return undefined;
  }
}

function parseNumber(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v !== "string") return undefined;
  // Some forms send numbers as text with a decimal comma ("0,0000000000").
  const t = v.trim().replace(/,/g, ".");
  if (t === "" || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

function fields(v: unknown): Field[] {
  return list(v, Field.from);
}

function typed(type: FieldType, raw: unknown): FieldValue | undefined {
  const s = str(raw);
  const o = obj(raw);
  switch (type) {
    case "text":
    case "email":
    case "phone":
    case "note":
    case "status":
      return s === undefined ? undefined : { kind: "text", value: s };
    case "money":
    case "number": {
      const n = parseNumber(raw);
      return n === undefined ? undefined : { kind: "number", value: n };
    }
    case "date":
    case "due_date":
    case "creation_date":
      return s === undefined ? undefined : { kind: "date", value: s };
    case "due_date_time":
      return s === undefined ? undefined : { kind: "datetime", value: s };
    case "time":
      return s === undefined ? undefined : { kind: "time", value: s };
    case "checkmark": {
      const b = parseCheckmark(raw);
      return b === undefined ? undefined : { kind: "checkmark", value: b };
    }
    case "flag":
      return s === undefined ? undefined : { kind: "flag", value: s };
    case "step": {
      const n = int(raw);
      return n === undefined ? undefined : { kind: "step", value: n };
    }
    case "catalog":
      return o && {
        kind: "catalog",
        value: {
          itemId: parseId(o.item_id),
          itemIds: list(o.item_ids, parseId),
          headers: list(o.headers, str),
          values: list(o.values, str),
          rows: list(o.rows, (r) => (Array.isArray(r) ? list(r, str) : undefined)),
        },
      };
    case "file":
      return Array.isArray(raw) ? { kind: "files", value: list(raw, parseAttachment) } : undefined;
    case "person":
    case "author": {
      const p = Person.from(raw);
      return p && { kind: "person", value: p };
    }
    case "table":
      return Array.isArray(raw)
        ? {
            kind: "table",
            value: list(raw, (r) => {
              const row = obj(r);
              return row && {
                rowId: int(row.row_id),
                cells: fields(row.cells),
                position: int(row.position),
                delete: row.delete === true,
              };
            }),
          }
        : undefined;
    case "multiple_choice":
      return o && {
        kind: "multiple_choice",
        value: {
          choiceId: int(o.choice_id),
          choiceIds: list(o.choice_ids, int),
          choiceNames: list(o.choice_names, str),
          fields: fields(o.fields),
        },
      };
    case "title":
      return o && { kind: "title", value: { checkmark: parseCheckmark(o.checkmark), fields: fields(o.fields) } };
    case "form_link":
      return o && {
        kind: "form_link",
        value: { taskId: parseId(o.task_id), taskIds: list(o.task_ids, parseId), subject: str(o.subject) },
      };
    case "project":
      return o && {
        kind: "project",
        value: {
          projects: list(o.projects, (p) => {
            const x = obj(p);
            return x && { id: parseId(x.id), name: str(x.name), parent: parseId(x.parent) };
          }),
        },
      };
    default:
      return undefined;
  }
}

/**
 * Types `raw` (a field's `value` as parsed JSON) by the field's type. Never fails: a value of
 * an unexpected shape is kept as `{kind: "unknown"}`.
 *
 * @example
 * ```ts
 * fieldValue("money", 1365);        // { kind: "number", value: 1365 }
 * fieldValue("checkmark", "checked"); // { kind: "checkmark", value: true }
 * fieldValue("catalog", "weird");   // { kind: "unknown", value: "weird" }
 * ```
 */
export function fieldValue(type: FieldType, raw: unknown): FieldValue {
  if (raw === undefined || raw === null) return EMPTY;
  return typed(type, raw) ?? { kind: "unknown", value: raw };
}

/**
 * The value in the form `field_updates` takes to write it into another field of a compatible
 * type. Undefined for read-only and composite values (step, title, table, project).
 *
 * @example
 * ```ts
 * toUpdateValue(fieldValue("money", 1365));          // 1365
 * toUpdateValue(fieldValue("checkmark", "checked"));  // "checked"
 * toUpdateValue(fieldValue("catalog", { item_id: 7 })); // { item_id: 7 }
 * ```
 */
export function toUpdateValue(v: FieldValue): unknown {
  switch (v.kind) {
    case "empty":
      return null;
    case "text":
    case "date":
    case "datetime":
    case "time":
    case "flag":
    case "number":
      return v.value;
    case "checkmark":
      return v.value ? "checked" : "unchecked";
    case "catalog": {
      const c = v.value;
      if (c.itemIds.length > 1) return { item_ids: c.itemIds };
      const id = c.itemId ?? c.itemIds[0];
      return id === undefined ? undefined : { item_id: id };
    }
    case "files":
      return v.value.filter((f) => f.id !== undefined).map((f) => ({ attachment_id: f.id }));
    case "person":
      return v.value.toRef();
    case "multiple_choice":
      return { choice_ids: v.value.choiceIds };
    case "form_link":
      if (v.value.taskIds.length > 0) return { task_ids: v.value.taskIds };
      return v.value.taskId === undefined ? undefined : { task_id: v.value.taskId };
    case "unknown":
      return v.value;
    case "title":
    case "table":
    case "step":
    case "project":
      return undefined;
  }
}

/**
 * A form field of a task, with its value typed by the field's type.
 *
 * @example
 * ```ts
 * const f = Field.from({ id: 7, type: "money", code: "u_Amount", value: 1365.27 });
 * f?.number(); // 1365.27
 * ```
 */
export class Field {
  id: Id | undefined;
  name: string | undefined;
  code: string | undefined;
  /** The field's type (`text`, `money`, `catalog`...); "" when Pyrus sent none. */
  type: FieldType;
  value: FieldValue;
  /** Minutes, beside a `due_date` / `due_date_time` value. */
  duration: number | undefined;
  parentId: Id | undefined;
  rowId: number | undefined;

  private constructor(o: JsonObject) {
    this.id = parseId(o.id);
    this.name = str(o.name);
    this.code = str(o.code);
    this.type = str(o.type) ?? "";
    this.value = fieldValue(this.type, o.value);
    this.duration = int(o.duration);
    this.parentId = parseId(o.parent_id);
    this.rowId = int(o.row_id);
  }

  /** Reads a field from parsed JSON; undefined when `v` is not an object. */
  static from(this: void, v: unknown): Field | undefined {
    const o = obj(v);
    return o && new Field(o);
  }

  /** The fields nested in this one: a title's fields, a table's cells, a choice's fields. */
  children(): Field[] {
    switch (this.value.kind) {
      case "title":
      case "multiple_choice":
        return this.value.value.fields;
      case "table":
        return this.value.value.flatMap((r) => r.cells);
      default:
        return [];
    }
  }

  /** The value as text, for the types whose value is a string (text, dates, times, flag). */
  text(): string | undefined {
    switch (this.value.kind) {
      case "text":
      case "date":
      case "datetime":
      case "time":
      case "flag":
        return this.value.value;
      default:
        return undefined;
    }
  }

  /** The value as a number (`money`, `number`, `step`). */
  number(): number | undefined {
    return this.value.kind === "number" || this.value.kind === "step" ? this.value.value : undefined;
  }

  /** See {@link toUpdateValue}. */
  toUpdateValue(): unknown {
    return toUpdateValue(this.value);
  }
}

/** Which field to find or update: by id, by code, or by name. */
export type FieldKey = { readonly id: Id } | { readonly code: string } | { readonly name: string };

/** Whether `field` is the one `key` names. */
export function fieldMatches(key: FieldKey, field: Field): boolean {
  if ("id" in key) return field.id === key.id;
  if ("code" in key) return field.code === key.code;
  return field.name === key.name;
}

/**
 * One entry of a reply's `field_updates`: which field, and its new value.
 *
 * @example
 * ```ts
 * JSON.stringify(FieldUpdate.byCode("u_Amount", 1365.27)); // '{"code":"u_Amount","value":1365.27}'
 * ```
 */
export class FieldUpdate {
  readonly id: Id | undefined;
  readonly code: string | undefined;
  readonly name: string | undefined;
  readonly value: unknown;

  constructor(key: FieldKey, value: unknown) {
    this.id = "id" in key ? key.id : undefined;
    this.code = "code" in key ? key.code : undefined;
    this.name = "name" in key ? key.name : undefined;
    this.value = value;
  }

  static byId(id: Id, value: unknown): FieldUpdate {
    return new FieldUpdate({ id }, value);
  }
  static byCode(code: string, value: unknown): FieldUpdate {
    return new FieldUpdate({ code }, value);
  }
  static byName(name: string, value: unknown): FieldUpdate {
    return new FieldUpdate({ name }, value);
  }

  /** The JSON form, in the Rust SDK's key order (`id`, `code`, `name`, `value`). */
  toJSON(): JsonObject {
    const out: Record<string, unknown> = {};
    if (this.id !== undefined) out.id = this.id;
    if (this.code !== undefined) out.code = this.code;
    if (this.name !== undefined) out.name = this.name;
    out.value = this.value === undefined ? null : this.value;
    return out;
  }
}

