import { describe, expect, it } from "vitest";
import { JobResultBody, JobsQuery, RegisterBody } from "../src/agent.ts";
import { formatRegistrationToken, isAgentCredentialFormat, parseRegistrationToken } from "../src/tokens.ts";

describe("token formats", () => {
  it("round-trips a registration token and rejects any one-character change", () => {
    const token = formatRegistrationToken("0123456789abcdef", "a".repeat(40));
    expect(token).toMatch(/^vwksp-reg-[0-9a-f]{64}$/);
    expect(parseRegistrationToken(token)).toEqual({ lookupId: "0123456789abcdef", secret: "a".repeat(40) });
    for (let i = "vwksp-reg-".length; i < token.length; i += 1) {
      const changed = token.slice(0, i) + (token[i] === "0" ? "1" : "0") + token.slice(i + 1);
      expect(parseRegistrationToken(changed), `position ${i}`).toBeNull();
    }
    expect(parseRegistrationToken(token.toUpperCase())).toBeNull();
    expect(parseRegistrationToken(`${token}0`)).toBeNull();
  });

  it("recognises agent credentials by shape", () => {
    expect(isAgentCredentialFormat(`vwksp-agt-${"0".repeat(64)}`)).toBe(true);
    expect(isAgentCredentialFormat(`vwksp-agt-${"0".repeat(63)}`)).toBe(false);
    expect(isAgentCredentialFormat(`vwksp-reg-${"0".repeat(64)}`)).toBe(false);
  });
});

describe("agent request schemas", () => {
  it("clamps wait at 300 and refuses negatives and fractions", () => {
    expect(JobsQuery.parse({ cluster: "c", wait: "900" }).wait).toBe(300);
    expect(JobsQuery.parse({ cluster: "c", wait: "0" }).wait).toBe(0);
    for (const wait of ["-1", "1.5", "", "1e3"])
      expect(JobsQuery.safeParse({ cluster: "c", wait }).success).toBe(false);
  });

  it("requires error for failed and conflict results, tolerates unknown fields", () => {
    expect(JobResultBody.safeParse({ outcome: "failed" }).success).toBe(false);
    expect(JobResultBody.safeParse({ outcome: "conflict", error: "x" }).success).toBe(true);
    expect(
      JobResultBody.parse({
        outcome: "noop",
        error: "expired",
        extra: 1,
        timestamp: "2026-11-27T07:30:00.123456789Z",
      }),
    ).not.toHaveProperty("extra");
    expect(RegisterBody.parse({ registrationToken: "t", somethingNew: true })).toEqual({
      registrationToken: "t",
    });
  });
});
