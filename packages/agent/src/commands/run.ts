import { parseArgs } from "node:util";
import type { ClusterBackend } from "../backends/backend.ts";
import { createKubernetesBackend } from "../backends/kubernetes.ts";
import { createLocalBackend } from "../backends/local.ts";
import { systemTiming } from "../clock.ts";
import { errorMessage } from "../errors.ts";
import { DEFAULT_CLUSTER_NAME } from "../events/conditions.ts";
import { createLogger } from "../log.ts";
import { createAgent } from "../runtime/agent.ts";
import {
  type CliIo,
  lazyKube,
  parseDuration,
  parseInteger,
  println,
  resolveStore,
  storeOptions,
  UsageError,
} from "./common.ts";

export const RUN_USAGE = `vwksp-agent run (--credentials-file PATH | --credentials-secret NAMESPACE/NAME)
                --backend kubernetes|local [--state-dir DIR] [--wait 30] [--heartbeat-interval 30s]
                [--cluster-name cluster-local]
                [--kubeconfig PATH] [--require-signatures] [--local-ready-after 1s] [--local-apply-delay 2s] [--stop-timeout 25s]
  Runs until SIGTERM or SIGINT, then finishes the job in hand, flushes events and exits 0.
  Reports its own conditions (Connected, Disconnected, Authenticated, BufferOverflow) about a
  Cluster named --cluster-name in vworkspace-system, as the operator does about its Cluster CR.
  Exits 1 when the control plane refuses the credential (401 after one rotation try) or the cluster (403).`;

/** The long-running agent. */
export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      ...storeOptions,
      backend: { type: "string" },
      "state-dir": { type: "string" },
      wait: { type: "string", default: "30" },
      "heartbeat-interval": { type: "string", default: "30s" },
      "require-signatures": { type: "boolean", default: false },
      "local-ready-after": { type: "string", default: "1s" },
      "local-apply-delay": { type: "string" },
      "stop-timeout": { type: "string", default: "25s" },
      "cluster-name": { type: "string", default: DEFAULT_CLUSTER_NAME },
    },
  });
  const backendName = values.backend;
  if (backendName !== "kubernetes" && backendName !== "local") {
    throw new UsageError("--backend kubernetes|local is required");
  }
  const waitSeconds = parseInteger(values.wait, "--wait", 0, 300);
  const heartbeatIntervalMs = parseDuration(values["heartbeat-interval"], "--heartbeat-interval");
  const readyAfterMs = parseDuration(values["local-ready-after"], "--local-ready-after");
  const applyDelay = values["local-apply-delay"];
  const applyDelayMs = applyDelay === undefined ? 0 : parseDuration(applyDelay, "--local-apply-delay");
  const stopTimeoutMs = parseDuration(values["stop-timeout"], "--stop-timeout");
  const clusterName = values["cluster-name"];
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(clusterName)) {
    throw new UsageError("--cluster-name must be a Kubernetes object name (a-z, 0-9, '-', '.')");
  }
  const timing = io.timing ?? systemTiming;
  const log = createLogger(io.stdout, timing.clock);
  const kube = lazyKube(io, values.kubeconfig);
  const store = resolveStore(values, kube, (message) => log.warn(message));

  let credentials: Awaited<ReturnType<typeof store.load>>;
  try {
    credentials = await store.load();
  } catch (error) {
    println(io.stderr, `vwksp-agent: ${errorMessage(error)}`);
    return 1;
  }
  const backend: ClusterBackend =
    backendName === "local"
      ? createLocalBackend({
          stateDir: values["state-dir"] ?? "vwksp-agent-state",
          timing,
          readyAfterMs,
          applyDelayMs,
        })
      : createKubernetesBackend(kube(), credentials.clusterId);

  const agent = createAgent({
    store,
    credentials,
    backend,
    log,
    timing,
    waitSeconds,
    heartbeatIntervalMs,
    stopTimeoutMs,
    clusterName,
    // The control plane said at registration that it signs this cluster's jobs, or the admin asks.
    requireSignatures: values["require-signatures"] || credentials.signPayloads === true,
    ...(io.fetch ? { fetch: io.fetch } : {}),
  });
  const onSignal = () => {
    log.info("stop requested; finishing the job in hand and flushing events");
    agent.stop();
  };
  if (io.signal?.aborted) onSignal();
  io.signal?.addEventListener("abort", onSignal, { once: true });
  const exit = await agent.run();
  io.signal?.removeEventListener("abort", onSignal);
  if (exit.reason === "stopped") return 0;
  println(
    io.stderr,
    `vwksp-agent: stopped: the control plane refused this agent (${exit.reason}): ${exit.message}`,
  );
  return 1;
}
