// Bad-input tables: each case is [fn, ErrorType, /message pattern/]. The call must throw an
// instance of ErrorType whose message matches (naming the option, the value and what is
// accepted).
const assert = require('uvu/assert');

function throwsLike(fn, Type, re) {
  try {
    fn();
  } catch (e) {
    assert.instance(e, Type, `${re}: got ${e}`);
    assert.match(e.message, re);
    return e;
  }
  assert.unreachable(`no error (expected ${Type.name} ${re})`);
}

function throwsAll(cases) {
  for (const [fn, Type, re] of cases) throwsLike(fn, Type, re);
}

module.exports = { throwsLike, throwsAll };
