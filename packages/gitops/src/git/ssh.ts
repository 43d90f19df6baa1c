/** Where an ssh remote lives: `ssh://[user@]host[:port]/path` or scp-like `[user@]host:path`. */
export function sshHostOf(url: string): { host: string; port: number } {
  if (url.startsWith("ssh://")) {
    const parsed = new URL(url);
    return { host: parsed.hostname, port: parsed.port ? Number(parsed.port) : 22 };
  }
  const match = /^(?:[^@]+@)?([^:]+):/.exec(url);
  return { host: match?.[1] ?? url, port: 22 };
}

const KEY_TYPE = /^(ssh-|ecdsa-|sk-)/;

/**
 * known_hosts content for the binding: lines given with a host pattern stay as they are; a bare
 * key (`ssh-ed25519 AAAA…`, what admins often copy) gets the remote's host pattern in front,
 * `[host]:port` when the port is not 22, as ssh looks it up.
 */
export function knownHostsFor(url: string, knownHosts: string | undefined): string {
  if (!knownHosts) return "";
  const { host, port } = sshHostOf(url);
  const pattern = port === 22 ? host : `[${host}]:${port}`;
  const lines = knownHosts
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => (KEY_TYPE.test(line) ? `${pattern} ${line}` : line));
  return `${lines.join("\n")}\n`;
}

const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

/**
 * The ssh command git runs (GIT_SSH_COMMAND): only this key, no agent, no user config, never a
 * prompt. With a known_hosts line the host key must match it; without one, the key is accepted on
 * first use into a known_hosts file that lives for this operation only — i.e. not verified.
 */
export function sshCommand(options: { keyPath: string; knownHostsPath: string; strictHostKey: boolean }) {
  return [
    "ssh -F /dev/null",
    `-i ${quote(options.keyPath)}`,
    "-o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes",
    `-o UserKnownHostsFile=${quote(options.knownHostsPath)} -o GlobalKnownHostsFile=/dev/null`,
    `-o StrictHostKeyChecking=${options.strictHostKey ? "yes" : "accept-new"}`,
    "-o ConnectTimeout=15 -o ServerAliveInterval=15 -o LogLevel=ERROR",
  ].join(" ");
}
