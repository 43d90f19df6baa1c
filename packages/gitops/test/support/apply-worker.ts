/**
 * A worker process for crash tests: reads one apply request as JSON on stdin (never in argv),
 * applies it, and prints `RESULT <json>`. With `pauseAt`, it prints `PAUSED <commit>` at that
 * point and waits there forever — for the test to SIGKILL it.
 */

import type { ApplyChangeRequest } from "../../src/index.ts";
import { createGitOpsEngine, createProcessLock } from "../../src/index.ts";

interface WorkerInput {
  workRoot: string;
  pauseAt?: "afterCommit" | "afterPush";
  request: ApplyChangeRequest;
}

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const input = JSON.parse(Buffer.concat(chunks).toString("utf8")) as WorkerInput;

const pause = (commit: string) => {
  process.stdout.write(`PAUSED ${commit}\n`);
  return new Promise<never>(() => {});
};

const engine = await createGitOpsEngine({
  workRoot: input.workRoot,
  lock: createProcessLock(),
  hooks: {
    afterCommit: ({ commit }) => (input.pauseAt === "afterCommit" ? pause(commit) : undefined),
    afterPush: ({ commit }) => (input.pauseAt === "afterPush" ? pause(commit) : undefined),
  },
});
const result = await engine.applyChange(input.request);
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
await engine.close();
