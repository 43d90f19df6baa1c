import { OdooError, type OdooErrorKind } from "./errors.ts";

/** One HTTP exchange with Odoo, for metrics and logs: no arguments, no key. */
export interface OdooCallEvent {
  transport: "jsonrpc" | "json2";
  /** `common.version`, `res.partner.search_read`, ... */
  target: string;
  durationMs: number;
  ok: boolean;
  errorKind?: OdooErrorKind;
  httpStatus?: number;
}

/** Runs one exchange and reports it to `onCall` (if any), failures included. */
export async function observeCall<T>(
  onCall: ((event: OdooCallEvent) => void) | undefined,
  transport: OdooCallEvent["transport"],
  target: string,
  run: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  try {
    const result = await run();
    onCall?.({ transport, target, durationMs: performance.now() - started, ok: true });
    return result;
  } catch (error) {
    const odoo = error instanceof OdooError ? error : undefined;
    onCall?.({
      transport,
      target,
      durationMs: performance.now() - started,
      ok: false,
      ...(odoo ? { errorKind: odoo.kind } : {}),
      ...(odoo?.httpStatus !== undefined ? { httpStatus: odoo.httpStatus } : {}),
    });
    throw error;
  }
}
