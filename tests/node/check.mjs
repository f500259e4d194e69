// What the test scripts here share: failing loudly, checking a value, waiting for an event.

let label = '';

/** Names the run in failure messages (e.g. the transport under test). */
export function labelFailures(name) {
  label = name;
}

/** Prints the failure and exits 1. */
export function fail(message) {
  console.error(label ? `FAIL (${label}): ${message}` : `FAIL: ${message}`);
  process.exit(1);
}

/** Fails unless `actual` and `expected` have the same JSON; prints `ok - what` otherwise. */
export function expectEqual(actual, expected, what) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    fail(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
  console.log(`ok - ${what}`);
}

/** Resolves with the arguments of `emitter`'s next `event`. */
export const once = (emitter, event) =>
  new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));

/** Fails the run if it has not finished within `seconds`; clear it at the end. */
export function deadline(seconds) {
  return setTimeout(() => fail(`timed out after ${seconds} s`), seconds * 1000);
}
