import type { Condition } from "@vwksp/protocol";
import { describe, expect, it } from "vitest";
import { healthMessage, worstCondition } from "../src/health/cluster-health.ts";
import { type JobChannelFacts, jobChannelCondition } from "../src/health/job-channel.ts";

const now = new Date("2026-12-01T12:00:00.000Z");
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);
const STALE = 640;

const facts = (extra: Partial<JobChannelFacts> = {}): JobChannelFacts => ({
  status: "connected",
  registeredAt: ago(3600),
  lastPollAt: ago(10),
  pollAuthFailures: null,
  oldestReadyAt: null,
  ...extra,
});

const judge = (input: JobChannelFacts, previous: Condition | null = null) =>
  jobChannelCondition(input, previous, now, STALE);

describe("JobChannelHealthy", () => {
  it("is True while polls succeed, Unknown before the first one, False past the threshold without one", () => {
    expect(judge(facts())).toMatchObject({
      type: "JobChannelHealthy",
      status: "True",
      reason: "PollsSucceeding",
    });
    expect(judge(facts({ lastPollAt: null, registeredAt: ago(60) }))).toMatchObject({
      status: "Unknown",
      reason: "NoPollYet",
    });
    expect(judge(facts({ lastPollAt: null, registeredAt: ago(641) }))).toMatchObject({
      status: "False",
      reason: "NoRecentPoll",
      message: expect.stringContaining(`since registration at ${ago(641).toISOString()}`),
    });
    expect(judge(facts({ lastPollAt: ago(641) }))).toMatchObject({
      status: "False",
      reason: "NoRecentPoll",
      message: expect.stringContaining(`no job poll succeeded since ${ago(641).toISOString()}`),
    });
    expect(judge(facts({ lastPollAt: ago(639) }))).toMatchObject({ status: "True" });
  });

  it.each([
    ["rotated", "PollingWithRotatedCredential", "restart the operator"],
    [
      "revoked",
      "PollingWithRevokedCredential",
      "registered again since, its operator's poller still holds the old token",
    ],
    ["expired", "PollingWithExpiredCredential", "CREDENTIAL_TTL_SECONDS"],
  ] as const)("names a %s credential when the silent polls are refused for it", (state, reason, advice) => {
    const refused = facts({
      lastPollAt: ago(700),
      pollAuthFailures: { [state]: { count: 320, lastAt: ago(2).toISOString() } },
    });
    expect(judge(refused)).toMatchObject({
      status: "False",
      reason,
      message: expect.stringContaining(advice),
    });
  });

  it("takes the latest refusal after the last successful poll, and ignores older ones", () => {
    const mixed = facts({
      lastPollAt: ago(700),
      pollAuthFailures: {
        expired: { count: 1, lastAt: ago(800).toISOString() },
        revoked: { count: 2, lastAt: ago(30).toISOString() },
        rotated: { count: 5, lastAt: ago(5).toISOString() },
      },
    });
    expect(judge(mixed)).toMatchObject({ reason: "PollingWithRotatedCredential" });
    const onlyOld = facts({
      lastPollAt: ago(700),
      pollAuthFailures: { expired: { count: 1, lastAt: ago(800).toISOString() } },
    });
    expect(judge(onlyOld)).toMatchObject({ reason: "NoRecentPoll" });
  });

  it("is False when jobs wait undelivered past the threshold although polls arrive", () => {
    expect(judge(facts({ oldestReadyAt: ago(641) }))).toMatchObject({
      status: "False",
      reason: "JobsUndelivered",
    });
    expect(judge(facts({ oldestReadyAt: ago(100) }))).toMatchObject({ status: "True" });
  });

  it("says nothing for a cluster never judged that is not connected; Unknown for one that was", () => {
    expect(judge(facts({ status: "disconnected", lastPollAt: ago(5000) }))).toBeUndefined();
    const before: Condition = {
      type: "JobChannelHealthy",
      status: "False",
      reason: "NoRecentPoll",
      message: "",
    };
    expect(judge(facts({ status: "disconnected" }), before)).toMatchObject({
      status: "Unknown",
      reason: "ClusterNotConnected",
    });
  });

  it("keeps the transition time of an unchanged verdict", () => {
    const before: Condition = {
      type: "JobChannelHealthy",
      status: "False",
      reason: "NoRecentPoll",
      message: "x",
      lastTransitionTime: "2026-12-01T11:00:00.000Z",
    };
    expect(judge(facts({ lastPollAt: ago(5000) }), before)?.lastTransitionTime).toBe(
      "2026-12-01T11:00:00.000Z",
    );
    expect(judge(facts(), before)?.lastTransitionTime).toBe(now.toISOString());
  });
});

describe("the worst condition", () => {
  const at = (minute: number) => `2026-12-01T10:0${minute}:00Z`;
  const condition = (type: string, status: Condition["status"], minute = 0): Condition => ({
    type,
    status,
    reason: "R",
    message: "m",
    lastTransitionTime: at(minute),
  });

  it("knows both polarities of the operator's conditions, and errors before warnings", () => {
    const healthy = [
      condition("Connected", "True"),
      condition("Disconnected", "False"),
      condition("Authenticated", "True"),
      condition("BufferOverflow", "False"),
      condition("ControllerMissing", "False"),
      condition("JobChannelHealthy", "True"),
      condition("Reconciling", "False"),
    ];
    expect(worstCondition(healthy)).toBeUndefined();
    expect(healthMessage(healthy)).toBeNull();
    const sick = [
      ...healthy,
      condition("BufferOverflow", "True", 5),
      condition("Authenticated", "False", 1),
      condition("MemoryPressure", "True", 6),
    ];
    expect(worstCondition(sick)?.type).toBe("Authenticated");
    expect(healthMessage(sick)).toBe(`Authenticated=False (R): m [since ${at(1)}] (+2 more problems)`);
  });
});
