import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorkerDeps } from "../../../../apps/worker/src/deps.ts";
import { createTelemetry } from "../../../../packages/agent/src/runtime/telemetry.ts";
import { createLogger } from "../../../../packages/core/src/index.ts";
import { createTestEnv, type TestEnv } from "../../../../test/support/app.ts";
import { createApiDeps } from "../../src/deps.ts";

// deploy/grafana/*.json: every metric a panel queries is one the processes it watches register,
// and every vwksp_ metric they register is on a panel — control-plane.json for the API and the
// worker, agents.json for the reference agent.

interface Dashboard {
  panels: {
    id: number;
    title: string;
    gridPos: { x: number; y: number; w: number; h: number };
    targets: { expr: string }[];
  }[];
}

const readDashboard = (name: string) =>
  JSON.parse(
    readFileSync(fileURLToPath(new URL(`../../../../deploy/grafana/${name}`, import.meta.url)), "utf8"),
  ) as Dashboard;

const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "offset",
  "and",
  "or",
  "unless",
]);

/** The metric names a PromQL expression selects (functions, label names, keywords and literals removed). */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, "")
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  return [...stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .filter((match) => !/^\s*\(/.test(stripped.slice((match.index ?? 0) + match[0].length)))
    .map((match) => match[0])
    .filter((name) => !KEYWORDS.has(name) && !/^(e\d+|Inf|NaN)$/i.test(name));
}

/** Series names a registry exposes: a histogram's _bucket, _sum and _count too. */
async function exposed(registry: Registry): Promise<Set<string>> {
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === "histogram")
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(metric.name + suffix);
  }
  return names;
}

let env: TestEnv;
let controlPlane: Set<string>;
let agent: Set<string>;

beforeAll(async () => {
  env = await createTestEnv();
  const odoo = { ODOO_URL: "http://127.0.0.1:1", ODOO_DB: "d", ODOO_LOGIN: "l", ODOO_API_KEY: "k" };
  const api = createApiDeps(env.config());
  const worker = createWorkerDeps(env.config(odoo), createLogger("silent", "worker"));
  api.metrics.collectProcessMetrics();
  worker.metrics.collectProcessMetrics();
  controlPlane = new Set([
    ...(await exposed(api.metrics.registry)),
    ...(await exposed(worker.metrics.registry)),
  ]);
  await api.close();
  await worker.close();
  // As `run --health-addr` builds it: with Node's process metrics under the agent's prefix.
  agent = await exposed(createTelemetry({ staleAfterMs: 60_000, processMetrics: true }).registry);
});

afterAll(async () => {
  await env?.close();
});

describe("Grafana dashboards", () => {
  it("reads metric names out of PromQL", () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, route) (rate(a_bucket{route!="/x"}[5m]))) / on (job) b',
      ),
    ).toEqual(["a_bucket", "b"]);
    expect(metricNames("time() - max(c_seconds) > 1e3")).toEqual(["c_seconds"]);
    expect(metricNames("count(d_ready == 0)")).toEqual(["d_ready"]);
  });

  const cases = [
    { file: "control-plane.json", exporters: "the API or the worker", registered: () => controlPlane },
    { file: "agents.json", exporters: "the reference agent", registered: () => agent },
  ];

  describe.each(cases)("$file", ({ file, exporters, registered }) => {
    const dashboard = readDashboard(file);

    it(`queries only metrics ${exporters} exports`, () => {
      const queried = dashboard.panels.flatMap((panel) =>
        panel.targets.flatMap((target) =>
          metricNames(target.expr).map((name) => ({ panel: panel.title, name })),
        ),
      );
      expect(queried.length).toBeGreaterThan(dashboard.panels.length);
      for (const { panel, name } of queried) expect(registered().has(name), `${panel}: ${name}`).toBe(true);
    });

    it("shows every vwksp_ metric on some panel", () => {
      const queried = new Set(
        dashboard.panels.flatMap((panel) => panel.targets.flatMap((t) => metricNames(t.expr))),
      );
      const families = [...registered()].filter(
        (name) =>
          name.startsWith("vwksp_") &&
          !/_(sum|count)$/.test(name) &&
          // Node's own process metrics (the agent's carry its prefix): a few are enough.
          !/^vwksp_agent_(process|nodejs)_/.test(name),
      );
      const shown = (name: string) =>
        queried.has(name) || queried.has(`${name}_bucket`) || queried.has(name.replace(/_bucket$/, ""));
      expect(families.filter((name) => !shown(name))).toEqual([]);
    });

    it("lays panels out without overlaps and gives each a unique id", () => {
      const ids = dashboard.panels.map((panel) => panel.id);
      expect(new Set(ids).size).toBe(ids.length);
      const cells = new Set<string>();
      for (const panel of dashboard.panels) {
        const { x, y, w, h } = panel.gridPos;
        expect(x + w, panel.title).toBeLessThanOrEqual(24);
        for (let row = y; row < y + h; row += 1)
          for (let col = x; col < x + w; col += 1) {
            expect(cells.has(`${row}:${col}`), `${panel.title} overlaps at ${row}:${col}`).toBe(false);
            cells.add(`${row}:${col}`);
          }
      }
    });
  });
});
