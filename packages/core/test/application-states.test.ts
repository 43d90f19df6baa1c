import type { ApplicationState, Condition } from "@vwksp/protocol";
import { describe, expect, it } from "vitest";
import {
  type ApplicationSignal,
  type ApplicationSnapshot,
  type ClosedJobState,
  nextApplicationState,
  type ObservedResource,
} from "../src/applications/application-states.ts";

// Every arrow of docs/application-states.md, and the signals that must not move an application.

const app = (state: ApplicationState, extra: Partial<ApplicationSnapshot> = {}): ApplicationSnapshot => ({
  state,
  lastJobId: "j-latest",
  appliedUid: null,
  appliedGeneration: null,
  ...extra,
});

const condition = (type: string, status: Condition["status"], reason = "R"): Condition => ({
  type,
  status,
  reason,
  message: "m",
  lastTransitionTime: "2026-12-01T10:00:00Z",
});

const resource = (uid: string, generation: number, ...conditions: Condition[]): ObservedResource => ({
  uid,
  generation,
  conditions,
});

const ready = (uid = "uid-1", generation = 1) =>
  resource(uid, generation, condition("Ready", "True", "Ready"));
const notReady = (uid = "uid-1", generation = 1) =>
  resource(uid, generation, condition("Ready", "False", "HelmReleaseFailed"));
const degraded = (uid = "uid-1", generation = 1) =>
  resource(uid, generation, condition("Ready", "True"), condition("Degraded", "True", "PodCrashLooping"));

const closed = (
  jobState: ClosedJobState,
  extra: Partial<Extract<ApplicationSignal, { kind: "job-closed" }>> = {},
): ApplicationSignal => ({
  kind: "job-closed",
  jobId: "j-latest",
  intent: "deploy",
  jobState,
  error: null,
  appliedRef: { uid: "uid-1", generation: 1 },
  resource: null,
  ...extra,
});

const observed = (observedResource: ObservedResource): ApplicationSignal => ({
  kind: "resource-observed",
  resource: observedResource,
});

const ALL_STATES: ApplicationState[] = [
  "requested",
  "deploying",
  "deployed",
  "not_ready",
  "degraded",
  "failed",
  "deleting",
  "deleted",
];

describe("application state machine", () => {
  it.each(ALL_STATES)("%s → requested on a deploy request, → deleting on a delete request", (state) => {
    const from = app(state, { appliedUid: "uid-1", appliedGeneration: 1 });
    expect(nextApplicationState(from, { kind: "deploy-requested", jobId: "j-new" })).toEqual({
      state: "requested",
      reason: null,
      appliedUid: null,
      appliedGeneration: null,
    });
    expect(nextApplicationState(from, { kind: "delete-requested", jobId: "j-new" })).toMatchObject({
      state: "deleting",
    });
  });

  describe("requested, when its job closes", () => {
    it("→ deploying: succeeded, the applied object not known Ready at that generation", () => {
      expect(nextApplicationState(app("requested"), closed("succeeded"))).toEqual({
        state: "deploying",
        reason: null,
        appliedUid: "uid-1",
        appliedGeneration: 1,
      });
      // Ready only at an older generation, or of another object (deleted and created again).
      expect(
        nextApplicationState(
          app("requested"),
          closed("succeeded", { appliedRef: { uid: "uid-1", generation: 2 }, resource: ready("uid-1", 1) }),
        ),
      ).toMatchObject({ state: "deploying", appliedGeneration: 2 });
      expect(
        nextApplicationState(app("requested"), closed("succeeded", { resource: ready("uid-old", 1) })),
      ).toMatchObject({ state: "deploying", appliedUid: "uid-1" });
      // Ready=False at that generation: still deploying, saying why.
      expect(
        nextApplicationState(app("requested"), closed("succeeded", { resource: notReady() })),
      ).toMatchObject({ state: "deploying", reason: expect.stringContaining("HelmReleaseFailed") });
    });

    it("→ deployed: succeeded with the object already Ready=True at that generation (the unchanged redeploy)", () => {
      expect(nextApplicationState(app("requested"), closed("succeeded", { resource: ready() }))).toEqual({
        state: "deployed",
        reason: "Ready=True (Ready): m [since 2026-12-01T10:00:00Z]",
        appliedUid: "uid-1",
        appliedGeneration: 1,
      });
    });

    it("→ degraded: succeeded with the object known Degraded=True", () => {
      expect(
        nextApplicationState(app("requested"), closed("succeeded", { resource: degraded() })),
      ).toMatchObject({ state: "degraded", reason: expect.stringContaining("PodCrashLooping") });
    });

    it("→ deployed or deploying on a replay (noop without error), from the object as last reported", () => {
      const replay = closed("noop", { appliedRef: null, resource: ready("uid-1", 3) });
      expect(nextApplicationState(app("requested"), replay)).toMatchObject({
        state: "deployed",
        appliedUid: "uid-1",
        appliedGeneration: 3,
      });
      expect(nextApplicationState(app("requested"), closed("noop", { appliedRef: null }))).toMatchObject({
        state: "deploying",
        appliedUid: null,
        appliedGeneration: null,
      });
    });

    it.each([
      ["failed", "helm: render error", "job j-latest failed: helm: render error"],
      ["conflict", "apply conflict: field manager", "job j-latest conflict: apply conflict: field manager"],
      ["expired", "expired before it was delivered", "job j-latest expired: expired before it was delivered"],
      [
        "undeliverable",
        "not completed after 5 deliveries",
        "job j-latest undeliverable: not completed after 5 deliveries",
      ],
      ["cancelled", "cancelled by an admin", "job j-latest cancelled: cancelled by an admin"],
      ["noop", "expired", "job j-latest noop: expired"],
    ] as const)("→ failed: %s (%s)", (jobState, error, reason) => {
      expect(nextApplicationState(app("requested"), closed(jobState, { error, appliedRef: null }))).toEqual({
        state: "failed",
        reason,
        appliedUid: null,
        appliedGeneration: null,
      });
    });

    it("stays when the job is an older request's, or when it only reports conditions", () => {
      expect(
        nextApplicationState(app("requested"), closed("succeeded", { jobId: "j-older" })),
      ).toBeUndefined();
      expect(nextApplicationState(app("requested"), observed(ready()))).toBeUndefined();
    });
  });

  describe("deploying, when the applied object reports", () => {
    const deploying = app("deploying", { appliedUid: "uid-1", appliedGeneration: 2 });

    it("→ deployed on Ready=True at the applied generation (or a later one)", () => {
      expect(nextApplicationState(deploying, observed(ready("uid-1", 2)))).toMatchObject({
        state: "deployed",
        appliedUid: "uid-1",
        appliedGeneration: 2,
      });
      expect(nextApplicationState(deploying, observed(ready("uid-1", 3)))).toMatchObject({
        state: "deployed",
      });
    });

    it("→ degraded on Degraded=True", () => {
      expect(nextApplicationState(deploying, observed(degraded("uid-1", 2)))).toMatchObject({
        state: "degraded",
      });
    });

    it("→ deploying (the reason updated) on Ready=False", () => {
      expect(nextApplicationState(deploying, observed(notReady("uid-1", 2)))).toEqual({
        state: "deploying",
        reason: expect.stringContaining("Ready=False (HelmReleaseFailed)"),
        appliedUid: "uid-1",
        appliedGeneration: 2,
      });
    });

    it("stays for an older generation, another object, or no verdict", () => {
      expect(nextApplicationState(deploying, observed(ready("uid-1", 1)))).toBeUndefined();
      expect(nextApplicationState(deploying, observed(ready("uid-other", 2)))).toBeUndefined();
      expect(
        nextApplicationState(deploying, observed(resource("uid-1", 2, condition("Reconciling", "True")))),
      ).toBeUndefined();
    });
  });

  describe.each(["deployed", "not_ready", "degraded"] as const)("%s, when its object reports", (state) => {
    const running = app(state, { appliedUid: "uid-1", appliedGeneration: 1 });

    it("→ deployed on Ready=True, → not_ready on Ready=False, → degraded on Degraded=True", () => {
      expect(nextApplicationState(running, observed(ready()))).toMatchObject({ state: "deployed" });
      expect(nextApplicationState(running, observed(notReady()))).toMatchObject({ state: "not_ready" });
      expect(nextApplicationState(running, observed(degraded()))).toMatchObject({ state: "degraded" });
    });

    it("stays for another object's late report", () => {
      expect(nextApplicationState(running, observed(notReady("uid-old")))).toBeUndefined();
    });
  });

  describe("deleting, when its job closes", () => {
    const deleting = app("deleting");
    const deleteClosed = (jobState: ClosedJobState, error: string | null = null) =>
      closed(jobState, { intent: "delete", error, appliedRef: null });

    it("→ deleted: succeeded, or a replay", () => {
      expect(nextApplicationState(deleting, deleteClosed("succeeded"))).toEqual({
        state: "deleted",
        reason: null,
        appliedUid: null,
        appliedGeneration: null,
      });
      expect(nextApplicationState(deleting, deleteClosed("noop"))).toMatchObject({ state: "deleted" });
    });

    it("→ failed: failed, expired, undeliverable", () => {
      expect(nextApplicationState(deleting, deleteClosed("failed", "forbidden"))).toMatchObject({
        state: "failed",
        reason: "job j-latest failed: forbidden",
      });
      expect(nextApplicationState(deleting, deleteClosed("undeliverable", "x"))).toMatchObject({
        state: "failed",
      });
    });

    it("stays on the object's reports (the Deleting=True transition) and on a deploy job's close", () => {
      expect(nextApplicationState(deleting, observed(ready()))).toBeUndefined();
      expect(nextApplicationState(deleting, closed("succeeded"))).toBeUndefined();
    });
  });

  it.each(["failed", "deleted"] as const)("%s moves only on a new request", (state) => {
    expect(nextApplicationState(app(state), observed(ready()))).toBeUndefined();
    expect(nextApplicationState(app(state), closed("succeeded"))).toBeUndefined();
    expect(nextApplicationState(app(state), closed("succeeded", { intent: "delete" }))).toBeUndefined();
  });
});
