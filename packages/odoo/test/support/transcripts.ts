import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** The recorded Odoo exchanges (packages/odoo/test/fixtures/odoo, recordings of real Odoo servers). */
export const FIXTURES_DIR = resolve(import.meta.dirname, "../fixtures/odoo");

export interface Transcript {
  file: string;
  version: 16 | 17 | 18 | 19;
  title: string;
  request: { method: string; path: string; body: string };
  response: { status: number; reason: string; headers: [string, string][]; body: string };
}

const HEADER_LINE = /^([A-Za-z][A-Za-z0-9-]*): ?(.*)$/;

/** Format: `### name`, request line, body, `---`, status line, headers, body, then a blank line. */
export function parseTranscript(file: string, text: string): Transcript {
  if (!text.endsWith("\n\n")) throw new Error(`${file}: missing final blank line`);
  const parts = text.slice(0, -2).split("\n---\n");
  if (parts.length !== 2) throw new Error(`${file}: expected exactly one --- separator`);
  const [requestPart = "", responsePart = ""] = parts;
  const [titleLine = "", requestLine = "", ...requestBody] = requestPart.split("\n");
  const [statusLine = "", ...responseLines] = responsePart.split("\n");
  const title = /^### (.+)$/.exec(titleLine)?.[1];
  const request = /^([A-Z]+) (\S+)$/.exec(requestLine);
  const status = /^HTTP\/1\.1 (\d{3}) (.+)$/.exec(statusLine);
  const version = /^v(16|17|18|19)-/.exec(file)?.[1];
  if (!title || !request || !status || !version) throw new Error(`${file}: unexpected layout`);
  const headers: [string, string][] = [];
  let index = 0;
  for (; index < responseLines.length; index++) {
    const header = HEADER_LINE.exec(responseLines[index] ?? "");
    if (!header) break;
    headers.push([header[1] ?? "", header[2] ?? ""]);
  }
  return {
    file,
    version: Number(version) as Transcript["version"],
    title,
    request: { method: request[1] ?? "", path: request[2] ?? "", body: requestBody.join("\n") },
    response: {
      status: Number(status[1]),
      reason: status[2] ?? "",
      headers,
      body: responseLines.slice(index).join("\n"),
    },
  };
}

export function loadTranscripts(): Transcript[] {
  return readdirSync(FIXTURES_DIR)
    .filter((file) => file.endsWith(".txt"))
    .sort()
    .map((file) => parseTranscript(file, readFileSync(join(FIXTURES_DIR, file), "utf8")));
}

/** Python's repr of a str back to the str (the recorder summarised tracebacks with repr). */
export function unrepr(text: string): string {
  const quote = text[0];
  if ((quote !== "'" && quote !== '"') || text.at(-1) !== quote) throw new Error(`not a repr: ${text}`);
  const body = text.slice(1, -1);
  const escapes: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"' };
  return body.replace(/\\(x[0-9a-f]{2}|u[0-9a-f]{4}|.)/gi, (_match, code: string) => {
    if (code.length > 1) return String.fromCharCode(Number.parseInt(code.slice(1), 16));
    return escapes[code] ?? `\\${code}`;
  });
}

const DEBUG_SUMMARY = /^<\d+ chars(?: traceback)?, last line: (.*)>$/s;

/** The traceback's last line the recorder kept, or undefined when the summary has another form. */
export function recordedLastLine(debug: string): string | undefined {
  const match = DEBUG_SUMMARY.exec(debug);
  return match?.[1] ? unrepr(match[1]) : undefined;
}

export function lastLine(text: string): string {
  return (
    text
      .split("\n")
      .filter((line) => line.trim() !== "")
      .at(-1) ?? ""
  );
}

/**
 * The recorder cut long bodies at 1500 characters. Keep every complete member up to the last
 * top-level-or-nested comma and close what is open, giving a parseable prefix of the answer.
 */
export function repairTruncatedJson(text: string): unknown {
  const stack: string[] = [];
  let cut: { at: number; open: string[] } | undefined;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === "\\") i++;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === "{" || char === "[") stack.push(char === "{" ? "}" : "]");
    else if (char === "}" || char === "]") stack.pop();
    else if (char === ",") cut = { at: i, open: [...stack] };
  }
  if (!cut) throw new Error("nothing to keep in the truncated body");
  return JSON.parse(text.slice(0, cut.at) + cut.open.reverse().join(""));
}
