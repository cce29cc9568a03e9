// Tests that cannot run here say so: the test is registered with uvu's test.skip (so it is
// counted, and test/run.mjs ends with ", N skipped") and one `SKIP <name>: <reason>` line
// is printed, which test/run.mjs repeats. Under CI=true a missing tool is a failure
// instead — .ci/run installs every tool — unless the skip is expected there
// (`expected: true`: the platform, e.g. a package that needs a newer Node, or a test
// another run of the suite covers).
const assert = require('uvu/assert');

/**
 * Registers `fn` as test `name` on `suite` when `reason` is null; otherwise as a skipped
 * test with the reason (or, under CI, a failing one).
 */
function testUnless(suite, reason, name, fn, { expected = false } = {}) {
  if (reason === null) return suite(name, fn);
  if (process.env.CI && !expected) {
    return suite(name, () => assert.unreachable(`${reason} (CI must run this test: .ci/run installs what it needs)`));
  }
  console.log(`SKIP ${name}: ${reason}`);
  return suite.skip(name, fn);
}

module.exports = { testUnless };
