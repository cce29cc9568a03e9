// `runtime-sampler ps [--clean] [--json]`: the samplers published in a directory.
import { parseArgs } from 'node:util';
import { localTime, span } from '../format';
import { cleanPublished, defaultPublishDir, listPublished, PublishedProcess } from '../published';
import { cell, out, parseDir } from './common';

/** alive, dead (the process is gone), closed (its thread closed the sampler) or error. */
export function stateOf(p: PublishedProcess): string {
  if (p.error !== undefined) return 'error';
  if (!p.alive) return 'dead';
  return p.writerClosed ? 'closed' : 'alive';
}

/** ps's table: a header and one line per entry. */
export function psLines(list: PublishedProcess[], nowMs = Date.now()): string[] {
  const rows = list.map((p) => {
    const head = [String(p.pid), String(p.threadId)];
    if (p.error !== undefined) return [...head, '-', 'error', `${cell(p.error, 500)}${p.errorCode ? ` (${p.errorCode})` : ''}`];
    const state = stateOf(p);
    const uptime = state === 'dead' ? 'died' : p.startedAt === null ? '-' : span(nowMs - p.startedAt.getTime());
    return [
      ...head, p.workerId === null ? '-' : String(p.workerId), state,
      p.startedAt === null ? '-' : localTime(p.startedAt), uptime, cell(p.nodeVersion, 40), cell(p.title, 500),
    ];
  });
  const header = ['PID', 'THREAD', 'WORKER', 'STATE', 'STARTED', 'UPTIME', 'NODE', 'TITLE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (i < r.length - 1 ? r[i].length : 0))));
  const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)];
}

export function psCommand(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, clean: { type: 'boolean' }, dir: { type: 'string' } }, allowPositionals: false, strict: true });
  const dir = parseDir('ps', values.dir);
  const where = dir === undefined ? {} : { dir };
  let removed: PublishedProcess[] | null = null;
  if (values.clean) {
    // Described before they go: a removed file cannot say whose it was.
    const before = new Map(listPublished(where).map((p) => [p.path, p]));
    removed = cleanPublished({ ...where, keepDeadMs: 0 }).map((path) => before.get(path) ?? {
      pid: 0, threadId: 0, alive: false, writerClosed: false, startedAt: null, title: '', nodeVersion: '', workerId: null, path,
    });
  }
  const list = listPublished(where);
  if (values.json) {
    out(`${JSON.stringify(removed === null ? list : { removed: removed.map((p) => p.path), processes: list }, null, 2)}\n`);
    return 0;
  }
  if (removed !== null) {
    if (removed.length === 0) out('removed nothing: no file of a writer that is gone\n');
    for (const p of removed) out(`removed ${cell(p.path)} (pid ${p.pid} thread ${p.threadId}, ${p.alive ? 'closed' : 'dead'}${p.title ? `: ${cell(p.title, 100)}` : ''})\n`);
  }
  if (list.length === 0) {
    out(`no published samplers in ${dir ?? defaultPublishDir()}\n`);
    return 0;
  }
  out(`${psLines(list).join('\n')}\n`);
  return 0;
}
