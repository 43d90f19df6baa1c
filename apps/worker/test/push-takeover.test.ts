import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeFake, KubeObject } from "../../../packages/kube-fake/src/index.ts";
import {
  clusterResource,
  provisionPushCredential,
  startCluster,
} from "../../../packages/push/test/support/cluster.ts";
import { eventually } from "../../../test/support/fixtures.ts";
import { type ServiceProcess, waitForHttp } from "../../../test/support/processes.ts";
import { type ServiceProcesses, startServiceProcesses } from "../../../test/support/service.ts";

// API and two workers as real processes; the worker watching a push cluster is SIGKILLed in the
// middle of a burst of deployments. The other takes the cluster's watches over within the lease,
// every job ends succeeded exactly once, and nothing is applied twice (generation 1 everywhere).

const APPS = "apps.vworkspace.io/v1alpha1";
const PER_CLUSTER = 8;

let service: ServiceProcesses;
let kube: KubeFake;

async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: service.db.url });
  client.on("error", () => {});
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  service = await startServiceProcesses({
    SECRET_KEY: "d".repeat(64),
    PUSH_WATCH_LEASE_SECONDS: "3",
    JOB_ACK_TIMEOUT_SECONDS: "5",
  });
  kube = await startCluster();
}, 60_000);

afterAll(async () => {
  // The workers' watches first: kube-fake's close waits for TLS handshakes in progress.
  await service?.stop();
  await kube?.close();
}, 60_000);

const watching = (worker: ServiceProcess, clusterId: string) =>
  worker.output.some((line) => line.includes("watching push cluster") && line.includes(clusterId));

describe("a worker SIGKILLed while it owns push clusters", () => {
  it("loses its clusters to the other worker within the lease; nothing is lost or applied twice", async () => {
    // Started one by one with generous waits: the machine's cores are shared.
    service.start("api");
    await waitForHttp(`${service.base}/readyz`, 120_000);
    const first = service.start("worker");
    await first.waitFor(/worker started/, 120_000);
    const second = service.start("worker");
    await second.waitFor(/worker started/, 120_000);
    const workers = [first, second];

    const clusters: { id: string; namespace: string }[] = [];
    for (const namespace of ["org-a", "org-b"]) {
      const { kubeconfig } = await provisionPushCredential(kube, [namespace]);
      const created = await service.admin<{ id: string }>("POST", "/api/v1/clusters", {
        displayName: `push ${namespace}`,
        connectivityMode: "push",
        allowedNamespaces: [namespace],
      });
      expect(created.status).toBe(201);
      const put = await service.admin<{ validation: { state: string } }>(
        "PUT",
        `/api/v1/clusters/${created.body.id}/kubeconfig`,
        kubeconfig,
      );
      expect(put.body.validation?.state, JSON.stringify(put.body)).toBe("Connected");
      kube.apply(clusterResource(`cr-${namespace}`, created.body.id) as KubeObject, "vworkspace-operator");
      clusters.push({ id: created.body.id, namespace });
    }

    // Each cluster is watched by exactly one worker.
    await eventually(
      async () => clusters.every(({ id }) => workers.filter((worker) => watching(worker, id)).length === 1),
      30_000,
    );
    const [target] = clusters as [(typeof clusters)[number]];
    const owner = workers.find((worker) => watching(worker, target.id)) as ServiceProcess;
    const survivor = workers.find((worker) => worker !== owner) as ServiceProcess;

    // A burst of deployments on both clusters; the owner of the first dies in the middle of it.
    const jobIds: string[] = [];
    for (let i = 0; i < PER_CLUSTER; i += 1) {
      for (const { id, namespace } of clusters) {
        const accepted = await service.admin<{ jobId: string }>(
          "POST",
          `/api/v1/clusters/${id}/applications`,
          {
            catalogId: "vaultwarden",
            namespace,
            name: `app-${i}`,
          },
        );
        expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
        jobIds.push(accepted.body.jobId);
      }
      if (i === PER_CLUSTER / 2) await owner.stop("SIGKILL");
    }
    const killedAt = Date.now();
    expect(owner.child.signalCode).toBe("SIGKILL");

    // The survivor takes the watches over within the lease (3 s here; 30 s by default).
    await eventually(async () => watching(survivor, target.id), 30_000);
    expect(Date.now() - killedAt).toBeLessThan(30_000);

    // Every job ends succeeded, with one result each.
    await eventually(async () => (await service.jobStates()).succeeded === jobIds.length, 120_000);
    const finished = await query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "AuditEntry" WHERE kind = 'JobFinished' AND data->>'jobId' = ANY($1)`,
      [jobIds],
    );
    const finishedRows = await query<{ jobId: string; n: number }>(
      `SELECT data->>'jobId' AS "jobId", count(*)::int AS n FROM "AuditEntry" WHERE kind = 'JobFinished' GROUP BY 1 HAVING count(*) > 1`,
    );
    expect(finishedRows).toEqual([]);
    expect(finished[0]?.n).toBe(jobIds.length);
    // Nothing applied twice: each ApplicationInstance is at its first generation.
    for (const { namespace } of clusters) {
      for (let i = 0; i < PER_CLUSTER; i += 1) {
        const stored = kube.get({
          apiVersion: APPS,
          kind: "ApplicationInstance",
          namespace,
          name: `app-${i}`,
        });
        expect(stored?.metadata.generation, `${namespace}/app-${i}`).toBe(1);
      }
    }

    // The survivor's watch carries the taken-over cluster's status: Ready → deployed.
    kube.setCondition(
      { apiVersion: APPS, kind: "ApplicationInstance", namespace: target.namespace, name: "app-0" },
      { type: "Ready", status: "True", reason: "Reconciled", message: "release deployed" },
    );
    await eventually(async () => {
      const rows = await query<{ state: string }>(
        `SELECT state FROM "Application" WHERE "clusterId" = $1 AND name = 'app-0'`,
        [target.id],
      );
      return rows[0]?.state === "deployed";
    }, 20_000);
  }, 420_000);
});
