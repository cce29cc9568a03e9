// Durations as people type them: '500ms', '2s', '5m', '1h', or milliseconds as a number.
// Its own module, free of the native binding, so that the CLI can use it before (or
// without) loading the library.
import { describeValue } from './errors';

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const MAX_DURATION_MS = 7 * 24 * 3_600_000;

/** Parses a duration ('500ms', '2s', '5m', '1h', or ms as a number); throws naming `what`. */
export function parseDuration(what: string, value: unknown, minMs = 0, maxMs = MAX_DURATION_MS): number {
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
  } else if (typeof value === 'string' && DURATION_RE.test(value.trim())) {
    const m = DURATION_RE.exec(value.trim()) as RegExpExecArray;
    ms = Number(m[1]) * UNIT_MS[m[2]];
  } else {
    throw new TypeError(`${what} must be a duration: milliseconds as a number, or a string such as '500ms', '2s', '5m', '1h'; got ${describeValue(value)}`);
  }
  if (!Number.isFinite(ms) || ms < minMs || ms > maxMs) {
    throw new RangeError(`${what} must be from ${minMs} ms to ${maxMs} ms, got ${describeValue(value)}`);
  }
  return ms;
}
