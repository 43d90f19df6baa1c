import { globalRegistry, z } from "zod";
import {
  AGENT_ERROR_EXAMPLES,
  COMPONENT_DESCRIPTIONS,
  ERROR_EXAMPLES,
  EXAMPLE_HINTS,
  OPERATION_EXAMPLES,
} from "./openapi-examples.ts";
import { STANDARD_ERROR_DESCRIPTIONS } from "./responses.ts";

/**
 * The last step of `pnpm openapi`: turns what fastify-swagger and the zod type provider produce
 * into the document a module author generates a client from. It
 *
 * - keeps one component per type: the provider emits every registered schema twice (`X` for
 *   answers, `XInput` for requests); a type used in one direction keeps its plain name, a type
 *   used in both keeps one component when both forms agree, and only a request form that really
 *   differs (defaulted fields optional) stays `XInput`; unused components are dropped;
 * - adds the error answers every operation can give, derived from what it is (authenticated by
 *   which scheme, has a body, has parameters, needs PostgreSQL/Redis), each with the protocol's
 *   envelope, a real description, an example and Retry-After where the service sends one;
 * - describes every success answer and gives request and answer bodies realistic examples,
 *   checked here against the zod schemas they document;
 * - refuses (throws) an operation without operationId, summary or tag, or a parameter without a
 *   description, so `pnpm openapi` / `pnpm openapi:check` keep the document complete.
 */

// biome-ignore lint/suspicious/noExplicitAny: the document is plain JSON walked by key
type Json = any;

const REF = "#/components/schemas/";
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

/** Error answers each security scheme implies: its refusals, and the failure limiter's 429. */
const SCHEME_ERRORS: Record<string, number[]> = {
  apiKey: [401, 403, 429],
  agentToken: [401, 403, 429],
  webhookSecret: [401, 429],
};

/** What a 403 means under each scheme, unless the route says more. */
const FORBIDDEN_BY_SCHEME: Record<string, string> = {
  apiKey:
    "The API key is valid but not allowed: it lacks the scope this operation needs, or the cluster's policy refuses the request (code names the reason)",
  agentToken:
    "The credential is valid but not allowed: its cluster is disabled, or the request names another cluster than the credential's",
};

const SUCCESS_WORDS: Record<string, string> = {
  "200": "OK",
  "201": "Created",
  "202": "Accepted",
  "204": "Done; no body",
};

export function refineDocument(document: Json): Json {
  const doc = structuredClone(document);
  doc.components ??= {};
  doc.components.schemas = mergeInputOutputSchemas(doc);
  const schemas = doc.components.schemas;
  const examples = componentExamples(schemas);
  for (const [name, example] of Object.entries(examples)) {
    const description = COMPONENT_DESCRIPTIONS[name];
    if (description && !schemas[name].description) schemas[name].description = description;
    schemas[name].examples = [example];
  }
  const tags = new Set<string>();
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      refineOperation(path, method, operation, schemas, examples);
      for (const tag of operation.tags ?? []) tags.add(tag);
    }
  }
  doc.tags = [...tags].sort().map((name) => ({ name, description: TAG_DESCRIPTIONS[name] ?? name }));
  return doc;
}

const TAG_DESCRIPTIONS: Record<string, string> = {
  admin: "The caller's own API key",
  agent:
    "The pull-mode agent protocol (the in-cluster operator); media type application/vnd.vworkspace.agent.v1+json",
  "api-keys": "Admin API keys (vwksp-key-…) and their scopes",
  webhooks: "Outbound webhooks (Standard Webhooks signatures): endpoints, their delivery logs, redelivery",
  catalog: "Deployable applications: the shared catalog and the organization's own entries",
  clusters: "Cluster identities, their settings, registration tokens and agent credentials",
  health: "Liveness and readiness probes",
  jobs: "Applications, operations and raw jobs sent to a cluster, and their progress",
  observability: "What the agents report: events, resources, applications, health, and the audit trail",
  odoo: "The Odoo bridge: sync status and the record webhook",
  organizations: "Organizations (platform administrators only)",
};

// ---------------------------------------------------------------------------------------------
// One component per type

function refsIn(value: Json, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const entry of value) refsIn(entry, into);
  } else if (value && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) {
      if (key === "$ref" && typeof child === "string" && child.startsWith(REF))
        into.add(child.slice(REF.length));
      else refsIn(child, into);
    }
  }
  return into;
}

function renameRefs(value: Json, names: Map<string, string>): Json {
  return JSON.parse(JSON.stringify(value), (key, child) =>
    key === "$ref" && typeof child === "string" && child.startsWith(REF)
      ? `${REF}${names.get(child.slice(REF.length)) ?? child.slice(REF.length)}`
      : child,
  );
}

/** The output form says `additionalProperties: false` (nothing else is sent); not a difference of type. */
function withoutClosedObjects(value: Json): Json {
  return JSON.parse(JSON.stringify(value), (key, child) =>
    key === "additionalProperties" && child === false ? undefined : child,
  );
}

function mergeInputOutputSchemas(doc: Json): Record<string, Json> {
  const all: Record<string, Json> = doc.components.schemas ?? {};
  // Reachable from the operations, transitively.
  const used = refsIn(doc.paths);
  for (let grew = true; grew; ) {
    grew = false;
    for (const name of [...used]) {
      for (const ref of refsIn(all[name])) {
        if (!used.has(ref)) {
          used.add(ref);
          grew = true;
        }
      }
    }
  }
  const inputs = [...used].filter((name) => name.endsWith("Input") && all[name.slice(0, -5)] !== undefined);
  // Start by naming every request form after its type; undo where both forms are used and differ.
  const names = new Map<string, string>(inputs.map((name) => [name, name.slice(0, -5)]));
  for (let changed = true; changed; ) {
    changed = false;
    for (const input of inputs) {
      const base = input.slice(0, -5);
      if (names.get(input) !== base || !used.has(base)) continue;
      const a = withoutClosedObjects(renameRefs(all[input], names));
      const b = withoutClosedObjects(renameRefs(all[base], names));
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        names.delete(input);
        changed = true;
      }
    }
  }
  doc.paths = renameRefs(doc.paths, names);
  const out: Record<string, Json> = {};
  for (const name of [...used].sort()) {
    const target = names.get(name) ?? name;
    // A merged type takes its request form: the answer's closed objects say nothing a client needs.
    if (names.has(name) || (out[target] === undefined && !inputs.some((i) => names.get(i) === target))) {
      out[target] = renameRefs(all[name], names);
      if (name.endsWith("Input")) defaultsIntoDescriptions(out[target]);
    }
    if (name.endsWith("Input") && !names.has(name)) {
      out[name].description ??=
        `${name.slice(0, -5)} as a request carries it: fields with a default may be left out`;
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * In a request form, a field with a default is optional, and the document must say so in a way
 * generators read: openapi-typescript (default options) makes any property with a `default`
 * required, so a client could not send `{displayName}` alone. The default moves into the field's
 * description (the server applies it); `required` already leaves the field out.
 */
function defaultsIntoDescriptions(schema: Json) {
  if (Array.isArray(schema)) {
    for (const entry of schema) defaultsIntoDescriptions(entry);
    return;
  }
  if (!schema || typeof schema !== "object") return;
  const required = new Set<string>(schema.required ?? []);
  for (const [key, property] of Object.entries<Json>(schema.properties ?? {})) {
    if (!required.has(key) && property && typeof property === "object" && "default" in property) {
      const said = `Default: ${JSON.stringify(property.default)}.`;
      property.description = property.description ? `${property.description}. ${said}` : said;
      delete property.default;
    }
  }
  for (const key of ["properties", "items", "anyOf", "oneOf", "allOf", "additionalProperties"]) {
    const child = schema[key];
    if (key === "properties" && child)
      for (const value of Object.values(child)) defaultsIntoDescriptions(value);
    else defaultsIntoDescriptions(child);
  }
}

// ---------------------------------------------------------------------------------------------
// Examples

/** Builds an example of each component from its schema and EXAMPLE_HINTS; checks it with zod. */
function componentExamples(schemas: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = {};
  const problems: string[] = [];
  for (const name of Object.keys(schemas)) {
    const example = synthesize(schemas[name], schemas, name, undefined, 0);
    const zodSchema = globalRegistry._idmap.get(name.endsWith("Input") ? name.slice(0, -5) : name);
    const checked = zodSchema ? z.safeParse(zodSchema, example) : undefined;
    if (checked && !checked.success) {
      const issues = checked.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
      problems.push(`${name} ${JSON.stringify(example)}: ${issues.join("; ")}`);
    }
    out[name] = example;
  }
  if (problems.length > 0) {
    throw new Error(
      `OpenAPI examples that do not match their schemas (fix EXAMPLE_HINTS):\n${problems.join("\n")}`,
    );
  }
  return out;
}

/** A hint for `Component.property`, else for `property`; a hint of undefined leaves the property out. */
function hintFor(component: string, prop: string): { found: boolean; value?: Json } {
  for (const key of [`${component}.${prop}`, prop]) {
    if (Object.hasOwn(EXAMPLE_HINTS, key)) return { found: true, value: EXAMPLE_HINTS[key] };
  }
  return { found: false };
}

function synthesize(
  schema: Json,
  schemas: Record<string, Json>,
  component: string,
  prop: string | undefined,
  depth: number,
): Json {
  if (depth > 8) return undefined;
  if (prop !== undefined && hintFor(component, prop).found) {
    return structuredClone(hintFor(component, prop).value);
  }
  if (schema.$ref) {
    const name = schema.$ref.slice(REF.length);
    return synthesize(
      schemas[name],
      schemas,
      name.endsWith("Input") ? name.slice(0, -5) : name,
      undefined,
      depth + 1,
    );
  }
  if (Array.isArray(schema.examples) && schema.examples.length > 0)
    return structuredClone(schema.examples[0]);
  if (schema.default !== undefined) return structuredClone(schema.default);
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (Array.isArray(schema.anyOf)) {
    const branch = schema.anyOf.find((entry: Json) => entry.type !== "null") ?? schema.anyOf[0];
    return synthesize(branch, schemas, component, prop, depth + 1);
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== "null") : schema.type;
  switch (type) {
    case "object": {
      const result: Record<string, Json> = {};
      const required = new Set<string>(schema.required ?? []);
      for (const [key, child] of Object.entries<Json>(schema.properties ?? {})) {
        const hint = hintFor(component, key);
        if (hint.found && hint.value === undefined) continue;
        if (!required.has(key) && !hint.found) continue;
        const value = synthesize(child, schemas, component, key, depth + 1);
        if (value !== undefined) result[key] = value;
      }
      return result;
    }
    case "array": {
      if (!schema.items) return [];
      const item = synthesize(schema.items, schemas, component, undefined, depth + 1);
      return item === undefined ? [] : [item];
    }
    case "string":
      if (schema.format === "date-time") return "2026-05-04T09:30:00.000Z";
      if (schema.format === "uuid") return "6f1c9a52-3d7e-4b8a-9c21-5e4f8d2a7b10";
      return prop ?? "text";
    case "integer":
    case "number":
      return schema.minimum ?? (schema.exclusiveMinimum === undefined ? 0 : schema.exclusiveMinimum + 1);
    case "boolean":
      return false;
    case "null":
      return null;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Operations

function refineOperation(
  path: string,
  method: string,
  operation: Json,
  schemas: Record<string, Json>,
  examples: Record<string, Json>,
) {
  const where = `${method.toUpperCase()} ${path}`;
  for (const field of ["operationId", "summary"]) {
    if (!operation[field]) throw new Error(`${where} has no ${field}: add it to the route's schema`);
  }
  if (!operation.tags?.length) throw new Error(`${where} has no tag: add one to the route's schema`);
  if (!operation.security)
    throw new Error(`${where} declares no security (use security: [] for a public route)`);
  for (const parameter of operation.parameters ?? []) {
    if (!parameter.description) {
      throw new Error(
        `${where}: parameter ${parameter.in} ${parameter.name} has no description (zod .describe())`,
      );
    }
  }

  const schemes: string[] = operation.security.flatMap((requirement: Json) => Object.keys(requirement));
  operation.description ??= whoMayCall(operation.security, operation["x-required-scope"]);
  const responses: Record<string, Json> = operation.responses ?? {};
  const successMedia = Object.entries(responses).find(
    ([status, r]) => status.startsWith("2") && r.content,
  )?.[1]?.content;
  const mediaTypes = successMedia ? Object.keys(successMedia) : ["application/json"];

  // Statuses the operation can answer whatever the route does.
  const derived = new Set<number>();
  if (operation.requestBody) for (const status of [400, 413, 415]) derived.add(status);
  if ((operation.parameters ?? []).length > 0 || path.startsWith("/api/v1/")) derived.add(400);
  for (const scheme of schemes) for (const status of SCHEME_ERRORS[scheme] ?? []) derived.add(status);
  if (path !== "/healthz") {
    derived.add(503);
    derived.add(500);
  }
  for (const status of derived) {
    const key = String(status);
    responses[key] ??= { description: STANDARD_ERROR_DESCRIPTIONS[status] };
  }

  const operationExamples = OPERATION_EXAMPLES[operation.operationId] ?? {};
  for (const [status, response] of Object.entries(responses)) {
    const code = Number(status);
    if (code >= 400) {
      refineErrorResponse(code, response, schemes, mediaTypes, operationExamples.errors?.[code]);
    } else {
      refineSuccessResponse(status, response, examples, operationExamples.response);
    }
  }
  operation.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));

  if (operation.requestBody?.content) {
    for (const media of Object.values<Json>(operation.requestBody.content)) {
      // A nullish body (zod .nullish()) may be left out: no body at all, not a JSON null, is the use.
      const branches: Json[] | undefined = media.schema?.anyOf;
      if (branches?.some((branch) => branch.type === "null") && branches.length === 2) {
        media.schema = branches.find((branch) => branch.type !== "null");
        operation.requestBody.required = false;
      }
      const example = operationExamples.request ?? exampleOf(media.schema, examples, schemas);
      if (example !== undefined) media.example = example;
    }
  }
}

/** Who may call an operation, from its security requirement: the description it has at least. */
function whoMayCall(security: Json[], scope: string | undefined): string {
  const requirement = security[0] ?? {};
  if ("apiKey" in requirement) {
    return scope
      ? `Needs an API key (Authorization: Bearer vwksp-key-…) with the scope \`${scope}\` (or \`*\`).`
      : "Needs an API key (Authorization: Bearer vwksp-key-…), with any scope.";
  }
  if ("agentToken" in requirement) {
    return "Called by the cluster's agent with its credential (Authorization: Bearer vwksp-agt-…).";
  }
  if ("webhookSecret" in requirement) return "Authenticated by the shared secret in the URL (`?secret=…`).";
  return "Needs no credentials.";
}

function exampleOf(schema: Json, examples: Record<string, Json>, schemas: Record<string, Json>): Json {
  if (!schema) return undefined;
  if (schema.$ref) return examples[schema.$ref.slice(REF.length)];
  if (Array.isArray(schema.anyOf)) {
    const branch = schema.anyOf.find((entry: Json) => entry.type !== "null");
    return branch ? exampleOf(branch, examples, schemas) : undefined;
  }
  return synthesize(schema, schemas, "", undefined, 0);
}

function refineSuccessResponse(
  status: string,
  response: Json,
  examples: Record<string, Json>,
  override: Json,
) {
  const words = SUCCESS_WORDS[status] ?? "Success";
  const media = response.content ? Object.values<Json>(response.content) : [];
  const ref: string | undefined = media[0]?.schema?.$ref;
  const name = ref?.slice(REF.length);
  if (!response.description || response.description === "Default Response") {
    const described = name ? COMPONENT_DESCRIPTIONS[name] : undefined;
    response.description = described ? `${words}: ${lowerFirst(described)}` : words;
  }
  for (const entry of media) {
    const example =
      override ?? (entry.schema?.$ref ? examples[entry.schema.$ref.slice(REF.length)] : undefined);
    if (example !== undefined) entry.example = example;
  }
}

function refineErrorResponse(
  status: number,
  response: Json,
  schemes: string[],
  mediaTypes: string[],
  example: Json,
) {
  const standard = STANDARD_ERROR_DESCRIPTIONS[status];
  if (
    !response.description ||
    response.description === "Default Response" ||
    response.description === standard
  ) {
    const forbidden = status === 403 ? schemes.map((s) => FORBIDDEN_BY_SCHEME[s]).find(Boolean) : undefined;
    response.description = forbidden ?? standard ?? "Error";
  }
  const envelope = { $ref: `${REF}ErrorEnvelope` };
  const agent = schemes.includes("agentToken") ? AGENT_ERROR_EXAMPLES[status] : undefined;
  const value = example ?? agent ?? ERROR_EXAMPLES[status] ?? ERROR_EXAMPLES[500];
  response.content = Object.fromEntries(
    mediaTypes.map((type) => [type, { schema: envelope, example: value }]),
  );
  if (status === 429 || status === 503) {
    response.headers = {
      "Retry-After": {
        description: "Seconds to wait before trying again",
        schema: { type: "integer", minimum: 1 },
        example: status === 429 ? 42 : 5,
      },
    };
  }
}

const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);
