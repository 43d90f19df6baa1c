import { lstat, mkdir, readdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { GitOpsError } from "./errors.ts";
import type { DirectoryFiles } from "./render/cluster-directory.ts";

/**
 * Refuses a path inside the clone that passes through a symbolic link: the repository's content
 * is not ours, and a link committed by anyone with write access (`clusters -> /etc`) would make
 * the worker write outside its clone.
 */
export async function assertNoSymlinkOnPath(clone: string, path: string) {
  let current = clone;
  for (const part of relative(clone, path).split(sep).filter(Boolean)) {
    current = join(current, part);
    const stats = await lstat(current).catch(() => undefined);
    if (!stats) return;
    if (stats.isSymbolicLink()) {
      throw new GitOpsError(
        "UnsafeContent",
        `the repository has a symbolic link at ${relative(clone, current)}`,
      );
    }
  }
}

/** Every file below `root` (relative path → content); an absent folder is an empty directory. */
export async function readDirectoryFiles(root: string): Promise<DirectoryFiles> {
  const files = new Map<string, string>();
  const walk = async (folder: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return [];
      throw error;
    });
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isSymbolicLink())
        throw new GitOpsError(
          "UnsafeContent",
          `the cluster directory has a symbolic link at ${relative(root, path)}`,
        );
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files.set(relative(root, path), await readFile(path, "utf8"));
    }
  };
  await walk(root);
  return files;
}

/** Makes the folder hold exactly these files: extra files go (and folders left empty), others are written. */
export async function writeDirectoryFiles(root: string, current: DirectoryFiles, next: DirectoryFiles) {
  for (const path of current.keys()) {
    if (next.has(path)) continue;
    await rm(join(root, path), { force: true });
    await removeEmptyParents(root, dirname(join(root, path)));
  }
  for (const [path, content] of next) {
    if (current.get(path) === content) continue;
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

async function removeEmptyParents(root: string, folder: string) {
  let current = folder;
  while (current.startsWith(root) && current !== root) {
    const removed = await rmdir(current).then(
      () => true,
      () => false,
    );
    if (!removed) return;
    current = dirname(current);
  }
}
