// The messages a child process sends over IPC, taken in order: `next(what, ms)` resolves to
// the next one, or rejects naming `what` after `ms`, or, given `exited` (a promise of
// { code, signal }), when the child exits before sending it.
function replies(child, label, exited = null) {
  const queue = [];
  let waiting = null;
  child.on('message', (m) => {
    if (waiting) {
      const w = waiting;
      waiting = null;
      w(m);
    } else queue.push(m);
  });
  return (what, ms = 20_000) => new Promise((resolve, reject) => {
    if (queue.length) return resolve(queue.shift());
    const t = setTimeout(() => reject(new Error(`${label} ${child.pid}: no ${what} in ${ms} ms`)), ms);
    waiting = (m) => { clearTimeout(t); resolve(m); };
    exited?.then(({ code, signal }) => { clearTimeout(t); reject(new Error(`${label} ${child.pid} exited (${code ?? signal}) before its ${what}`)); });
  });
}

module.exports = { replies };
