import { spawn } from "node:child_process";
import { GitOpsError } from "../errors.ts";
import { redact } from "./redact.ts";

/** What every git process of one operation shares: its environment and the secrets to scrub. */
export interface GitContext {
  env: Record<string, string>;
  secrets: readonly string[];
  timeoutMs: number;
}

export interface GitOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** A git command that exited non-zero; stderr is already redacted. */
export class GitCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number,
    readonly stderr: string,
    readonly stdout: string,
  ) {
    super(`git ${args[0] ?? ""} exited with ${exitCode}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
  }
}

/**
 * Runs git with exactly the given environment (nothing inherited: no user or system config, no
 * stray credential helper, English messages for classification). Arguments never carry a secret;
 * credentials travel in the environment of this process only (see credentials.ts).
 */
export function runGit(
  context: GitContext,
  args: string[],
  options: { cwd?: string; input?: string; allowExitCodes?: number[] } = {},
): Promise<GitOutput> {
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout also ends git-remote-http or ssh beneath it.
    const child = spawn("git", args, {
      cwd: options.cwd,
      env: context.env,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, context.timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on("error", () => {}); // git may exit before reading all input; the exit code tells.
    child.stdin.end(options.input ?? "");
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new GitOpsError("GitFailed", `cannot run git: ${error.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const output = {
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: redact(Buffer.concat(stderr).toString("utf8"), context.secrets),
        exitCode: code ?? -1,
      };
      if (timedOut) {
        reject(new GitOpsError("Timeout", `git ${args[0]} did not finish within ${context.timeoutMs} ms`));
      } else if (output.exitCode === 0 || options.allowExitCodes?.includes(output.exitCode)) {
        resolve(output);
      } else {
        reject(
          new GitCommandError(args, output.exitCode, output.stderr, redact(output.stdout, context.secrets)),
        );
      }
    });
  });
}

function killGroup(pid: number | undefined) {
  if (!pid) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
