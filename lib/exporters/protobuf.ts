// The Prometheus protobuf exposition (io.prometheus.client.MetricFamily, length-delimited),
// the format a scraper must ask for to receive native histograms. The package's runtime
// dependencies stay node-gyp-build and node-addon-api, so this is a small encoder for the
// fixed schema of client_model's metrics.proto (v0.3.0, what Prometheus 2.42 reads), not
// a general protobuf library; test/exporter-protobuf.test.js decodes it with protobufjs.
import { Histogram, INDEX_OFFSET, bucketIndex } from '../histogram';

const textEncoder = new TextEncoder();
const scratch = new DataView(new ArrayBuffer(8));

/** An append-only protobuf writer: wire types 0 (varint), 1 (64-bit) and 2 (length-delimited). */
export class ProtoWriter {
  private buf = new Uint8Array(1024);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  /** An unsigned varint: an integer from 0 to 2^53 − 1 (counts are doubles in JS). */
  varint(v: number): this {
    if (!(Number.isSafeInteger(v) && v >= 0)) throw new RangeError(`protobuf varint: ${v} is not an integer from 0 to 2^53 - 1`);
    this.reserve(10);
    // Bit operators are 32-bit: the high part is peeled off with division.
    while (v >= 0x80) {
      this.buf[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.length++] = v;
    return this;
  }

  /** A signed integer in zigzag form (sint32 / sint64). */
  sint(v: number): this {
    if (!Number.isSafeInteger(v)) throw new RangeError(`protobuf sint: ${v} is not a safe integer`);
    // 2·|v| stays a safe integer for |v| < 2^52: counts this large do not occur.
    return this.varint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  tag(field: number, wireType: 0 | 1 | 2): this {
    return this.varint(field * 8 + wireType);
  }

  double(v: number): this {
    this.reserve(8);
    scratch.setFloat64(0, v, true);
    for (let i = 0; i < 8; i++) this.buf[this.length++] = scratch.getUint8(i);
    return this;
  }

  /** Bytes already encoded (fields of a message), as they are. */
  raw(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.varint(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  /**
   * Opens a length-delimited field (a nested message) written in place, with one byte
   * kept for its length; end() fills it in, moving the body when the length needs more.
   * Writing in place spares a buffer per message (those made the garbage of a scrape).
   */
  begin(field?: number): number {
    if (field !== undefined) this.tag(field, 2);
    this.reserve(1);
    return this.length++;
  }

  end(at: number): this {
    const n = this.length - at - 1;
    let size = 1;
    for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) size++;
    if (size > 1) {
      this.reserve(size - 1);
      this.buf.copyWithin(at + size, at + 1, this.length);
    }
    const end = this.length + size - 1;
    this.length = at;
    this.varint(n);
    this.length = end;
    return this;
  }

  // Field helpers: proto2 optional fields are written only when set.
  uintField(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  sintField(field: number, v: number): this {
    return this.tag(field, 0).sint(v);
  }
  doubleField(field: number, v: number): this {
    return this.tag(field, 1).double(v);
  }
  stringField(field: number, s: string): this {
    return this.tag(field, 2).bytes(utf8(s));
  }
  /** A packed repeated sint64. */
  packedSint(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    const at = this.begin(field);
    for (const v of values) this.sint(v);
    return this.end(at);
  }

  /** The bytes written so far (a view, valid until the next write). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

// Names, help texts and label values repeat every scrape: encoded once. Bounded, since
// label values may come from elsewhere (an aggregate's thread ids).
const encoded = new Map<string, Uint8Array>();
function utf8(s: string): Uint8Array {
  let b = encoded.get(s);
  if (b === undefined) {
    if (encoded.size >= 4096) encoded.clear();
    encoded.set(s, (b = textEncoder.encode(s)));
  }
  return b;
}

// ---- native histograms ----

/** Highest schema Prometheus accepts (and the lowest). */
export const NATIVE_MAX_SCHEMA = 8;
export const NATIVE_MIN_SCHEMA = -4;
/** Default cap on a native histogram's populated buckets (client_golang's common setting). */
export const NATIVE_MAX_BUCKETS = 160;

export interface NativeHistogram {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  /** Spans of consecutive buckets: the first offset absolute, the others gaps. */
  spans: { offset: number; length: number }[];
  /** Bucket counts as deltas to the previous bucket (the first to 0). */
  deltas: number[];
}

/**
 * `h` (values in its own unit) as a Prometheus native histogram of values · `factor`, at
 * the finest schema (≤ h.scale, ≤ 8) with at most `maxBuckets` (≥ 4) populated buckets:
 * schema −4 (16 octaves a bucket) holds our 44 octaves in at most 4.
 * Prometheus' bucket j at schema t holds (2^((j−1)/2^t), 2^(j/2^t)]; ours i at scale s
 * (2^(i/2^s), 2^((i+1)/2^s)]. When log2(factor) is an integer the grids coincide and each
 * bucket moves whole (exact). For ns → s (factor 1e-9, log2 = −29.897…) they cannot: each
 * of our buckets goes to the native bucket holding its geometric middle, so a value is
 * off by at most half of one of our buckets (0.54 % at scale 6). Our first bucket (every value in
 * (0, 1]) and the values ≤ 0 form the zero bucket, of threshold 1 · factor.
 */
export function nativeHistogram(h: Histogram, factor: number, maxBuckets = NATIVE_MAX_BUCKETS): NativeHistogram {
  const shift = Math.log2(factor);
  const perOctave = 2 ** h.scale;
  let schema = Math.min(h.scale, NATIVE_MAX_SCHEMA);
  const counts = h.counts;
  const zeroCount = h.zeroCount + counts[0];
  // Only the buckets between min's and max's hold values.
  let first = 1;
  let last = counts.length - 1;
  if (h.count > 0 && h.min > 1) first = Math.max(1, bucketIndex(h.min, h.scale) - INDEX_OFFSET);
  if (h.count > 0 && h.max > 0) last = Math.min(last, bucketIndex(h.max, h.scale) - INDEX_OFFSET);
  const scaleUp = 2 ** schema;
  let index: number[] = [];
  let count: number[] = [];
  for (let k = first; k <= last; k++) {
    const c = counts[k];
    if (c === 0) continue;
    const j = Math.ceil(((k + INDEX_OFFSET + 0.5) / perOctave + shift) * scaleUp);
    if (index.length > 0 && index[index.length - 1] === j) count[count.length - 1] += c;
    else {
      index.push(j);
      count.push(c);
    }
  }
  // Coarser schemas' boundaries are a subset of finer ones': merging neighbours
  // (j → ceil(j / 2)) is the same as mapping the middles at the coarser schema.
  while (index.length > maxBuckets && schema > NATIVE_MIN_SCHEMA) {
    schema--;
    const ni: number[] = [];
    const nc: number[] = [];
    for (let n = 0; n < index.length; n++) {
      const j = Math.ceil(index[n] / 2);
      if (ni.length > 0 && ni[ni.length - 1] === j) nc[nc.length - 1] += count[n];
      else {
        ni.push(j);
        nc.push(count[n]);
      }
    }
    index = ni;
    count = nc;
  }
  const spans: NativeHistogram['spans'] = [];
  const deltas: number[] = [];
  let prevIndex = 0;
  let prevCount = 0;
  for (let n = 0; n < index.length; n++) {
    const j = index[n];
    if (n > 0 && j === prevIndex + 1) spans[spans.length - 1].length++;
    else spans.push({ offset: n === 0 ? j : j - prevIndex - 1, length: 1 });
    deltas.push(count[n] - prevCount);
    prevIndex = j;
    prevCount = count[n];
  }
  return { schema, zeroThreshold: factor, zeroCount, spans, deltas };
}
