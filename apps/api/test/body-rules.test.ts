import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, registeredCluster } from "../../../test/support/fixtures.ts";
import { MAX_JSON_DEPTH } from "../src/http/content-types.ts";

// What a JSON body may hold: nesting at most MAX_JSON_DEPTH deep, and none of the shapes of
// prototype pollution. Anything else is a 400 that says why — never a 500, and never a job
// stored with other data than was sent.
let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let key: string;
let clusterId: string;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env });
  key = await adminKey(harness);
  clusterId = (await registeredCluster(harness, key)).cluster.id;
});

afterAll(async () => {
  await harness?.close();
  await env?.close();
});

/** A raw job whose ConfigMap carries `extra` next to its metadata; the body as text. */
const jobBody = (extra: string) =>
  `{"kind":"apply","payload":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm","namespace":"default"},${extra}}}`;

const postJob = (payload: string) =>
  harness.app.inject({
    method: "POST",
    url: `/api/v1/clusters/${clusterId}/jobs`,
    headers: { ...adminHeaders(key), "content-type": "application/json" },
    payload,
  });

/** `levels` arrays inside each other. */
const nested = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;

describe("JSON bodies", () => {
  it("refuses a payload nested thousands of levels deep with 400, not a 500", async () => {
    for (const levels of [MAX_JSON_DEPTH, 5_000, 50_000]) {
      const response = await postJob(jobBody(`"data":{"x":${nested(levels)}}`));
      expect(response.statusCode, response.body.slice(0, 200)).toBe(400);
      expect(response.json()).toMatchObject({
        error: "invalid_json",
        message: `the body is nested deeper than ${MAX_JSON_DEPTH} levels`,
      });
    }
  });

  it("takes nesting up to the limit", async () => {
    // body → payload → data → x: 4 levels before the arrays.
    const response = await postJob(jobBody(`"data":{"x":${nested(MAX_JSON_DEPTH - 4)}}`));
    expect(response.statusCode, response.body.slice(0, 200)).toBe(202);
  });

  it('refuses "constructor": {"prototype": …} and "__proto__" with 400 instead of dropping them', async () => {
    for (const extra of [
      `"data":{"constructor":{"prototype":{"polluted":"yes"}}}`,
      `"spec":{"deep":[{"__proto__":{"admin":true}}]}`,
    ]) {
      const response = await postJob(jobBody(extra));
      expect(response.statusCode, response.body).toBe(400);
      expect(response.json()).toMatchObject({
        error: "invalid_request",
        message: expect.stringContaining('"constructor" object with a "prototype" key'),
      });
    }
    expect(await harness.deps.db.job.count({ where: { clusterId } })).toBe(1);
  });

  it("keeps keys named constructor or prototype that are not pollution, exactly as sent", async () => {
    const response = await postJob(jobBody(`"data":{"constructor":"c","prototype":"p"}`));
    expect(response.statusCode, response.body).toBe(202);
    const job = await harness.deps.db.job.findUniqueOrThrow({ where: { id: response.json().jobId } });
    expect((job.payload as { data: unknown }).data).toEqual({ constructor: "c", prototype: "p" });
  });

  it("answers a body that is not JSON with 400 invalid_json", async () => {
    const response = await postJob('{"kind":');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: "invalid_json", message: "the body is not valid JSON" });
  });
});
