// @ts-check
// The JavaScript judge (docs/verdict.md): runs the tests exactly as written in this real Node, with the candidate's
// names bound to proxies that call the candidate process over fd 3, and alone writes the report on fd 4.
//
// Process contract: `node judge.js`, with rpc.js next to this file.
//   fd 0: the job spec as JSON, then EOF:
//     {"mode": "tests"|"evaluate", "tests": string, "context"?: string, "entryPoints"?: string[], "calls"?: string[]}
//   fd 3: the RPC stream to the candidate (AF_UNIX stream socket); fd 4: the report (JSON lines); fd 1/2 captured.
// The judge never evaluates anything the candidate sent: values are decoded structurally (rpc.js).
'use strict';

const fs = require('fs');
const vm = require('vm');
const util = require('util');
const realAssert = require('assert');
const {
  Peer,
  WireError,
  B,
  tokenize,
  topLevelDeclarations,
  endsExpression,
  continues,
  IDENT,
  RESERVED,
  isObj,
  readAll,
  exitNow,
} = require('./rpc');

const REPORT_FD = 4;
const RPC_FD = 3;
const JUDGE_GLOBALS = new Set(Object.getOwnPropertyNames(globalThis));
for (const n of ['require', 'module', 'exports', '__filename', '__dirname', 'assert']) JUDGE_GLOBALS.add(n);
// node:test's names, given to tests that use them undeclared, unless the candidate defines them (then they are its).
const NODE_TEST_GLOBALS = ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'];

// ───────── report channel (fd 4), buffered

/** @type {string[]} */
let outLines = [];
let finished = false;
let testLines = 0;
function flush() {
  if (!outLines.length) return;
  let data = Buffer.from(outLines.join(''), 'utf8');
  outLines = [];
  while (data.length) {
    try {
      const n = fs.writeSync(REPORT_FD, data);
      data = data.subarray(n);
    } catch (e) {
      const code = /** @type {any} */ (e).code;
      if (code === 'EAGAIN' || code === 'EINTR') continue;
      return;
    }
  }
}
/** @param {any} obj */
function report(obj) {
  if (finished) return;
  if (obj && obj.t === 'test') testLines++;
  outLines.push(JSON.stringify(obj) + '\n');
  if (outLines.length > 64) flush();
}
setInterval(flush, 50).unref();

/** Ends the run: a fatal error (never a pass). */
function fatal(/** @type {string} */ error, where = 'candidate') {
  if (finished) exitNow(0);
  report({ t: 'fatal', error: error.slice(0, 4000), where });
  flush();
  finished = true;
  exitNow(0);
}

function end() {
  if (finished) return;
  report({ t: 'end' });
  flush();
  finished = true;
  exitNow(0);
}

// ───────── the job spec (fd 0)

/** @type {{mode: string, tests: string, context: string, entryPoints: string[], calls: string[]}} */
let spec;
try {
  const raw = JSON.parse(readAll(0));
  spec = {
    mode: raw.mode === 'evaluate' ? 'evaluate' : 'tests',
    tests: typeof raw.tests === 'string' ? raw.tests : '',
    context: typeof raw.context === 'string' ? raw.context : '',
    entryPoints: Array.isArray(raw.entryPoints)
      ? raw.entryPoints.filter((/** @type {any} */ n) => typeof n === 'string')
      : [],
    calls: Array.isArray(raw.calls) ? raw.calls.map((/** @type {any} */ c) => String(c)) : [],
  };
} catch (e) {
  fatal('the job spec is not valid JSON', 'judge');
  throw e;
}

// ───────── rendering for feedback

function render(/** @type {any} */ v) {
  let s;
  try {
    // A candidate object: its owner renders it (feedback only; nothing decides on this text).
    const remote = isObj(v) && peer.remoteIds.has(v) && !util.types.isNativeError(v) ? peer.describe(v) : undefined;
    if (typeof remote === 'string')
      return (remote.length > 600 ? remote.slice(0, 600) + '…' : remote) + ' (from the candidate)';
    s = util.inspect(v, { depth: 4, breakLength: Infinity, maxArrayLength: 50, maxStringLength: 300, compact: true });
  } catch (e) {
    s = '<unprintable>';
  }
  return s.length > 600 ? s.slice(0, 600) + '…' : s;
}

/** Frames of a stack that point into the candidate or the tests. */
function frames(/** @type {string} */ stack) {
  const out = [];
  for (const line of String(stack || '').split('\n')) {
    const m = /(candidate\.js|tests\.js|context\.js):(\d+):\d+\)?\s*$/.exec(line.trim());
    if (m) out.push(`${m[1]}:${m[2]}`);
    if (out.length >= 8) break;
  }
  return out;
}

/** The fields of a failed test that describe its error. */
function failure(/** @type {any} */ e) {
  /** @type {any} */
  const out = {};
  try {
    if (e instanceof realAssert.AssertionError) {
      out.error = 'AssertionError';
      out.message = String(e.message).slice(0, 2000);
      if (e.operator !== 'fail') {
        out.expected = render(e.expected);
        out.actual = render(e.actual);
      }
      if (e.operator) out.operator = String(e.operator);
    } else if (isObj(e) && (e instanceof Error || util.types.isNativeError(e))) {
      const name = typeof e.name === 'string' ? e.name : 'Error';
      const msg = typeof e.message === 'string' ? e.message : '';
      out.error = (name + (msg ? ': ' + msg : '')).slice(0, 2000);
      const ea = /** @type {any} */ (e);
      if (ea.expected !== undefined || ea.actual !== undefined) {
        out.expected = render(ea.expected);
        out.actual = render(ea.actual);
      }
    } else {
      out.error = 'thrown value: ' + render(e);
    }
    const where = frames(isObj(e) ? /** @type {any} */ (e).stack : '');
    if (where.length) out.frames = where;
  } catch (x) {
    out.error = 'an error that cannot be described';
  }
  return out;
}

/** Line in tests.js from an error's stack (the innermost tests.js frame). */
function testsLine(/** @type {any} */ e) {
  const m = /tests\.js:(\d+):\d+/.exec(isObj(e) && typeof e.stack === 'string' ? e.stack : '');
  return m ? Number(m[1]) : undefined;
}

// ───────── the candidate connection

let peerReady = false;
/** @type {Set<string>} names bound to the candidate's values */
let candidateBound = new Set();
/** @type {any} */
let readyMsg = null;
/** @type {Set<string>} names the tests and the context mention (for coercion forwarding) */
let mentioned = new Set();
const peer = new Peer({
  fd: RPC_FD,
  side: 'judge',
  onEof: () => {
    if (!finished)
      fatal(
        peerReady
          ? 'the candidate process ended before the tests finished (it exited or crashed)'
          : 'the candidate process ended before it was ready (it exited or crashed while loading)',
      );
  },
  onProtocolError: (msg) => {
    fatal('the candidate broke the protocol: ' + msg);
  },
  coercible: (name) => name !== '' && mentioned.has(name) && !JUDGE_GLOBALS.has(name),
});
// What one process would share between the tests and the code under test, sent with each request when it
// changed: the environment, and the globals tests commonly replace (a fixed Math.random or Date.now, a
// console.log that collects lines). A replaced global crosses as a handle to the tests' function, so the
// candidate's call runs it here, as a callback would; restoring the original undoes it there. Nothing flows
// back. The originals are taken before any test runs.
/** @type {[any, string, string][]} */
const SHARED_GLOBALS = [
  [Math, 'random', 'Math.random'],
  [Date, 'now', 'Date.now'],
  [console, 'log', 'console.log'],
  [console, 'info', 'console.info'],
  [console, 'warn', 'console.warn'],
  [console, 'error', 'console.error'],
  [console, 'debug', 'console.debug'],
];
const sharedOriginals = SHARED_GLOBALS.map(([o, k]) => o[k]);
const sharedSent = sharedOriginals.slice();
let sharedEnvSent = JSON.stringify(process.env);
function sharedState() {
  /** @type {any} */
  const out = {};
  let any = false;
  const env = JSON.stringify(process.env);
  if (env !== sharedEnvSent) {
    sharedEnvSent = env;
    out.env = JSON.parse(env);
    any = true;
  }
  /** @type {any} */
  const globals = {};
  SHARED_GLOBALS.forEach(([o, k, name], i) => {
    const now = o[k];
    if (now === sharedSent[i]) return;
    sharedSent[i] = now;
    globals[name] = now === sharedOriginals[i] || typeof now !== 'function' ? null : peer.encode(now, peer.ctx([]), 0);
    any = true;
  });
  if (Object.keys(globals).length) out.g = globals;
  return any ? out : null;
}
peer.sharedStateOut = sharedState;

peer.onUnexpected = (msg) => {
  if (msg.k === 'crash') {
    let err = 'the candidate crashed';
    try {
      const e = peer.decode(msg.e, []);
      err = 'the candidate crashed: ' + (failure(e).error || '');
    } catch (x) {
      /* keep */
    }
    fatal(err);
  } else fatal('the candidate broke the protocol: an unexpected ' + msg.k);
};

/** Waits for the candidate's ready frame (synchronously). */
function waitReady() {
  for (;;) {
    let msg = peer.takeFrame();
    while (msg === undefined) {
      try {
        peer.readMore();
      } catch (e) {
        return;
      }
      msg = peer.takeFrame();
    }
    if (msg.k === 'ready') {
      readyMsg = msg;
      peerReady = true;
      return;
    }
    if (msg.k === 'loaderr') {
      let text = 'the candidate raised while loading';
      try {
        const e = peer.decode(msg.e, []);
        const f = failure(e);
        text += ': ' + f.error + (f.frames ? ' (' + f.frames.join(', ') + ')' : '');
      } catch (x) {
        /* keep */
      }
      fatal(text);
      return;
    }
    fatal('the candidate broke the protocol: expected ready, got ' + String(msg.k).slice(0, 20));
    return;
  }
}

// ───────── names

/** Identifiers a source mentions (not as a property after a dot). */
function mentionedNames(/** @type {string} */ src) {
  const out = new Set();
  let toks;
  try {
    toks = tokenize(src);
  } catch (e) {
    return out;
  }
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k];
    if (t.type !== 'id') continue;
    const p = toks[k - 1];
    if (p && (p.text === '.' || p.text === '?.') && !(toks[k - 2] && toks[k - 2].text === '.')) continue;
    out.add(t.text);
  }
  return out;
}

function candidateNames() {
  const names = new Set();
  const add = (/** @type {any} */ list) => {
    if (Array.isArray(list)) for (const n of list) if (typeof n === 'string') names.add(n);
  };
  add(readyMsg && readyMsg.names);
  add(readyMsg && readyMsg.exports);
  return names;
}

/** Asks the candidate for the values of names; returns those it defines. */
function resolveNames(/** @type {string[]} */ names) {
  /** @type {Map<string, any>} */
  const out = new Map();
  if (!names.length) return out;
  const reply = peer.request({ k: 'resolve', n: names });
  if (!Array.isArray(reply)) return out;
  for (let k = 0; k < names.length; k++) {
    const r = reply[k];
    if (Array.isArray(r) && r[0] === true) out.set(names[k], r[1]);
  }
  return out;
}

/** @param {string} name @param {any} value */
function setGlobal(name, value) {
  Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
}

// The exports object `require('./x')` returns in the tests: the candidate's module.exports, names resolved lazily.
/** @type {any} */
let exportsObject;
function candidateExports() {
  if (exportsObject) return exportsObject;
  if (readyMsg && readyMsg.main !== undefined) {
    exportsObject = peer.decode(readyMsg.main, []);
    return exportsObject;
  }
  const o = {};
  const names = new Set([
    ...(Array.isArray(readyMsg && readyMsg.exports) ? readyMsg.exports : []),
    ...(Array.isArray(readyMsg && readyMsg.names) ? readyMsg.names : []),
  ]);
  if (readyMsg && readyMsg.esm) Object.defineProperty(o, '__esModule', { value: true });
  for (const n of names) {
    if (typeof n !== 'string' || n === '__esModule' || n === '__proto__') continue;
    let cached = false;
    /** @type {any} */
    let value;
    Object.defineProperty(o, n, {
      enumerable: true,
      configurable: true,
      get() {
        if (!cached) {
          value = resolveNames([n]).get(n);
          cached = true;
        }
        return value;
      },
    });
  }
  exportsObject = o;
  return o;
}

// ───────── node:test, faithfully enough: test/it/describe bodies run (incl. async and subtests), each test is reported

/** @typedef {{kind: 'suite'|'test', name: string, fn: any, opts: any, line: number|undefined, children: any[], hooks: any, parent: any}} Node */
/**
 * The state of the node:test stand-in: the root suite, the suite whose body is being collected, the test whose
 * body is running, and whether a run of the queue is scheduled or under way.
 * @typedef {{root: Node, collecting: Node, running: any, scheduled: boolean, active: number, idleWaiters: (() => void)[]}} NodeTestState
 */

/** @type {any} */
let nodeTestModule;

/** @returns {Node} */
function newNode(
  /** @type {'suite'|'test'} */ kind,
  /** @type {string} */ name,
  /** @type {any} */ fn,
  /** @type {any} */ opts,
  /** @type {number|undefined} */ line,
  /** @type {any} */ parent,
) {
  return {
    kind,
    name,
    fn,
    opts,
    line,
    children: [],
    hooks: { before: [], after: [], beforeEach: [], afterEach: [] },
    parent,
  };
}

function callerLine() {
  const m = /tests\.js:(\d+):\d+/.exec(String(new Error().stack));
  return m ? Number(m[1]) : undefined;
}

/** @param {any[]} args */
function norm(args) {
  let name = '';
  let opts = {};
  let fn;
  for (const a of args) {
    if (typeof a === 'string') name = a;
    else if (typeof a === 'function') fn = a;
    else if (a && typeof a === 'object') opts = a;
  }
  if (!name && fn && fn.name) name = fn.name;
  return { name: name || '<anonymous>', opts, fn };
}

/** The names from the outermost suite down to n (the root suite has no name). */
function fullName(/** @type {Node} */ n) {
  const parts = [];
  for (let p = n; p; p = p.parent) if (p.name) parts.unshift(p.name);
  return parts.join(' > ');
}

function hooksOf(/** @type {Node} */ n, /** @type {'beforeEach'|'afterEach'} */ which) {
  const chain = [];
  for (let p = n.parent; p; p = p.parent) chain.unshift(p);
  const out = [];
  for (const p of chain) out.push(...p.hooks[which]);
  return which === 'afterEach' ? out.reverse() : out;
}

async function callWith(/** @type {any} */ fn, /** @type {any} */ ctx) {
  if (typeof fn !== 'function') return;
  if (fn.length >= 2 && !util.types.isAsyncFunction(fn)) {
    await new Promise((resolve, reject) => {
      try {
        const r = fn(ctx, (/** @type {any} */ err) => (err ? reject(err) : resolve(undefined)));
        if (r && typeof r.then === 'function') r.then(undefined, reject);
      } catch (e) {
        reject(e);
      }
    });
    return;
  }
  await fn(ctx);
}

/** The context a test body receives (node:test's TestContext); `state` collects skip/todo and subtests. */
function testContext(
  /** @type {NodeTestState} */ st,
  /** @type {Node} */ n,
  /** @type {string} */ name,
  /** @type {any} */ state,
) {
  return {
    name: n.name,
    fullName: name,
    signal: new AbortController().signal,
    skip() {
      state.skipped = true;
    },
    todo() {
      state.todo = true;
    },
    diagnostic() {},
    plan() {},
    runOnly() {},
    test(/** @type {any[]} */ ...args) {
      const { name: sn, opts, fn } = norm(args);
      const sub = newNode('test', sn, fn, opts, callerLine(), n);
      const p = runTest(st, sub);
      state.subtests.push(p);
      return p;
    },
    before(/** @type {any} */ f) {
      n.hooks.before.push(f);
    },
    after(/** @type {any} */ f) {
      n.hooks.after.push(f);
    },
    beforeEach(/** @type {any} */ f) {
      n.hooks.beforeEach.push(f);
    },
    afterEach(/** @type {any} */ f) {
      n.hooks.afterEach.push(f);
    },
    get assert() {
      return realAssert;
    },
    get mock() {
      return require('node:test').mock;
    },
  };
}

async function runTest(/** @type {NodeTestState} */ st, /** @type {Node} */ n) {
  const name = fullName(n);
  if (n.opts && (n.opts.skip || n.opts.todo)) {
    report({ t: 'skip', name, line: n.line, why: n.opts.skip ? 'skipped' : 'todo' });
    return;
  }
  /** @type {any} */
  const state = { skipped: false, todo: false, subtests: [] };
  const ctx = testContext(st, n, name, state);
  /** @type {any} */
  let err;
  let ok = true;
  const prev = st.running;
  try {
    for (const h of hooksOf(n, 'beforeEach')) await callWith(h, ctx);
    st.running = { node: n, ctx };
    await callWith(n.fn, ctx);
    st.running = prev;
    await Promise.all(state.subtests);
    for (const h of n.hooks.after) await callWith(h, ctx);
    for (const h of hooksOf(n, 'afterEach')) await callWith(h, ctx);
  } catch (e) {
    ok = false;
    err = e;
  } finally {
    st.running = prev;
  }
  if (ok && (state.skipped || state.todo)) {
    report({ t: 'skip', name, line: n.line, why: state.skipped ? 'skipped' : 'todo' });
    return;
  }
  if (ok) report({ t: 'test', name, ok: true, line: n.line });
  else report({ t: 'test', name, ok: false, line: n.line, ...failure(err) });
}

async function runSuite(/** @type {NodeTestState} */ st, /** @type {Node} */ s) {
  if (s.opts && (s.opts.skip || s.opts.todo)) {
    report({ t: 'skip', name: fullName(s), line: s.line, why: 'skipped' });
    return;
  }
  try {
    for (const h of s.hooks.before) await callWith(h, {});
  } catch (e) {
    report({ t: 'test', name: fullName(s) + ' (before hook)', ok: false, line: s.line, ...failure(e) });
    return;
  }
  for (const c of s.children) {
    if (c.kind === 'suite') await runSuite(st, c);
    else await runTest(st, c);
  }
  try {
    for (const h of s.hooks.after) await callWith(h, {});
  } catch (e) {
    report({ t: 'test', name: fullName(s) + ' (after hook)', ok: false, line: s.line, ...failure(e) });
  }
}

async function runQueue(/** @type {NodeTestState} */ st) {
  const root = st.root;
  st.active++;
  try {
    // Root hooks around the whole queue; children may be added while earlier ones run.
    for (const h of root.hooks.before) await callWith(h, {});
    for (let k = 0; k < root.children.length; k++) {
      const c = root.children[k];
      if (c.kind === 'suite') await runSuite(st, c);
      else await runTest(st, c);
    }
    root.children = [];
    for (const h of root.hooks.after) await callWith(h, {});
  } catch (e) {
    report({ t: 'test', name: '(hook)', ok: false, ...failure(e) });
  } finally {
    st.active--;
    st.scheduled = false;
    if (root.children.length) schedule(st);
    else if (!st.active) {
      const w = st.idleWaiters;
      st.idleWaiters = [];
      for (const f of w) f();
    }
  }
}

function schedule(/** @type {NodeTestState} */ st) {
  if (st.scheduled) return;
  st.scheduled = true;
  setImmediate(() => {
    runQueue(st);
  });
}

/** Adds .skip, .todo and .only to test() or describe(). */
function withVariants(/** @type {any} */ f) {
  f.skip = (/** @type {any[]} */ ...a) => {
    const x = norm(a);
    return f(x.name, { ...x.opts, skip: true }, x.fn);
  };
  f.todo = (/** @type {any[]} */ ...a) => {
    const x = norm(a);
    return f(x.name, { ...x.opts, todo: true }, x.fn);
  };
  f.only = (/** @type {any[]} */ ...a) => f(...a);
  return f;
}

/** The module object: test() with its aliases, the hooks, mock, and idle() for the judge to wait on. */
function nodeTestExports(/** @type {NodeTestState} */ st, /** @type {any} */ test, /** @type {any} */ describe) {
  withVariants(test);
  withVariants(describe);
  const hook = (/** @type {'before'|'after'|'beforeEach'|'afterEach'} */ which) => (/** @type {any} */ fn) => {
    const target = st.running && st.collecting === st.root ? st.running.node : st.collecting;
    target.hooks[which].push(fn);
  };
  /** @type {any} */
  const mod = test;
  mod.test = test;
  mod.it = test;
  mod.describe = describe;
  mod.suite = describe;
  mod.before = hook('before');
  mod.after = hook('after');
  mod.beforeEach = hook('beforeEach');
  mod.afterEach = hook('afterEach');
  Object.defineProperty(mod, 'mock', {
    get() {
      return require('node:test').mock;
    },
    enumerable: true,
  });
  mod.default = mod;
  mod.idle = () =>
    st.active || st.scheduled || st.root.children.length
      ? new Promise((r) => {
          st.idleWaiters.push(() => r(undefined));
        })
      : Promise.resolve();
  return mod;
}

function makeNodeTest() {
  const root = newNode('suite', '', null, {}, undefined, null);
  /** @type {NodeTestState} */
  const st = { root, collecting: root, running: null, scheduled: false, active: 0, idleWaiters: [] };

  /** @param {any[]} args */
  function test(...args) {
    const { name, opts, fn } = norm(args);
    const n = newNode('test', name, fn, opts, callerLine(), st.collecting);
    if (st.running && st.collecting === root) {
      // test() called inside a running test: a subtest of it
      n.parent = st.running.node;
      return runTest(st, n);
    }
    st.collecting.children.push(n);
    if (st.collecting === root) schedule(st);
    return Promise.resolve();
  }
  /** @param {any[]} args */
  function describe(...args) {
    const { name, opts, fn } = norm(args);
    const s = newNode('suite', name, fn, opts, callerLine(), st.collecting);
    st.collecting.children.push(s);
    const prev = st.collecting;
    st.collecting = s;
    try {
      const r = typeof fn === 'function' ? fn({ name }) : undefined;
      if (r && typeof r.then === 'function')
        r.then(undefined, (/** @type {any} */ e) =>
          report({ t: 'test', name: fullName(s), ok: false, line: s.line, ...failure(e) }),
        );
    } catch (e) {
      report({ t: 'test', name: fullName(s), ok: false, line: s.line, ...failure(e) });
    } finally {
      st.collecting = prev;
    }
    if (prev === root) schedule(st);
    return Promise.resolve();
  }
  return nodeTestExports(st, test, describe);
}

/** require() as the tests see it. */
function judgeRequire(/** @type {string} */ id) {
  const s = String(id);
  if (s.startsWith('.') || s.startsWith('/')) return candidateExports();
  if (s === 'node:test' || s === 'test') return nodeTestModule;
  return require(s);
}
judgeRequire.resolve = require.resolve;
judgeRequire.cache = require.cache;

// ───────── the tests: which top-level statements are tests

const ASSERT_MODULES = new Set(['assert', 'node:assert', 'assert/strict', 'node:assert/strict']);
const TEST_MODULES = new Set(['node:test', 'test']);
const TEST_FNS = new Set(['test', 'it', 'describe', 'suite']);

/**
 * The local names the tests bind to require('assert'…) and to require('node:test'), as written or as esbuild
 * writes imports.
 */
function requireBindings(/** @type {{type: string, text: string}[]} */ toks) {
  const N = toks.length;
  /** @type {Set<string>} */
  const assertNames = new Set(['assert']);
  /** @type {Set<string>} */
  const nodeTestAliases = new Set();
  for (let k = 0; k < N; k++) {
    const t = toks[k];
    if (t.type !== 'id' || (t.text !== 'const' && t.text !== 'let' && t.text !== 'var')) continue;
    let j = k + 1;
    /** @type {[string, string][]} local, imported */
    const bound = [];
    if (toks[j] && toks[j].type === 'id') {
      bound.push([toks[j].text, '*']);
      j++;
    } else if (toks[j] && toks[j].text === '{') {
      j++;
      while (j < N && toks[j].text !== '}') {
        if (toks[j].type === 'id') {
          const key = toks[j].text;
          if (toks[j + 1] && toks[j + 1].text === ':' && toks[j + 2] && toks[j + 2].type === 'id') {
            bound.push([toks[j + 2].text, key]);
            j += 3;
          } else {
            bound.push([key, key]);
            j++;
          }
        } else j++;
      }
      j++;
    } else continue;
    if (!toks[j] || toks[j].text !== '=') continue;
    j++;
    if (
      toks[j] &&
      toks[j].type === 'id' &&
      /^__toESM$|^__importDefault$|^__importStar$/.test(toks[j].text) &&
      toks[j + 1] &&
      toks[j + 1].text === '('
    )
      j += 2;
    if (
      !toks[j] ||
      toks[j].text !== 'require' ||
      !toks[j + 1] ||
      toks[j + 1].text !== '(' ||
      !toks[j + 2] ||
      toks[j + 2].type !== 'str'
    )
      continue;
    const mod = toks[j + 2].text.slice(1, -1);
    if (ASSERT_MODULES.has(mod)) for (const [local] of bound) assertNames.add(local);
    if (TEST_MODULES.has(mod))
      for (const [local, key] of bound)
        if (key === '*' || TEST_FNS.has(key) || key === 'default') nodeTestAliases.add(local);
  }
  return { assertNames, nodeTestAliases };
}

/** Index of the token closing the bracket at k. */
function closeOf(/** @type {any[]} */ toks, /** @type {number} */ k) {
  const N = toks.length;
  let d = 0;
  for (let j = k; j < N; j++) {
    const x = toks[j];
    if (x.type === 'punct') {
      if (x.text === '(' || x.text === '[' || x.text === '{') d++;
      else if (x.text === ')' || x.text === ']' || x.text === '}') {
        d--;
        if (d === 0) return j;
      }
    } else if (x.type === 'tmpl') {
      if (x.text.endsWith('${')) d++;
      if (x.text.startsWith('}')) d--;
    }
  }
  throw new Error('unbalanced');
}

/** Index of the last token of the expression statement starting at k. */
function exprEnd(/** @type {any[]} */ toks, /** @type {number} */ k) {
  const N = toks.length;
  let d = 0;
  for (let j = k; j < N; j++) {
    const x = toks[j];
    if (x.type === 'punct') {
      if (x.text === '(' || x.text === '[' || x.text === '{') d++;
      else if (x.text === ')' || x.text === ']' || x.text === '}') {
        if (d === 0) return j - 1;
        d--;
      } else if (x.text === ';' && d === 0) return j;
    } else if (x.type === 'tmpl') {
      if (x.text.endsWith('${')) d++;
      if (x.text.startsWith('}')) d--;
    }
    const nx = toks[j + 1];
    if (!nx) return j;
    if (d === 0 && nx.nl && endsExpression(x) && !continues(nx)) return j;
  }
  return N - 1;
}

/** Index of the last token of the statement starting at k. @returns {number} */
function stmtEnd(/** @type {any[]} */ toks, /** @type {number} */ k) {
  const t = toks[k];
  if (t.type === 'punct') {
    if (t.text === '{') return closeOf(toks, k);
    if (t.text === ';') return k;
    return exprEnd(toks, k);
  }
  if (t.type !== 'id') return exprEnd(toks, k);
  const nx = toks[k + 1];
  switch (t.text) {
    case 'if': {
      const e = stmtEnd(toks, closeOf(toks, k + 1) + 1);
      if (toks[e + 1] && toks[e + 1].text === 'else') return stmtEnd(toks, e + 2);
      return e;
    }
    case 'for': {
      const open = nx && nx.text === 'await' ? k + 2 : k + 1;
      return stmtEnd(toks, closeOf(toks, open) + 1);
    }
    case 'while':
    case 'with':
      return stmtEnd(toks, closeOf(toks, k + 1) + 1);
    case 'do': {
      const e = stmtEnd(toks, k + 1);
      const c = closeOf(toks, e + 2);
      return toks[c + 1] && toks[c + 1].text === ';' ? c + 1 : c;
    }
    case 'try':
      return tryEnd(toks, k);
    case 'switch':
      return closeOf(toks, closeOf(toks, k + 1) + 1);
    case 'function': {
      let j = k + 1;
      while (j < toks.length && toks[j].text !== '(') j++;
      return closeOf(toks, closeOf(toks, j) + 1);
    }
    case 'async':
      if (nx && nx.text === 'function' && !nx.nl) return stmtEnd(toks, k + 1);
      return exprEnd(toks, k);
    case 'class': {
      let j = k + 1;
      while (j < toks.length && toks[j].text !== '{') j++;
      const e = closeOf(toks, j);
      return e;
    }
    default:
      if (nx && nx.text === ':' && !['case', 'default'].includes(t.text)) return stmtEnd(toks, k + 2);
      return exprEnd(toks, k);
  }
}

/** Index of the last token of the try statement at k (with its catch and finally). */
function tryEnd(/** @type {any[]} */ toks, /** @type {number} */ k) {
  let e = closeOf(toks, k + 1);
  if (toks[e + 1] && toks[e + 1].text === 'catch') {
    e += 2;
    if (toks[e].text === '(') e = closeOf(toks, e) + 1;
    e = closeOf(toks, e);
  }
  if (toks[e + 1] && toks[e + 1].text === 'finally') e = closeOf(toks, e + 2);
  return e;
}

/** Root identifier of a call statement: skips `await` and esbuild's `(0, x.y)`. */
function rootOf(/** @type {any[]} */ toks, /** @type {number} */ k, /** @type {number} */ e) {
  let j = k;
  if (toks[j] && toks[j].text === 'await') j++;
  if (
    toks[j] &&
    toks[j].text === '(' &&
    toks[j + 1] &&
    toks[j + 1].text === '0' &&
    toks[j + 2] &&
    toks[j + 2].text === ','
  )
    j += 3;
  return j <= e && toks[j].type === 'id' ? toks[j].text : undefined;
}

/** Whether tokens k..e call (or pass on) an assert binding or one of the tests' own test functions. */
function holdsTest(
  /** @type {any[]} */ toks,
  /** @type {number} */ k,
  /** @type {number} */ e,
  /** @type {Set<string>} */ assertNames,
  /** @type {Set<string>} */ ownTestFns,
) {
  for (let j = k; j <= e; j++) {
    const x = toks[j];
    if (x.type !== 'id') continue;
    const p = toks[j - 1];
    if (p && (p.text === '.' || p.text === '?.')) continue;
    const nx = toks[j + 1];
    if (!nx || (nx.text !== '(' && nx.text !== '.' && nx.text !== ')')) continue;
    if (assertNames.has(x.text) || ownTestFns.has(x.text)) return true;
  }
  return false;
}

const DECL = new Set(['function', 'class', 'const', 'let', 'var', 'import', 'export']);

/**
 * Finds the top-level statements of the tests and wraps each one that is a test (an assert call or a statement
 * that holds one, or a call of a test()/it() that does not report itself) so it reports ok or its failure.
 * Line numbers are kept: everything is inserted on existing lines.
 * @returns {{source: string, tests: {line: number, src: string}[]}}
 */
function instrument(/** @type {string} */ src) {
  const toks = tokenize(src);
  const N = toks.length;
  /** @type {Set<string>} */
  const declared = topLevelDeclarations(src);
  const { assertNames, nodeTestAliases } = requireBindings(toks);
  // test/it/describe not declared by the tests are ours (node:test); declared otherwise they are the tests' own.
  /** @type {Set<string>} */
  const ownTestFns = new Set();
  for (const n of TEST_FNS)
    if (!declared.has(n) && !candidateBound.has(n)) nodeTestAliases.add(n);
    else if (!nodeTestAliases.has(n) && declared.has(n)) ownTestFns.add(n);
  /** @type {{start: number, end: number, text: string}[]} */
  const edits = [];
  /** @type {{line: number, src: string}[]} */
  const tests = [];
  let k = 0;
  while (k < N) {
    const e = stmtEnd(toks, k);
    if (e < k) throw new Error('bad statement');
    const first = toks[k];
    const isDecl =
      first.type === 'id' &&
      (DECL.has(first.text) || (first.text === 'async' && toks[k + 1] && toks[k + 1].text === 'function'));
    if (!isDecl) {
      const root = rootOf(toks, k, e);
      const selfReporting = root !== undefined && nodeTestAliases.has(root) && !ownTestFns.has(root);
      if (!selfReporting && holdsTest(toks, k, e, assertNames, ownTestFns)) {
        const i = tests.length;
        const stmtSrc = src.slice(first.start, toks[e].end);
        tests.push({ line: lineOf(src, first.start), src: stmtSrc.replace(/\s+/g, ' ').slice(0, 300) });
        edits.push({ start: first.start, end: first.start, text: 'try { ' });
        edits.push({
          start: toks[e].end,
          end: toks[e].end,
          text: ` ;__crucible.ok(${i}) } catch (__crucible_e) { __crucible.fail(${i}, __crucible_e) }`,
        });
      }
    }
    k = e + 1;
  }
  return { source: applyEdits(src, edits), tests };
}

/** src with each edit's range replaced by its text (edits in order, not overlapping). */
function applyEdits(/** @type {string} */ src, /** @type {{start: number, end: number, text: string}[]} */ edits) {
  let out = '';
  let pos = 0;
  for (const ed of edits) {
    out += src.slice(pos, ed.start) + ed.text;
    pos = ed.end;
  }
  out += src.slice(pos);
  return out;
}

function lineOf(/** @type {string} */ src, /** @type {number} */ pos) {
  let line = 1;
  for (let k = 0; k < pos; k++) if (src.charCodeAt(k) === 10) line++;
  return line;
}

// ───────── evaluate mode: canonical renderings (the format of src/core/verify/canonical.ts)

/** @returns {any} */
function canon(/** @type {any} */ v, /** @type {any[]} */ stack, /** @type {{n: number}} */ budget) {
  if (++budget.n > 200000) throw new Error('value too large');
  if (stack.length > 200) throw new Error('value nested too deep');
  if (v === undefined) return ['undef'];
  if (v === null) return ['null'];
  switch (typeof v) {
    case 'boolean':
      return ['bool', v];
    case 'number':
      return ['num', Object.is(v, -0) ? '-0' : String(v)];
    case 'bigint':
      return ['int', v.toString(16)];
    case 'string':
      return ['str', v];
    case 'symbol':
    case 'function':
      throw new Error('cannot be compared');
    default:
      break;
  }
  if (stack.includes(v)) throw new Error('cycle');
  stack.push(v);
  try {
    const sortPairs = (/** @type {any[]} */ a) =>
      a.sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : JSON.stringify(x) > JSON.stringify(y) ? 1 : 0));
    if (Array.isArray(v)) {
      const out = [];
      for (let k = 0; k < v.length; k++) out.push(canon(v[k], stack, budget));
      return ['list', out];
    }
    if (util.types.isMap(v)) {
      const out = [];
      for (const [k, x] of v) out.push([canon(k, stack, budget), canon(x, stack, budget)]);
      return ['map', sortPairs(out)];
    }
    if (util.types.isSet(v)) {
      const out = [];
      for (const x of v) out.push(canon(x, stack, budget));
      return ['set', sortPairs(out)];
    }
    if (util.types.isDate(v)) {
      const t = v.getTime();
      return ['date', t === t ? v.toISOString() : 'Invalid Date'];
    }
    const proto = Object.getPrototypeOf(v);
    const pairs = [];
    for (const key of Object.keys(v)) pairs.push([key, canon(v[key], stack, budget)]);
    pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    if (proto === Object.prototype || proto === null) return ['dict', pairs];
    const c = proto && Object.getOwnPropertyDescriptor(proto, 'constructor');
    const name = c && typeof c.value === 'function' && typeof c.value.name === 'string' ? c.value.name : 'Object';
    return ['obj', name, pairs];
  } finally {
    stack.pop();
  }
}

// ───────── the run

/** Failures the event loop reports outside any test (unhandled rejections, uncaught exceptions): never a pass. */
process.on('unhandledRejection', (e) => {
  report({ t: 'test', name: 'unhandled promise rejection', ok: false, line: testsLine(e), ...failure(e) });
});
process.on('uncaughtException', (e) => {
  if (e instanceof WireError) {
    fatal(e.message);
    return;
  }
  report({ t: 'test', name: 'uncaught exception', ok: false, line: testsLine(e), ...failure(e) });
});

/**
 * Binds the candidate's names the tests use as globals of the judge (with assert, node:test's functions, require
 * and module), then runs the trusted context. Undefined when that failed (fatal has reported it).
 */
function bindCandidate() {
  const inTests = mentionedNames(spec.tests + '\n' + spec.context + '\n' + spec.calls.join('\n'));
  mentioned = inTests;
  const own = candidateNames();
  const entry = spec.entryPoints.filter((n) => IDENT.test(n) && !RESERVED.has(n));
  /** @type {string[]} */
  let bind;
  if (entry.length) bind = entry;
  else bind = [...inTests].filter((n) => own.has(n) && IDENT.test(n) && !RESERVED.has(n) && !JUDGE_GLOBALS.has(n));
  const values = resolveNames(bind);
  for (const n of entry)
    if (!values.has(n)) {
      fatal(`the candidate does not define '${n}'`);
      return undefined;
    }
  for (const [n, v] of values) setGlobal(n, v);
  // What the tests may use without declaring: assert, and node:test's functions.
  if (inTests.has('assert')) setGlobal('assert', realAssert);
  for (const n of NODE_TEST_GLOBALS) if (inTests.has(n) && !values.has(n)) setGlobal(n, nodeTestModule[n]);
  candidateBound = new Set(values.keys());
  const mod = {
    exports: {},
    id: '.',
    filename: '/tests.js',
    loaded: false,
    children: [],
    paths: [],
    require: judgeRequire,
  };
  setGlobal('require', judgeRequire);
  setGlobal('module', mod);
  setGlobal('exports', mod.exports);
  // The trusted context (the task's own code around the function): runs here, in the judge's global scope.
  if (spec.context.trim()) {
    try {
      new vm.Script(spec.context, { filename: 'context.js' }).runInThisContext();
    } catch (e) {
      fatal('the task context raised: ' + (failure(e).error || ''), 'context');
      return undefined;
    }
    for (const n of entry) setGlobal(n, values.get(n)); // entry points are the candidate's, whatever the context says
  }
  return mod;
}

/** Evaluate mode: each call's canonical rendering, null where it raised. */
async function evaluateCalls() {
  /** @type {(string|null)[]} */
  const out = [];
  for (const c of spec.calls) {
    try {
      let v = new vm.Script('(' + c + '\n)', { filename: 'call.js' }).runInThisContext();
      if (util.types.isPromise(v)) v = await v;
      out.push(JSON.stringify(canon(v, [], { n: 0 })));
    } catch (e) {
      out.push(null);
    }
  }
  report({ t: 'values', values: out });
  end();
}

/**
 * The tests, instrumented, compiled into one async function, with the `__crucible` object their wrapped
 * statements report through. Undefined when they do not compile (fatal has reported it).
 */
function compileTests() {
  /** @type {{source: string, tests: {line: number, src: string}[]}} */
  let plan;
  try {
    plan = instrument(spec.tests);
  } catch (e) {
    plan = { source: spec.tests, tests: [] };
  }
  const crucible = {
    ok(/** @type {number} */ i) {
      const t = plan.tests[i];
      report({ t: 'test', name: t.src, ok: true, line: t.line, source: t.src });
    },
    fail(/** @type {number} */ i, /** @type {any} */ e) {
      if (e instanceof WireError) {
        fatal(e.message);
        return;
      }
      const t = plan.tests[i];
      report({ t: 'test', name: t.src, ok: false, line: t.line, source: t.src, ...failure(e) });
    },
  };
  let fn;
  try {
    fn = new vm.Script(
      `(async function (exports, require, module, __filename, __dirname, __crucible) {${plan.source}\n})`,
      { filename: 'tests.js' },
    ).runInThisContext();
  } catch (e) {
    fatal('the tests do not compile: ' + (failure(e).error || ''), 'tests');
    return undefined;
  }
  return { plan, crucible, fn };
}

async function main() {
  waitReady();
  if (finished) return;
  nodeTestModule = makeNodeTest();
  const mod = bindCandidate();
  if (!mod) return;

  if (spec.mode === 'evaluate') {
    await evaluateCalls();
    return;
  }

  const compiled = compileTests();
  if (!compiled) return;
  const { plan, crucible, fn } = compiled;
  const whole = plan.tests.length === 0; // nothing recognised as a test statement: the whole file is one test
  let bodyOk = true;
  try {
    await fn.call(mod.exports, mod.exports, judgeRequire, mod, '/tests.js', '/', crucible);
  } catch (e) {
    if (e instanceof WireError) {
      fatal(e.message);
      return;
    }
    bodyOk = false;
    const line = testsLine(e);
    const text = line ? (spec.tests.split('\n')[line - 1] || '').trim().slice(0, 300) : '';
    report({
      t: 'test',
      name: text ? `the tests raised at line ${line}: ${text}` : 'the tests raised',
      ok: false,
      line,
      ...failure(e),
    });
  }
  await nodeTestModule.idle();
  if (whole && bodyOk && !reportedAnyTest()) report({ t: 'test', name: 'the tests ran without error', ok: true });
  const code = process.exitCode;
  if (code !== undefined && code !== 0)
    report({ t: 'test', name: `the tests set process.exitCode = ${String(code)}`, ok: false });
  process.exitCode = 0;
  testsDone = true;
  maybeEnd();
}

let testsDone = false;
function reportedAnyTest() {
  return testLines > 0;
}

/** Ends once the tests finished and the event loop has nothing left of theirs (timers the tests set still run). */
function maybeEnd() {
  if (!testsDone || finished) return;
  // First the candidate's event loop settles (its timers may still call the tests' callbacks), then ours.
  peer.keepAlive = false;
  peer.pendingRemote++;
  peer.refresh();
  peer.onIdle = () => {
    peer.pendingRemote--;
    peer.refresh();
    setImmediate(() => {
      if (finished) return;
      process.once('beforeExit', () => {
        end();
      });
    });
  };
  try {
    peer.send({ k: 'quiesce' });
  } catch (e) {
    /* onEof reported it */
  }
}

// While the tests run, the stream keeps the judge alive: the candidate's asynchronous work may still call back.
peer.startAsync(true);
main().catch((e) => {
  if (e instanceof WireError) fatal(e.message);
  else fatal('the judge failed: ' + (e && e.stack ? String(e.stack).slice(0, 1000) : String(e)), 'judge');
});
void B;
