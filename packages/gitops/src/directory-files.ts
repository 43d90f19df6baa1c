import { mkdir, readdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import type { DirectoryFiles } from "./render/cluster-directory.ts";

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
