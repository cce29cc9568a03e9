// versions: current — publishing-directory checks (the writer is covered per version by published.test.js)
// Published blocks against a hostile machine, end to end through the JavaScript API and
// real processes: a reader of another uid gets nothing; a planted symlink, a foreign-owned,
// group/world-writable or non-directory publishing directory is refused with one warning
// (the app runs unpublished) and nothing is written through it, with the `publish` option
// and with the preload; a full tmpfs is a refusal at start, never a SIGBUS; malformed files
// and forged blocks give clear errors, never a crash or a hang; a writer that died (or is
// stopped) in the middle of an update is reported torn within a bound, never spun on; and
// a reader's stores never reach the writer. The file-level pieces are unit-tested in
// test/native/published_test.cc.
const { test } = require('uvu');
const assert = require('uvu/assert');
const { execFileSync, spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Sampler, SamplerError, listPublished } = require('..');
const { LAYOUT_CONSTANTS: C, MAIN_SLOTS: M } = require('../dist/cjs/layout.generated.js');
const { testUnless } = require('./helpers/skip');

const root = path.join(__dirname, '..');
const NOBODY = 65534;
const HEADER_BYTES = 4096;
// native/core/published.h Header: the offsets below are checked against a real file first.
const OFF = { magic: 0, headerBytes: 8, formatVersion: 12, layoutVersion: 16, layoutHash: 24, blockBytes: 40, pid: 48, title: 112, meta: 368 };
const META_BYTES = 2048;
const MAIN_REGION = 'an update of the shared block';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
const notRoot = isRoot ? null : 'not running as root: cannot act as another uid, chown or mount';
const uidReason = notRoot ?? (hasSetpriv ? null : 'setpriv (util-linux) is not installed');

const temps = [];
function tempDir(mode = 0o700) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-sec-'));
  fs.chmodSync(d, mode);
  temps.push(d);
  return d;
}
test.after(() => {
  for (const d of temps) {
    try {
      fs.rmSync(d, { recursive: true, force: true });
    } catch (e) {
      console.error(`cannot remove ${d}: ${e.message}`);
    }
  }
});

/** Runs node with `args` (as uid `as` through setpriv when given); resolves when it ends. */
function run(args, { env = {}, as = null, timeout = 20000 } = {}) {
  const [cmd, argv] = as === null ? [process.execPath, args] : ['setpriv', [`--reuid=${as}`, `--regid=${as}`, '--clear-groups', process.execPath, ...args]];
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, pid: child.pid });
    });
  });
}

/** The one JSON line a child printed after `RESULT `. */
function result(r) {
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, `no result (exit ${r.code} ${r.signal ?? ''}): ${r.stdout} ${r.stderr}`);
  return JSON.parse(line.slice(7));
}

// An app that publishes with the option, makes garbage (its block is written at every GC)
// and reports what it got.
const LIBRARY_APP = `
  const { Sampler } = require('runtime-sampler');
  const s = new Sampler({ publish: { dir: process.env.PUB_DIR } }).start();
  let keep = [];
  for (let i = 0; i < 300000; i++) { keep.push({ i }); if (keep.length > 10000) keep = []; }
  setTimeout(() => console.log('RESULT ' + JSON.stringify({ path: s.publishedPath, gcs: s.read().gc.count })), 20);
`;
// The same app with nothing but the preload (RUNTIME_SAMPLER_DIR says where).
const PRELOAD_APP = `
  const r = require('runtime-sampler').registered();
  let keep = [];
  for (let i = 0; i < 300000; i++) { keep.push({ i }); if (keep.length > 10000) keep = []; }
  setTimeout(() => console.log('RESULT ' + JSON.stringify({ path: r.sampler.publishedPath, gcs: r.sampler.read().gc.count })), 20);
`;

function runLibrary(dir, extraArgs = []) {
  return run([...extraArgs, '-e', LIBRARY_APP], { env: { PUB_DIR: dir } });
}
function runPreload(dir, extraArgs = []) {
  // Port 0: the monitor binds any free port (its one line on stderr is expected).
  return run([...extraArgs, '-r', 'runtime-sampler/register', '-e', PRELOAD_APP], { env: { RUNTIME_SAMPLER_DIR: dir, RUNTIME_SAMPLER_PORT: '0' } });
}

/** The app ran to its end, unpublished, and stderr says why in exactly one line naming `dir`. */
function refusedOnce(r, dir, reason) {
  assert.is(r.signal, null, r.stderr);
  assert.is(r.code, 0, r.stderr);
  const out = result(r);
  assert.is(out.path, null, 'runs unpublished');
  assert.ok(out.gcs > 0, 'the sampler runs');
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/--trace-warnings|monitor listening on/.test(l));
  assert.is(lines.length, 1, `exactly one warning line, got:\n${r.stderr}`);
  assert.match(lines[0], /RuntimeSamplerWarning: runtime-sampler: not publishing \(/);
  assert.ok(lines[0].includes(dir), `names ${dir}: ${lines[0]}`);
  assert.match(lines[0], reason);
  assert.match(lines[0], /the sampler runs unpublished/);
}

/** A real published file's bytes (this process's sampler, closed again). */
function realFile() {
  const s = new Sampler({ publish: { dir: path.join(tempDir(), 'p') } }).start();
  const bytes = fs.readFileSync(s.publishedPath);
  s.close();
  return bytes;
}

function throwsSampler(fn, code, re) {
  try {
    fn();
  } catch (e) {
    assert.instance(e, SamplerError, `${re}: got ${e && e.stack}`);
    assert.is(e.code, code, e.message);
    assert.match(e.message, re);
    return e;
  }
  assert.unreachable(`no error (expected ${code} ${re})`);
}

// ---- another uid ---------------------------------------------------------------------

// Run as nobody: each target opened or listed; prints what it got, never the data.
const OTHER_UID_READER = `
  const fs = require('node:fs'); const os = require('node:os'); const path = require('node:path');
  const { Sampler, listPublished } = require(${JSON.stringify(root)});
  const out = {};
  const attempt = (name, fn) => {
    try { out[name] = { ok: fn() }; } catch (e) { out[name] = { error: e.name, code: e.code, message: e.message }; }
  };
  for (const [name, t] of Object.entries(JSON.parse(process.env.TARGETS))) {
    if (t.open) attempt(name, () => { const v = Sampler.open(t.open); return { title: v.title, heap: v.read().heap.usedBytes }; });
    if (t.pid) attempt(name, () => { const v = Sampler.open(t.pid, { dir: t.dir }); return { title: v.title, heap: v.read().heap.usedBytes }; });
    if (t.list) attempt(name, () => listPublished({ dir: t.list }));
  }
  // The control: this uid can publish and read its own.
  const own = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-nobody-'));
  attempt('own', () => {
    const s = new Sampler({ publish: { dir: path.join(own, 'p') } }).start();
    const v = Sampler.open(s.publishedPath);
    const r = { uid: process.getuid(), heap: v.read().heap.usedBytes };
    s.close();
    return r;
  });
  fs.rmSync(own, { recursive: true, force: true });
  console.log('RESULT ' + JSON.stringify(out));
`;

testUnless(test, uidReason, 'another uid cannot open, find or list a published file: behind the 0700 directory, in an open directory (file 0600), world-readable (not its owner)', async () => {
  const base = tempDir(0o755);
  const dir = path.join(base, 'pubs');
  const s = new Sampler({ publish: { dir } }).start();
  try {
    assert.is(fs.statSync(dir).mode & 0o777, 0o700, 'created 0700');
    assert.is(fs.statSync(s.publishedPath).mode & 0o777, 0o600, 'created 0600');
    const name = path.basename(s.publishedPath);
    const openDir = path.join(base, 'open');
    fs.mkdirSync(openDir, { mode: 0o755 });
    fs.chmodSync(openDir, 0o755);
    const copy0600 = path.join(openDir, name);
    fs.copyFileSync(s.publishedPath, copy0600);
    fs.chmodSync(copy0600, 0o600);
    const readableDir = path.join(base, 'readable');
    fs.mkdirSync(readableDir);
    fs.chmodSync(readableDir, 0o755);
    const copy0644 = path.join(readableDir, name);
    fs.copyFileSync(s.publishedPath, copy0644);
    fs.chmodSync(copy0644, 0o644);
    const targets = {
      private: { open: s.publishedPath },
      byPid: { pid: process.pid, dir },
      listPrivate: { list: dir },
      copy0600: { open: copy0600 },
      copy0644: { open: copy0644 },
      listReadable: { list: readableDir },
    };
    const r = await run(['-e', OTHER_UID_READER], { as: NOBODY, env: { TARGETS: JSON.stringify(targets) } });
    assert.is(r.code, 0, r.stderr);
    const out = result(r);
    assert.ok(out.own.ok, `the control: nobody reads its own file (${JSON.stringify(out.own)})`);
    assert.is(out.own.ok.uid, NOBODY);
    assert.ok(out.own.ok.heap > 0);
    const refused = (name, re, path_) => {
      const x = out[name];
      assert.is(x.error, 'SamplerError', `${name}: ${JSON.stringify(x)}`);
      assert.is(x.code, 'ERR_SAMPLER_REFUSED', `${name}: ${x.message}`);
      assert.ok(re.test(x.message), `${name}: ${x.message}`);
      if (path_) assert.ok(x.message.includes(path_), `${name} names ${path_}: ${x.message}`);
    };
    refused('private', /Permission denied/, s.publishedPath);
    refused('byPid', /Permission denied/, s.publishedPath);
    refused('listPrivate', /cannot read .*permission denied/i, dir);
    refused('copy0600', /Permission denied/, copy0600);
    refused('copy0644', /is owned by uid 0, not by this user/, copy0644);
    // Listed (the name is in a directory it may read) but with nothing from inside the file.
    const listed = out.listReadable.ok;
    assert.is(listed.length, 1);
    assert.is(listed[0].errorCode, 'ERR_SAMPLER_REFUSED');
    assert.is(listed[0].title, '');
    assert.is(listed[0].nodeVersion, '');
    assert.is(listed[0].startedAt, null);
    // Nothing of the file reached the other uid: the title is in every header.
    assert.not.ok(r.stdout.includes(path.basename(__filename)), 'no header text leaked');
    // And the other way round: a file of another uid is refused to this one (root).
    const foreign = path.join(readableDir, `${name}-2`);
    fs.copyFileSync(s.publishedPath, foreign);
    fs.chownSync(foreign, NOBODY, NOBODY);
    throwsSampler(() => Sampler.open(foreign), 'ERR_SAMPLER_REFUSED', new RegExp(`${foreign}.* is owned by uid ${NOBODY}, not by this user`));
  } finally {
    s.close();
  }
}, { expected: !isRoot }); // not root: the platform's; no setpriv: a tool .ci/run must install

// ---- refused directories -------------------------------------------------------------

const BAD_DIRS = [
  {
    what: 'a symbolic link to a directory we own',
    reason: /is a symbolic link/,
    make(base) {
      const target = path.join(base, 'target');
      fs.mkdirSync(target, { mode: 0o700 });
      const dir = path.join(base, 'link');
      fs.symlinkSync(target, dir);
      return { dir, untouched: () => assert.equal(fs.readdirSync(target), [], 'nothing created in the target') };
    },
  },
  {
    what: 'a directory owned by another uid',
    needsRoot: true,
    reason: new RegExp(`is owned by uid ${NOBODY}, not by this user`),
    make(base) {
      const dir = path.join(base, 'theirs');
      fs.mkdirSync(dir, { mode: 0o700 });
      fs.chownSync(dir, NOBODY, NOBODY);
      return { dir, untouched: () => assert.equal(fs.readdirSync(dir), []) };
    },
  },
  {
    what: 'a world-writable directory (0777)',
    reason: /is writable by others \(mode 777; 0700 is accepted\)/,
    make(base) {
      const dir = path.join(base, 'world');
      fs.mkdirSync(dir);
      fs.chmodSync(dir, 0o777);
      return { dir, untouched: () => assert.equal(fs.readdirSync(dir), []) };
    },
  },
  {
    what: 'a group-writable directory (0770)',
    reason: /is writable by others \(mode 770; 0700 is accepted\)/,
    make(base) {
      const dir = path.join(base, 'group');
      fs.mkdirSync(dir);
      fs.chmodSync(dir, 0o770);
      return { dir, untouched: () => assert.equal(fs.readdirSync(dir), []) };
    },
  },
  {
    what: 'a regular file in place of the directory',
    reason: /is not a directory/,
    make(base) {
      const dir = path.join(base, 'file');
      fs.writeFileSync(dir, 'not a directory\n');
      return { dir, untouched: () => assert.is(fs.readFileSync(dir, 'utf8'), 'not a directory\n') };
    },
  },
];

for (const bad of BAD_DIRS) {
  testUnless(test, bad.needsRoot ? notRoot : null, `refused: ${bad.what} — one warning, the app runs unpublished, with publish: { dir } and with the preload`, async () => {
    const lib = bad.make(tempDir());
    const pre = bad.make(tempDir());
    const [a, b] = await Promise.all([runLibrary(lib.dir), runPreload(pre.dir)]);
    refusedOnce(a, lib.dir, bad.reason);
    refusedOnce(b, pre.dir, bad.reason);
    lib.untouched();
    pre.untouched();
  }, { expected: true });
}

// ---- a planted symlink as the file name ----------------------------------------------

// Loaded first (-r): plants `<pid>-0` in the publishing directory as a symlink to VICTIM
// before anything publishes.
const PLANT = `require('node:fs').symlinkSync(process.env.VICTIM, require('node:path').join(process.env.PLANT_DIR, process.pid + '-0'));`;

test('a planted symlink under our file name is never written through: the sampler publishes under the next name', async () => {
  const base = tempDir();
  const plant = path.join(base, 'plant.js');
  fs.writeFileSync(plant, PLANT);
  const victim = path.join(base, 'victim.txt');
  fs.writeFileSync(victim, 'the victim\n');
  const before = fs.statSync(victim);
  const missing = path.join(base, 'not-there');
  const runs = [];
  for (const [how, target] of [['library', victim], ['preload', victim], ['library', missing], ['preload', missing]]) {
    const dir = path.join(base, `pubs-${runs.length}`);
    fs.mkdirSync(dir, { mode: 0o700 });
    const env = { VICTIM: target, PLANT_DIR: dir };
    const r = how === 'library'
      ? run(['-r', plant, '-e', LIBRARY_APP], { env: { ...env, PUB_DIR: dir } })
      : run(['-r', plant, '-r', 'runtime-sampler/register', '-e', PRELOAD_APP], { env: { ...env, RUNTIME_SAMPLER_DIR: dir, RUNTIME_SAMPLER_PORT: '0' } });
    runs.push({ how, target, dir, r });
  }
  for (const { how, target, dir, r } of runs) {
    const x = await r;
    assert.is(x.code, 0, `${how}: ${x.stderr}`);
    assert.not.match(x.stderr, /Warning/, `${how}: no warning: another name was free`);
    const out = result(x);
    assert.is(out.path, path.join(dir, `${x.pid}-0-2`), `${how}: the next name`);
    const link = fs.lstatSync(path.join(dir, `${x.pid}-0`));
    assert.ok(link.isSymbolicLink(), `${how}: the symlink is left as it was`);
    assert.is(fs.readlinkSync(path.join(dir, `${x.pid}-0`)), target);
    // A clean exit removed its own file, not the symlink nor what it points to.
    assert.equal(fs.readdirSync(dir), [`${x.pid}-0`], `${how}: only the planted symlink is left`);
  }
  assert.is(fs.readFileSync(victim, 'utf8'), 'the victim\n');
  const after = fs.statSync(victim);
  assert.is(after.size, before.size);
  assert.is(after.mtimeMs, before.mtimeMs);
  assert.is(after.mode, before.mode);
  assert.not.ok(fs.existsSync(missing), 'a dangling symlink is not followed to create its target');
});

test('a symlink at a path Sampler.open() is given is refused; and Sampler.open(pid) skips a planted one', async () => {
  const dir = path.join(tempDir(), 'pubs');
  const s = new Sampler({ publish: { dir } }).start();
  try {
    const link = path.join(path.dirname(dir), 'link');
    fs.symlinkSync(s.publishedPath, link);
    throwsSampler(() => Sampler.open(link), 'ERR_SAMPLER_REFUSED', new RegExp(`${link} is a symbolic link`));
    // A symlink planted under a live pid's first name (pid 1 is alive everywhere) points
    // at our file: it is not followed; the lookup finds nothing of pid 1.
    fs.symlinkSync(s.publishedPath, path.join(dir, '1-0'));
    throwsSampler(() => Sampler.open(1, { dir }).read(), 'ERR_SAMPLER_REFUSED', /1-0 is a symbolic link/);
    const listed = listPublished({ dir }).find((p) => p.pid === 1);
    assert.is(listed.errorCode, 'ERR_SAMPLER_REFUSED');
    assert.is(listed.title, '');
  } finally {
    s.close();
  }
});

// ---- a full tmpfs --------------------------------------------------------------------

function mountTmpfs(dir, bytes) {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
}
function unmount(dir) {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch (e) {
    // Still busy (a mapping not yet released): detach it so that nothing stays mounted.
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    throw e;
  }
}
function tmpfsProbe() {
  if (notRoot) return notRoot;
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-mount-'));
  try {
    mountTmpfs(d, 64 * 1024);
    execFileSync('umount', [d]);
    return null;
  } catch (e) {
    return `mount -t tmpfs failed (${String(e.stderr || e.message).trim()})`;
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
}

testUnless(test, tmpfsProbe(), 'a full tmpfs: a clear refusal at start (one warning, unpublished, no SIGBUS); room for one file: the first publishes, the second is refused', async () => {
  const sizer = new Sampler({ ringCapacity: 1024 });
  const FILE_BYTES = HEADER_BYTES + sizer.layout.totalBytes;
  sizer.close();
  const mnt = tempDir();
  mountTmpfs(mnt, 256 * 1024);
  try {
    const dir = path.join(mnt, 'rs');
    const [a, b] = await Promise.all([runLibrary(dir), runPreload(dir)]);
    const reason = new RegExp(`cannot reserve ${FILE_BYTES} bytes for \\d+-0: No space left on device`);
    refusedOnce(a, dir, reason);
    refusedOnce(b, dir, reason);
    assert.equal(fs.readdirSync(dir), [], 'a refused file is removed');
  } finally {
    unmount(mnt);
  }
  // Room for one file and a margin smaller than a second one.
  mountTmpfs(mnt, FILE_BYTES + 5 * 4096);
  let first = null;
  try {
    const dir = path.join(mnt, 'rs');
    first = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'publisher-child.cjs')], { env: { ...process.env, PUB_DIR: dir }, stdio: ['pipe', 'pipe', 'inherit'] });
    const ready = await lineFrom(first, /^READY (.*)$/);
    assert.is(ready[1], path.join(dir, `${first.pid}-0`));
    const second = await runLibrary(dir);
    refusedOnce(second, dir, /No space left on device/);
    assert.equal(fs.readdirSync(dir), [`${first.pid}-0`]);
    // The first one's block keeps being written (GCs, the loop) on reserved pages. Read
    // from the file, not mapped: a mapping would keep the mount busy.
    const gcCount = () => fs.readFileSync(ready[1]).readDoubleLE(HEADER_BYTES + M.GC_COUNT * 8);
    const g0 = gcCount();
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(gcCount() > g0, 'the first writer keeps writing');
    const exited = new Promise((r) => first.once('exit', (code, signal) => r({ code, signal })));
    first.stdin.write('exit\n');
    assert.equal(await exited, { code: 0, signal: null });
    first = null;
    assert.equal(fs.readdirSync(dir), [], 'removed at a clean exit');
  } finally {
    if (first) {
      first.kill('SIGKILL');
      await new Promise((r) => first.once('close', r));
    }
    unmount(mnt);
  }
}, { expected: true }); // a container without CAP_SYS_ADMIN cannot mount

/** Resolves with the match of the first stdout line of `child` that matches `re`. */
function lineFrom(child, re, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no line ${re} within ${timeoutMs} ms: ${buf}`)), timeoutMs);
    const onData = (d) => {
      buf += d;
      for (const line of buf.split('\n')) {
        const m = re.exec(line);
        if (m) {
          clearTimeout(timer);
          child.stdout.off('data', onData);
          resolve(m);
          return;
        }
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.once('exit', () => reject(new Error(`exited before ${re}: ${buf}`)));
  });
}

// ---- malformed files -----------------------------------------------------------------

test('malformed files: empty, truncated, oversized, random, another format or layout, bad description, FIFO, directory — each a SamplerError naming the path', () => {
  const real = realFile();
  // The header offsets this test patches, checked against the real file.
  assert.is(real.readBigUInt64LE(OFF.magic), 0x314b434f4c425352n, 'magic "RSBLOCK1"');
  assert.is(real.readUInt32LE(OFF.headerBytes), HEADER_BYTES);
  assert.is(real.readUInt32LE(OFF.formatVersion), 1);
  assert.is(real.readUInt32LE(OFF.layoutVersion), C.LAYOUT_VERSION);
  assert.is(Number(real.readBigUInt64LE(OFF.blockBytes)), real.length - HEADER_BYTES);
  assert.is(Number(real.readBigInt64LE(OFF.pid)), process.pid);
  assert.is(real[OFF.meta], '{'.charCodeAt(0));
  const metaText = real.toString('utf8', OFF.meta, real.indexOf(0, OFF.meta));
  const meta = JSON.parse(metaText);
  assert.is(meta.version, C.LAYOUT_VERSION);

  const dir = tempDir();
  const file = path.join(dir, 'f');
  const patched = (fn) => {
    const b = Buffer.from(real);
    fn(b);
    return b;
  };
  const withMeta = (text) => patched((b) => {
    b.fill(0, OFF.meta, OFF.meta + META_BYTES);
    b.write(text, OFF.meta);
  });
  const cases = [
    ['empty', Buffer.alloc(0), 'ERR_SAMPLER_INVALID', /is 0 bytes: too short for a header \(4096\)/],
    ['the first 100 bytes', real.subarray(0, 100), 'ERR_SAMPLER_INVALID', /is 100 bytes: too short for a header/],
    ['the header alone', real.subarray(0, HEADER_BYTES), 'ERR_SAMPLER_INVALID', /block of \d+ bytes does not fit the file's 4096/],
    ['truncated to half its block', real.subarray(0, HEADER_BYTES + (real.length - HEADER_BYTES) / 2), 'ERR_SAMPLER_INVALID', /block of \d+ bytes does not fit the file's/],
    ['random bytes of the right size', Buffer.from(Array.from({ length: real.length }, (_, i) => (i * 2654435761) >>> 24)), 'ERR_SAMPLER_INVALID', /not a runtime-sampler block \(bad magic\)/],
    ['zeros of the right size', Buffer.alloc(real.length), 'ERR_SAMPLER_INVALID', /bad magic/],
    ['another file format', patched((b) => b.writeUInt32LE(2, OFF.formatVersion)), 'ERR_SAMPLER_INCOMPATIBLE', /file format 2, this reader knows 1/],
    ['another layout version', patched((b) => b.writeUInt32LE(C.LAYOUT_VERSION + 1, OFF.layoutVersion)), 'ERR_SAMPLER_INCOMPATIBLE', new RegExp(`layout version ${C.LAYOUT_VERSION + 1}, this reader's is ${C.LAYOUT_VERSION}`)],
    ['another build of the layout', patched((b) => b.writeUInt32LE((b.readUInt32LE(OFF.layoutHash) ^ 1) >>> 0, OFF.layoutHash)), 'ERR_SAMPLER_INCOMPATIBLE', /written with block layout [0-9a-f]{16}, this copy of runtime-sampler reads/],
    ['a block larger than the file', patched((b) => b.writeBigUInt64LE(1n << 40n, OFF.blockBytes)), 'ERR_SAMPLER_INVALID', /block of 1099511627776 bytes does not fit/],
    ['a header size that is not the page', patched((b) => b.writeUInt32LE(8192, OFF.headerBytes)), 'ERR_SAMPLER_INVALID', /header size or block offset is not 4096/],
    ['unterminated header text', patched((b) => b.fill(0x41, OFF.meta, OFF.meta + META_BYTES)), 'ERR_SAMPLER_INVALID', /header text is not terminated/],
    ['a description that is not JSON', withMeta('{"version": 4, '), 'ERR_SAMPLER_INVALID', /the header's description is not JSON/],
    ['a description that is an array', withMeta('[1, 2]'), 'ERR_SAMPLER_INVALID', /the header's description is an array, not an object/],
    ['a description of another layout version', withMeta(JSON.stringify({ ...meta, version: 99 })), 'ERR_SAMPLER_INCOMPATIBLE', /layout version 99/],
    ['a layout of the wrong type', withMeta(JSON.stringify({ ...meta, layout: 'big' })), 'ERR_SAMPLER_INVALID', /the header's description is invalid: .*handle\.layout must be an object, got "big"/],
    ['an offset outside the block', withMeta(JSON.stringify({ ...meta, layout: { ...meta.layout, ringRecordsOffset: 1e9 } })), 'ERR_SAMPLER_INVALID', /handle\.layout\.ringRecordsOffset is 1000000000; layout version \d+ with ringCapacity 1024 and scale \d+ has \d+/],
    ['a ring larger than the block', withMeta(JSON.stringify({ ...meta, layout: { ...meta.layout, ringCapacity: 65536 } })), 'ERR_SAMPLER_INVALID', /handle\.layout\.\w+ is \d+; layout version \d+ with ringCapacity 65536/],
    ['a ring that is no power of two', withMeta(JSON.stringify({ ...meta, layout: { ...meta.layout, ringCapacity: 1000 } })), 'ERR_SAMPLER_INVALID', /handle\.layout\.ringCapacity/],
    ['heap space names of the wrong type', withMeta(JSON.stringify({ ...meta, heapSpaceNames: [1] })), 'ERR_SAMPLER_INVALID', /handle\.heapSpaceNames\[0\] must be a string, got 1/],
    ['too many heap spaces', withMeta(JSON.stringify({ ...meta, heapSpaceNames: Array(C.MAX_SPACES + 1).fill('old_space') })), 'ERR_SAMPLER_INVALID', /heapSpaceNames has \d+ names, the block holds at most/],
    ['options of the wrong type', withMeta(JSON.stringify({ ...meta, options: null })), 'ERR_SAMPLER_INVALID', /handle\.options must be an object, got null/],
    ['a threadId of the wrong type', withMeta(JSON.stringify({ ...meta, threadId: 'main' })), 'ERR_SAMPLER_INVALID', /handle\.threadId must be a number/],
  ];
  for (const [what, bytes, code, re] of cases) {
    fs.rmSync(file, { force: true });
    fs.writeFileSync(file, bytes, { mode: 0o600 });
    const e = throwsSampler(() => Sampler.open(file), code, re);
    assert.ok(e.message.includes(file), `${what}: names the path: ${e.message}`);
  }
  // Oversized: a sparse file past the 64 MiB any block can be (nothing is mapped).
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, real, { mode: 0o600 });
  fs.truncateSync(file, 64 * 2 ** 20 + 4096);
  throwsSampler(() => Sampler.open(file), 'ERR_SAMPLER_INVALID', new RegExp(`${file} is 67112960 bytes: more than a published block can be \\(67108864\\)`));
  // Not regular files: opened without blocking (a FIFO with no writer would block a plain open).
  fs.rmSync(file, { force: true });
  execFileSync('mkfifo', ['-m', '600', file]);
  throwsSampler(() => Sampler.open(file), 'ERR_SAMPLER_INVALID', new RegExp(`${file} is not a regular file`));
  fs.rmSync(file, { force: true });
  fs.mkdirSync(file, { mode: 0o700 });
  throwsSampler(() => Sampler.open(file), 'ERR_SAMPLER_INVALID', new RegExp(`${file} is not a regular file`));
  fs.rmSync(file, { recursive: true, force: true });
  throwsSampler(() => Sampler.open(file), 'ERR_SAMPLER_NOT_FOUND', new RegExp(`${file} does not exist`));
});

test('a description with an impossible start time opens, with startedAt null (never an Invalid Date), in Sampler.open and listPublished', () => {
  const real = realFile();
  const meta = JSON.parse(real.toString('utf8', OFF.meta, real.indexOf(0, OFF.meta)));
  const dir = tempDir();
  for (const [i, start] of [1e300, -5, 'yesterday', 8.64e15 + 1].entries()) {
    const b = Buffer.from(real);
    b.fill(0, OFF.meta, OFF.meta + META_BYTES);
    b.write(JSON.stringify({ ...meta, processStartMs: start }), OFF.meta);
    const file = path.join(dir, `${process.pid}-0${i ? `-${i + 1}` : ''}`);
    fs.writeFileSync(file, b, { mode: 0o600 });
    const v = Sampler.open(file);
    assert.is(v.startedAt, null, `${start}`);
    assert.ok(v.read().heap.usedBytes > 0);
    v.close();
  }
  const listed = listPublished({ dir });
  assert.is(listed.length, 4);
  for (const p of listed) assert.is(p.startedAt, null);
});

test('a forged block behind a valid header: every reader API returns within a bound, none hangs or crashes', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'real');
  fs.writeFileSync(file, realFile(), { mode: 0o600 });
  const r = await run([path.join(__dirname, 'fixtures', 'hostile-block-child.cjs')], { env: { RS_FILE: file, RS_BLOCKS: '120' }, timeout: 60000 });
  assert.is(r.signal, null, `killed after 60 s: a call never returned (${r.stderr})`);
  assert.is(r.code, 0, r.stderr);
  const out = result(r);
  assert.is(out.blocks, 120);
  assert.is(out.calls, 120 * 11);
  assert.equal(out.errors, []);
  assert.ok(out.worstMs < 2000, `slowest call ${out.worstMs} ms`);
});

// ---- a writer stopped or killed in the middle of an update ---------------------------

function startPublisher(dir) {
  const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'publisher-child.cjs')], { env: { ...process.env, PUB_DIR: dir }, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return { child, exited, ready: lineFrom(child, /^READY (.*)$/).then((m) => m[1]) };
}

function stateOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/**
 * Stops the publisher outside any update (a stop can land inside one, very rarely: every
 * region of `view` must then read whole, or it is let run and stopped again).
 */
async function stop(child, view) {
  for (let attempt = 0; attempt < 10; attempt++) {
    child.kill('SIGSTOP');
    for (let i = 0; i < 200 && stateOf(child.pid) !== 'T'; i++) await new Promise((r) => setTimeout(r, 5));
    assert.is(stateOf(child.pid), 'T', 'stopped');
    try {
      view.read();
      view.markCompacts();
      for (const h of [view.histograms.gcPause, view.histograms.loopDelay, view.histograms.loopIteration, view.histograms.gcTimeToSafepoint, view.histograms.threadpoolDelay, ...Object.values(view.histograms.gcPauseByType)]) assert.ok(h.count >= 0);
      return;
    } catch (e) {
      if (e.code !== 'ERR_SAMPLER_TORN_READ') throw e;
      child.kill('SIGCONT');
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  assert.unreachable('the publisher was stopped inside an update 10 times in a row');
}

/** Leaves the main region's sequence word (the low 32 bits of the block's slot 0) odd, as a writer inside an update does. */
function makeMainSeqOdd(file) {
  const fd = fs.openSync(file, 'r+');
  try {
    const word = Buffer.alloc(4);
    fs.readSync(fd, word, 0, 4, HEADER_BYTES);
    const seq = word.readUInt32LE(0);
    if ((seq & 1) === 0) {
      word.writeUInt32LE((seq + 1) >>> 0, 0);
      fs.writeSync(fd, word, 0, 4, HEADER_BYTES);
    }
  } finally {
    fs.closeSync(fd);
  }
}

test('a writer killed mid-update: read() returns at once with the values, tornRegions names the main region, the histograms still read', async () => {
  const dir = path.join(tempDir(), 'pubs');
  const p = startPublisher(dir);
  try {
    const file = await p.ready;
    const live = Sampler.open(file);
    await stop(p.child, live);
    live.close();
    makeMainSeqOdd(file);
    p.child.kill('SIGKILL');
    assert.is((await p.exited).signal, 'SIGKILL');
    const v = Sampler.open(file);
    assert.is(v.alive, false);
    assert.is(v.detached, true);
    const t = performance.now();
    const snap = v.read();
    const ms = performance.now() - t;
    assert.ok(ms < 200, `read() took ${ms} ms`);
    assert.equal(v.tornRegions, [MAIN_REGION]);
    assert.ok(snap.heap.usedBytes > 0, 'the values as the writer left them');
    assert.ok(snap.gc.count > 0);
    assert.ok(snap.loop.iterations > 0);
    const h = v.histograms.loopDelay;
    assert.ok(h.count > 0, 'the histograms are whole and read');
    assert.ok(v.histograms.gcPause.count > 0);
    assert.equal(v.tornRegions, [MAIN_REGION], 'only the main region is torn');
    // Read again: copied once more, never retried.
    const t2 = performance.now();
    v.read(snap);
    assert.ok(performance.now() - t2 < 50);
    v.close();
  } finally {
    p.child.kill('SIGKILL');
  }
});

test('a live writer stopped mid-update: read() gives up with ERR_SAMPLER_TORN_READ after ~50 ms (never spins); once it is killed the region reads as torn', async () => {
  const dir = path.join(tempDir(), 'pubs');
  const p = startPublisher(dir);
  try {
    const file = await p.ready;
    const v = Sampler.open(file);
    assert.ok(v.read().heap.usedBytes > 0);
    await stop(p.child, v);
    makeMainSeqOdd(file);
    assert.is(v.alive, true, 'a stopped process is alive');
    const t = performance.now();
    const e = throwsSampler(() => v.read(), 'ERR_SAMPLER_TORN_READ', /the writer never finished an update of the shared block \(\d+ attempts over \d+\.\d ms\)/);
    const ms = performance.now() - t;
    assert.ok(ms >= 45 && ms < 1000, `gave up after ${ms} ms: ${e.message}`);
    assert.equal(v.tornRegions, [], 'a live writer is not torn: it may finish');
    assert.ok(v.histograms.loopDelay.count > 0, 'other regions still read');
    p.child.kill('SIGKILL');
    await p.exited;
    const t2 = performance.now();
    assert.ok(v.read().heap.usedBytes > 0);
    assert.ok(performance.now() - t2 < 200);
    assert.equal(v.tornRegions, [MAIN_REGION]);
    v.close();
  } finally {
    p.child.kill('SIGKILL');
  }
});

// ---- a reader cannot write -----------------------------------------------------------

test("a reader's stores stay in its private copy: the writer, the file and other readers never see them", async () => {
  const dir = path.join(tempDir(), 'pubs');
  const p = startPublisher(dir);
  try {
    const file = await p.ready;
    const v = Sampler.open(file);
    const mine = new Float64Array(v.share().buffer);
    const FORGED = 123456789;
    mine[M.GC_COUNT] = FORGED;
    mine[M.LAYOUT_VERSION] = FORGED;
    new Int32Array(v.share().buffer)[0] = 1; // the sequence word, odd
    assert.is(mine[M.GC_COUNT], FORGED, 'the store happened, in this process');
    const ask = async (slot) => {
      const answer = lineFrom(p.child, new RegExp(`^SLOT ${slot} (.*)$`));
      p.child.stdin.write(`slot ${slot}\n`);
      return Number((await answer)[1]);
    };
    assert.is(await ask(M.LAYOUT_VERSION), C.LAYOUT_VERSION, "the writer's own read");
    assert.is.not(await ask(M.GC_COUNT), FORGED);
    const bytes = fs.readFileSync(file);
    assert.is(bytes.readDoubleLE(HEADER_BYTES + M.LAYOUT_VERSION * 8), C.LAYOUT_VERSION, 'the file');
    assert.is.not(bytes.readDoubleLE(HEADER_BYTES + M.GC_COUNT * 8), FORGED);
    assert.is(bytes.readUInt32LE(HEADER_BYTES) & 1, 0, 'the sequence word in the file');
    const other = Sampler.open(file);
    assert.is.not(other.read().gc.count, FORGED, 'another reader');
    other.close();
    v.close();
    p.child.stdin.write('exit\n');
    assert.equal(await p.exited, { code: 0, signal: null });
    assert.equal(fs.readdirSync(dir), []);
  } finally {
    p.child.kill('SIGKILL');
  }
});

test.run();
