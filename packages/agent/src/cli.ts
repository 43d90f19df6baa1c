import { type CliIo, println, UsageError } from "./commands/common.ts";
import { PUSH_CREDENTIALS_USAGE, pushCredentialsCommand } from "./commands/push-credentials.ts";
import { REGISTER_USAGE, registerCommand } from "./commands/register.ts";
import { ROTATE_USAGE, rotateCommand } from "./commands/rotate.ts";
import { RUN_USAGE, runCommand } from "./commands/run.ts";
import { errorMessage } from "./errors.ts";
import { AGENT_VERSION } from "./version.ts";

const USAGE = `usage:
  ${REGISTER_USAGE}

  ${RUN_USAGE}

  ${ROTATE_USAGE}

  ${PUSH_CREDENTIALS_USAGE}

  vwksp-agent version

Every flag can also be given as an environment variable (VWKSP_…);
vwksp-agent <command> --help lists them.`;

const commands: Record<string, (args: string[], io: CliIo) => Promise<number>> = {
  register: registerCommand,
  run: runCommand,
  rotate: rotateCommand,
  "push-credentials": pushCredentialsCommand,
};

/** The whole CLI as a function of its arguments and I/O; answers the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    println(name ? io.stdout : io.stderr, USAGE);
    return name ? 0 : 2;
  }
  if (name === "version" || name === "--version") {
    println(io.stdout, AGENT_VERSION);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    println(io.stderr, `vwksp-agent: unknown command "${name}"\n${USAGE}`);
    return 2;
  }
  try {
    return await command(args, io);
  } catch (error) {
    // parseArgs' own errors (unknown flag, missing value) are usage errors too.
    const usage =
      error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    println(io.stderr, `vwksp-agent: ${errorMessage(error)}`);
    return usage ? 2 : 1;
  }
}

/** Process wiring for the bin: signals stop `run` gracefully; a second signal exits at once. */
export async function runCli(argv: string[]): Promise<number> {
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(signal === "SIGINT" ? 130 : 143);
    stop.abort();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return main(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: stop.signal,
  });
}
