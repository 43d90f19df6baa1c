import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KubeFake, startKubeFake } from "../src/index.ts";
import { clientsFor } from "./support/clients.ts";
import { rawGet } from "./support/raw-get.ts";

let fake: KubeFake;
let clients: ReturnType<typeof clientsFor>;

beforeAll(async () => {
  fake = await startKubeFake({ namespaces: ["org-a"] });
  clients = clientsFor(fake);
  for (const name of ["a", "b", "c"]) {
    fake.put({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: "org-a" },
      data: { v: "1" },
    });
  }
});
afterAll(() => fake?.close());

const page = (options: { limit?: number; _continue?: string }) =>
  clients.core.listNamespacedConfigMap({ namespace: "org-a", ...options });

describe("lists", () => {
  it("pages with limit and continue from one consistent snapshot", async () => {
    const first = await page({ limit: 2 });
    expect(first.items.map((item) => item.metadata?.name)).toEqual(["a", "b"]);
    expect(first.metadata?.remainingItemCount).toBe(1);
    const snapshot = first.metadata?.resourceVersion;
    // A change between pages is not in the second page: it reads the first page's snapshot.
    fake.put({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c", namespace: "org-a" },
      data: { v: "2" },
    });
    const second = await page({ limit: 2, _continue: first.metadata?._continue ?? "" });
    expect(second.items.map((item) => [item.metadata?.name, item.data?.v])).toEqual([["c", "1"]]);
    expect(second.metadata?.resourceVersion).toBe(snapshot);
    expect(second.metadata?._continue).toBeUndefined();
  });

  it("answers an Exact list at a past resourceVersion with the objects as they were", async () => {
    const before = fake.resourceVersion();
    fake.remove({ apiVersion: "v1", kind: "ConfigMap", namespace: "org-a", name: "a" });
    const exact = await clients.core.listNamespacedConfigMap({
      namespace: "org-a",
      resourceVersion: before,
      resourceVersionMatch: "Exact",
    });
    expect(exact.items.map((item) => item.metadata?.name)).toEqual(["a", "b", "c"]);
    const latest = await clients.core.listNamespacedConfigMap({
      namespace: "org-a",
      resourceVersion: before,
    });
    expect(latest.items.map((item) => item.metadata?.name)).toEqual(["b", "c"]);
  });

  it("answers 410 Expired for an Exact list or a continue token older than the compaction", async () => {
    const old = fake.resourceVersion();
    const first = await page({ limit: 1 });
    fake.put({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "d", namespace: "org-a" } });
    fake.compact();
    const rawExact = await fetchList(`resourceVersion=${old}&resourceVersionMatch=Exact`);
    expect(rawExact).toMatchObject({
      code: 410,
      body: {
        reason: "Expired",
        message: "The resourceVersion for the provided list is too old.",
        code: 410,
      },
    });
    const continued = await fetchList(`limit=1&continue=${first.metadata?._continue}`);
    expect(continued.code).toBe(410);
    expect(continued.body).toMatchObject({
      reason: "Expired",
      message: expect.stringMatching(
        /^The provided continue parameter is too old to display a consistent list result/,
      ),
      metadata: { continue: expect.any(String) },
    });
    const inconsistent = await fetchList(
      `limit=10&continue=${(continued.body.metadata as { continue: string }).continue}`,
    );
    expect((inconsistent.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name)).toEqual(
      ["c", "d"],
    );
  });

  it("answers a resourceVersion it has not reached with 504 Too large resource version", async () => {
    const ahead = String(Number(fake.resourceVersion()) + 100);
    const failure = await fetchList(`resourceVersion=${ahead}`);
    expect(failure).toMatchObject({
      code: 504,
      body: {
        reason: "Timeout",
        message: `Timeout: Too large resource version: ${ahead}, current: ${fake.resourceVersion()}`,
        details: {
          causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
          retryAfterSeconds: 1,
        },
      },
    });
  });
});

/** A raw list call, to read what client-node's typed calls do not hand back (410 and 504 bodies). */
const fetchList = (query: string) =>
  rawGet(`${fake.url}/api/v1/namespaces/org-a/configmaps?${query}`, { ca: fake.caCert, token: fake.token });
