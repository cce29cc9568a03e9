// The monitor thread's store of the last stalls' profiles (watchdog.profile), served at
// /debug/stalls and /debug/stalls/<id>.cpuprofile. The sampler's thread posts each stall
// that carries a profile (startMonitorThread); what arrives is checked like any input from
// another thread, and the store is bounded in count and bytes, the oldest evicted first.
import { StallProfile } from '../stall-profile';

export const STALL_STORE_LIMITS = Object.freeze({
  /** Stalls kept. */
  maxStalls: 8,
  /** Their profiles' JSON size together, bytes (one larger than this is refused). */
  maxBytes: 4 * 2 ** 20,
});

/** What the sampler's thread posts for a stall with a profile. */
export interface StallMessage {
  type: 'stall';
  /** When the stall ended (Date.now()). */
  time: number;
  startNs: number;
  durationNs: number;
  elapsedNs: number;
  /** StallProfile.toJSON()'s. */
  profile: unknown;
}

export interface StoredStall {
  id: number;
  time: number;
  startNs: number;
  durationNs: number;
  elapsedNs: number;
  profile: StallProfile;
  bytes: number;
}

const finiteNonNegative = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

export class StallStore {
  private readonly stalls: StoredStall[] = [];
  private nextId = 1;
  private bytes = 0;
  private evicted = 0;
  private refused = 0;

  constructor(private readonly limits: { maxStalls: number; maxBytes: number } = STALL_STORE_LIMITS) {}

  /** Keeps a posted stall; false (counted) when it is not one or is too large. */
  add(m: unknown): boolean {
    const r = m as Partial<StallMessage> | null;
    if (r === null || typeof r !== 'object' || r.type !== 'stall' || !finiteNonNegative(r.time) || !finiteNonNegative(r.startNs) || !finiteNonNegative(r.durationNs) || !finiteNonNegative(r.elapsedNs)) {
      this.refused++;
      return false;
    }
    let profile: StallProfile;
    let bytes: number;
    try {
      profile = StallProfile.from(r.profile);
      bytes = JSON.stringify(profile).length;
    } catch {
      this.refused++;
      return false;
    }
    if (bytes > this.limits.maxBytes) {
      this.refused++;
      return false;
    }
    this.stalls.push({ id: this.nextId++, time: r.time, startNs: r.startNs, durationNs: r.durationNs, elapsedNs: r.elapsedNs, profile, bytes });
    this.bytes += bytes;
    while (this.stalls.length > this.limits.maxStalls || this.bytes > this.limits.maxBytes) {
      this.bytes -= this.stalls.shift()!.bytes;
      this.evicted++;
    }
    return true;
  }

  get(id: number): StoredStall | undefined {
    return this.stalls.find((s) => s.id === id);
  }

  /** /debug/stalls: newest first. */
  describe(): object {
    return {
      stalls: this.stalls.slice().reverse().map((s) => ({
        id: s.id,
        time: new Date(s.time).toISOString(),
        durationMs: s.durationNs / 1e6,
        elapsedMs: s.elapsedNs / 1e6,
        samples: s.profile.samples,
        intervalMs: s.profile.intervalNs / 1e6,
        dropped: s.profile.dropped,
        missed: s.profile.missed,
        topFrames: s.profile.topFrames(5),
        cpuprofile: `/debug/stalls/${s.id}.cpuprofile`,
      })),
      kept: this.stalls.length,
      bytes: this.bytes,
      maxStalls: this.limits.maxStalls,
      maxBytes: this.limits.maxBytes,
      evicted: this.evicted,
      refused: this.refused,
    };
  }
}
