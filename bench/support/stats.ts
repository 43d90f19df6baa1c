/** Nearest-rank percentile of unsorted samples (p in 0..100); NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export interface Row {
  figure: string;
  value: string;
  goal?: string;
  /** undefined = information only (no goal). */
  pass?: boolean;
}

/** A value with a goal: PASS when `ok(value)`. */
export function goalRow(figure: string, value: number, unit: string, goal: string, ok: boolean): Row {
  return { figure, value: `${format(value)} ${unit}`, goal, pass: Number.isFinite(value) && ok };
}

export function infoRow(figure: string, value: string): Row {
  return { figure, value };
}

export function format(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Prints a plain-text table: figure | value | goal | result. */
export function printTable(title: string, rows: Row[]): void {
  const cells = rows.map((row) => [
    row.figure,
    row.value,
    row.goal ?? "",
    row.pass === undefined ? "info" : row.pass ? "PASS" : "MISS",
  ]);
  const header = ["figure", "value", "goal", "result"];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((cell) => (cell[column] as string).length)),
  );
  const line = (cell: string[]) =>
    cell.map((text, column) => text.padEnd(widths[column] as number)).join(" | ");
  const rule = widths.map((width) => "-".repeat(width)).join("-+-");
  console.log(`\n${title}\n${line(header)}\n${rule}`);
  for (const cell of cells) console.log(line(cell));
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  });
  await Promise.all(lanes);
  return results;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const log = (message: string) =>
  console.error(`[bench ${new Date().toISOString().slice(11, 23)}] ${message}`);

/** The value of a `--name=value` command-line option, or `fallback`. */
export function option(name: string, fallback: string): string {
  const arg = process.argv.slice(2).find((value) => value.startsWith(`--${name}=`));
  return arg ? arg.slice(name.length + 3) : fallback;
}
