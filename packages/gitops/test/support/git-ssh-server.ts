import { spawn } from "node:child_process";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import ssh2 from "ssh2";

const { Server, utils } = ssh2;

/** A key pair in OpenSSH format: `private` as an admin would paste it, `public` as `ssh-ed25519 AAAA… `. */
export const generateSshKeyPair = () => utils.generateKeyPairSync("ed25519");

export interface SshAccount {
  publicKey: string;
  canPush: boolean;
}

export interface GitSshServer {
  /** `ssh://git@127.0.0.1:<port>/<name>.git` */
  url(repository: string): string;
  /** The server's host key as `ssh-ed25519 AAAA…` (what a known_hosts line holds after the host). */
  hostPublicKey: string;
  close(): Promise<void>;
}

const GIT_COMMAND = /^git[ -](upload-pack|receive-pack) '\/?([A-Za-z0-9._-]+\.git)'$/;

/**
 * A real SSH server (ssh2, pure JS) in front of `git upload-pack` / `git receive-pack`: public-key
 * auth with signature check, so OpenSSH's client and git's ssh transport run as against a host.
 * A read-only key is refused receive-pack with GitHub's wording.
 */
export async function startGitSshServer(projectRoot: string, accounts: SshAccount[]): Promise<GitSshServer> {
  const hostKey = generateSshKeyPair();
  const known = accounts.map((account) => ({
    key: utils.parseKey(account.publicKey),
    canPush: account.canPush,
  }));
  const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
    let canPush = false;
    client.on("error", () => {});
    client.on("authentication", (context) => {
      if (context.method !== "publickey") return context.reject(["publickey"]);
      const match = known.find(
        ({ key }) =>
          !(key instanceof Error) &&
          key.type === context.key.algo &&
          key.getPublicSSH().equals(context.key.data),
      );
      const key = match?.key;
      if (!match || !key || key instanceof Error) return context.reject(["publickey"]);
      if (
        context.signature &&
        context.blob &&
        key.verify(context.blob, context.signature, context.hashAlgo) !== true
      ) {
        return context.reject(["publickey"]);
      }
      canPush = match.canPush;
      context.accept();
    });
    client.on("session", (accept) => {
      accept().on("exec", (acceptExec, _reject, info) => {
        const stream = acceptExec();
        const command = GIT_COMMAND.exec(info.command);
        if (!command || (command[1] === "receive-pack" && !canPush)) {
          stream.stderr.write("ERROR: Permission to fleet.git denied to deploy key.\n");
          stream.exit(1);
          stream.end();
          return;
        }
        const git = spawn("git", [command[1] ?? "", join(projectRoot, command[2] ?? "")], {
          env: { PATH: process.env.PATH ?? "", GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" },
        });
        stream.pipe(git.stdin);
        git.stdout.pipe(stream, { end: false });
        git.stderr.pipe(stream.stderr, { end: false });
        git.on("close", (code) => {
          stream.exit(code ?? 1);
          stream.end();
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (repository) => `ssh://git@127.0.0.1:${port}/${repository}.git`,
    hostPublicKey: hostKey.public.split(" ").slice(0, 2).join(" "),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
