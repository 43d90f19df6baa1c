import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { Deployment } from "kubernetes-models/apps/v1";
import { Job } from "kubernetes-models/batch/v1";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import {
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
} from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { REGISTER_FLAGS, REGISTER_HELP } from "../../../../packages/agent/src/commands/register.ts";
import { RUN_FLAGS, RUN_HELP } from "../../../../packages/agent/src/commands/run.ts";
import { HEALTH_PATHS, parseHostPort } from "../../../../packages/agent/src/health-server.ts";
import { ConfigSchema, loadConfig } from "../../../../packages/core/src/config.ts";
import { MAX_HOLD_SECONDS } from "../../../../packages/protocol/src/index.ts";
import { BODY_LIMIT_BYTES } from "../../src/app.ts";
import { kustomizations, kustomize, type Manifest, readManifests } from "./support/kustomize.ts";

// deploy/kubernetes as `kubectl apply -k` renders it: every object against the Kubernetes
// OpenAPI schemas (kubernetes-models, which bundles validators generated from them; the
// ServiceMonitor against prometheus-operator's CRD schema), then against the code: images,
// commands, ports, probes and settings.

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const deployRoot = join(root, "deploy/kubernetes");

/** One validator per apiVersion/kind used here; an object of any other kind fails the test. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Namespace": Namespace,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "apps/v1/Deployment": Deployment,
  "batch/v1/Job": Job,
  "networking.k8s.io/v1/Ingress": Ingress,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "rbac.authorization.k8s.io/v1/ClusterRole": ClusterRole,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": ClusterRoleBinding,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "monitoring.coreos.com/v1/PodMonitor": PodMonitor,
};

const rendered = Object.fromEntries(
  kustomizations(deployRoot).map((directory) => [directory, kustomize(join(deployRoot, directory))]),
);
const templates = readdirSync(deployRoot, { recursive: true, encoding: "utf8" })
  .filter((path) => path.endsWith(".template.yaml"))
  .map((path) => ({ path, manifests: readManifests(join(deployRoot, path)) }));
const controlPlane = Object.entries(rendered).filter(([directory]) => !directory.startsWith("agent"));
const settingsTemplate = templates.find(({ path }) => path.startsWith("base/"))?.manifests[0] as Manifest & {
  stringData: Record<string, string>;
};

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string }[];
  readinessProbe?: { httpGet?: { path: string; port: string } };
  livenessProbe?: { httpGet?: { path: string; port: string } };
  startupProbe?: { httpGet?: { path: string; port: string } };
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: Record<string, unknown>;
  volumes?: { name: string; emptyDir?: unknown }[];
}

const find = (manifests: Manifest[], kind: string, name: string) => {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} missing`);
  return found as Manifest & { spec: Record<string, unknown> };
};
const podOf = (manifest: Manifest) => (manifest.spec as { template: { spec: PodSpec } }).template.spec;
const containersOf = (pod: PodSpec) => [...(pod.initContainers ?? []), ...pod.containers];
const workloads = (manifests: Manifest[]) =>
  manifests.filter((m) => m.kind === "Deployment" || m.kind === "Job");
const configData = (manifests: Manifest[]) =>
  (find(manifests, "ConfigMap", "vwksp-config") as unknown as { data: Record<string, string> }).data;

describe("deploy/kubernetes", () => {
  it("has a base, overlays and the agent, each renderable", () => {
    expect(Object.keys(rendered).sort()).toEqual([
      "agent",
      "base",
      "overlays/production",
      "overlays/staging",
    ]);
    expect(templates.map(({ path }) => path).sort()).toEqual([
      "agent/registration-token.template.yaml",
      "base/settings-secret.template.yaml",
    ]);
  });

  it("validates every object against the Kubernetes OpenAPI schemas", () => {
    const all = [...Object.values(rendered).flat(), ...templates.flatMap(({ manifests }) => manifests)];
    expect(all.length).toBeGreaterThan(30);
    for (const manifest of all) {
      const id = `${manifest.apiVersion}/${manifest.kind}`;
      const Model = MODELS[id];
      expect(Model, `${id} ${manifest.metadata?.name} has a schema here`).toBeDefined();
      expect(
        () => new (Model as NonNullable<typeof Model>)(manifest as never).validate(),
        `${id} ${manifest.metadata.name}`,
      ).not.toThrow();
    }
  });

  it("runs one image, the repository's, with entry points that exist in it", () => {
    const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^WORKDIR \/app$/m);
    for (const [directory, manifests] of Object.entries(rendered)) {
      const images = new Set<string>();
      for (const workload of workloads(manifests)) {
        for (const container of containersOf(podOf(workload))) {
          images.add(container.image);
          const command = container.command ?? [];
          expect(command[0], `${workload.metadata.name}/${container.name}`).toBe("node");
          const entry = command.find((part) => /\.(ts|mjs)$/.test(part));
          expect(entry && existsSync(join(root, entry)), `${container.name}: ${entry}`).toBe(true);
        }
      }
      expect(images.size, directory).toBe(1);
      if (directory !== "base") expect([...images][0], directory).toMatch(/^registry\.example\.com\/.+:.+$/);
    }
  });

  it("sets only settings the service's config schema knows, with values it accepts", () => {
    const known = new Set(Object.keys(ConfigSchema.shape));
    expect(settingsTemplate.metadata.name).toBe("vwksp-settings");
    for (const [directory, manifests] of controlPlane) {
      const env = { ...configData(manifests), ...settingsTemplate.stringData };
      for (const [name, value] of Object.entries(env)) {
        expect(known.has(name), `${directory}: ${name}`).toBe(true);
        const parsed = ConfigSchema.shape[name as keyof typeof ConfigSchema.shape].safeParse(value);
        expect(parsed.success, `${directory}: ${name}=${value}`).toBe(true);
      }
      expect(() => loadConfig(env), directory).not.toThrow();
      for (const workload of workloads(manifests)) {
        for (const container of containersOf(podOf(workload))) {
          expect(container.env ?? [], container.name).toEqual([]);
          expect(container.envFrom).toEqual([
            { configMapRef: { name: "vwksp-config" } },
            { secretRef: { name: "vwksp-settings" } },
          ]);
        }
      }
    }
  });

  it("opens the ports the processes listen on, and probes routes that exist there", () => {
    for (const [directory, manifests] of controlPlane) {
      const config = loadConfig({ ...configData(manifests), ...settingsTemplate.stringData });
      const api = podOf(find(manifests, "Deployment", "vwksp-api")).containers[0] as Container;
      expect(api.ports, directory).toEqual([
        { name: "http", containerPort: config.PORT },
        { name: "metrics", containerPort: config.METRICS_PORT },
      ]);
      expect(api.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "http" });
      expect(api.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
      expect(api.startupProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
      const worker = podOf(find(manifests, "Deployment", "vwksp-worker")).containers[0] as Container;
      expect(worker.ports).toEqual([{ name: "metrics", containerPort: config.METRICS_PORT }]);
      expect(worker.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "metrics" });
    }
    // The routes probed: the API's health checks, the worker listener's /healthz.
    expect(readFileSync(join(root, "apps/api/src/health/health.routes.ts"), "utf8")).toMatch(
      /"\/healthz"[\s\S]*"\/readyz"/,
    );
    expect(readFileSync(join(root, "apps/worker/src/metrics/metrics-server.ts"), "utf8")).toContain(
      '"/healthz"',
    );
  });

  it("runs the API with at least two replicas behind a disruption budget, without downtime on rollout", () => {
    for (const [directory, manifests] of controlPlane) {
      const api = find(manifests, "Deployment", "vwksp-api");
      const replicas = api.spec.replicas as number;
      expect(replicas, directory).toBeGreaterThanOrEqual(2);
      expect(api.spec.strategy).toMatchObject({ rollingUpdate: { maxUnavailable: 0 } });
      const budget = find(manifests, "PodDisruptionBudget", "vwksp-api");
      expect(budget.spec.selector).toEqual(api.spec.selector);
      expect(budget.spec.maxUnavailable as number).toBeLessThan(replicas);
    }
  });

  it("runs every container as non-root on a read-only root filesystem, with /tmp on an emptyDir and resources", () => {
    for (const [directory, manifests] of Object.entries(rendered)) {
      for (const workload of workloads(manifests)) {
        const pod = podOf(workload);
        expect(pod.securityContext, workload.metadata.name).toMatchObject({
          runAsNonRoot: true,
          runAsUser: expect.any(Number),
          seccompProfile: { type: "RuntimeDefault" },
        });
        expect(pod.securityContext?.runAsUser).not.toBe(0);
        const tmp = pod.volumes?.find((volume) => volume.name === "tmp");
        expect(tmp?.emptyDir, `${directory} ${workload.metadata.name}`).toBeDefined();
        for (const container of containersOf(pod)) {
          const where = `${directory} ${workload.metadata.name}/${container.name}`;
          expect(container.securityContext, where).toEqual({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          });
          // tsx writes its compile cache to the temporary directory: the only write.
          expect(container.volumeMounts, where).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
          expect(container.resources?.requests?.cpu, where).toBeDefined();
          expect(container.resources?.requests?.memory, where).toBeDefined();
          expect(container.resources?.limits?.memory, where).toBeDefined();
        }
      }
    }
  });

  it("migrates in a Job, and holds the API and the worker back until the migrations are applied", () => {
    for (const [directory, manifests] of controlPlane) {
      const migrate = podOf(find(manifests, "Job", "vwksp-migrate")).containers[0] as Container;
      expect(migrate.command?.slice(-2), directory).toEqual(["tools/prisma-migrate/src/cli.ts", "migrate"]);
      for (const name of ["vwksp-api", "vwksp-worker"]) {
        const gate = podOf(find(manifests, "Deployment", name)).initContainers ?? [];
        expect(
          gate.map((container) => container.command?.slice(3, 5)),
          name,
        ).toEqual([["tools/prisma-migrate/src/cli.ts", "wait"]]);
        expect(gate[0]?.image).toBe(migrate.image);
      }
    }
    expect(readFileSync(join(root, "tools/prisma-migrate/src/cli.ts"), "utf8")).toContain('case "wait":');
  });

  it("routes only the agents' and the admin API's paths, with the long-poll's timeout", () => {
    for (const [directory, manifests] of controlPlane) {
      const ingress = find(manifests, "Ingress", "vwksp-api");
      const annotations = ingress.metadata.annotations as Record<string, string>;
      expect(Number(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"])).toBeGreaterThan(
        MAX_HOLD_SECONDS,
      );
      expect(Number(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"])).toBeGreaterThan(
        MAX_HOLD_SECONDS,
      );
      expect(annotations["nginx.ingress.kubernetes.io/proxy-body-size"]).toBe(
        `${BODY_LIMIT_BYTES / 1024 / 1024}m`,
      );
      const rules = ingress.spec.rules as {
        host: string;
        http: {
          paths: {
            path: string;
            pathType: string;
            backend: { service: { name: string; port: { name: string } } };
          }[];
        };
      }[];
      const paths = rules.flatMap((rule) => rule.http.paths);
      expect(
        paths.map((path) => [path.path, path.pathType]),
        directory,
      ).toEqual([
        ["/api/agent", "Prefix"],
        ["/api/v1", "Prefix"],
      ]);
      for (const path of paths) {
        expect(path.backend.service).toEqual({ name: "vwksp-api", port: { name: "http" } });
      }
      // The Service behind the ingress has no way to the metrics port.
      const service = find(manifests, "Service", "vwksp-api");
      expect((service.spec.ports as { targetPort: string }[]).map((port) => port.targetPort)).toEqual([
        "http",
      ]);
      const tls = ingress.spec.tls as { hosts: string[] }[];
      expect(tls[0]?.hosts).toEqual(rules.map((rule) => rule.host));
    }
  });

  it("lets Prometheus scrape the metrics port of the API and the worker, and only that", () => {
    for (const [directory, manifests] of controlPlane) {
      const monitor = find(manifests, "ServiceMonitor", "vwksp-control-plane");
      const selector = (monitor.spec.selector as { matchLabels: Record<string, string> }).matchLabels;
      const selected = manifests.filter(
        (m) =>
          m.kind === "Service" &&
          Object.entries(selector).every(([label, value]) => m.metadata.labels?.[label] === value),
      );
      expect(selected.map((service) => service.metadata.name).sort(), directory).toEqual([
        "vwksp-api-metrics",
        "vwksp-worker-metrics",
      ]);
      for (const service of selected) {
        const ports = (service.spec as { ports: { name: string; targetPort: string }[] }).ports;
        expect(ports.map((port) => [port.name, port.targetPort])).toEqual([["metrics", "metrics"]]);
      }
      expect(monitor.spec.endpoints).toEqual([
        expect.objectContaining({ port: "metrics", path: "/metrics" }),
      ]);
    }
  });

  it("runs the agent with the flags its commands take, and environment variables they read", () => {
    const manifests = rendered.agent as Manifest[];
    const register = podOf(find(manifests, "Job", "vworkspace-agent-register")).containers[0] as Container;
    const run = podOf(find(manifests, "Deployment", "vworkspace-agent")).containers[0] as Container;
    for (const [container, usage, flags] of [
      [register, REGISTER_HELP, REGISTER_FLAGS],
      [run, RUN_HELP, RUN_FLAGS],
    ] as const) {
      const variables: string[] = Object.values(flags).map((flag) => flag.env);
      expect(container.command).toEqual(["node", "packages/agent/bin/vwksp-agent.mjs"]);
      for (const flag of (container.args ?? []).filter((arg) => arg.startsWith("--")))
        expect(usage).toContain(flag);
      const substituted = (container.args ?? []).flatMap((arg) =>
        [...arg.matchAll(/\$\((\w+)\)/g)].map((m) => m[1]),
      );
      for (const { name } of container.env ?? []) {
        expect(variables.includes(name) || substituted.includes(name), name).toBe(true);
      }
    }
    expect(REGISTER_HELP).toContain("$VWKSP_REGISTRATION_TOKEN");
    expect(run.args).toEqual(expect.arrayContaining(["run", "--backend", "kubernetes"]));
    const secret = find(manifests, "Secret", "vworkspace-agent-credentials");
    for (const container of [register, run]) {
      const ref = container.args?.[(container.args?.indexOf("--credentials-secret") ?? 0) + 1];
      expect(ref).toBe(`${secret.metadata.namespace}/${secret.metadata.name}`);
    }
    const token = templates.find(({ path }) => path.startsWith("agent/"))?.manifests[0] as Manifest & {
      stringData: Record<string, string>;
    };
    expect(Object.keys(token.stringData).sort()).toEqual(["control-plane-endpoint", "token"]);
  });

  it("probes the agent's health listener and lets Prometheus scrape its /metrics there", () => {
    const manifests = rendered.agent as Manifest[];
    const deployment = find(manifests, "Deployment", "vworkspace-agent");
    const run = podOf(deployment).containers[0] as Container;
    const env = Object.fromEntries((run.env ?? []).map(({ name, value }) => [name, value]));
    const address = env[RUN_FLAGS["health-addr"].env];
    expect(address, "the health listener is on").toBeDefined();
    expect(env[RUN_FLAGS["log-format"].env]).toBe("json");
    const { port } = parseHostPort(address as string);
    expect(run.ports).toEqual([{ name: "health", containerPort: port }]);
    expect(run.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "health" });
    expect(run.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "health" });
    const monitor = find(manifests, "PodMonitor", "vworkspace-agent");
    const selector = (monitor.spec.selector as { matchLabels: Record<string, string> }).matchLabels;
    const labels = (deployment.spec.template as { metadata: { labels: Record<string, string> } }).metadata
      .labels;
    for (const [label, value] of Object.entries(selector)) expect(labels[label], label).toBe(value);
    expect(monitor.spec.podMetricsEndpoints).toEqual([
      expect.objectContaining({ port: "health", path: "/metrics" }),
    ]);
    for (const path of ["/healthz", "/readyz", "/metrics"]) expect(HEALTH_PATHS).toContain(path);
  });
});
