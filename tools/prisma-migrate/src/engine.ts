// Loads @prisma/schema-engine-wasm (the schema engine compiled to WebAssembly, the same Rust code
// as Prisma's native engine) and runs one engine instance against our adapter factory.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import type { SchemaEngine } from "@prisma/schema-engine-wasm";
import { OfflinePgAdapterFactory } from "./adapter.ts";
import { MigrateError } from "./errors.ts";

type EngineClass = typeof SchemaEngine;

// Node has the WebAssembly global, but this workspace's lib settings (ES2023, no DOM) do not
// declare it; this is the little we use.
declare const WebAssembly: {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: Record<string, object>): Promise<{ exports: Record<string, unknown> }>;
};
let engineClass: Promise<EngineClass> | undefined;

// The engine reports the reason for a Rust panic through this global before trapping; without
// it a panic surfaces only as "RuntimeError: unreachable".
let lastPanic: string | undefined;
(globalThis as { PRISMA_WASM_PANIC_REGISTRY?: object }).PRISMA_WASM_PANIC_REGISTRY = {
  set_message: (message: string) => {
    lastPanic = message;
  },
};

// The package is built for bundlers (`import * as wasm from "./x.wasm"`), which Node cannot
// import; so we instantiate the .wasm next to its JS glue ourselves. Only once per process:
// wasm-bindgen keeps global state in the glue module.
function loadEngineClass(): Promise<EngineClass> {
  engineClass ??= (async () => {
    const glue = await import("@prisma/schema-engine-wasm/schema_engine_bg");
    const require = createRequire(import.meta.url);
    const wasmPath = require
      .resolve("@prisma/schema-engine-wasm")
      .replace(/schema_engine\.js$/, "schema_engine_bg.wasm");
    const module = await WebAssembly.compile(await readFile(wasmPath));
    const instance = await WebAssembly.instantiate(module, {
      "./schema_engine_bg.js": glue,
    });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return glue.SchemaEngine;
  })();
  return engineClass;
}

export interface SchemaFile {
  path: string;
  content: string;
}

/**
 * Runs `fn` with a fresh engine whose main database is `databaseUrl`, then frees the engine and
 * closes every connection and shadow database it opened, whatever happened.
 */
export async function withEngine<T>(
  databaseUrl: string,
  schema: SchemaFile | undefined,
  fn: (engine: SchemaEngine, factory: OfflinePgAdapterFactory) => Promise<T>,
): Promise<T> {
  const Engine = await loadEngineClass();
  const factory = new OfflinePgAdapterFactory(databaseUrl);
  const bound = bindMigrationAwareSqlAdapterFactory(factory);
  // The engine logs as JSON lines; keep them only when asked (PRISMA_TOOL_DEBUG=1).
  const log = process.env.PRISMA_TOOL_DEBUG ? (line: string) => console.error(line) : () => {};
  let engine: SchemaEngine | undefined;
  let result: T;
  try {
    engine = await Engine.new(
      { datamodels: schema ? [[schema.path, schema.content]] : undefined },
      log,
      bound,
    );
    result = await fn(engine, factory);
  } catch (error) {
    // Clean up, but report the original failure rather than a cleanup one.
    await release(engine, factory).catch(() => {});
    throw engineError(error, factory);
  }
  await release(engine, factory);
  return result;
}

async function release(engine: SchemaEngine | undefined, factory: OfflinePgAdapterFactory): Promise<void> {
  try {
    engine?.free();
  } finally {
    await factory.close();
  }
}

/**
 * Engine failures arrive as Error objects (SchemaConnectorError, or user-facing errors carrying a
 * Prisma `code` like P3006) whose message ends with a Rust span trace ("   0: schema_engine…").
 * Keep the message, drop the trace, and add PostgreSQL's own words when the adapter saw an error.
 */
function engineError(error: unknown, factory: OfflinePgAdapterFactory): unknown {
  if (error instanceof MigrateError) return error;
  if (!(error instanceof Error)) return new MigrateError(String(error), { cause: error });
  if (error.name === "RuntimeError" && lastPanic) {
    return new MigrateError(`The schema engine crashed: ${lastPanic}`, { cause: error });
  }
  const code = (error as { code?: unknown }).code;
  const [head = "", trace = ""] = error.message.split(/\n\s*0: /, 2);
  if (code === "P1012") {
    // Schema validation: keep the engine's code frames, they point at the offending line.
    return new MigrateError(`The Prisma schema is invalid (P1012):\n${head.trim()}`, { cause: error });
  }
  // "external connector error\nNo such table: Nope" -> "No such table: Nope"
  let message = sentence(head.replace(/external connector error\s*/g, "").trim() || error.name);
  if (typeof code === "string" && /^P\d{4}$/.test(code)) message = `${code} ${message}`;
  // The trace is the only place that names the migration that failed to apply.
  const migration = /Applying migration\s+with migration_name="([^"]+)"/.exec(trace)?.[1];
  if (migration && !message.includes(migration)) message = `Migration \`${migration}\` failed: ${message}`;
  const db = factory.lastDatabaseError;
  if (db && !message.includes(db.message)) {
    message += ` PostgreSQL said: ${db.message}${db.code ? ` (SQLSTATE ${db.code})` : ""}.`;
  }
  return new MigrateError(message, { cause: error });
}

function sentence(text: string): string {
  return /[.!?)]$/.test(text) ? text : `${text}.`;
}
