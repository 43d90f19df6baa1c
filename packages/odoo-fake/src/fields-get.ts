import type { FakeStore } from "./store.ts";

/** `fields_get`: description attributes, filtered, in alphabetical order as Odoo lists them. */
export function fieldsGet(store: FakeStore, model: string, allfields?: string[], attributes?: string[]) {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, field] of Object.entries(store.fieldsOf(model))) {
    if (allfields && allfields.length > 0 && !allfields.includes(name)) continue;
    const description: Record<string, unknown> = {
      readonly: Boolean(field.readonly),
      relation: field.relation,
      required: Boolean(field.required),
      searchable: true,
      selection: field.selection,
      sortable: name !== "display_name",
      store: name !== "display_name",
      string: field.string,
      type: field.type,
    };
    // Odoo lists the attributes alphabetically (recorded: v19-fields_get).
    const keys = Object.keys(description)
      .filter((key) => description[key] !== undefined && (!attributes || attributes.includes(key)))
      .sort();
    out[name] = Object.fromEntries(keys.map((key) => [key, description[key]]));
  }
  return out;
}
