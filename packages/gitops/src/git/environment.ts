/** Variables passed through from the service's environment: proxies and extra CA bundles only. */
const PASSTHROUGH = [
  "PATH",
  "HTTPS_PROXY",
  "https_proxy",
  "HTTP_PROXY",
  "http_proxy",
  "NO_PROXY",
  "no_proxy",
  "ALL_PROXY",
  "all_proxy",
  "GIT_SSL_CAINFO",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
];

/**
 * The environment of every git process: nothing of the user's or the system's git config (no
 * credential helper, no url rewrites), no prompts, English messages (errors are classified by
 * text), only the transports we mean to use (never `ext::` or `file://` from a binding's URL), and
 * config entries given through GIT_CONFIG_* so they never land in a config file.
 */
export function gitEnvironment(home: string, config: [string, string][], extra: Record<string, string> = {}) {
  const env: Record<string, string> = {};
  for (const name of PASSTHROUGH) {
    const value = process.env[name];
    if (value) env[name] = value;
  }
  const entries: [string, string][] = [
    // An empty helper value clears any helper list configured elsewhere.
    ["credential.helper", ""],
    ["init.defaultBranch", "main"],
    // Background gc would outlive the operation and race the cache's cleanup.
    ["gc.autoDetach", "false"],
    ["maintenance.auto", "false"],
    // A transfer that stalls (under 1 KiB/s for 60 s) fails instead of hanging until the timeout.
    ["http.lowSpeedLimit", "1024"],
    ["http.lowSpeedTime", "60"],
    ...config,
  ];
  Object.assign(env, {
    HOME: home,
    LANG: "C",
    LC_ALL: "C",
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_ALLOW_PROTOCOL: "http:https:ssh",
    GIT_CONFIG_COUNT: String(entries.length),
  });
  entries.forEach(([key, value], index) => {
    env[`GIT_CONFIG_KEY_${index}`] = key;
    env[`GIT_CONFIG_VALUE_${index}`] = value;
  });
  return { ...env, ...extra };
}
