import { parseRegistrationToken } from "@vwksp/protocol";
import { exchangeRegistrationToken } from "../client/register.ts";
import { AgentApiError, errorMessage } from "../errors.ts";
import { type CliIo, displayUrl, lazyKube, println, resolveStore, storeFlags, UsageError } from "./common.ts";
import { commandHelp, type FlagSpecs, parseFlags } from "./flags.ts";

export const REGISTER_USAGE = `vwksp-agent register --control-plane-endpoint URL --token TOKEN
                     (--credentials-file PATH | --credentials-secret NAMESPACE/NAME) [flags]`;

export const REGISTER_FLAGS = {
  "control-plane-endpoint": {
    type: "string",
    env: "VWKSP_CONTROL_PLANE_ENDPOINT",
    placeholder: "URL",
    description: "base URL of the control plane, e.g. https://cp.example",
  },
  token: {
    type: "string",
    env: "VWKSP_REGISTRATION_TOKEN",
    placeholder: "TOKEN",
    description:
      "the one-time registration token vwksp-reg-… (the variable keeps it out of the process list)",
  },
  "cluster-id": {
    type: "string",
    env: "VWKSP_CLUSTER_ID",
    placeholder: "ID",
    description: "the cluster id the token was issued for (default: the one it is bound to)",
  },
  "display-name": {
    type: "string",
    env: "VWKSP_DISPLAY_NAME",
    placeholder: "NAME",
    description: "a display name sent along",
  },
  ...storeFlags,
} as const satisfies FlagSpecs;

export const REGISTER_HELP = commandHelp(
  REGISTER_USAGE,
  REGISTER_FLAGS,
  "Exchanges a one-time registration token for the agent's credential and stores it; prints no secret.",
);

/** Exchanges a one-time registration token and persists the credential; prints no secret. */
export async function registerCommand(args: string[], io: CliIo): Promise<number> {
  const { values, help } = parseFlags(args, REGISTER_FLAGS, io.env);
  if (help) {
    println(io.stdout, REGISTER_HELP);
    return 0;
  }
  const endpoint = values["control-plane-endpoint"];
  if (!endpoint) throw new UsageError("--control-plane-endpoint URL is required");
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError(`--control-plane-endpoint is not a URL: "${endpoint}"`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new UsageError("--control-plane-endpoint must be an http(s) URL");
  }
  const token = (values.token ?? "").trim();
  if (!token) throw new UsageError("--token TOKEN (or $VWKSP_REGISTRATION_TOKEN) is required");
  // Checked here so a typo never reaches the server (where it would count as a failed attempt).
  if (!parseRegistrationToken(token)) {
    throw new UsageError(
      "the registration token is malformed: expected vwksp-reg- and 64 hex digits with a valid checksum; nothing was sent",
    );
  }
  const warn = (message: string) => println(io.stderr, `vwksp-agent: warning: ${message}`);
  const store = resolveStore(values, lazyKube(io, values.kubeconfig), warn);
  const baseUrl = endpoint.replace(/\/+$/, "");
  const requestedId = values["cluster-id"]?.trim() || undefined;

  println(
    io.stdout,
    `registering cluster ${requestedId ?? "(bound to the token)"} with ${displayUrl(baseUrl)} ...`,
  );
  let registered: Awaited<ReturnType<typeof exchangeRegistrationToken>>;
  try {
    registered = await exchangeRegistrationToken(
      { baseUrl, registrationToken: token, clusterId: requestedId, displayName: values["display-name"] },
      io.fetch,
    );
  } catch (error) {
    if (error instanceof AgentApiError) {
      println(
        io.stderr,
        `vwksp-agent: registration refused: ${error.serverMessage} (HTTP ${error.status} ${error.code}${error.requestId ? `, request ${error.requestId}` : ""})`,
      );
    } else println(io.stderr, `vwksp-agent: registration failed: ${errorMessage(error)}`);
    return 1;
  }
  println(io.stdout, "exchanged registration token for bootstrap credential");

  try {
    await store.save({
      baseUrl,
      clusterId: registered.clusterId,
      token: registered.token,
      ...(registered.signingPublicKey ? { signingPublicKey: registered.signingPublicKey } : {}),
      ...(registered.signPayloads ? { signPayloads: true } : {}),
      ...(registered.expiresAt ? { expiresAt: registered.expiresAt } : {}),
    });
  } catch (error) {
    // The registration token is spent; the credential exists only in this process now.
    println(
      io.stderr,
      `vwksp-agent: the credential could not be persisted to ${store.location}: ${errorMessage(error)}`,
    );
    println(io.stderr, "vwksp-agent: ask an administrator for a new registration token and register again");
    return 1;
  }
  println(io.stdout, `credential persisted to ${store.location}`);
  // The exchange itself marks the cluster Connected on the control plane.
  println(io.stdout, `Cluster ${registered.clusterId} condition Connected=True (ControlPlaneReachable)`);
  return 0;
}
