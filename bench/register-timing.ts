// bench/register-timing — how long POST /api/agent/register takes to refuse a token, by what the
// token is: whether the answer's timing tells a live token id from an unknown one. See bench/README.md.
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { buildApp } from "../apps/api/src/app.ts";
import { createApiDeps } from "../apps/api/src/deps.ts";
import { argon2Pool } from "../packages/core/src/tokens/argon2.ts";
import { formatRegistrationToken } from "../packages/protocol/src/index.ts";
import { createBenchEnv } from "./support/env.ts";
import { benchActor, createClusters } from "./support/fixtures.ts";
import { createHttpClient, goAgentHeaders } from "./support/http.ts";
import { runBench } from "./support/lifecycle.ts";
import { format, goalRow, infoRow, log, option, percentile, printTable } from "./support/stats.ts";

const SAMPLES = Number(option("samples", "200"));
const WRONG_SECRET = "5".repeat(40);

await runBench(150_000, async (onCleanup) => {
  const env = await createBenchEnv("regtiming");
  onCleanup(() => env.close());
  // Every refusal here is deliberate: the limiter must not turn them into 429s.
  const deps = createApiDeps(env.config({ AUTH_FAILURE_LIMIT_PER_MINUTE: "1000000" }));
  onCleanup(() => deps.close());
  const app = await buildApp(deps);
  onCleanup(() => app.close());
  await app.listen({ host: "127.0.0.1", port: 0 });

  log("clusters and tokens: live, used, and one as issued before secret tags (argon2 only)");
  const actor = await benchActor(deps);
  const [liveCluster, usedCluster, legacyCluster] = await createClusters(deps, actor, 3);
  if (!liveCluster || !usedCluster || !legacyCluster) throw new Error("no clusters");
  const live = await deps.registrationTokens.issue(actor, liveCluster.id, 3_600);
  const used = await deps.registrationTokens.issue(actor, usedCluster.id, 3_600);
  await deps.registrationTokens.exchange({ token: used.token, clientAddress: "127.0.0.1" });
  const legacy = await deps.registrationTokens.issue(actor, legacyCluster.id, 3_600);
  await deps.db.registrationToken.update({ where: { id: legacy.tokenId }, data: { secretTag: null } });

  const kinds = {
    "unknown token id": formatRegistrationToken("0000000000c0ffee", WRONG_SECRET),
    "live token id, wrong secret": formatRegistrationToken(live.tokenId, WRONG_SECRET),
    "used token, its right secret": used.token,
    "pre-tag token id, wrong secret (the old path)": formatRegistrationToken(legacy.tokenId, WRONG_SECRET),
  };
  const { port } = app.server.address() as AddressInfo;
  const client = createHttpClient(`http://127.0.0.1:${port}`, 1);
  const samples = new Map<string, number[]>(Object.keys(kinds).map((kind) => [kind, []]));
  try {
    log(`${SAMPLES} refusals of each kind, interleaved, one at a time over keep-alive HTTP`);
    for (let round = -10; round < SAMPLES; round += 1) {
      for (const [kind, token] of Object.entries(kinds)) {
        const started = performance.now();
        const response = await client.request(
          "POST",
          "/api/agent/register",
          goAgentHeaders(token, true),
          JSON.stringify({ registrationToken: token }),
        );
        const elapsed = performance.now() - started;
        if (response.status !== 401) throw new Error(`${kind}: ${response.status} ${response.body}`);
        if (round >= 0) samples.get(kind)?.push(elapsed);
      }
    }
  } finally {
    client.close();
  }

  const median = (kind: string) => percentile(samples.get(kind) ?? [], 50);
  const gap = Math.abs(median("live token id, wrong secret") - median("unknown token id"));
  const usedGap = Math.abs(median("used token, its right secret") - median("unknown token id"));
  printTable("bench/register-timing: POST /api/agent/register refused (401), by token", [
    ...Object.keys(kinds).map((kind) =>
      infoRow(
        `${kind}: median / p90`,
        `${format(median(kind))} / ${format(percentile(samples.get(kind) ?? [], 90))} ms`,
      ),
    ),
    goalRow("|live id wrong secret − unknown id|, medians", gap, "ms", "<= 2 ms", gap <= 2),
    goalRow("|used token − unknown id|, medians", usedGap, "ms", "<= 2 ms", usedGap <= 2),
    infoRow(
      "argon2 verifications in the whole run (only the pre-tag token's refusals need one)",
      String(argon2Pool.stats().verifications),
    ),
  ]);
});
