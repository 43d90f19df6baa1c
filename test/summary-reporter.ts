import type { SerializedError } from "vitest";
import type { Reporter, TestModule, TestRunEndReason } from "vitest/node";

/**
 * Prints one plain closing line for CI log readers:
 * `Tests: N passed, N failed, N skipped` plus, when any, the files that failed to load and the
 * errors raised outside a test. A file that fails to load holds no tests, so counting tests alone
 * would print "0 failed" for a run that failed.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
    _reason: TestRunEndReason,
  ) {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const brokenFiles: string[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed += 1;
        else if (state === "failed") failed += 1;
        else skipped += 1;
      }
      if (module.errors().length > 0) brokenFiles.push(module.moduleId);
    }
    // A file that failed to load and an error outside any test are failures too.
    const failures = failed + brokenFiles.length + unhandledErrors.length;
    const why = [
      ...(brokenFiles.length > 0 ? [`${brokenFiles.length} file(s) failed outside a test`] : []),
      ...(unhandledErrors.length > 0 ? [`${unhandledErrors.length} unhandled error(s)`] : []),
    ];
    const parts = [
      `${passed} passed`,
      `${failures} failed${why.length ? ` (${why.join(", ")})` : ""}`,
      `${skipped} skipped`,
    ];
    process.stdout.write(`\nTests: ${parts.join(", ")}\n`);
    for (const file of brokenFiles) process.stdout.write(`  failed outside a test: ${file}\n`);
  }
}
