import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generateTestCertificates } from "@vwksp/kube-fake/tls";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freePort } from "../../../test/support/processes.ts";
import { type GitFixture, startGitFixture } from "./support/fixture.ts";
import { startGitHttpServer } from "./support/git-http-server.ts";
import { headOf } from "./support/repositories.ts";

let fixture: GitFixture;
beforeEach(async () => {
  fixture = await startGitFixture();
});
afterEach(() => fixture.close());

describe("validateBinding", () => {
  it("accepts a token and a user/password that may push, naming the branch head", async () => {
    const engine = await fixture.engine();
    const head = await headOf(fixture.bare, "main");
    expect(await engine.validateBinding(fixture.binding())).toEqual({
      ok: true,
      head,
      serverVerified: false,
    });
    const basic = { type: "basic", username: "deployer", password: fixture.secrets.password } as const;
    expect(await engine.validateBinding(fixture.binding({ auth: basic }))).toMatchObject({ ok: true, head });
  });

  it("accepts a missing branch only when it may be created", async () => {
    const engine = await fixture.engine();
    const missing = await engine.validateBinding(fixture.binding({ branch: "flux" }));
    expect(missing).toMatchObject({ ok: false, reason: "BranchMissing" });
    expect(missing.ok === false && missing.message).toContain("branch flux");
    expect(await engine.validateBinding(fixture.binding({ branch: "flux", createBranch: true }))).toEqual({
      ok: true,
      head: null,
      serverVerified: false,
    });
  });

  it("names each failure precisely", async () => {
    const engine = await fixture.engine();
    const closedPort = await freePort();
    const cases = {
      Unreachable: fixture.binding({ url: `http://127.0.0.1:${closedPort}/fleet.git` }),
      AuthenticationFailed: fixture.binding({ auth: { type: "https-token", token: "wrong-token-123" } }),
      PushDenied: fixture.binding({
        auth: { type: "basic", username: "reader", password: fixture.secrets.readerPassword },
      }),
      RepositoryNotFound: fixture.binding({ url: fixture.server.url("nothing-here") }),
      InvalidBinding: fixture.binding({ branch: "--force" }),
    };
    for (const [reason, binding] of Object.entries(cases)) {
      const result = await engine.validateBinding(binding);
      expect(result, reason).toMatchObject({ ok: false, reason });
      const message = result.ok ? "" : result.message;
      for (const secret of [fixture.secrets.token, fixture.secrets.readerPassword, "wrong-token-123"]) {
        expect(message).not.toContain(secret);
      }
    }
  });

  it("reports an untrusted certificate as TLSError and accepts it once its CA is trusted", async () => {
    const certificates = await generateTestCertificates(new Date());
    const tlsServer = await startGitHttpServer({
      projectRoot: fixture.projectRoot,
      accounts: [{ password: fixture.secrets.token, canPush: true }],
      tls: { key: certificates.key, cert: certificates.cert },
    });
    try {
      const engine = await fixture.engine();
      const binding = fixture.binding({ url: tlsServer.url("fleet") });
      expect(await engine.validateBinding(binding)).toMatchObject({ ok: false, reason: "TLSError" });

      // A private CA reaches git through the worker's environment (GIT_SSL_CAINFO is passed through).
      const caFile = join(fixture.root, "ca.pem");
      await writeFile(caFile, certificates.caCert);
      process.env.GIT_SSL_CAINFO = caFile;
      try {
        expect(await engine.validateBinding(binding)).toMatchObject({ ok: true, serverVerified: true });
      } finally {
        delete process.env.GIT_SSL_CAINFO;
      }
    } finally {
      await tlsServer.close();
    }
  });
});
