import { describe, expect, it } from "vitest";
import { classifyDependencyError } from "../src/index.ts";

const pgError = (code: string, message = "x") => Object.assign(new Error(message), { code });

describe("classifyDependencyError", () => {
  it("tells the client's bad value, a busy pool, contention and an outage apart", () => {
    expect(classifyDependencyError(pgError("22021", "invalid byte sequence"))).toBe("bad-value");
    expect(classifyDependencyError(pgError("P2028", "Transaction API error"))).toBe("busy");
    expect(classifyDependencyError(new Error("Unable to start a transaction in the given time"))).toBe(
      "busy",
    );
    expect(classifyDependencyError(pgError("40P01", "deadlock detected"))).toBe("contention");
    expect(classifyDependencyError(pgError("57P01", "terminating connection"))).toBe("outage");
    expect(classifyDependencyError(new Error("Connection terminated unexpectedly"))).toBe("outage");
    expect(classifyDependencyError(pgError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:5432"))).toBe(
      "outage",
    );
    expect(classifyDependencyError(new Error("Command timed out"))).toBe("outage");
  });

  it("reads the SQLSTATE through Prisma's driver adapter wrapping", () => {
    const wrapped = { meta: { driverAdapterError: { cause: { originalCode: "08006" } } }, message: "x" };
    expect(classifyDependencyError(wrapped)).toBe("outage");
  });

  it("leaves everything else to the caller", () => {
    expect(classifyDependencyError(new Error("something else"))).toBeUndefined();
    expect(classifyDependencyError(pgError("23505", "duplicate key"))).toBeUndefined();
  });
});
