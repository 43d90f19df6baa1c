import type { ClusterBackend } from "../backends/backend.ts";
import { createKubernetesBackend } from "../backends/kubernetes.ts";
import { createLocalBackend } from "../backends/local.ts";
import { systemTiming } from "../clock.ts";
import { errorMessage } from "../errors.ts";
import { DEFAULT_CLUSTER_NAME } from "../events/conditions.ts";
import { type HealthServer, parseHostPort, startHealthServer } from "../health-server.ts";
import { createLogger, LOG_FORMATS, type LogFormat } from "../log.ts";
import { createAgent, readinessWindowMs } from "../runtime/agent.ts";
import { createTelemetry } from "../runtime/telemetry.ts";
import {
  type CliIo,
  lazyKube,
  loadCredentials,
  parseDuration,
  parseInteger,
  println,
  resolveStore,
  storeFlags,
  UsageError,
} from "./common.ts";
import { commandHelp, type FlagSpecs, parseFlags } from "./flags.ts";

export const RUN_USAGE = `vwksp-agent run (--credentials-file PATH | --credentials-secret NAMESPACE/NAME)
                --backend kubernetes|local [flags]`;

export const RUN_FLAGS = {
  ...storeFlags,
  backend: {
    type: "string",
    env: "VWKSP_BACKEND",
    placeholder: "kubernetes|local",
    description: "where jobs are applied: the cluster (server-side apply) or a local directory",
  },
  "state-dir": {
    type: "string",
    env: "VWKSP_STATE_DIR",
    placeholder: "DIR",
    default: "vwksp-agent-state",
    description: "the local backend's directory",
  },
  wait: {
    type: "string",
    env: "VWKSP_WAIT",
    placeholder: "SECONDS",
    default: "30",
    description: "how long one long-poll waits for jobs (0–300)",
  },
  "heartbeat-interval": {
    type: "string",
    env: "VWKSP_HEARTBEAT_INTERVAL",
    placeholder: "DURATION",
    default: "30s",
    description: "time between heartbeats",
  },
  "require-signatures": {
    type: "boolean",
    env: "VWKSP_REQUIRE_SIGNATURES",
    description: "refuse unsigned jobs (on anyway when the control plane signs this cluster's jobs)",
  },
  "local-ready-after": {
    type: "string",
    env: "VWKSP_LOCAL_READY_AFTER",
    placeholder: "DURATION",
    default: "1s",
    description: "local backend: when an ApplicationInstance turns Ready=True after it is applied",
  },
  "local-apply-delay": {
    type: "string",
    env: "VWKSP_LOCAL_APPLY_DELAY",
    placeholder: "DURATION",
    description: "local backend: how long an apply takes (default none)",
  },
  "stop-timeout": {
    type: "string",
    env: "VWKSP_STOP_TIMEOUT",
    placeholder: "DURATION",
    default: "25s",
    description: "on SIGTERM, how long the job in hand may take to finish",
  },
  "cluster-name": {
    type: "string",
    env: "VWKSP_CLUSTER_NAME",
    placeholder: "NAME",
    default: DEFAULT_CLUSTER_NAME,
    description:
      "the Cluster (as the operator's CR in vworkspace-system) its own conditions are reported about",
  },
  "health-addr": {
    type: "string",
    env: "VWKSP_HEALTH_ADDR",
    placeholder: "HOST:PORT",
    description:
      "serve /healthz, /readyz and /metrics (Prometheus) on this address, e.g. 0.0.0.0:8081 (default off)",
  },
  "log-format": {
    type: "string",
    env: "VWKSP_LOG_FORMAT",
    placeholder: "text|json",
    default: "text",
    description: "log lines as timestamped text or as one JSON object each (time, level, msg)",
  },
} as const satisfies FlagSpecs;

export const RUN_HELP = commandHelp(
  RUN_USAGE,
  RUN_FLAGS,
  `Runs until SIGTERM or SIGINT, then finishes the job in hand, flushes events and exits 0.
Reports its own conditions (Connected, Disconnected, Authenticated, BufferOverflow) about a
Cluster named --cluster-name in vworkspace-system, as the operator does about its Cluster CR.
Exits 1 when the control plane refuses the credential (401 after one rotation try) or the cluster (403).
/readyz answers 200 while the last request to the control plane succeeded, less than twice the
longer of --wait and --heartbeat-interval (plus 10 s) ago; 503 with the reason otherwise.
Durations: 500ms, 30s, 1m, 2h or a number of seconds.`,
);

/** The long-running agent. */
export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values, help } = parseFlags(args, RUN_FLAGS, io.env);
  if (help) {
    println(io.stdout, RUN_HELP);
    return 0;
  }
  const backendName = values.backend;
  if (backendName !== "kubernetes" && backendName !== "local") {
    throw new UsageError("--backend kubernetes|local is required");
  }
  const waitSeconds = parseInteger(values.wait ?? "30", "--wait", 0, 300);
  const heartbeatIntervalMs = parseDuration(values["heartbeat-interval"] ?? "30s", "--heartbeat-interval");
  const readyAfterMs = parseDuration(values["local-ready-after"] ?? "1s", "--local-ready-after");
  const applyDelay = values["local-apply-delay"];
  const applyDelayMs = applyDelay === undefined ? 0 : parseDuration(applyDelay, "--local-apply-delay");
  const stopTimeoutMs = parseDuration(values["stop-timeout"] ?? "25s", "--stop-timeout");
  const clusterName = values["cluster-name"] ?? DEFAULT_CLUSTER_NAME;
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(clusterName)) {
    throw new UsageError("--cluster-name must be a Kubernetes object name (a-z, 0-9, '-', '.')");
  }
  const logFormat = values["log-format"] ?? "text";
  if (!LOG_FORMATS.includes(logFormat as LogFormat)) {
    throw new UsageError(`--log-format must be text or json, got "${logFormat}"`);
  }
  const healthValue = values["health-addr"];
  let healthAddress: { host: string; port: number } | undefined;
  try {
    healthAddress = healthValue ? parseHostPort(healthValue) : undefined;
  } catch (error) {
    throw new UsageError(`--health-addr: ${errorMessage(error)}`);
  }
  const timing = io.timing ?? systemTiming;
  const log = createLogger(io.stdout, timing.clock, logFormat as LogFormat);
  const kube = lazyKube(io, values.kubeconfig);
  const store = resolveStore(values, kube, (message) => log.warn(message));

  const credentials = await loadCredentials(store, io);
  if (!credentials) return 1;
  const backend: ClusterBackend =
    backendName === "local"
      ? createLocalBackend({
          stateDir: values["state-dir"] ?? "vwksp-agent-state",
          timing,
          readyAfterMs,
          applyDelayMs,
        })
      : createKubernetesBackend(kube(), credentials.clusterId);

  const telemetry = createTelemetry({
    clock: timing.clock,
    staleAfterMs: readinessWindowMs(waitSeconds, heartbeatIntervalMs),
    processMetrics: healthAddress !== undefined,
  });
  let health: HealthServer | undefined;
  if (healthAddress) {
    try {
      health = await startHealthServer(telemetry, healthAddress);
    } catch (error) {
      println(io.stderr, `vwksp-agent: --health-addr ${healthValue}: ${errorMessage(error)}`);
      await backend.close();
      return 1;
    }
    log.info(`serving /healthz, /readyz and /metrics on ${health.host}:${health.port}`);
  }

  const agent = createAgent({
    telemetry,
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
  const exit = await agent.run().finally(() => health?.close());
  io.signal?.removeEventListener("abort", onSignal);
  if (exit.reason === "stopped") return 0;
  println(
    io.stderr,
    `vwksp-agent: stopped: the control plane refused this agent (${exit.reason}): ${exit.message}`,
  );
  return 1;
}
