import { randomBytes, randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  commitsOf,
  commitToBare,
  createBareRepository,
  fileAt,
  filesAt,
  type GitHttpServer,
  headOf,
  startGitHttpServer,
} from "@vwksp/gitops/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { createWorkerGitOps, type WorkerGitOps } from "../../../apps/worker/src/gitops-executor.ts";
import {
  createLogger,
  credentialSealerFor,
  gitCredentialContext,
  resealGitCredentials,
} from "../../../packages/core/src/index.ts";
import { adminHeaders } from "../../../test/support/agent.ts";
import { createLogCapture, createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, createCluster, eventually, registeredCluster } from "../../../test/support/fixtures.ts";
import { createTestWorker } from "../../../test/support/worker.ts";

// GitOps mode end to end (issue 15): the real API, the real worker with the GitOps executor of
// production (apps/worker/src/gitops-executor.ts) and a real Git server on loopback — bare
// repositories served over smart HTTP by `git http-backend` — read back with git. Races of two
// workers on one branch and a worker SIGKILLed between commit and push are the engine's own
// tests (packages/gitops/test/race.test.ts, crash.test.ts), on the same lock and push.

const TOKEN = `tok_${randomBytes(16).toString("hex")}`;
const READER_PASSWORD = `ro_${randomBytes(16).toString("hex")}`;
const SECRET_KEY = randomBytes(32).toString("hex");
const PUBLIC_URL = "https://cp.example.org";
const NAMESPACE = "org-acme";

let root: string;
let git: GitHttpServer;
let bare: string;
let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let bare2: string;
let noSecretHarness: Awaited<ReturnType<typeof createTestApp>>;
let worker: ReturnType<typeof createTestWorker>;
let gitops: WorkerGitOps | undefined;
let key: string;
const logs = createLogCapture();
/** Every answer of the API in this file, to search for the credential. */
const answers: string[] = [];
/** Pushes to the fleet repository that another writer beats: each gets a foreign commit first. */
let racesToLose = 0;
const foreignCommits: string[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "vwksp-gitops-e2e-"));
  const projectRoot = join(root, "srv");
  await mkdir(projectRoot);
  git = await startGitHttpServer({
    projectRoot,
    accounts: [
      { password: TOKEN, canPush: true },
      { username: "reader", password: READER_PASSWORD, canPush: false },
    ],
    // Someone else pushes to the branch while our push is on its way: the server then refuses
    // ours (the branch is no longer where our commit was built).
    async onRequest(request) {
      const push = request.method === "POST" && (request.url ?? "").endsWith("/fleet.git/git-receive-pack");
      if (!push || racesToLose === 0) return;
      racesToLose -= 1;
      const n = foreignCommits.length;
      foreignCommits.push(await commitToBare(bare, "main", { [`docs/race-${n}.md`]: `${n}\n` }, `race ${n}`));
    },
  });
  bare = await createBareRepository(projectRoot, "fleet", { files: { "README.md": "fleet\n" } });
  bare2 = await createBareRepository(projectRoot, "other", { files: { "README.md": "other\n" } });
  const overrides = { SECRET_KEY, PUBLIC_URL, GITOPS_WORK_DIR: join(root, "work"), LOG_LEVEL: "trace" };
  env = await createTestEnv();
  harness = await createTestApp({ env, configOverrides: overrides, captureLogs: logs });
  noSecretHarness = await createTestApp({ env, configOverrides: { SECRET_KEY: "", SIGNING_KEY_SECRET: "" } });
  const config = env.config(overrides);
  worker = createTestWorker({
    env,
    configOverrides: overrides,
    captureLogs: logs,
    executors: (services) => {
      gitops = createWorkerGitOps(config, createLogger("trace", "worker", logs.stream), services);
      return gitops ? { gitops: gitops.executor } : {};
    },
  });
  key = await adminKey(harness);
});

afterAll(async () => {
  await worker?.close();
  await gitops?.close();
  await noSecretHarness?.close();
  await harness?.close();
  await env?.close();
  await git?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

async function call(method: "GET" | "PUT" | "POST" | "DELETE", url: string, payload?: unknown) {
  const response = await harness.app.inject({
    method,
    url,
    headers: adminHeaders(key),
    ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
  });
  answers.push(response.body);
  return response;
}

const binding = (overrides: Record<string, unknown> = {}) => ({
  url: git.url("fleet"),
  branch: "main",
  path: "clusters",
  auth: { type: "https-token", token: TOKEN },
  author: { name: "vWorkspace", email: "gitops@vworkspace.example.org" },
  ...overrides,
});

const job = async (jobId: string) => (await call("GET", `/api/v1/jobs/${jobId}`)).json();
const finished = (jobId: string) =>
  eventually(async () => {
    const view = await job(jobId);
    return view.finishedAt ? view : undefined;
  }, 30_000);

async function deploy(clusterId: string, name: string, values: Record<string, unknown> = {}) {
  const response = await call("POST", `/api/v1/clusters/${clusterId}/applications`, {
    catalogId: "vaultwarden",
    namespace: NAMESPACE,
    name,
    values,
  });
  expect(response.statusCode, response.body).toBe(202);
  return finished((response.json() as { jobId: string }).jobId);
}

describe("GitOps mode", () => {
  let cluster: { id: string; slug: string };
  const dir = () => `clusters/${cluster.slug}`;

  beforeAll(async () => {
    ({ cluster } = await registeredCluster(harness, key, { connectivityMode: "gitops" }));
  });

  it("refuses bindings that cannot work, with the reason", async () => {
    const unknownField = await call("PUT", `/api/v1/clusters/${cluster.id}/gitops`, {
      ...binding(),
      passwrd: "x",
    });
    expect(unknownField.statusCode).toBe(400);
    expect(unknownField.body).toContain("passwrd");

    const wrongToken = await call(
      "PUT",
      `/api/v1/clusters/${cluster.id}/gitops`,
      binding({ auth: { type: "https-token", token: "tok_wrong" } }),
    );
    expect(wrongToken.statusCode).toBe(400);
    expect(wrongToken.json()).toMatchObject({
      error: "gitops_binding_invalid",
      message: expect.stringMatching(/^AuthenticationFailed: /),
    });

    const readOnly = await call(
      "PUT",
      `/api/v1/clusters/${cluster.id}/gitops`,
      binding({ auth: { type: "basic", username: "reader", password: READER_PASSWORD } }),
    );
    expect(readOnly.statusCode).toBe(400);
    expect(readOnly.json().message).toMatch(/^PushDenied: /);

    const noBranch = await call(
      "PUT",
      `/api/v1/clusters/${cluster.id}/gitops`,
      binding({ branch: "production" }),
    );
    expect(noBranch.statusCode).toBe(400);
    expect(noBranch.json().message).toMatch(/^BranchMissing: /);

    const pull = await createCluster(harness, key, { displayName: "Pull cluster" });
    const notGitops = await call("PUT", `/api/v1/clusters/${pull.id}/gitops`, binding());
    expect(notGitops.statusCode).toBe(409);
    expect(notGitops.json().error).toBe("not_gitops");

    const noSecret = await noSecretHarness.app.inject({
      method: "PUT",
      url: `/api/v1/clusters/${cluster.id}/gitops`,
      headers: adminHeaders(key),
      payload: binding(),
    });
    expect(noSecret.statusCode).toBe(409);
    expect(noSecret.json()).toMatchObject({
      error: "secret_key_missing",
      message: expect.stringContaining("SECRET_KEY is not set"),
    });
    expect(await harness.deps.db.gitOpsBinding.count({ where: { clusterId: cluster.id } })).toBe(0);
  });

  it("binds after validating, shows the binding (never the credential) in the cluster view", async () => {
    const head = await headOf(bare, "main");
    const put = await call("PUT", `/api/v1/clusters/${cluster.id}/gitops`, binding({ path: "/clusters/" }));
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({
      clusterId: cluster.id,
      url: git.url("fleet"),
      branch: "main",
      path: "clusters",
      authType: "https-token",
      directory: `clusters/${cluster.slug}`,
      health: { healthy: true, headCommit: head, lastError: null, lastPushAt: null },
    });
    const view = await call("GET", `/api/v1/clusters/${cluster.id}`);
    expect(view.json().gitops).toMatchObject({ url: git.url("fleet"), health: { healthy: true } });
    expect((await call("GET", `/api/v1/clusters/${cluster.id}/gitops`)).json()).toEqual(put.json());
    const audit = await harness.deps.db.auditEntry.findMany({
      where: { clusterId: cluster.id, kind: "GitOpsBindingCreated" },
    });
    expect(audit).toHaveLength(1);
  });

  it("issues the registration token with the kubectl line that puts it in a Secret", async () => {
    const issued = await call("POST", `/api/v1/clusters/${cluster.id}/registration-tokens`, {});
    expect(issued.statusCode).toBe(201);
    const { token, secretCommand } = issued.json();
    expect(secretCommand).toBe(
      `kubectl create secret generic ${cluster.slug}-registration --namespace=vworkspace-system --from-literal=registrationToken=${token} --dry-run=client -o yaml | kubectl apply -f -`,
    );
    const pull = await createCluster(harness, key, { displayName: "Pull cluster two" });
    const pullToken = await call("POST", `/api/v1/clusters/${pull.id}/registration-tokens`, {});
    expect(pullToken.json().secretCommand).toBeUndefined();
  });

  it("the first job writes the Cluster CR, the application and the kustomization as one commit", async () => {
    const before = await commitsOf(bare, "main");
    const done = await deploy(cluster.id, "vault");
    expect(done.state, done.error).toBe("succeeded");
    const head = await headOf(bare, "main");
    expect(done.gitCommit).toBe(head);
    expect(await commitsOf(bare, "main")).toHaveLength(before.length + 1);

    expect(await filesAt(bare, "main")).toEqual([
      "README.md",
      `${dir()}/apps/${NAMESPACE}/vault.yaml`,
      `${dir()}/cluster.yaml`,
      `${dir()}/kustomization.yaml`,
      `${dir()}/namespaces/${NAMESPACE}.yaml`,
    ]);
    const cr = parse(await fileAt(bare, "main", `${dir()}/cluster.yaml`));
    expect(cr).toMatchObject({
      apiVersion: "ops.vworkspace.io/v1alpha1",
      kind: "Cluster",
      metadata: { name: cluster.slug },
      spec: {
        clusterId: cluster.id,
        controlPlaneEndpoint: PUBLIC_URL,
        connectivityMode: "gitops",
        registrationTokenSecretRef: { name: `${cluster.slug}-registration`, key: "registrationToken" },
      },
    });
    // The same rendering as the pull-mode job payload.
    const app = parse(await fileAt(bare, "main", `${dir()}/apps/${NAMESPACE}/vault.yaml`));
    expect(app).toEqual(done.payload.applicationInstance);
    expect(parse(await fileAt(bare, "main", `${dir()}/kustomization.yaml`)).resources).toEqual([
      `apps/${NAMESPACE}/vault.yaml`,
      "cluster.yaml",
      `namespaces/${NAMESPACE}.yaml`,
    ]);
    const [commit] = await commitsOf(bare, "main");
    expect(commit?.author).toBe("vWorkspace <gitops@vworkspace.example.org>");
    expect(commit?.body).toContain(`Vwksp-Job-Id: ${done.id}`);
    expect(commit?.body).toContain(`Vwksp-Idempotency-Key: ${cluster.id}/${done.idempotencyKey}`);

    const health = (await call("GET", `/api/v1/clusters/${cluster.id}/gitops`)).json().health;
    expect(health).toMatchObject({ healthy: true, headCommit: head, lastError: null });
    expect(health.lastPushAt).not.toBeNull();
    const conditions = (await call("GET", `/api/v1/clusters/${cluster.id}`)).json().conditions;
    expect(conditions).toContainEqual(
      expect.objectContaining({ type: "GitRepositoryHealthy", status: "True", reason: "Pushing" }),
    );
  });

  it("makes no commit when the desired state did not change", async () => {
    const head = await headOf(bare, "main");
    const again = await deploy(cluster.id, "vault");
    expect(again.state).toBe("noop");
    expect(again.gitCommit).toBeUndefined();
    expect(await headOf(bare, "main")).toBe(head);
  });

  it("builds on a foreign commit that moved the branch, and deletes by removing the file", async () => {
    const foreign = await commitToBare(bare, "main", { "docs/notes.md": "someone else\n" }, "foreign");
    const second = await deploy(cluster.id, "notes", { domain: "https://notes.example.org" });
    expect(second.state, second.error).toBe("succeeded");
    const [commit] = await commitsOf(bare, "main");
    expect(commit?.parents).toEqual([foreign]);
    expect(await filesAt(bare, "main")).toContain(`${dir()}/apps/${NAMESPACE}/notes.yaml`);
    expect(await filesAt(bare, "main")).toContain("docs/notes.md");

    const removal = await call("DELETE", `/api/v1/clusters/${cluster.id}/applications/${NAMESPACE}/vault`);
    expect(removal.statusCode, removal.body).toBe(202);
    const removed = await finished(removal.json().jobId);
    expect(removed.state, removed.error).toBe("succeeded");
    expect(removed.gitCommit).toBe(await headOf(bare, "main"));
    const files = await filesAt(bare, "main");
    expect(files).not.toContain(`${dir()}/apps/${NAMESPACE}/vault.yaml`);
    expect(files).toContain(`${dir()}/apps/${NAMESPACE}/notes.yaml`);
    expect(parse(await fileAt(bare, "main", `${dir()}/kustomization.yaml`)).resources).toEqual([
      `apps/${NAMESPACE}/notes.yaml`,
      "cluster.yaml",
      `namespaces/${NAMESPACE}.yaml`,
    ]);
  });

  it("a push that loses a race to a concurrent commit is re-applied onto it and pushed again", async () => {
    racesToLose = 1;
    const done = await deploy(cluster.id, "raced");
    expect(done.state, done.error).toBe("succeeded");
    expect(racesToLose).toBe(0);
    const [commit] = await commitsOf(bare, "main");
    expect(commit?.sha).toBe(done.gitCommit);
    expect(commit?.parents).toEqual([foreignCommits.at(-1)]);
    expect(await filesAt(bare, "main")).toContain(`${dir()}/apps/${NAMESPACE}/raced.yaml`);
  });

  it("a branch that keeps moving makes the job wait and retry later, then it goes through once", {
    timeout: 60_000,
  }, async () => {
    // More races than the engine's attempts (6): the job is given back (RetryLater) with the reason.
    racesToLose = 7;
    const accepted = await call("POST", `/api/v1/clusters/${cluster.id}/applications`, {
      catalogId: "vaultwarden",
      namespace: NAMESPACE,
      name: "contended",
    });
    const jobId = accepted.json().jobId as string;
    await eventually(async () => {
      const view = await job(jobId);
      return view.state === "acked" && (view.error ?? "").includes("retrying: PushConflict");
    }, 30_000);
    expect((await call("GET", `/api/v1/clusters/${cluster.id}/gitops`)).json().health).toMatchObject({
      healthy: true,
      lastError: expect.stringMatching(/^PushConflict/),
    });
    racesToLose = 0;
    const sweep = () => worker.processors.maintenance?.["drain-executor-clusters"]?.({}, undefined as never);
    const done = await eventually(async () => {
      await sweep();
      const view = await job(jobId);
      return view.finishedAt ? view : undefined;
    }, 30_000);
    expect(done.state, done.error).toBe("succeeded");
    const history = await commitsOf(bare, "main");
    // Pushed once: one commit carries the job's key.
    expect(history.filter((commit) => commit.body.includes(`Vwksp-Job-Id: ${jobId}`))).toHaveLength(1);
    expect(history[0]?.sha).toBe(done.gitCommit);
    expect((await call("GET", `/api/v1/clusters/${cluster.id}/gitops`)).json().health.lastError).toBeNull();
  });

  it("a new binding writes the whole directory again in the new repository", async () => {
    const put = await call(
      "PUT",
      `/api/v1/clusters/${cluster.id}/gitops`,
      binding({ url: git.url("other") }),
    );
    expect(put.statusCode, put.body).toBe(200);
    const done = await deploy(cluster.id, "wiki");
    expect(done.state, done.error).toBe("succeeded");
    expect(await filesAt(bare2, "main")).toEqual([
      "README.md",
      `${dir()}/apps/${NAMESPACE}/contended.yaml`,
      `${dir()}/apps/${NAMESPACE}/notes.yaml`,
      `${dir()}/apps/${NAMESPACE}/raced.yaml`,
      `${dir()}/apps/${NAMESPACE}/wiki.yaml`,
      `${dir()}/cluster.yaml`,
      `${dir()}/kustomization.yaml`,
      `${dir()}/namespaces/${NAMESPACE}.yaml`,
    ]);
  });

  it("two clusters share one repository and branch: each job lands in its own cluster's directory", async () => {
    // The same application on another cluster has the same job idempotency key
    // (applicationinstance/org-acme/vault@1): the commit's key carries the cluster id.
    const { cluster: neighbour } = await registeredCluster(harness, key, {
      connectivityMode: "gitops",
      displayName: "Neighbour",
    });
    const put = await call("PUT", `/api/v1/clusters/${neighbour.id}/gitops`, binding());
    expect(put.statusCode, put.body).toBe(200);
    const done = await deploy(neighbour.id, "vault");
    expect(done.state, done.error).toBe("succeeded");
    expect(done.gitCommit).toBe(await headOf(bare, "main"));
    const files = await filesAt(bare, "main");
    expect(files).toContain(`clusters/${neighbour.slug}/apps/${NAMESPACE}/vault.yaml`);
    expect(files).toContain(`clusters/${neighbour.slug}/cluster.yaml`);
    // The first cluster's directory in this repository is as it left it.
    expect(files).toContain(`${dir()}/apps/${NAMESPACE}/notes.yaml`);

    // What Git cannot carry fails with a message saying so.
    const operation = await call("POST", `/api/v1/clusters/${neighbour.id}/operations`, {
      template: "backup.velero",
      namespace: NAMESPACE,
      name: "vault",
    });
    expect(operation.statusCode, operation.body).toBe(202);
    const refused = await finished(operation.json().jobId);
    expect(refused.state).toBe("failed");
    expect(refused.error).toContain("GitOps mode writes ApplicationInstances only");
  });

  it("a credential the server refuses fails the job with the reason and marks the binding unhealthy", async () => {
    const sealer = credentialSealerFor(env.config({ SECRET_KEY }));
    // The token was revoked on the Git host after the binding was saved.
    await harness.deps.db.gitOpsBinding.update({
      where: { clusterId: cluster.id },
      data: {
        sealedCredential: sealer?.seal(
          JSON.stringify({ type: "https-token", token: "tok_revoked" }),
          gitCredentialContext(cluster.id),
        ),
      },
    });
    const head = await headOf(bare2, "main");
    const failed = await deploy(cluster.id, "after-revocation");
    expect(failed.state).toBe("failed");
    expect(failed.error).toMatch(/^AuthenticationFailed: /);
    expect(await headOf(bare2, "main")).toBe(head);
    const health = (await call("GET", `/api/v1/clusters/${cluster.id}`)).json().gitops.health;
    expect(health).toMatchObject({
      healthy: false,
      lastError: expect.stringMatching(/^AuthenticationFailed/),
    });
    const audit = await harness.deps.db.auditEntry.findMany({
      where: { clusterId: cluster.id, kind: "GitOpsBindingUnhealthy" },
    });
    expect(audit).toHaveLength(1);

    // The token works again (re-enabled on the host): the next job goes through and says so.
    await harness.deps.db.gitOpsBinding.update({
      where: { clusterId: cluster.id },
      data: {
        sealedCredential: sealer?.seal(
          JSON.stringify({ type: "https-token", token: TOKEN }),
          gitCredentialContext(cluster.id),
        ),
      },
    });
    const recovered = await deploy(cluster.id, "after-recovery");
    expect(recovered.state, recovered.error).toBe("succeeded");
    const restored = (await call("GET", `/api/v1/clusters/${cluster.id}`)).json();
    expect(restored.gitops.health).toMatchObject({ healthy: true, lastError: null });
    expect(restored.conditions).toContainEqual(
      expect.objectContaining({ type: "GitRepositoryHealthy", status: "True" }),
    );
    expect(
      await harness.deps.db.auditEntry.count({
        where: { clusterId: cluster.id, kind: "GitOpsBindingRestored" },
      }),
    ).toBe(1);
  });

  it("never shows, logs or stores the credential in clear", async () => {
    expect(answers.length).toBeGreaterThan(10);
    for (const answer of answers) expect(answer).not.toContain(TOKEN);
    expect(logs.lines.length).toBeGreaterThan(0);
    expect(logs.lines.join("\n")).not.toContain(TOKEN);
    const rows = await harness.deps.db.$queryRawUnsafe<{ row: string }[]>(
      `SELECT row_to_json(b)::text AS row FROM "GitOpsBinding" b
       UNION ALL SELECT row_to_json(a)::text FROM "AuditEntry" a
       UNION ALL SELECT row_to_json(j)::text FROM "Job" j`,
    );
    const stored = rows.map((row) => row.row).join("\n");
    expect(stored).toContain("vwksp-sealed:v2:");
    expect(stored).not.toContain(TOKEN);
    expect(stored).not.toContain("tok_revoked");
    // Nor in the repositories.
    for (const repository of [bare, bare2]) {
      for (const path of await filesAt(repository, "main")) {
        expect(await fileAt(repository, "main", path)).not.toContain(TOKEN);
      }
    }
  });

  it("reseals credentials sealed under a previous SECRET_KEY, so that key can be dropped", async () => {
    const next = randomBytes(32).toString("hex");
    const before = await harness.deps.db.gitOpsBinding.findUniqueOrThrow({
      where: { clusterId: cluster.id },
    });
    const rotating = credentialSealerFor(env.config({ SECRET_KEY: next, SECRET_KEY_PREVIOUS: SECRET_KEY }));
    expect(
      await resealGitCredentials(harness.deps.db, rotating as NonNullable<typeof rotating>),
    ).toBeGreaterThanOrEqual(1);
    const after = await harness.deps.db.gitOpsBinding.findUniqueOrThrow({ where: { clusterId: cluster.id } });
    expect(after.sealedCredential).not.toBe(before.sealedCredential);
    const onlyNext = credentialSealerFor(env.config({ SECRET_KEY: next }));
    expect(
      JSON.parse(onlyNext?.open(after.sealedCredential, gitCredentialContext(cluster.id)) ?? "{}"),
    ).toEqual({
      type: "https-token",
      token: TOKEN,
    });
    // Bound to its row: it does not open as another cluster's.
    expect(() => onlyNext?.open(after.sealedCredential, gitCredentialContext(randomUUID()))).toThrow();
    expect(await resealGitCredentials(harness.deps.db, onlyNext as NonNullable<typeof onlyNext>)).toBe(0);
  });

  it("refuses a new slug while bound: Flux follows the directory named by the old one", async () => {
    const patch = (slug: string) =>
      harness.app.inject({
        method: "PATCH",
        url: `/api/v1/clusters/${cluster.id}`,
        headers: adminHeaders(key),
        payload: { slug },
      });
    const refused = await patch(`${cluster.slug}-renamed`);
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().error).toBe("slug_bound_to_gitops");
    expect(refused.json().message).toContain(`${dir()}/`);
    expect((await call("GET", `/api/v1/clusters/${cluster.id}`)).json().slug).toBe(cluster.slug);
    // The same slug again is no change, and other fields still change.
    expect((await patch(cluster.slug)).statusCode).toBe(200);
  });

  it("removes the binding, after which the slug may change", async () => {
    expect((await call("DELETE", `/api/v1/clusters/${cluster.id}/gitops`)).statusCode).toBe(204);
    expect((await call("GET", `/api/v1/clusters/${cluster.id}/gitops`)).statusCode).toBe(404);
    const view = (await call("GET", `/api/v1/clusters/${cluster.id}`)).json();
    expect(view.gitops).toBeNull();
    expect(view.conditions.map((condition: { type: string }) => condition.type)).not.toContain(
      "GitRepositoryHealthy",
    );
    const renamed = await harness.app.inject({
      method: "PATCH",
      url: `/api/v1/clusters/${cluster.id}`,
      headers: adminHeaders(key),
      payload: { slug: `${cluster.slug}-renamed` },
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
  });
});
