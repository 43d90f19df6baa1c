const MIN_SECRET_LENGTH = 4;

/**
 * Replaces every occurrence of a secret (and each line of a multi-line one, such as a private
 * key) with `[REDACTED]`. Applied to all git output before it reaches an error or a log line.
 */
export function redact(text: string, secrets: readonly string[]): string {
  const needles = secrets
    .flatMap((secret) => [secret, ...secret.split(/\r?\n/)])
    .map((needle) => needle.trim())
    .filter((needle) => needle.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length);
  let result = text;
  for (const needle of needles) result = result.split(needle).join("[REDACTED]");
  return result;
}
