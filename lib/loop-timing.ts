// How event-loop time is taken (SamplerOptions.loopTiming). In its own module, without the
// binding, so that the preload's environment parsing (server/config.ts) can check it.

/** 'iteration': the check hook times every iteration; 'totals': no per-iteration hook. */
export type LoopTiming = 'iteration' | 'totals';

export const LOOP_TIMINGS: readonly LoopTiming[] = Object.freeze(['iteration', 'totals']);
