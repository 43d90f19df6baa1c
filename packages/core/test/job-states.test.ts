import { CLOSED_JOB_STATES, JobOutcome, JobState, OPEN_JOB_STATES } from "@vwksp/protocol";
import { describe, expect, it } from "vitest";
import { JobState as StoredJobState } from "../src/generated/prisma/enums.ts";

describe("job states have one source", () => {
  it("the database enum is the protocol's JobState", () => {
    expect(Object.values(StoredJobState).sort()).toEqual([...JobState.options].sort());
  });

  it("every state is open or closed, never both, and every agent outcome closes a job", () => {
    expect([...OPEN_JOB_STATES, ...CLOSED_JOB_STATES].sort()).toEqual([...JobState.options].sort());
    for (const outcome of JobOutcome.options) expect(CLOSED_JOB_STATES).toContain(outcome);
  });
});
