import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { RUN_FLAGS } from "../../../packages/agent/src/commands/run.ts";
import { ConfigSchema } from "../../../packages/core/src/config.ts";
import {
  copyFromStage,
  copySources,
  dockerfileInstructions,
  dockerfileStages,
  dockerignore,
  type Stage,
  workspaceManifests,
} from "../../../test/support/dockerfile.ts";

// Checks the local stack (docker-compose.yml) and the image (Dockerfile) without a Docker engine:
// the compose file against the official Compose Specification schema, then what the stack needs
// to come up: the right services, health checks, dependency conditions, and environments that the
// service's own configuration schema accepts.

const root = fileURLToPath(new URL("../../../", import.meta.url));
const read = (path: string) => readFileSync(join(root, path), "utf8");

/**
 * The official Compose Specification JSON schema (compose-spec/compose-spec, schema/compose-spec.json),
 * as shipped unmodified by the `dclint` package (its release script downloads the upstream file;
 * dclint 3.1.0, published 2026-03-24, carries upstream main as of then). Bumping dclint updates the schema.
 */
function loadComposeSpecSchema(): Record<string, unknown> {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve("dclint/package.json"));
  return JSON.parse(readFileSync(join(dir, "schemas", "compose.schema.json"), "utf8"));
}

// ---------------------------------------------------------------------------------------------
// Compose's variable interpolation, as `docker compose` applies it before validating the file:
// $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt}.

const unresolved: string[] = [];

function interpolateString(value: string, env: Record<string, string>): string {
  return value.replace(
    /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_match, dollar, braced, operator, argument, bare) => {
      if (dollar) return "$";
      const name = (braced ?? bare) as string;
      const current = env[name];
      const set = current !== undefined;
      const nonEmpty = set && current !== "";
      switch (operator as string | undefined) {
        case ":-":
          return nonEmpty ? current : argument;
        case "-":
          return set ? current : argument;
        case ":?":
        case "?":
          if (operator === ":?" ? !nonEmpty : !set) throw new Error(`\${${name}}: ${argument}`);
          return current ?? "";
        case ":+":
          return nonEmpty ? argument : "";
        case "+":
          return set ? argument : "";
        default:
          if (!set) unresolved.push(name);
          return current ?? "";
      }
    },
  );
}

function interpolate(value: unknown, env: Record<string, string>): unknown {
  if (typeof value === "string") return interpolateString(value, env);
  if (Array.isArray(value)) return value.map((item) => interpolate(item, env));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, env)]));
  }
  return value;
}

// ---------------------------------------------------------------------------------------------

interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; target?: string };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | { target: number; published?: string | number })[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  healthcheck?: Healthcheck;
  depends_on?: string[] | Record<string, { condition: string }>;
  restart?: string;
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const rawCompose: unknown = parse(read("docker-compose.yml"));
// No .env and an empty environment: what `docker compose up` sees on a fresh checkout.
const compose = interpolate(rawCompose, {}) as ComposeFile;
const services = compose.services;
const service = (name: string): Service => {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
};

/** Services run from the image that the repository's Dockerfile builds. */
const APP_SERVICES = ["migrate", "api", "worker"];
const LONG_RUNNING = ["postgres", "redis", "api", "worker", "agent"];

function environmentOf(svc: Service): Record<string, string> {
  const env = svc.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const at = entry.indexOf("=");
        return at === -1 ? [entry, ""] : [entry.slice(0, at), entry.slice(at + 1)];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(env).map(([key, value]) => [key, value === null ? "" : String(value)]),
  );
}

const words = (command: string | string[] | undefined): string[] =>
  command === undefined ? [] : Array.isArray(command) ? command : command.trim().split(/\s+/);

/** Published ports as {host, published, target}; the short syntax is [HOST:][PUBLISHED:]TARGET[/PROTOCOL]. */
function portsOf(svc: Service): { host?: string; published?: number; target: number }[] {
  return (svc.ports ?? []).map((port) => {
    if (typeof port !== "string") {
      return {
        published: port.published === undefined ? undefined : Number(port.published),
        target: port.target,
      };
    }
    const parts = port.replace(/\/\w+$/, "").split(":");
    const target = Number(parts.pop());
    const published = parts.length > 0 ? Number(parts.pop()) : undefined;
    return { host: parts.length > 0 ? parts.join(":") : undefined, published, target };
  });
}

function dependsOn(svc: Service): Record<string, string> {
  const deps = svc.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, "service_started"]));
  return Object.fromEntries(Object.entries(deps).map(([name, dep]) => [name, dep.condition]));
}

function buildOf(svc: Service): { context: string; dockerfile: string } | undefined {
  if (svc.build === undefined) return undefined;
  if (typeof svc.build === "string") return { context: svc.build, dockerfile: "Dockerfile" };
  return { context: svc.build.context ?? ".", dockerfile: svc.build.dockerfile ?? "Dockerfile" };
}

describe("docker-compose.yml", () => {
  it("is valid against the Compose Specification schema", () => {
    const schema = loadComposeSpecSchema();
    expect(schema.title).toBe("Compose Specification");
    // The file names its meta-schema with https://, which Ajv registers under http://.
    const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strict: false });
    const validate = ajv.compile({ ...schema, $schema: "http://json-schema.org/draft-07/schema#" });
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
  });

  it("needs no variable from the environment (each has a default)", () => {
    expect(unresolved).toEqual([]);
  });

  it("has the services of the local stack", () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(["postgres", "redis", ...APP_SERVICES]));
  });

  it("runs postgres and redis from images and the app services from the repository's Dockerfile", () => {
    expect(service("postgres").image).toMatch(/^postgres:1[56](\.|-|$)/);
    expect(service("redis").image).toMatch(/^redis:7(\.|-|$)/);
    expect(service("postgres").build).toBeUndefined();
    expect(service("redis").build).toBeUndefined();

    const images = new Set<string | undefined>();
    for (const name of APP_SERVICES) {
      const build = buildOf(service(name));
      expect(build, `${name} builds the image`).toBeDefined();
      if (!build) continue;
      expect(resolve(root, build.context, build.dockerfile), name).toBe(resolve(root, "Dockerfile"));
      images.add(service(name).image);
    }
    // One image name for all of them, so the image is built once and shared.
    expect(images.size).toBe(1);
    expect([...images][0]).toEqual(expect.any(String));
  });

  it("gives every long-running service a health check", () => {
    for (const name of LONG_RUNNING) {
      const healthcheck = service(name).healthcheck;
      expect(healthcheck?.disable ?? false, name).toBe(false);
      expect(words(healthcheck?.test).length, `${name} has a healthcheck test`).toBeGreaterThan(1);
      expect(words(healthcheck?.test)[0], name).toMatch(/^(CMD|CMD-SHELL)$/);
    }
    expect(words(service("postgres").healthcheck?.test)).toContain("pg_isready");
    expect(words(service("redis").healthcheck?.test).join(" ")).toContain("redis-cli ping");
    expect(words(service("api").healthcheck?.test).join(" ")).toContain("/readyz");
  });

  it("has an opt-in agent (profile agent, local backend) on the same image that registers once, then runs", () => {
    const agent = service("agent") as Service & { profiles?: string[]; entrypoint?: unknown };
    expect(agent.profiles).toEqual(["agent"]);
    expect(agent.image).toBe(service("api").image);
    const script = words(agent.command).join(" ");
    expect(script).toContain("vwksp-agent.mjs register --control-plane-endpoint http://api:8080");
    expect(script).toContain("vwksp-agent.mjs run --credentials-file /var/lib/vwksp-agent/credentials.json");
    expect(script).toContain("--backend local");
    expect(existsSync(join(root, "packages/agent/bin/vwksp-agent.mjs"))).toBe(true);
    expect(Object.keys(environmentOf(agent))).toEqual([
      "VWKSP_REGISTRATION_TOKEN",
      RUN_FLAGS["health-addr"].env,
    ]);
    expect(dependsOn(agent)).toEqual({ api: "service_healthy" });
  });

  it("health-checks the agent on its own /readyz, and publishes its health port on loopback only", () => {
    const agent = service("agent");
    const address = environmentOf(agent)[RUN_FLAGS["health-addr"].env] ?? "";
    const port = Number(address.split(":").at(-1));
    expect(address).toBe(`0.0.0.0:${port}`);
    expect(portsOf(agent)).toEqual([{ host: "127.0.0.1", published: port, target: port }]);
    expect(words(agent.healthcheck?.test).join(" ")).toContain(`http://127.0.0.1:${port}/readyz`);
    expect(readFileSync(join(root, "Dockerfile"), "utf8")).toMatch(/chown node:node \/var\/lib\/vwksp-agent/);
  });

  it("runs redis with AOF persistence and without eviction (BullMQ requires noeviction)", () => {
    const command = words(service("redis").command).join(" ");
    expect(command).toMatch(/^redis-server\b/);
    expect(command).toMatch(/--maxmemory-policy noeviction\b/);
    expect(command).toMatch(/--appendonly yes\b/);
  });

  it("keeps postgres and redis data in named volumes", () => {
    for (const [name, target] of [
      ["postgres", "/var/lib/postgresql/data"],
      ["redis", "/data"],
    ] as const) {
      const mounts = (service(name).volumes ?? []).map((volume) =>
        typeof volume === "string"
          ? { source: volume.split(":")[0], target: volume.split(":")[1] }
          : { source: volume.source, target: volume.target },
      );
      const mount = mounts.find((m) => m.target === target);
      expect(mount, `${name} mounts ${target}`).toBeDefined();
      expect(Object.keys(compose.volumes ?? {}), name).toContain(mount?.source);
    }
  });

  it("points api and worker (and migrate) at the compose postgres and redis", () => {
    const pgEnv = environmentOf(service("postgres"));
    for (const name of ["api", "worker", "migrate"]) {
      const env = environmentOf(service(name));
      expect(env.DATABASE_URL, `${name} DATABASE_URL`).toBeDefined();
      const db = new URL(env.DATABASE_URL ?? "");
      expect(db.hostname, name).toBe("postgres");
      expect(db.port || "5432", name).toBe("5432");
      expect(decodeURIComponent(db.username), name).toBe(pgEnv.POSTGRES_USER ?? "postgres");
      expect(decodeURIComponent(db.password), name).toBe(pgEnv.POSTGRES_PASSWORD ?? "");
      expect(db.pathname, name).toBe(`/${pgEnv.POSTGRES_DB ?? pgEnv.POSTGRES_USER ?? "postgres"}`);
      if (name === "migrate") continue;
      expect(env.REDIS_URL, `${name} REDIS_URL`).toBeDefined();
      const redis = new URL(env.REDIS_URL ?? "");
      expect(redis.hostname, name).toBe("redis");
      expect(redis.port || "6379", name).toBe("6379");
    }
    // api and worker must share one database, one Redis and one key prefix.
    const api = environmentOf(service("api"));
    const worker = environmentOf(service("worker"));
    for (const key of ["DATABASE_URL", "REDIS_URL", "REDIS_PREFIX"]) expect(worker[key], key).toBe(api[key]);
    expect(environmentOf(service("migrate")).DATABASE_URL).toBe(api.DATABASE_URL);
  });

  it("sets only variables that the service's ConfigSchema knows, each with a value it accepts", () => {
    const known = new Set(Object.keys(ConfigSchema.shape));
    for (const name of APP_SERVICES) {
      const env = environmentOf(service(name));
      for (const [key, value] of Object.entries(env)) {
        expect(known.has(key), `${name}: ${key} is not a setting of packages/core/src/config.ts`).toBe(true);
        const field = ConfigSchema.shape[key as keyof typeof ConfigSchema.shape];
        const parsed = field.safeParse(value);
        expect(parsed.success, `${name}: ${key}=${value} → ${parsed.error?.message}`).toBe(true);
      }
      // And the environment as a whole, as loadConfig() reads it.
      expect(ConfigSchema.safeParse(env).success, name).toBe(true);
    }
  });

  it("ships no admin key: BOOTSTRAP_ADMIN_KEY is empty unless the user sets it (the API then generates one)", () => {
    // No key-shaped value anywhere in the file, comments included.
    expect(read("docker-compose.yml")).not.toMatch(/vwksp-key-[A-Za-z0-9_-]/);
    expect(environmentOf(service("api")).BOOTSTRAP_ADMIN_KEY).toBe("");
    expect(ConfigSchema.shape.BOOTSTRAP_ADMIN_KEY.parse("")).toBeUndefined();
    const chosen = "vwksp-key-chosen-by-the-user-0123456789";
    const withKey = interpolate(rawCompose, { BOOTSTRAP_ADMIN_KEY: chosen }) as ComposeFile;
    expect(environmentOf(withKey.services.api as Service).BOOTSTRAP_ADMIN_KEY).toBe(chosen);
    for (const name of ["worker", "migrate", "agent"]) {
      expect(Object.keys(environmentOf(service(name))), name).not.toContain("BOOTSTRAP_ADMIN_KEY");
    }
  });

  it("publishes postgres and redis on loopback only, where the host-side defaults look for them", () => {
    // `docker compose up -d postgres redis` serves `pnpm start` and `pnpm test` on the host, whose
    // defaults (ConfigSchema's, and test/support's) are postgres@127.0.0.1:5432 and 127.0.0.1:6379.
    const defaults = ConfigSchema.parse({});
    const db = new URL(defaults.DATABASE_URL);
    const redis = new URL(defaults.REDIS_URL);
    expect(portsOf(service("postgres"))).toEqual([
      { host: db.hostname, published: Number(db.port), target: 5432 },
    ]);
    expect(portsOf(service("redis"))).toEqual([
      { host: redis.hostname, published: Number(redis.port), target: 6379 },
    ]);
    const pgEnv = environmentOf(service("postgres"));
    expect(pgEnv.POSTGRES_USER ?? "postgres").toBe(decodeURIComponent(db.username));
    // The host URL carries no password, so the local stack trusts connections (it listens on loopback only).
    if (db.password === "") expect(pgEnv.POSTGRES_HOST_AUTH_METHOD).toBe("trust");
  });

  it("publishes the API on 127.0.0.1:8080, the port the API listens on, unless API_BIND says otherwise", () => {
    const env = environmentOf(service("api"));
    const port = ConfigSchema.shape.PORT.parse(env.PORT);
    expect(port).toBe(8080);
    const metricsPort = ConfigSchema.shape.METRICS_PORT.parse(env.METRICS_PORT);
    // The agents' port, and the internal metrics port on loopback whatever API_BIND says.
    const metrics = { host: "127.0.0.1", published: 9464, target: metricsPort };
    expect(portsOf(service("api"))).toEqual([{ host: "127.0.0.1", published: 8080, target: port }, metrics]);
    expect(words(service("api").healthcheck?.test).join(" ")).toContain(`:${port}/readyz`);
    const open = interpolate(rawCompose, { API_BIND: "0.0.0.0", API_HOST_PORT: "9090" }) as ComposeFile;
    expect(portsOf(open.services.api as Service)).toEqual([
      { host: "0.0.0.0", published: 9090, target: port },
      metrics,
    ]);
  });

  it("publishes nothing beyond loopback by default", () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const port of portsOf(svc)) expect(port.host, `${name} ${JSON.stringify(port)}`).toBe("127.0.0.1");
    }
  });

  it("starts things in order: postgres → migrate → api and worker, redis before both", () => {
    expect(dependsOn(service("migrate"))).toEqual({ postgres: "service_healthy" });
    for (const name of ["api", "worker"]) {
      expect(dependsOn(service(name)), name).toEqual({
        postgres: "service_healthy",
        redis: "service_healthy",
        migrate: "service_completed_successfully",
      });
    }
    for (const [name, svc] of Object.entries(services)) {
      for (const [target, condition] of Object.entries(dependsOn(svc))) {
        expect(Object.keys(services), `${name} depends on ${target}`).toContain(target);
        if (condition === "service_healthy") {
          expect(service(target).healthcheck?.test, `${name} waits for ${target} healthy`).toBeDefined();
          expect(service(target).healthcheck?.disable ?? false).toBe(false);
        }
        if (condition === "service_completed_successfully") {
          // A one-shot service restarted after exit 0 would never count as completed.
          expect(service(target).restart ?? "no", target).toMatch(/^(no|on-failure(:\d+)?)$/);
        }
      }
    }
  });

  it("runs the migration, the API and the worker with commands that exist", () => {
    const rootPackage = JSON.parse(read("package.json")) as { scripts: Record<string, string> };
    // The image has no pnpm: the migration runs the same CLI that `pnpm db:migrate` runs.
    expect(words(service("migrate").command)).toEqual([
      "node",
      "--import",
      "tsx",
      "tools/prisma-migrate/src/cli.ts",
      "migrate",
    ]);
    expect(rootPackage.scripts["db:migrate"]).toBe("pnpm --filter @vwksp/prisma-tool run migrate");
    const toolPackage = JSON.parse(read("tools/prisma-migrate/package.json")) as {
      scripts: Record<string, string>;
    };
    expect(toolPackage.scripts.migrate).toBe("tsx src/cli.ts migrate");
    expect(existsSync(join(root, "tools/prisma-migrate/src/cli.ts"))).toBe(true);
    for (const [name, entry] of [
      ["api", "apps/api/src/server.ts"],
      ["worker", "apps/worker/src/main.ts"],
    ] as const) {
      const command = words(service(name).command);
      expect(command, name).toContain(entry);
      expect(existsSync(join(root, entry)), entry).toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe("Dockerfile", () => {
  const text = read("Dockerfile");
  const instructions = dockerfileInstructions(text);
  const stages = dockerfileStages(text);
  const stage = (name: string) => {
    const found = stages.find((candidate) => candidate.name === name);
    if (!found) throw new Error(`the Dockerfile has no stage "${name}"`);
    return found;
  };
  const runtime = stages.at(-1) as Stage;
  const installIn = (name: string) =>
    stage(name).instructions.find((i) => i.keyword === "RUN" && /\bpnpm install\b/.test(i.args))?.args ?? "";
  /** What a stage has from the context before its install, its parents' included. */
  const copiedBefore = (name: string): string[] => {
    const own = stage(name);
    const until = own.instructions.findIndex((i) => i.keyword === "RUN" && /\bpnpm install\b/.test(i.args));
    const sources = own.instructions
      .slice(0, until === -1 ? undefined : until)
      .filter((i) => i.keyword === "COPY")
      .flatMap((i) => copySources(i.args) ?? [])
      .map((source) => source.replace(/\/$/, ""));
    const parent = stages.find((candidate) => candidate.name === own.from);
    return parent ? [...copiedBefore(parent.name), ...sources] : sources;
  };

  it("runs on the Node LTS line in support (24), in every stage", () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    for (const { name, from } of stages) {
      if (stages.some((other) => other.name === from)) continue;
      expect(from, name).toMatch(/^node:24[.-]/);
    }
  });

  it("copies only files that exist and that .dockerignore lets through", () => {
    const ignored = dockerignore(read(".dockerignore"));
    const copies = instructions.filter((i) => i.keyword === "COPY" || i.keyword === "ADD");
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      for (const source of copySources(copy.args) ?? []) {
        if (source === "." || source === "./") continue;
        expect(existsSync(join(root, source)), `COPY ${source}`).toBe(true);
        expect(ignored(source), `COPY ${source} is excluded by .dockerignore`).toBe(false);
      }
    }
    for (const excluded of [
      "node_modules",
      "apps/api/node_modules",
      ".git",
      "packages/core/src/generated",
      "apps/api/test",
    ]) {
      expect(ignored(excluded), excluded).toBe(true);
    }
  });

  it("generates the Prisma client in a stage with every dependency, from the lockfile it was made with", () => {
    expect(installIn("build")).toMatch(/^pnpm install --frozen-lockfile$/);
    const copied = copiedBefore("build");
    const required = [
      "package.json",
      "pnpm-lock.yaml",
      "pnpm-workspace.yaml",
      ".pnpmfile.cjs",
      "prisma.config.ts",
      "prisma",
      "scripts",
      ...workspaceManifests(root),
    ];
    for (const file of required)
      expect(copied, `${file} is copied before the build stage's install`).toContain(file);
  });

  it("installs production dependencies only for the runtime, with the same lockfile and pnpmfile", () => {
    const install = installIn("prod-deps");
    expect(install).toContain("--prod");
    expect(install).toContain("--frozen-lockfile");
    // The root postinstall needs the Prisma CLI, a dev dependency.
    expect(install).toContain("--ignore-scripts");
    const copied = copiedBefore("prod-deps");
    for (const file of [
      "package.json",
      "pnpm-lock.yaml",
      "pnpm-workspace.yaml",
      ".pnpmfile.cjs",
      ...workspaceManifests(root),
    ]) {
      expect(copied, `${file} is copied before the production install`).toContain(file);
    }
  });

  it("gives the runtime stage no dev dependency: node_modules come from the production install only", () => {
    expect(runtime.from).toMatch(/^node:24[.-]/); // a fresh image, not a stage with a full install
    expect(runtime.instructions.some((i) => i.keyword === "RUN" && /\b(pnpm|npm)\b/.test(i.args))).toBe(
      false,
    );
    const fromStages = runtime.instructions
      .filter((i) => i.keyword === "COPY")
      .map((i) => copyFromStage(i.args))
      .filter((copy) => copy !== null);
    expect(fromStages.map((copy) => copy.from).sort()).toEqual(["build", "prod-deps"]);
    for (const copy of fromStages) {
      if (copy.from === "build") {
        // Only what `prisma generate` wrote, nothing of the full install.
        expect(copy.sources).toEqual(["/app/packages/core/src/generated/"]);
      }
    }
    // The runtime needs tsx, so it must be a production dependency of the root.
    const rootPackage = JSON.parse(read("package.json")) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    expect(rootPackage.dependencies?.tsx).toBeDefined();
    expect(rootPackage.devDependencies?.tsx).toBeUndefined();
  });

  it("copies every file the runtime needs: the entry points, their packages, the migrations and the client", () => {
    const ignored = dockerignore(read(".dockerignore"));
    const copied = runtime.instructions
      .filter((i) => i.keyword === "COPY" && copyFromStage(i.args) === null)
      .flatMap((i) => copySources(i.args) ?? [])
      .map((source) => source.replace(/\/$/, ""));
    const covered = (path: string) =>
      copied.some((source) => path === source || path.startsWith(`${source}/`));
    for (const needed of [
      "apps/api/src/server.ts",
      "apps/api/scripts/admin-key.ts",
      "apps/worker/src/main.ts",
      "tools/prisma-migrate/src/cli.ts",
      "packages/agent/bin/vwksp-agent.mjs",
      "packages/core/src/index.ts",
      "prisma/schema.prisma",
      "prisma/migrations/migration_lock.toml",
      "tsconfig.base.json",
    ]) {
      expect(covered(needed), `${needed} reaches the runtime stage`).toBe(true);
      expect(ignored(needed), `${needed} is not excluded by .dockerignore`).toBe(false);
    }
  });

  it("installs the pnpm version that package.json pins", () => {
    const rootPackage = JSON.parse(read("package.json")) as { packageManager: string };
    const pinned = rootPackage.packageManager.replace(/^pnpm@/, "").replace(/\+.*$/, "");
    const arg = instructions.find((i) => i.keyword === "ARG" && i.args.startsWith("PNPM_VERSION="));
    expect(arg?.args).toBe(`PNPM_VERSION=${pinned}`);
  });

  it("runs as a non-root user in production mode, with port and health check", () => {
    const users = runtime.instructions.filter((i) => i.keyword === "USER").map((i) => i.args.trim());
    expect(users.at(-1)).toBeDefined();
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    // Nothing after USER runs as root again, and the code itself stays root-owned (read-only to it).
    const userAt = runtime.instructions.findIndex((i) => i.keyword === "USER");
    expect(runtime.instructions.slice(userAt + 1).some((i) => i.keyword === "RUN")).toBe(false);
    expect(runtime.instructions.some((i) => i.keyword === "COPY" && /--chown/.test(i.args))).toBe(false);
    expect(
      runtime.instructions.some((i) => i.keyword === "ENV" && /\bNODE_ENV=production\b/.test(i.args)),
    ).toBe(true);
    expect(runtime.instructions.find((i) => i.keyword === "EXPOSE")?.args).toBe("8080");
    expect(runtime.instructions.find((i) => i.keyword === "HEALTHCHECK")?.args).toContain("/healthz");
    const cmd = runtime.instructions.find((i) => i.keyword === "CMD")?.args ?? "";
    expect(JSON.parse(cmd)).toEqual(["node", "--import", "tsx", "apps/api/src/server.ts"]);
  });
});
