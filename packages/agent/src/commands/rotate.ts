import { createAgentClient } from "../client/agent-client.ts";
import { AgentApiError, errorMessage } from "../errors.ts";
import { type CliIo, lazyKube, loadCredentials, println, resolveStore, storeFlags } from "./common.ts";
import { commandHelp, parseFlags } from "./flags.ts";

export const ROTATE_USAGE =
  "vwksp-agent rotate (--credentials-file PATH | --credentials-secret NAMESPACE/NAME) [flags]";

export const ROTATE_HELP = commandHelp(
  ROTATE_USAGE,
  storeFlags,
  `Rotates the agent credential and stores the new one in place of the old. A running agent picks
it up from the store at its next 401; the old one keeps working for the server's grace period
(24 h by default).`,
);

/** Rotates the agent credential on request and persists the new one in place of the old. */
export async function rotateCommand(args: string[], io: CliIo): Promise<number> {
  const { values, help } = parseFlags(args, storeFlags, io.env);
  if (help) {
    println(io.stdout, ROTATE_HELP);
    return 0;
  }
  const warn = (message: string) => println(io.stderr, `vwksp-agent: warning: ${message}`);
  const store = resolveStore(values, lazyKube(io, values.kubeconfig), warn);
  const credentials = await loadCredentials(store, io);
  if (!credentials) return 1;
  const client = createAgentClient({
    baseUrl: credentials.baseUrl,
    clusterId: credentials.clusterId,
    token: () => credentials.token,
    ...(io.fetch ? { fetch: io.fetch } : {}),
  });
  let rotated: Awaited<ReturnType<typeof client.rotate>>;
  try {
    rotated = await client.rotate();
  } catch (error) {
    const detail =
      error instanceof AgentApiError
        ? `${error.serverMessage} (HTTP ${error.status} ${error.code}${error.requestId ? `, request ${error.requestId}` : ""})`
        : errorMessage(error);
    println(io.stderr, `vwksp-agent: rotation refused: ${detail}`);
    return 1;
  }
  println(io.stdout, `rotated the agent credential of cluster ${credentials.clusterId}`);
  try {
    const { expiresAt: _previous, ...rest } = credentials;
    await store.save({
      ...rest,
      token: rotated.token,
      ...(rotated.expiresAt ? { expiresAt: rotated.expiresAt } : {}),
    });
  } catch (error) {
    println(
      io.stderr,
      `vwksp-agent: the new credential could not be persisted to ${store.location}: ${errorMessage(error)}`,
    );
    println(
      io.stderr,
      "vwksp-agent: the previous credential keeps working for the grace period; rotate again",
    );
    return 1;
  }
  println(io.stdout, `credential persisted to ${store.location}`);
  return 0;
}
