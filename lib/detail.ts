// The exporters' detail levels, in a module of their own: the CLI's environment parsing
// (server/config.ts) needs them without loading the catalog, whose snapshot module loads
// the native binding (doctor must start when no binary loads).

/** The exporters' detail levels, smallest first. */
export const DETAIL_LEVELS = ['standard', 'full'] as const;
export type DetailLevel = (typeof DETAIL_LEVELS)[number];
