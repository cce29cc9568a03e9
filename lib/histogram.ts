// The base-2 exponential histogram, twin of native/core/histogram.h (same bucket function,
// proven equal by the shared test vectors). OpenTelemetry exponential-histogram semantics:
// at scale s, bucket i holds the values in (2^(i / 2^s), 2^((i + 1) / 2^s)].
import { BUCKET_BOUNDARIES, LAYOUT_CONSTANTS } from './layout.generated';
import { describeValue, isArray, isRecord } from './errors';
import { checkInteger } from './options';

const MAX_SCALE = LAYOUT_CONSTANTS.HIST_MAX_SCALE;
const MIN_SCALE = LAYOUT_CONSTANTS.HIST_MIN_SCALE;
const TOP_OCTAVE = LAYOUT_CONSTANTS.HIST_TOP_OCTAVE;
/** Index of the first bucket (it also holds every value ≤ 1 that is > 0). */
export const INDEX_OFFSET = -1;
export const DEFAULT_SCALE = 6;

const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/** Number of buckets a histogram of this scale keeps. */
export function bucketCount(scale: number): number {
  return (TOP_OCTAVE << scale) + 1;
}

/**
 * Bucket index of `value` (> 0) at `scale`, clamped to [-1, 44 · 2^scale - 1]: exact, from
 * the double's exponent bits and a search of the shared boundary table.
 */
export function bucketIndex(value: number, scale: number): number {
  const perOctave = 1 << scale;
  const maxIndex = TOP_OCTAVE * perOctave - 1;
  if (!(value > 1)) return -1;
  scratch[0] = value;
  const hi = scratchWords[HI];
  const exponent = ((hi >>> 20) & 0x7ff) - 1023;
  if (exponent >= TOP_OCTAVE) return maxIndex;
  scratchWords[HI] = (hi & 0x000fffff) | 0x3ff00000;
  const mantissa = scratch[0];
  const shift = MAX_SCALE - scale;
  let lo = 0;
  let hiIdx = perOctave;
  while (lo < hiIdx) {
    const mid = (lo + hiIdx) >> 1;
    if (BUCKET_BOUNDARIES[mid << shift] < mantissa) lo = mid + 1;
    else hiIdx = mid;
  }
  const index = exponent * perOctave + lo - 1;
  return index > maxIndex ? maxIndex : index;
}

/** Lower boundary of bucket `index`: 2^(index / 2^scale). */
export function bucketLowerBound(index: number, scale: number): number {
  const perOctave = 1 << scale;
  const octave = Math.floor(index / perOctave);
  const sub = index - octave * perOctave;
  return BUCKET_BOUNDARIES[sub << (MAX_SCALE - scale)] * Math.pow(2, octave);
}

/** The plain-object form of a histogram: what toJSON() gives and fromJSON() takes. */
export interface HistogramJSON {
  scale: number;
  count: number;
  sum: number;
  min: number | null;
  max: number | null;
  zeroCount: number;
  /** Index of counts[0]. */
  offset: number;
  counts: number[];
}

/**
 * A fixed-memory, typed-array backed histogram of positive numbers (ns or bytes).
 * Percentiles are within 2^(2^-(scale+1)) - 1 relative error of the exact value: 0.54% at
 * the default scale 6, for values from 1 to 2^44 (17.6 ks in ns).
 */
export class Histogram {
  readonly scale: number;
  /** counts[i] is bucket (i + INDEX_OFFSET). */
  readonly counts: Float64Array;
  count = 0;
  sum = 0;
  /** Values ≤ 0. */
  zeroCount = 0;
  private _min = 0;
  private _max = 0;

  constructor(scale: number = DEFAULT_SCALE) {
    this.scale = checkInteger('scale', scale, MIN_SCALE, MAX_SCALE);
    this.counts = new Float64Array(bucketCount(scale));
  }

  /** Smallest recorded value, NaN when empty. */
  get min(): number {
    return this.count === 0 ? NaN : this._min;
  }
  /** Largest recorded value, NaN when empty. */
  get max(): number {
    return this.count === 0 ? NaN : this._max;
  }
  /** Arithmetic mean, NaN when empty. */
  get mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }

  record(value: number, times = 1): void {
    if (this.count === 0 || value < this._min) this._min = value;
    if (this.count === 0 || value > this._max) this._max = value;
    this.count += times;
    this.sum += value * times;
    if (!(value > 0)) this.zeroCount += times;
    else this.counts[bucketIndex(value, this.scale) - INDEX_OFFSET] += times;
  }

  /**
   * The value at percentile `p` (0–100): nearest-rank, reported as the geometric middle
   * of its bucket, clamped to [min, max]. NaN when empty.
   */
  percentile(p: number): number {
    if (typeof p !== 'number' || !(p >= 0 && p <= 100)) {
      throw new RangeError(`percentile must be a number from 0 to 100, got ${String(p)}`);
    }
    if (this.count === 0) return NaN;
    if (p === 0) return this._min;
    if (p === 100) return this._max;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = this.zeroCount;
    if (seen >= rank) return Math.max(this._min, 0);
    const counts = this.counts;
    for (let i = this.firstBucket(); i < counts.length; i++) {
      const c = counts[i];
      if (c === 0) continue;
      seen += c;
      if (seen >= rank) {
        const index = i + INDEX_OFFSET;
        const lower = bucketLowerBound(index, this.scale);
        const upper = bucketLowerBound(index + 1, this.scale);
        const mid = Math.sqrt(lower * upper);
        return Math.min(this._max, Math.max(this._min, mid));
      }
    }
    return this._max;
  }

  /** Adds `other`'s data into this histogram (downscaling `other` if it is finer). */
  merge(other: Histogram): this {
    if (!(other instanceof Histogram)) throw new TypeError(`merge() takes a Histogram, got ${describeValue(other)}`);
    // Fields are public (and the object may be forged from the prototype): check both
    // before changing anything, so a corrupt histogram is refused, not spread.
    checkState('merge(): this histogram', this, false);
    checkState('merge(): the argument', other, true);
    if (other.scale < this.scale) {
      throw new RangeError(
        `cannot merge a histogram of scale ${other.scale} into a finer one (scale ${this.scale}); ` +
          `merge the finer one into the coarser one instead`,
      );
    }
    if (other.count === 0) return this;
    if (this.count === 0 || other._min < this._min) this._min = other._min;
    if (this.count === 0 || other._max > this._max) this._max = other._max;
    this.count += other.count;
    this.sum += other.sum;
    this.zeroCount += other.zeroCount;
    const shift = other.scale - this.scale;
    const oc = other.counts;
    for (let i = 0; i < oc.length; i++) {
      if (oc[i] === 0) continue;
      const index = (i + INDEX_OFFSET) >> shift;
      this.counts[index - INDEX_OFFSET] += oc[i];
    }
    return this;
  }

  /**
   * What was recorded since `older` (an earlier copy of this same histogram). min and max
   * of the interval are bounded by its non-empty buckets (the exact ones are not kept).
   */
  delta(older: Histogram, into?: Histogram): Histogram {
    if (!(older instanceof Histogram) || older.scale !== this.scale) {
      throw new TypeError('delta() takes an earlier copy of the same histogram (same scale)');
    }
    if (older.count > this.count) {
      throw new RangeError('delta(): the argument has more data than this histogram; swap them');
    }
    if (into !== undefined && (!(into instanceof Histogram) || into.scale !== this.scale || into === this || into === older)) {
      throw new TypeError('delta(): into must be a third histogram of the same scale');
    }
    // `into` spares a scraper the ~22 KB a new histogram costs at every scrape.
    const out = into ?? new Histogram(this.scale);
    out.count = this.count - older.count;
    out.sum = this.sum - older.sum;
    out.zeroCount = this.zeroCount - older.zeroCount;
    let first = -1;
    let last = -1;
    // Only the buckets from min's to max's can differ (an earlier copy holds no others): a
    // delay or pause histogram spans a few hundred of its ~2,800.
    const from = this.firstBucket();
    // One bucket of slack each way: a min or max on a bucket's lower bound (delta()'s own,
    // or fromJSON()'s) is counted in the bucket below by bucketIndex().
    const to = this.count > 0 && this._max > 0 ? Math.min(this.counts.length - 1, bucketIndex(this._max, this.scale) - INDEX_OFFSET + 1) : this.counts.length - 1;
    if (into !== undefined) {
      out.counts.fill(0, 0, from);
      out.counts.fill(0, to + 1);
    }
    for (let i = from; i <= to; i++) {
      const c = this.counts[i] - older.counts[i];
      out.counts[i] = c;
      if (c > 0) {
        if (first < 0) first = i;
        last = i;
      }
    }
    out._min = 0;
    out._max = 0;
    if (out.count > 0) {
      if (out.zeroCount > 0) out._min = Math.min(this._min, 0);
      else out._min = Math.max(this._min, bucketLowerBound(first + INDEX_OFFSET, this.scale));
      out._max =
        last < 0 ? 0 : Math.min(this._max, bucketLowerBound(last + INDEX_OFFSET + 1, this.scale));
    }
    return out;
  }

  /** Index in counts of the first bucket that can hold a value: min's (0 when empty or min ≤ 1). */
  private firstBucket(): number {
    return this.count > 0 && this._min > 1 ? Math.max(0, bucketIndex(this._min, this.scale) - INDEX_OFFSET - 1) : 0;
  }

  /** An independent copy. */
  clone(): Histogram {
    const h = new Histogram(this.scale);
    h.copyFrom(this);
    return h;
  }

  /** @internal Overwrites this histogram with `other`'s data (same scale). */
  copyFrom(other: Histogram): void {
    this.counts.set(other.counts);
    this.count = other.count;
    this.sum = other.sum;
    this.zeroCount = other.zeroCount;
    this._min = other._min;
    this._max = other._max;
  }

  /** @internal Loads header values read from a native region. */
  setSummary(count: number, sum: number, min: number, max: number, zeroCount: number): void {
    this.count = count;
    this.sum = sum;
    this._min = min;
    this._max = max;
    this.zeroCount = zeroCount;
  }

  /** Non-empty buckets, ascending: [lowerExclusive, upperInclusive, count]. */
  *buckets(): IterableIterator<[number, number, number]> {
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i];
      if (c === 0) continue;
      const index = i + INDEX_OFFSET;
      yield [bucketLowerBound(index, this.scale), bucketLowerBound(index + 1, this.scale), c];
    }
  }

  toJSON(): HistogramJSON {
    let first = 0;
    let last = this.counts.length - 1;
    while (first <= last && this.counts[first] === 0) first++;
    while (last >= first && this.counts[last] === 0) last--;
    return {
      scale: this.scale,
      count: this.count,
      sum: this.sum,
      min: this.count === 0 ? null : this._min,
      max: this.count === 0 ? null : this._max,
      zeroCount: this.zeroCount,
      offset: first <= last ? first + INDEX_OFFSET : 0,
      counts: first <= last ? Array.from(this.counts.subarray(first, last + 1)) : [],
    };
  }

  /**
   * A histogram from toJSON()'s object, e.g. another process's. Every field is checked
   * (types, integer counts, offsets and lengths within the scale's buckets, count equal to
   * zeroCount plus the buckets, min ≤ max, both within their buckets): corrupt input is a
   * TypeError or RangeError naming the field, never a silently broken histogram.
   */
  static fromJSON(json: HistogramJSON): Histogram {
    const what = 'Histogram.fromJSON()';
    if (!isRecord(json)) {
      throw new TypeError(`${what} takes the object toJSON() returns, got ${describeValue(json)}`);
    }
    // Each field is read once: a getter cannot change it between the check and the use.
    const { scale, count, sum, min, max, zeroCount, offset, counts } = json;
    const h = new Histogram(checkInteger(`${what}: scale`, scale, MIN_SCALE, MAX_SCALE));
    const n = h.counts.length;
    const total = checkCount(`${what}: count`, count);
    const zeros = checkCount(`${what}: zeroCount`, zeroCount);
    if (!isArray(counts)) {
      throw new TypeError(`${what}: counts must be an array of bucket counts, got ${describeValue(counts)}`);
    }
    // Bounded before anything iterates: a hostile length is refused, not walked.
    const length = counts.length;
    if (length > n) {
      throw new RangeError(`${what}: counts has ${length} entries, scale ${scale} has ${n} buckets`);
    }
    const first = checkInteger(`${what}: offset`, offset, INDEX_OFFSET, n - 1 + INDEX_OFFSET) - INDEX_OFFSET;
    if (first + length > n) {
      throw new RangeError(`${what}: offset ${offset} and ${length} counts do not fit scale ${scale} (buckets ${INDEX_OFFSET} to ${n - 1 + INDEX_OFFSET})`);
    }
    let inBuckets = 0;
    let lowest = -1;
    let highest = -1;
    for (let i = 0; i < length; i++) {
      const c = checkCount(`${what}: counts[${i}]`, counts[i]);
      h.counts[first + i] = c;
      if (c === 0) continue;
      inBuckets += c;
      if (lowest < 0) lowest = first + i;
      highest = first + i;
    }
    if (zeros + inBuckets !== total) {
      throw new RangeError(`${what}: count ${total} is not zeroCount (${zeros}) plus the bucket counts (${inBuckets})`);
    }
    checkFinite(`${what}: sum`, sum);
    if (total === 0) {
      if (sum !== 0 || min !== null || max !== null) {
        throw new RangeError(`${what}: an empty histogram (count 0) has sum 0 and min and max null, got sum ${describeValue(sum)}, min ${describeValue(min)}, max ${describeValue(max)}`);
      }
      return h;
    }
    for (const [name, v] of [['min', min], ['max', max]] as const) checkFinite(`${what}: ${name}`, v, ' when count > 0');
    const lo = min as number;
    const hi = max as number;
    if (lo > hi) throw new RangeError(`${what}: min ${lo} is greater than max ${hi}`);
    // Values ≤ 0 are counted in zeroCount, the others in their bucket: min and max must
    // fall where the counts put them (a bucket's bounds included: delta() reports them).
    const inRange = (v: number, index: number): boolean =>
      (index === 0 || v >= bucketLowerBound(index + INDEX_OFFSET, h.scale)) &&
      (index === n - 1 || v <= bucketLowerBound(index + 1 + INDEX_OFFSET, h.scale));
    if (zeros > 0 ? lo > 0 : !(lo > 0 && inRange(lo, lowest))) {
      throw new RangeError(`${what}: min ${lo} does not fall in the lowest populated bucket` + (zeros > 0 ? ' (zeroCount > 0: min ≤ 0)' : ''));
    }
    if (inBuckets > 0 ? !(hi > 0 && inRange(hi, highest)) : hi > 0) {
      throw new RangeError(`${what}: max ${hi} does not fall in the highest populated bucket` + (inBuckets > 0 ? '' : ' (only zeroCount: max ≤ 0)'));
    }
    // Values > 0 only: their sum is not negative (and the reverse for values ≤ 0).
    if ((zeros === 0 && sum < 0) || (inBuckets === 0 && sum > 0)) {
      throw new RangeError(`${what}: sum ${sum} does not fit the counts (zeroCount ${zeros}, ${inBuckets} values > 0)`);
    }
    h.setSummary(total, sum, lo, hi, zeros);
    return h;
  }
}

/** A number read from outside: finite (TypeError for another type, RangeError for NaN or ±Infinity). */
function checkFinite(field: string, value: unknown, when = ''): number {
  if (typeof value !== 'number') throw new TypeError(`${field} must be a finite number${when}, got ${describeValue(value)}`);
  if (!Number.isFinite(value)) throw new RangeError(`${field} must be a finite number, got ${describeValue(value)}`);
  return value;
}

/** A count read from outside: a non-negative safe integer. */
function checkCount(field: string, value: unknown): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${field} must be a number (an integer ≥ 0), got ${describeValue(value)}`);
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${field} must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got ${describeValue(value)}`);
  }
  return value + 0; // -0 → 0
}

/**
 * Throws unless `h` holds a histogram's state: scale in range, its bucket array, integer
 * counts, a finite sum, numeric min and max; with `buckets`, also count = zeroCount + the
 * bucket counts (a pass over the buckets).
 */
function checkState(what: string, h: Histogram, buckets: boolean): void {
  const scale = checkInteger(`${what}: scale`, h.scale, MIN_SCALE, MAX_SCALE);
  const counts = h.counts;
  if (!(counts instanceof Float64Array) || counts.length !== bucketCount(scale)) {
    throw new TypeError(`${what}: counts must be the Float64Array of ${bucketCount(scale)} buckets of scale ${scale}, got ${describeValue(counts)}`);
  }
  const count = checkCount(`${what}: count`, h.count);
  const zeros = checkCount(`${what}: zeroCount`, h.zeroCount);
  const sum = h.sum;
  checkFinite(`${what}: sum`, sum);
  if (count > 0 && !(h.min <= h.max)) {
    throw new RangeError(`${what}: min ${describeValue(h.min)} and max ${describeValue(h.max)} are not numbers with min ≤ max`);
  }
  if (!buckets) return;
  let inBuckets = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (c === 0) continue;
    if (!(c > 0) || !Number.isInteger(c)) {
      throw new RangeError(`${what}: bucket ${i + INDEX_OFFSET} holds ${describeValue(c)}, not an integer ≥ 0`);
    }
    inBuckets += c;
  }
  if (zeros + inBuckets !== count) {
    throw new RangeError(`${what}: count ${count} is not zeroCount (${zeros}) plus the bucket counts (${inBuckets})`);
  }
}
