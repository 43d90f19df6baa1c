import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.ts";

const root = fileURLToPath(new URL("../../..", import.meta.url));

describe("config", () => {
  it("has safe local defaults", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 8080,
      DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/vwksp",
      REDIS_URL: "redis://127.0.0.1:6379",
      AGENT_LEASE_SECONDS: 60,
      LOG_LEVEL: "info",
    });
    expect(config.BOOTSTRAP_ADMIN_KEY).toBeUndefined();
    expect(config.ODOO_URL).toBeUndefined();
  });

  it("reads SECRET_KEY, and its former name SIGNING_KEY_SECRET when it is unset", () => {
    const key = "a".repeat(64);
    const former = "b".repeat(64);
    expect(loadConfig({ SECRET_KEY: key })).toMatchObject({ SECRET_KEY: key, SECRET_KEY_PREVIOUS: [] });
    expect(loadConfig({ SIGNING_KEY_SECRET: key, SIGNING_KEY_SECRET_PREVIOUS: former })).toMatchObject({
      SECRET_KEY: key,
      SECRET_KEY_PREVIOUS: [former],
    });
    expect(() => loadConfig({ SECRET_KEY: key, SIGNING_KEY_SECRET: former })).toThrow(
      /former name of SECRET_KEY/,
    );
    expect(() => loadConfig({ SECRET_KEY_PREVIOUS: former })).toThrow(/SECRET_KEY: required/);
    expect(() => loadConfig({ SECRET_KEY: "short" })).toThrow(/SECRET_KEY: must be 32 bytes/);
  });

  it("names every offending variable", () => {
    expect(() => loadConfig({ PORT: "eighty", AGENT_LEASE_SECONDS: "-1", REDIS_URL: "http://x" })).toThrow(
      ConfigError,
    );
    try {
      loadConfig({ PORT: "eighty", AGENT_LEASE_SECONDS: "-1", REDIS_URL: "http://x" });
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain("PORT");
      expect(message).toContain('"eighty"');
      expect(message).toContain("AGENT_LEASE_SECONDS");
      expect(message).toContain("REDIS_URL");
    }
  });

  it("requires the Odoo credentials once ODOO_URL is set, and a JSON object field map", () => {
    expect(() => loadConfig({ ODOO_URL: "http://odoo.local:8069" })).toThrow(
      /ODOO_DB[\s\S]*ODOO_LOGIN[\s\S]*ODOO_API_KEY/,
    );
    expect(() =>
      loadConfig({
        ODOO_URL: "http://o",
        ODOO_DB: "d",
        ODOO_LOGIN: "l",
        ODOO_API_KEY: "k",
        ODOO_FIELD_MAP: "[1]",
      }),
    ).toThrow(/ODOO_FIELD_MAP/);
    expect(
      loadConfig({ ODOO_URL: "http://o", ODOO_DB: "d", ODOO_LOGIN: "l", ODOO_API_KEY: "k" }).ODOO_PROTOCOL,
    ).toBe("auto");
  });

  it("opens the metrics port only when METRICS_PORT is set, and never on the agents' port", () => {
    expect(loadConfig({}).METRICS_PORT).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: "" }).METRICS_PORT).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: "9464" }).METRICS_PORT).toBe(9464);
    expect(() => loadConfig({ METRICS_PORT: "8080" })).toThrow(/METRICS_PORT: must differ from PORT/);
    expect(() => loadConfig({ PORT: "9000", METRICS_PORT: "9000" })).toThrow(/METRICS_PORT/);
    expect(() => loadConfig({ METRICS_PORT: "70000" })).toThrow(/METRICS_PORT/);
  });

  it("refuses a field map naming an unknown field and an organization field that is no field name", () => {
    const odoo = { ODOO_URL: "http://o", ODOO_DB: "d", ODOO_LOGIN: "l", ODOO_API_KEY: "k" };
    expect(() => loadConfig({ ...odoo, ODOO_FIELD_MAP: '{"colour":"x_colour"}' })).toThrow(
      /ODOO_FIELD_MAP: unknown field "colour"/,
    );
    expect(() => loadConfig({ ...odoo, ODOO_ORGANIZATION_FIELD: "company_id.slug" })).toThrow(
      /ODOO_ORGANIZATION_FIELD: must be an Odoo field name/,
    );
    const config = loadConfig({ ...odoo, ODOO_FIELD_MAP: '{"sync_error":"x_sync_error"}' });
    expect(config).toMatchObject({
      ODOO_PULL_OVERLAP_SECONDS: 300,
      ODOO_RECONCILE_INTERVAL_SECONDS: 600,
      ODOO_WEBHOOK_REREAD_SECONDS: 5,
    });
    expect(config.ODOO_ORGANIZATION_FIELD).toBeUndefined();
  });

  it("renames the application and catalog models' fields with a prefix, and turns the chatter off on request", () => {
    const odoo = { ODOO_URL: "http://o", ODOO_DB: "d", ODOO_LOGIN: "l", ODOO_API_KEY: "k" };
    const config = loadConfig({
      ...odoo,
      ODOO_FIELD_MAP: '{"state":"x_state","application.hostname":"x_host","catalog.code":"x_code"}',
    });
    expect(config).toMatchObject({
      ODOO_APPLICATION_MODEL: "vws.application.instance",
      ODOO_CATALOG_MODEL: "vws.catalog.entry",
      ODOO_CHATTER: true,
    });
    expect(() => loadConfig({ ...odoo, ODOO_FIELD_MAP: '{"application.colour":"x_colour"}' })).toThrow(
      /ODOO_FIELD_MAP: unknown field "application.colour"/,
    );
    expect(() => loadConfig({ ...odoo, ODOO_FIELD_MAP: '{"catalog.code":"Not A Field"}' })).toThrow(
      /ODOO_FIELD_MAP: "catalog.code" must map to an Odoo field name/,
    );
    expect(loadConfig({ ODOO_CHATTER: "false" }).ODOO_CHATTER).toBe(false);
    expect(loadConfig({ ODOO_CHATTER: "" }).ODOO_CHATTER).toBe(true);
    expect(() => loadConfig({ ODOO_CHATTER: "maybe" })).toThrow(/ODOO_CHATTER/);
  });

  it("never echoes a secret value back", () => {
    expect(() => loadConfig({ BOOTSTRAP_ADMIN_KEY: "short-secret-value" })).toThrow(/BOOTSTRAP_ADMIN_KEY/);
    try {
      loadConfig({ BOOTSTRAP_ADMIN_KEY: "short-secret-value" });
    } catch (error) {
      expect((error as Error).message).not.toContain("short-secret-value");
    }
  });

  it("stops the API process with a message naming the variable, no stack trace", () => {
    const run = spawnSync(`${root}node_modules/.bin/tsx`, ["apps/api/src/server.ts"], {
      cwd: root,
      env: { ...process.env, PORT: "not-a-port", LOG_LEVEL: "silent" },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(run.status).toBe(78);
    expect(run.stderr).toContain("PORT");
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it("stops the worker process the same way", () => {
    const run = spawnSync(`${root}node_modules/.bin/tsx`, ["apps/worker/src/main.ts"], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: "loud" },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(run.status).toBe(78);
    expect(run.stderr).toContain("LOG_LEVEL");
  });
});
