import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { GitBinding } from "../binding.ts";
import { gitEnvironment } from "./environment.ts";
import type { GitContext } from "./run-git.ts";
import { knownHostsFor, sshCommand } from "./ssh.ts";

/**
 * Answers git's credential request from this process's environment, and only for the binding's
 * own host (a redirect to another host gets nothing). `printf` is a shell builtin, so the values
 * never appear in any process's arguments; they are in no file and in no URL.
 */
const CREDENTIAL_HELPER = [
  "!f() {",
  'test "$1" = get || return 0;',
  "host=;",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a JS template.
  'while IFS= read -r line; do case "$line" in host=*) host="${line#host=}";; esac; done;',
  'test "$host" = "$VWKSP_GIT_HOST" || return 0;',
  'printf \'username=%s\\npassword=%s\\n\' "$VWKSP_GIT_USERNAME" "$VWKSP_GIT_PASSWORD";',
  "}; f",
].join(" ");

/** The credentials of one operation, ready for git; close() removes whatever was written. */
export interface GitSession {
  context: GitContext;
  close(): Promise<void>;
}

const authority = (url: string) => /^https?:\/\/([^/?#]+)/.exec(url)?.[1] ?? "";

/**
 * Opens the credentials of one operation. HTTP(S) secrets live in the git processes' environment
 * only; an SSH key must be a file for ssh, so it is written 0600 into a 0700 folder under
 * `scratchDir` and removed by close() (a crash leaves it to the engine's sweep of dead instances).
 */
export async function openGitSession(
  binding: GitBinding,
  scratchDir: string,
  timeoutMs: number,
): Promise<GitSession> {
  const { auth } = binding;
  if (auth.type !== "ssh-key") {
    const username = auth.type === "basic" ? auth.username : (auth.username ?? "x-access-token");
    const password = auth.type === "basic" ? auth.password : auth.token;
    const env = gitEnvironment(scratchDir, [["credential.helper", CREDENTIAL_HELPER]], {
      VWKSP_GIT_HOST: authority(binding.url),
      VWKSP_GIT_USERNAME: username,
      VWKSP_GIT_PASSWORD: password,
    });
    const basicHeader = Buffer.from(`${username}:${password}`).toString("base64");
    return { context: { env, secrets: [password, basicHeader], timeoutMs }, close: async () => {} };
  }
  const folder = await mkdtemp(join(scratchDir, "cred-"));
  await chmod(folder, 0o700);
  const keyPath = join(folder, "id");
  const knownHostsPath = join(folder, "known_hosts");
  // ssh refuses a key file without a final newline ("invalid format").
  await writeFile(keyPath, `${auth.privateKey.trim()}\n`, { mode: 0o600 });
  await writeFile(knownHostsPath, knownHostsFor(binding.url, auth.knownHosts), { mode: 0o600 });
  const command = sshCommand({ keyPath, knownHostsPath, strictHostKey: auth.knownHosts !== undefined });
  const env = gitEnvironment(folder, [], { GIT_SSH_COMMAND: command, GIT_SSH_VARIANT: "ssh" });
  return {
    context: { env, secrets: [auth.privateKey], timeoutMs },
    close: () => rm(folder, { recursive: true, force: true }),
  };
}
