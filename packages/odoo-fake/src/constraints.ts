import { requiredMissing } from "./dialect.ts";
import { fault } from "./faults.ts";
import type { FakeModel, FakeModelContext, FakeRow } from "./models.ts";

/** Required fields, unique constraints and Python constraints, in that order, as Odoo checks them. */
export function checkRows(
  definition: FakeModel,
  table: Map<number, FakeRow>,
  ids: readonly number[],
  ctx: FakeModelContext,
): void {
  for (const id of ids) {
    const row = table.get(id) as FakeRow;
    for (const [name, field] of Object.entries(definition.fields)) {
      if (field.required && (row[name] === false || row[name] === undefined)) {
        throw requiredMissing(definition.description, definition.name, field.string, name);
      }
    }
    for (const { fields, message } of definition.unique ?? []) {
      const clash = [...table.values()].some(
        (other) =>
          other.id !== id && fields.every((name) => row[name] !== false && other[name] === row[name]),
      );
      if (clash) throw fault.validation(message);
    }
    for (const constraint of definition.constraints ?? []) {
      const message = constraint(row, ctx);
      if (message) throw fault.validation(message);
    }
  }
}

/** ondelete="set null" for many2one fields, and removal from many2many relations. */
export function detachReferences(
  models: readonly FakeModel[],
  tableOf: (model: string) => Map<number, FakeRow> | undefined,
  model: string,
  deleted: readonly number[],
): void {
  for (const other of models) {
    for (const [name, field] of Object.entries(other.fields)) {
      if (field.relation !== model) continue;
      for (const row of tableOf(other.name)?.values() ?? []) {
        const value = row[name];
        if (typeof value === "number" && deleted.includes(value)) row[name] = false;
        if (Array.isArray(value)) row[name] = value.filter((id) => !deleted.includes(id as number));
      }
    }
  }
}
