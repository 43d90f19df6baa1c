import { describe, expect, it } from "vitest";
import { createLogCapture } from "../../../test/support/app.ts";
import { createLogger } from "../src/logger.ts";
import { redactString } from "../src/redact.ts";

describe("logger", () => {
  it("keeps every token-shaped value and secret query parameter out of the written line", () => {
    const logs = createLogCapture();
    const logger = createLogger("trace", "test", logs.stream);
    const agt = `vwksp-agt-${"a".repeat(64)}`;
    const reg = `vwksp-reg-${"b".repeat(64)}`;
    const key = "vwksp-key-0123456789abcdefghij";
    logger.info(
      { nested: { deep: [{ value: agt }] }, url: "/api/v1/odoo/webhook?secret=hush&x=1" },
      `token ${reg}`,
    );
    logger.debug({ req: { headers: { authorization: `Bearer ${key}` } } }, "request");
    logger.error({ err: new Error(`boom with ${agt}`) }, "failed");
    const text = logs.text();
    for (const secret of [agt, reg, key, "hush"]) expect(text).not.toContain(secret);
    expect(text).toContain("vwksp-agt-[REDACTED]");
    expect(text).toContain("?secret=[REDACTED]&x=1");
    for (const line of logs.lines) expect(() => JSON.parse(line)).not.toThrow();
  });

  it("redacts secrets, not documentation: a bare prefix in a hint stays readable", () => {
    const logs = createLogCapture();
    const logger = createLogger("info", "test", logs.stream);
    const hint = "missing API key (Authorization: Bearer vwksp-key-…); tokens look like vwksp-reg-<64 hex>";
    logger.warn({ reason: hint }, "request refused");
    expect(JSON.parse(logs.lines[0] ?? "{}").reason).toBe(hint);
    expect(redactString("use vwksp-agt-0123abcd, not vwksp-agt-…")).toBe(
      "use vwksp-agt-[REDACTED], not vwksp-agt-…",
    );
  });

  it("recognises a secret parameter by its decoded name, as the server reads the query", () => {
    const logs = createLogCapture();
    const logger = createLogger("info", "test", logs.stream);
    for (const url of [
      "/api/v1/odoo/webhook?secr%65t=hush1",
      "/api/v1/odoo/webhook?x=1&%73%65%63%72%65%74=hush2&y=2",
      "/api/v1/odoo/webhook?SECRET=hush3",
      "/api/v1/odoo/webhook?toke%6E=hush4",
    ])
      logger.info({ req: { url } }, "incoming request");
    logger.info(
      { req: { url: "/api/v1/clusters?secretary=visible&k%65y_id=visible-too" } },
      "incoming request",
    );
    const text = logs.text();
    for (const secret of ["hush1", "hush2", "hush3", "hush4"]) expect(text).not.toContain(secret);
    expect(text).toContain("?secr%65t=[REDACTED]");
    expect(text).toContain("&%73%65%63%72%65%74=[REDACTED]&y=2");
    expect(text).toContain("secretary=visible&k%65y_id=visible-too");
  });
});
