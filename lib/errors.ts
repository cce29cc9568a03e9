/** Stable codes carried by {@link SamplerError}. */
export type SamplerErrorCode =
  | 'ERR_SAMPLER_CLOSED'
  | 'ERR_SAMPLER_BINARY'
  | 'ERR_SAMPLER_NATIVE'
  | 'ERR_SAMPLER_BLOCK'
  | 'ERR_SAMPLER_TORN_READ'
  | 'ERR_SAMPLER_INCOMPATIBLE'
  | 'ERR_SAMPLER_PEER_MISSING'
  | 'ERR_SAMPLER_NO_WATCHDOG'
  | 'ERR_SAMPLER_DIRECTORY'
  | 'ERR_SAMPLER_PUBLISH'
  | 'ERR_SAMPLER_REFUSED'
  | 'ERR_SAMPLER_INVALID'
  | 'ERR_SAMPLER_NOT_FOUND';

/**
 * A runtime failure of the sampler (as opposed to bad input, which throws TypeError or
 * RangeError). `code` is stable across versions; the message is not.
 */
export class SamplerError extends Error {
  readonly code: SamplerErrorCode;
  constructor(message: string, code: SamplerErrorCode, options?: { cause?: unknown }) {
    super(message, options as ErrorOptions);
    this.name = 'SamplerError';
    this.code = code;
  }
}

/**
 * A value as an error message shows it: strings quoted (long ones cut), arrays and objects
 * by kind. Never throws and never runs the value's code: no toString, Symbol.toPrimitive,
 * getter or Proxy trap is called, so building an error about hostile input cannot fail.
 */
export function describeValue(value: unknown): string {
  try {
    switch (typeof value) {
      case 'string':
        return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
      case 'number':
      case 'boolean':
      case 'undefined':
        return String(value);
      case 'bigint':
        return `${value}n`;
      case 'symbol':
        return 'a symbol';
      case 'function':
        return 'a function';
      default:
        if (value === null) return 'null';
        // Array.isArray throws on a revoked Proxy (caught below); it calls no trap.
        return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    }
  } catch {
    return 'a revoked Proxy';
  }
}

/**
 * Whether `value` is an object and not an array: an options object, a handle. A revoked
 * Proxy (on which every operation throws) is not one.
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  try {
    return !Array.isArray(value);
  } catch {
    return false;
  }
}

/** Array.isArray, false for a revoked Proxy instead of throwing. */
export function isArray(value: unknown): value is unknown[] {
  try {
    return Array.isArray(value);
  } catch {
    return false;
  }
}

export function closedError(): SamplerError {
  return new SamplerError('the sampler is closed', 'ERR_SAMPLER_CLOSED');
}
