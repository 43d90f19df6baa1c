import { checkRows, detachReferences } from "./constraints.ts";
import { defaultValue, emptyValue, toStored } from "./convert.ts";
import { invalidField, missingRecord, type OdooMajor, unknownModel } from "./dialect.ts";
import { compileDomain, type DomainHost, domainMentions } from "./domain.ts";
import { fault } from "./faults.ts";
import type { FakeField, FakeModel, FakeModelContext, FakeRow } from "./models.ts";
import { compileOrder } from "./order.ts";
import { type JournalEntry, shownDatetime, transactionStamp } from "./stamps.ts";

const MAGIC_FIELDS: Record<string, FakeField> = {
  id: { type: "integer", string: "ID", readonly: true },
  display_name: { type: "char", string: "Display Name", readonly: true },
  create_uid: { type: "many2one", string: "Created by", relation: "res.users", readonly: true },
  create_date: { type: "datetime", string: "Created on", readonly: true },
  write_uid: { type: "many2one", string: "Last Updated by", relation: "res.users", readonly: true },
  write_date: { type: "datetime", string: "Last Updated on", readonly: true },
};

export interface SearchParams {
  offset?: number;
  limit?: number | null;
  order?: string | null;
  activeTest?: boolean;
}

/** The in-memory database of the fake: one table per model, Odoo's ORM semantics on top. */
export class FakeStore implements DomainHost {
  private readonly models: Map<string, FakeModel>;
  private readonly tables = new Map<string, Map<number, FakeRow>>();
  private readonly nextIds: Map<string, number>;
  readonly ctx: FakeModelContext;
  /** Set on a transaction's snapshot: the changes made in it, in order. */
  readonly journal: JournalEntry[] | undefined;
  /** A transaction's start, which stamps all its changes; unset = each change's own time. */
  private stamp: string | undefined;

  constructor(
    readonly version: OdooMajor,
    private readonly clock: () => Date,
    shared?: { models: Map<string, FakeModel>; nextIds: Map<string, number>; stamp: string },
  ) {
    // A snapshot shares the models and the id sequence (sequences are not transactional).
    this.models = shared?.models ?? new Map();
    this.nextIds = shared?.nextIds ?? new Map();
    this.stamp = shared?.stamp;
    this.journal = shared ? [] : undefined;
    this.ctx = { version, row: (model, id) => this.tables.get(model)?.get(id) };
  }

  /** A transaction's view: the committed rows as of now, changes journaled, stamped `at`. */
  snapshot(at: Date): FakeStore {
    const draft = new FakeStore(this.version, this.clock, {
      models: this.models,
      nextIds: this.nextIds,
      stamp: transactionStamp(at),
    });
    for (const [name, table] of this.tables) draft.tables.set(name, structuredClone(table));
    return draft;
  }

  /** Applies a transaction's journal to the committed rows, stamped with its start. */
  commit(draft: FakeStore): void {
    const previous = this.stamp;
    this.stamp = draft.stamp;
    try {
      for (const entry of draft.journal ?? []) {
        if (entry.kind === "create") this.insert(entry.model, entry.rows);
        else if (entry.kind === "write") this.write(entry.model, entry.ids, entry.vals, entry.uid);
        else this.unlink(entry.model, entry.ids, entry.uid);
      }
    } finally {
      this.stamp = previous;
    }
  }

  private now(): string {
    return this.stamp ?? transactionStamp(this.clock());
  }

  register(model: FakeModel): void {
    this.models.set(model.name, model);
    if (!this.tables.has(model.name)) this.tables.set(model.name, new Map());
  }

  unregister(name: string): void {
    this.models.delete(name);
    this.tables.delete(name);
  }

  has(name: string): boolean {
    return this.models.has(name);
  }

  model(name: string): FakeModel {
    const model = this.models.get(name);
    if (!model) throw unknownModel(name);
    return model;
  }

  fieldsOf(model: string): Record<string, FakeField> {
    return { ...MAGIC_FIELDS, ...this.model(model).fields };
  }

  row(model: string, id: number): FakeRow | undefined {
    return this.tables.get(model)?.get(id);
  }

  rows(model: string): FakeRow[] {
    this.model(model);
    const rows = [...(this.tables.get(model)?.values() ?? [])];
    const datetimes = Object.entries(this.fieldsOf(model))
      .filter(([, field]) => field.type === "datetime")
      .map(([name]) => name);
    return rows
      .sort((a, b) => a.id - b.id)
      .map((row) => {
        const copy = structuredClone(row);
        for (const name of datetimes) if (name in copy) copy[name] = shownDatetime(copy[name]);
        return copy;
      });
  }

  setNextId(model: string, id: number): void {
    this.nextIds.set(model, id);
  }

  displayName(model: string, id: number): string {
    const row = this.row(model, id);
    if (!row) return "";
    const definition = this.model(model);
    if (definition.displayName) return definition.displayName(row, this.ctx);
    return typeof row.name === "string" ? row.name : `${model},${id}`;
  }

  /** Existing ids in the given order; the first missing one raises MissingError if `strict`. */
  browse(model: string, ids: readonly number[], uid: number, strict: boolean): number[] {
    const table = this.tables.get(model) ?? new Map<number, FakeRow>();
    const missing = ids.find((id) => !table.has(id));
    if (strict && missing !== undefined) throw missingRecord(model, missing, uid);
    return [...new Set(ids)].filter((id) => table.has(id));
  }

  search(model: string, domain: unknown, params: SearchParams = {}): number[] {
    const definition = this.model(model);
    const predicate = compileDomain(this, model, domain);
    const fields = this.fieldsOf(model);
    const activeFilter = params.activeTest !== false && fields.active && !domainMentions(domain, "active");
    const sorter = compileOrder(this, model, params.order || definition.order || "id");
    const rows = [...(this.tables.get(model)?.values() ?? [])]
      .filter((row) => (!activeFilter || row.active === true) && predicate(row))
      .sort(sorter);
    const offset = params.offset ?? 0;
    const end = params.limit ? offset + params.limit : undefined;
    return rows.slice(offset, end).map((row) => row.id);
  }

  /** Read with Odoo's formats: many2one `[id, name]` (or the bare id when `load` is null). */
  read(model: string, ids: readonly number[], fields: readonly string[] | undefined, load: unknown) {
    const all = this.fieldsOf(model);
    const names = fields && fields.length > 0 ? fields : Object.keys(all);
    for (const name of names) if (!all[name]) throw invalidField(model, name);
    return ids.flatMap((id) => {
      const row = this.row(model, id);
      if (!row) return [];
      const out: Record<string, unknown> = { id };
      for (const name of names) {
        if (name === "id") continue;
        out[name] = this.readValue(model, row, name, all[name] as FakeField, load);
      }
      return [out];
    });
  }

  private readValue(model: string, row: FakeRow, name: string, field: FakeField, load: unknown) {
    if (name === "display_name") return this.displayName(model, row.id);
    if (field.type === "one2many") return this.inverseIds(model, row.id, field);
    const value = row[name] ?? emptyValue(field);
    if (field.type === "datetime") return shownDatetime(value);
    if (field.type !== "many2one" || typeof value !== "number" || load !== "_classic_read") {
      return Array.isArray(value) ? [...value] : value;
    }
    return [value, this.displayName(field.relation ?? "", value)];
  }

  /** A one2many's ids: the rows of its relation pointing back (mail.message also names the model). */
  private inverseIds(model: string, id: number, field: FakeField): number[] {
    const relation = field.relation ?? "";
    const hasModel = this.model(relation).fields.model !== undefined;
    return [...(this.tables.get(relation)?.values() ?? [])]
      .filter((row) => row[field.inverse ?? ""] === id && (!hasModel || row.model === model))
      .map((row) => row.id)
      .sort((a, b) => b - a);
  }

  /** Inserts rows; `seed` keeps given ids and dates and skips checks. Rolls back on error. */
  create(model: string, valsList: Record<string, unknown>[], uid: number, seed = false): number[] {
    const definition = this.model(model);
    const table = this.tables.get(model) as Map<number, FakeRow>;
    const now = this.now();
    const created: number[] = [];
    try {
      for (const vals of valsList) {
        const id = seed && Number.isInteger(vals.id) ? (vals.id as number) : this.allocateId(model);
        if (table.has(id)) throw fault.validation(`${model}(${id},) already exists`);
        this.nextIds.set(model, Math.max(this.nextIds.get(model) ?? 1, id + 1));
        const row: FakeRow = { id, create_uid: uid, create_date: now, write_uid: uid, write_date: now };
        for (const [name, field] of Object.entries(definition.fields)) row[name] = defaultValue(field);
        this.assign(model, row, vals, uid, seed);
        table.set(id, row);
        created.push(id);
      }
      if (!seed)
        checkRows(this.model(model), this.tables.get(model) as Map<number, FakeRow>, created, this.ctx);
      this.journal?.push({
        kind: "create",
        model,
        rows: created.map((id) => structuredClone(table.get(id) as FakeRow)),
        uid,
      });
      return created;
    } catch (error) {
      for (const id of created) table.delete(id);
      throw error;
    }
  }

  /**
   * Up to 17, `write` checks for deleted records only through record rules: on a model without
   * rules (like vws.cluster) a write to a deleted record answers `true` (seen on real 17.0).
   * res.partner has multi-company rules, hence the recorded MissingError on every version.
   */
  write(model: string, ids: readonly number[], vals: Record<string, unknown>, uid: number): void {
    const table = this.tables.get(model) as Map<number, FakeRow>;
    const strict = this.version >= 18 || this.model(model).recordRules === true;
    const existing = this.browse(model, ids, uid, strict);
    const backup = existing.map((id) => structuredClone(table.get(id) as FakeRow));
    const now = this.now();
    const changed = new Set<string>();
    try {
      for (const id of existing) {
        const row = table.get(id) as FakeRow;
        const before = structuredClone(row);
        this.assign(model, row, vals, uid, false);
        for (const name of Object.keys(vals)) {
          if (JSON.stringify(before[name]) !== JSON.stringify(row[name])) changed.add(name);
        }
        Object.assign(row, { write_uid: uid, write_date: now });
      }
      checkRows(this.model(model), table, existing, this.ctx);
    } catch (error) {
      for (const row of backup) table.set(row.id, row);
      throw error;
    }
    this.journal?.push({ kind: "write", model, ids: existing, vals, uid, changed: [...changed] });
  }

  unlink(model: string, ids: readonly number[], uid: number): void {
    const definition = this.model(model);
    const existing = this.browse(model, ids, uid, true);
    const veto = definition.beforeUnlink?.(existing, this.ctx);
    if (veto) throw veto;
    for (const id of existing) this.tables.get(model)?.delete(id);
    detachReferences([...this.models.values()], (name) => this.tables.get(name), model, existing);
    this.journal?.push({ kind: "unlink", model, ids: existing, uid });
  }

  /** Replays rows created in a transaction, ids and all; the constraints are checked again. */
  private insert(model: string, rows: FakeRow[]): void {
    const table = this.tables.get(model) as Map<number, FakeRow>;
    const stamp = this.now();
    for (const row of rows)
      table.set(row.id, { ...structuredClone(row), create_date: stamp, write_date: stamp });
    try {
      checkRows(
        this.model(model),
        table,
        rows.map((row) => row.id),
        this.ctx,
      );
    } catch (error) {
      for (const row of rows) table.delete(row.id);
      throw error;
    }
  }

  private allocateId(model: string): number {
    const table = this.tables.get(model) as Map<number, FakeRow>;
    const highest = Math.max(0, ...table.keys());
    const id = Math.max(this.nextIds.get(model) ?? 1, highest + 1);
    this.nextIds.set(model, id + 1);
    return id;
  }

  private assign(model: string, row: FakeRow, vals: Record<string, unknown>, uid: number, seed: boolean) {
    const fields = this.fieldsOf(model);
    for (const [name, value] of Object.entries(vals)) {
      const field = fields[name];
      if (!field) throw invalidField(model, name);
      if (name === "id" || name === "display_name") continue;
      if (MAGIC_FIELDS[name] && !seed) continue;
      const stored = toStored(model, name, field, value, row[name]);
      if (field.relation) {
        const ids = Array.isArray(stored) ? (stored as number[]) : typeof stored === "number" ? [stored] : [];
        if (!seed) this.browse(field.relation, ids, uid, true);
      }
      row[name] = stored;
    }
  }
}
