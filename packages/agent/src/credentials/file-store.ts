import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { type CredentialStore, Credentials, createKeyLog } from "./credentials.ts";

const KeyFile = z.object({ clusterId: z.string().optional(), keys: z.array(z.string()) });

/** Writes through a temporary file and a rename, so a crash never leaves half a credential. */
export async function writePrivateFile(path: string, content: string) {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(temporary, content, { mode: 0o600 });
  // The mode given to writeFile is filtered by the umask; chmod makes it exactly 0600.
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

/** The processed-keys file sits next to the credential file. */
export const processedKeysPath = (credentialsPath: string) =>
  credentialsPath.replace(/(\.json)?$/, ".processed-keys.json");

/** A credential in a JSON file of mode 0600; the processed keys in a sibling file. */
export function createFileStore(path: string, warn: (message: string) => void = () => {}): CredentialStore {
  const absolute = resolve(path);
  return {
    location: absolute,
    async load() {
      let text: string;
      try {
        text = await readFile(absolute, "utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") {
          throw new Error(`no credential at ${absolute}; run "vwksp-agent register" first`);
        }
        throw error;
      }
      const mode = (await stat(absolute)).mode & 0o777;
      if (mode & 0o077) warn(`${absolute} is readable by others (mode ${mode.toString(8)}); expected 600`);
      const parsed = Credentials.safeParse(JSON.parse(text));
      if (!parsed.success) throw new Error(`${absolute} is not a vwksp-agent credential file`);
      return parsed.data;
    },
    async save(credentials) {
      await writePrivateFile(absolute, `${JSON.stringify(Credentials.parse(credentials), null, 2)}\n`);
    },
    idempotency(clusterId) {
      const keysPath = processedKeysPath(absolute);
      return createKeyLog(clusterId, {
        async load() {
          try {
            return KeyFile.parse(JSON.parse(await readFile(keysPath, "utf8")));
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
            throw error;
          }
        },
        save: (state) => writePrivateFile(keysPath, `${JSON.stringify(state)}\n`),
      });
    },
  };
}
