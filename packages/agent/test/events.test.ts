import type { AgentEvent } from "@vwksp/protocol";
import { describe, expect, it } from "vitest";
import { AgentApiError, TransportError } from "../src/errors.ts";
import { createEventBatcher } from "../src/events/batcher.ts";
import {
  bufferOverflowEvent,
  clusterResourceRef,
  conditionEventKey,
  conditionTransitions,
  heartbeatEvent,
} from "../src/events/conditions.ts";
import { classifyFailure } from "../src/retry.ts";
import { CLUSTER_ID } from "./support/jobs.ts";
import { manualTiming } from "./support/manual-timing.ts";

const RUN = "5d7f0c1e-9a7b-4c3d-8e2f-1a2b3c4d5e6f";
const event = (n: number): AgentEvent => ({
  eventKey: `test/${n}`,
  kind: "ConditionTransition",
  resourceRef: { apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: `cm-${n}` },
  conditions: [{ type: "Ready", status: "True" }],
  timestamp: "2026-11-27T08:00:00.000Z",
});

/** A batcher over a fake transport that records batches; `fail` makes sends throw. */
function setup(fail: () => Error | undefined = () => undefined) {
  const clock = manualTiming();
  const batches: AgentEvent[][] = [];
  const batcher = createEventBatcher({
    timing: clock.timing,
    send: async (events) => {
      const error = fail();
      if (error) throw error;
      batches.push(events);
    },
    isPoison: (error) => classifyFailure(error) === "fatal",
    overflowEvent: (dropped) =>
      bufferOverflowEvent(clusterResourceRef("cluster-local", RUN), dropped, clock.timing.clock.now()),
  });
  batcher.start();
  return { clock, batches, batcher, keys: () => batches.flat().map((item) => item.eventKey) };
}

describe("event batching", () => {
  it("flushes once a second", async () => {
    const { clock, batches, batcher } = setup();
    batcher.enqueue(event(1), event(2), event(3));
    await clock.advance(999);
    expect(batches).toEqual([]);
    await clock.advance(1);
    expect(batches).toEqual([[event(1), event(2), event(3)]]);
    await clock.advance(5_000);
    expect(batches).toHaveLength(1);
  });

  it("sends at once when 100 events are waiting, 100 per request", async () => {
    const { clock, batches, batcher } = setup();
    batcher.enqueue(...Array.from({ length: 250 }, (_, n) => event(n)));
    await clock.settle();
    expect(batches.map((batch) => batch.length)).toEqual([100, 100]);
    await clock.advance(1_000);
    expect(batches.map((batch) => batch.length)).toEqual([100, 100, 50]);
    expect(batches.flat()).toEqual(Array.from({ length: 250 }, (_, n) => event(n)));
  });

  it("keeps order across a failed send and retries with backoff", async () => {
    let failures = 1;
    const { clock, batcher, keys } = setup(() =>
      failures-- > 0 ? new TransportError("ECONNREFUSED") : undefined,
    );
    batcher.enqueue(event(1), event(2));
    await clock.advance(1_000);
    expect(keys()).toEqual([]);
    batcher.enqueue(event(3));
    await clock.advance(1_000);
    expect(keys()).toEqual(["test/1", "test/2", "test/3"]);
  });

  it("honours Retry-After of a 429 before trying again", async () => {
    let limited = true;
    const { clock, batcher, keys } = setup(() => {
      if (!limited) return undefined;
      limited = false;
      return new AgentApiError(429, "rate_limited", "slow down", "rq-1", 30_000);
    });
    batcher.enqueue(event(1));
    await clock.advance(1_000);
    expect(clock.pendingSleeps()).toEqual([30_000]);
    await clock.advance(29_999);
    expect(keys()).toEqual([]);
    await clock.advance(1);
    expect(keys()).toEqual(["test/1"]);
  });

  it("bounds the buffer at 1,000: drops the oldest and reports BufferOverflow, then its clearing", async () => {
    let down = true;
    const { clock, batcher, batches } = setup(() => (down ? new TransportError("ECONNREFUSED") : undefined));
    batcher.enqueue(...Array.from({ length: 1_005 }, (_, n) => event(n)));
    await clock.advance(10_000);
    expect(batcher.size()).toBe(1_000);
    expect(batcher.dropped()).toBe(5);

    down = false;
    await clock.advance(120_000);
    const delivered = batches.flat();
    const [report] = delivered;
    expect(report).toEqual({
      eventKey: `condition/ops.vworkspace.io/v1alpha1/Cluster/vworkspace-system/cluster-local/${RUN}/BufferOverflow/True@1`,
      kind: "ConditionTransition",
      resourceRef: {
        apiVersion: "ops.vworkspace.io/v1alpha1",
        kind: "Cluster",
        namespace: "vworkspace-system",
        name: "cluster-local",
        uid: RUN,
        generation: 1,
      },
      conditions: [
        {
          type: "BufferOverflow",
          status: "True",
          reason: "EventBufferFull",
          message:
            "Dropped 5 outbound event(s) because the buffer is full; verify control plane connectivity and that events are being accepted",
          lastTransitionTime: expect.any(String),
        },
      ],
      timestamp: expect.any(String),
    });
    expect(batches.every((batch) => batch.length <= 100)).toBe(true);
    const regular = delivered.filter((item) => item.eventKey?.startsWith("test/"));
    expect(regular).toHaveLength(1_000);
    expect(regular[0]?.eventKey).toBe("test/5");
    expect(delivered.at(-1)?.conditions?.[0]).toMatchObject({
      type: "BufferOverflow",
      status: "False",
      reason: "BufferDrained",
    });
    expect(batcher.size()).toBe(0);
  });

  it("drops a batch the server refuses as invalid (400) instead of retrying it forever", async () => {
    let refuse = true;
    const { clock, batcher, keys } = setup(() => {
      if (!refuse) return undefined;
      refuse = false;
      return new AgentApiError(400, "invalid_request", "events[0].timestamp: Invalid ISO datetime");
    });
    batcher.enqueue(event(1));
    await clock.advance(1_000);
    batcher.enqueue(event(2));
    await clock.advance(1_000);
    expect(keys()).toEqual(["test/2"]);
  });

  it("on stop, sends everything still buffered, batch by batch", async () => {
    const { clock, batcher, batches } = setup();
    batcher.enqueue(...Array.from({ length: 50 }, (_, n) => event(n)));
    await clock.advance(500);
    batcher.enqueue(...Array.from({ length: 180 }, (_, n) => event(50 + n)));
    expect(await batcher.stop(new AbortController().signal)).toBe(true);
    expect(batches.flat()).toHaveLength(230);
    expect(batches.every((batch) => batch.length <= 100)).toBe(true);
  });

  it("gives up at the stop deadline while the control plane is unreachable", async () => {
    const { batcher } = setup(() => new TransportError("ECONNREFUSED"));
    batcher.enqueue(event(1));
    const deadline = new AbortController();
    deadline.abort();
    expect(await batcher.stop(deadline.signal)).toBe(false);
  });
});

describe("event shapes", () => {
  const ref = {
    apiVersion: "apps.vworkspace.io/v1alpha1",
    kind: "ApplicationInstance",
    namespace: "org-a",
    name: "vault",
    uid: "u-1",
    generation: 3,
  };

  it("keys condition transitions as the contract says", () => {
    expect(conditionEventKey(ref, { type: "Ready", status: "True" })).toBe(
      "condition/apps.vworkspace.io/v1alpha1/ApplicationInstance/org-a/vault/u-1/Ready/True@3",
    );
    expect(
      conditionEventKey(
        { apiVersion: "v1", kind: "Namespace", name: "org-a" },
        { type: "Active", status: "Unknown" },
      ),
    ).toBe("condition/v1/Namespace/_/org-a/_/Active/Unknown@0");
  });

  it("reports one event per condition that changed status, reason or message", () => {
    const now = new Date("2026-11-27T08:00:00Z");
    const previous = [
      { type: "Ready", status: "Unknown" as const, reason: "Reconciling" },
      { type: "Reconciling", status: "True" as const, reason: "Progressing" },
    ];
    const next = [
      { type: "Ready", status: "True" as const, reason: "HelmReleaseReady" },
      { type: "Reconciling", status: "True" as const, reason: "Progressing" },
      { type: "Degraded", status: "False" as const, reason: "AsExpected" },
    ];
    expect(conditionTransitions(ref, previous, next, now).map((item) => item.eventKey)).toEqual([
      "condition/apps.vworkspace.io/v1alpha1/ApplicationInstance/org-a/vault/u-1/Ready/True@3",
      "condition/apps.vworkspace.io/v1alpha1/ApplicationInstance/org-a/vault/u-1/Degraded/False@3",
    ]);
  });

  it("sends the Go client's heartbeat plus the cluster versions", () => {
    const beat = heartbeatEvent(
      CLUSTER_ID,
      { operatorVersion: "vwksp-agent/0.1.0", kubernetesVersion: "v1.31.2" },
      new Date(0),
    );
    expect(beat).toEqual({
      kind: "ClusterHeartbeat",
      resourceRef: {
        apiVersion: "ops.vworkspace.io/v1alpha1",
        kind: "Cluster",
        namespace: "",
        name: CLUSTER_ID,
      },
      timestamp: "1970-01-01T00:00:00.000Z",
      cluster: { operatorVersion: "vwksp-agent/0.1.0", kubernetesVersion: "v1.31.2" },
    });
    expect(JSON.stringify(beat)).not.toMatch(/eventKey|conditions/);
  });
});
