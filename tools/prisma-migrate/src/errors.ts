/**
 * An expected failure (unreachable database, failed migration, invalid schema…): the CLI prints
 * its message as one paragraph, without a stack trace.
 */
export class MigrateError extends Error {
  override name = "MigrateError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
