import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { APPLICATION_INSTANCE, type Condition, canonicalJson } from "@vwksp/protocol";
import { kubeTime, systemTiming, type Timing } from "../clock.ts";
import { InvalidJobError } from "../errors.ts";
import type { KubeObject, KubeRef } from "../kube/kube.ts";
import { type ClusterBackend, refOf, type TransitionListener } from "./backend.ts";

export interface LocalBackendOptions {
  stateDir: string;
  timing?: Timing;
  /** How long an ApplicationInstance stays Reconciling before it is Ready (a "Helm install"). */
  readyAfterMs?: number;
  /** How long each apply takes (0 by default): makes a job last long enough to crash mid-way in demos and tests. */
  applyDelayMs?: number;
  newUid?: () => string;
}

const NAME = /^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;
const KIND = /^[A-Za-z][A-Za-z0-9]{0,62}$/;

/** Everything but metadata and status: a change here is a new generation, as in Kubernetes. */
const specOf = ({ metadata: _metadata, status: _status, ...rest }: KubeObject) => canonicalJson(rest);

/**
 * A cluster in a directory: `<state-dir>/<namespace|_>/<Kind>/<name>.json`. Applies keep uid and
 * bump generation on spec changes; an ApplicationInstance reconciles (Reconciling, then
 * Ready=True HelmReleaseReady) a moment after it is applied, like the operator with Flux.
 */
export function createLocalBackend(options: LocalBackendOptions): ClusterBackend {
  const root = resolve(options.stateDir);
  const timing = options.timing ?? systemTiming;
  const readyAfterMs = options.readyAfterMs ?? 1_000;
  const applyDelayMs = options.applyDelayMs ?? 0;
  const newUid = options.newUid ?? randomUUID;
  const listeners: TransitionListener[] = [];
  const closing = new AbortController();
  const reconciles = new Set<Promise<void>>();
  // One file operation at a time: a reconcile never overwrites a newer apply.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => {});
    return next;
  };

  function pathOf(ref: KubeRef) {
    const namespace = ref.namespace || "_";
    if ((namespace !== "_" && !NAME.test(namespace)) || !NAME.test(ref.name) || !KIND.test(ref.kind)) {
      throw new InvalidJobError(`invalid object reference ${ref.kind} ${namespace}/${ref.name}`);
    }
    return join(root, namespace, ref.kind, `${ref.name}.json`);
  }
  const refFor = (object: KubeObject): KubeRef => ({ ...object, ...object.metadata });

  async function read(path: string): Promise<KubeObject | undefined> {
    try {
      return JSON.parse(await readFile(path, "utf8")) as KubeObject;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }
  async function write(path: string, object: KubeObject) {
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.tmp`;
    await writeFile(temporary, `${JSON.stringify(object, null, 2)}\n`);
    await rename(temporary, path);
  }

  /** Sets conditions on the stored object (if it is still at `generation`) and reports changes. */
  async function setConditions(path: string, generation: number, conditions: Condition[]) {
    const object = await read(path);
    if (!object || object.metadata.generation !== generation) return;
    const status = (object.status ?? {}) as { conditions?: Condition[] };
    const previous = status.conditions ?? [];
    const byType = new Map(previous.map((condition) => [condition.type, condition]));
    for (const condition of conditions) byType.set(condition.type, condition);
    const next = [...byType.values()];
    object.status = { ...status, observedGeneration: generation, conditions: next };
    await write(path, object);
    for (const listener of listeners) listener(refOf(object), previous, next);
  }

  function reconcile(path: string, generation: number, name: string) {
    const condition = (type: string, status: Condition["status"], reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      lastTransitionTime: kubeTime(timing.clock.now()),
      observedGeneration: generation,
    });
    const work = (async () => {
      await serial(() =>
        setConditions(path, generation, [
          condition("Reconciling", "True", "Progressing", `installing Helm release ${name}`),
          condition("Ready", "Unknown", "Reconciling", `reconciling generation ${generation}`),
        ]),
      );
      await timing.sleep(readyAfterMs, closing.signal);
      if (closing.signal.aborted) return;
      await serial(() =>
        setConditions(path, generation, [
          condition("Reconciling", "False", "HelmReleaseReady", `Helm release ${name} is installed`),
          condition("Ready", "True", "HelmReleaseReady", `Helm release ${name} is ready`),
        ]),
      );
    })().catch(() => {});
    reconciles.add(work);
    void work.finally(() => reconciles.delete(work));
  }

  return {
    name: "local",
    async apply(object) {
      const path = pathOf(refFor(object));
      if (applyDelayMs > 0) await timing.sleep(applyDelayMs, closing.signal);
      const stored = await serial(async () => {
        const existing = await read(path);
        const previousGeneration = existing?.metadata.generation ?? 0;
        const generation =
          existing && specOf(existing) === specOf(object) ? previousGeneration : previousGeneration + 1;
        const next: KubeObject = {
          ...object,
          metadata: {
            ...object.metadata,
            uid: existing?.metadata.uid ?? newUid(),
            generation,
            creationTimestamp: existing?.metadata.creationTimestamp ?? kubeTime(timing.clock.now()),
          },
          ...(existing?.status ? { status: existing.status } : {}),
        };
        await write(path, next);
        return { next, changed: generation !== previousGeneration };
      });
      const { next, changed } = stored;
      const isApp =
        next.apiVersion === APPLICATION_INSTANCE.apiVersion && next.kind === APPLICATION_INSTANCE.kind;
      if (isApp && changed) reconcile(path, next.metadata.generation ?? 1, next.metadata.name);
      return refOf(next);
    },
    get: (ref) => serial(() => read(pathOf(ref))),
    remove: (ref) =>
      serial(async () => {
        const path = pathOf(ref);
        const existed = (await read(path)) !== undefined;
        await rm(path, { force: true });
        return existed;
      }),
    async version() {
      return "local";
    },
    watch(listener) {
      listeners.push(listener);
    },
    async close() {
      closing.abort();
      await Promise.all([...reconciles]);
      await queue;
    },
  };
}
