import { type Id, type JsonObject, obj, parseId, str, strOrEmpty, bool } from "./json.js";
import type { PersonType } from "./enums.js";

/**
 * How a reply names a person: by id or by email.
 *
 * @example
 * ```ts
 * const byId: PersonRef = { id: 5 };
 * const byEmail: PersonRef = { email: "a@b.c" };
 * ```
 */
export type PersonRef = { readonly id: Id } | { readonly email: string };

/**
 * A Pyrus user, bot or role as it appears in a task (author, responsible, approver...).
 *
 * Pyrus sends empty strings for missing names and emails; {@link Person.email} treats an empty
 * email as none.
 *
 * @example
 * ```ts
 * const p = Person.from({ id: 1, first_name: "Bob", last_name: "", email: "" });
 * p?.email();    // undefined
 * p?.fullName(); // "Bob"
 * ```
 */
export class Person {
  id: Id | undefined;
  firstName: string;
  lastName: string;
  /** The email as sent (maybe empty): prefer {@link Person.email}. */
  emailRaw: string;
  type: PersonType | undefined;
  departmentId: Id | undefined;
  departmentName: string | undefined;
  position: string | undefined;
  phone: string | undefined;
  status: string | undefined;
  externalId: string | undefined;
  banned: boolean | undefined;
  fired: boolean | undefined;

  private constructor(o: JsonObject) {
    this.id = parseId(o.id);
    this.firstName = strOrEmpty(o.first_name);
    this.lastName = strOrEmpty(o.last_name);
    this.emailRaw = strOrEmpty(o.email);
    this.type = str(o.type);
    this.departmentId = parseId(o.department_id);
    this.departmentName = str(o.department_name);
    this.position = str(o.position);
    this.phone = str(o.phone);
    this.status = str(o.status);
    this.externalId = str(o.external_id);
    this.banned = bool(o.banned);
    this.fired = bool(o.fired);
  }

  /** Reads a person from parsed JSON; undefined when `v` is not an object. */
  static from(v: unknown): Person | undefined {
    const o = obj(v);
    return o && new Person(o);
  }

  /** The email, if Pyrus sent a non-empty one (trimmed). */
  email(): string | undefined {
    const e = this.emailRaw.trim();
    return e === "" ? undefined : e;
  }

  /** "First Last", trimmed; empty when Pyrus sent no names. */
  fullName(): string {
    return `${this.firstName.trim()} ${this.lastName.trim()}`.trim();
  }

  /** A reference to this person for a reply (`{id}`, else `{email}`). */
  toRef(): PersonRef | undefined {
    if (this.id !== undefined) return { id: this.id };
    const e = this.email();
    return e === undefined ? undefined : { email: e };
  }
}
