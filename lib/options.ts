// The option checks every layer uses (sampler, exporters, server, analysis): each throws a
// TypeError for a value of the wrong type and a RangeError for one of the right type outside
// what is accepted, naming the option, the value (describeValue: never runs its code) and
// what is accepted. Checks of one domain (bucket bounds, labels, share() handles, rules)
// live with their domain and build on these.
import { describeValue, isRecord } from './errors';

/** `value` if it is a plain object (not an array, not a revoked Proxy), else a TypeError. */
export function checkObject(option: string, value: unknown, accepted = 'an object'): Record<string, unknown> {
  if (!isRecord(value)) throw new TypeError(`${option} must be ${accepted}, got ${describeValue(value)}`);
  return value;
}

/** An options argument: undefined or null → {}, anything but a plain object → TypeError. */
export function checkOptionsObject(what: string, options: unknown): Record<string, unknown> {
  if (options === undefined || options === null) return {};
  return checkObject(`${what}: options`, options);
}

/** Throws a TypeError naming the first key of `options` that is not in `known`. */
export function checkKnownOptions(what: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`${what}: unknown option ${JSON.stringify(key)}; accepted options: ${known.join(', ')}`);
    }
  }
}

/** Throws unless `value` is an integer in [min, max] (and, with `powerOfTwo`, a power of two). */
export function checkInteger(option: string, value: unknown, min: number, max: number, powerOfTwo = false): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${option} must be a number (an integer from ${min} to ${max}), got ${describeValue(value)}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${option} must be an integer from ${min} to ${max}, got ${describeValue(value)}`);
  }
  if (powerOfTwo && (value & (value - 1)) !== 0) {
    throw new RangeError(`${option} must be a power of two from ${min} to ${max} (e.g. ${min}, ${min * 2}, …, ${max}), got ${value}`);
  }
  return value;
}

/**
 * Throws unless `value` is a number in [min, max] (NaN is not). `orElse` names what else
 * the option takes, in the TypeError (e.g. ' (or null: no check)').
 */
export function checkNumber(option: string, value: unknown, min: number, max: number, orElse = ''): number {
  if (typeof value !== 'number') throw new TypeError(`${option} must be a number from ${min} to ${max}${orElse}, got ${describeValue(value)}`);
  if (!(value >= min && value <= max)) throw new RangeError(`${option} must be a number from ${min} to ${max}, got ${describeValue(value)}`);
  return value;
}

/** Throws unless `value` is true or false. */
export function checkBoolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${option} must be true or false, got ${describeValue(value)}`);
  return value;
}

/** A string (TypeError otherwise) that matches `pattern` when given (RangeError otherwise). */
export function checkString(option: string, value: unknown, pattern?: RegExp, accepted?: string): string {
  if (typeof value !== 'string') throw new TypeError(`${option} must be a string, got ${describeValue(value)}`);
  if (pattern && !pattern.test(value)) {
    throw new RangeError(`${option} must be ${accepted ?? `a string matching ${pattern}`}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** One of `choices` (strings): TypeError for another type, RangeError for another string. */
export function checkOneOf<T extends string>(option: string, value: unknown, choices: readonly T[]): T {
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  const quoted = choices.map((c) => `'${c}'`);
  const list = quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
  const Err = typeof value === 'string' ? RangeError : TypeError;
  throw new Err(`${option} must be ${list}, got ${describeValue(value)}`);
}

/** Throws unless `value` is a function. */
export function checkFunction<T extends (...args: never[]) => unknown>(option: string, value: unknown): T {
  if (typeof value !== 'function') throw new TypeError(`${option} must be a function, got ${describeValue(value)}`);
  return value as T;
}
