// @ts-check
// The JavaScript candidate runtime (docs/verdict.md): runs only the candidate's program and serves its names to
// the judge over fd 3. It never sees the tests, and it has no report channel.
//
// Process contract: `node candidate.js`, with rpc.js next to this file.
//   fd 0: the candidate's CommonJS source (already transpiled from TS/ESM), then EOF.
//   fd 3: the RPC stream to the judge (AF_UNIX stream socket); fd 1/2 captured.
// The source runs as a script in this realm with `require`, `module`, `exports` as globals (as the old harness did),
// so its top-level declarations and its module.exports are both its names. Then requests are served until EOF.
'use strict';

const vm = require('vm');
const { Peer, B, topLevelDeclarations, IDENT, RESERVED, readAll, exitNow } = require('./rpc');

const RPC_FD = 3;
const source = readAll(0);
const runScript = vm.Script.prototype.runInThisContext;
const Script = vm.Script;

/** The value of a top-level name: module.exports first, then the script's global bindings. */
function resolveName(/** @type {string} */ name) {
  const m = /** @type {any} */ (globalThis).module;
  const ex = m && (typeof m === 'object' || typeof m === 'function') ? m.exports : undefined;
  if (ex && (typeof ex === 'object' || typeof ex === 'function') && B.getDesc(ex, name))
    return { found: true, value: ex[name] };
  if (!IDENT.test(name) || RESERVED.has(name)) return { found: false };
  try {
    const v = B.apply(runScript, new Script(name, { filename: 'resolve.js' }), []);
    return { found: true, value: v };
  } catch (e) {
    return { found: false };
  }
}

const peer = new Peer({
  fd: RPC_FD,
  side: 'candidate',
  onEof: () => {
    exitNow(0);
  },
  onProtocolError: () => {
    exitNow(70);
  },
  resolveName,
});
peer.startAsync(true);

// The judge's shared state (judge.js sharedState): its environment, and the globals its tests replaced.
/** @type {Map<string, any>} what a replaced global was here before the judge's version went in */
const replaced = new Map();
/** @type {Record<string, [any, string]>} */
const SHARED_GLOBALS = {
  'Math.random': [Math, 'random'],
  'Date.now': [Date, 'now'],
  'console.log': [console, 'log'],
  'console.info': [console, 'info'],
  'console.warn': [console, 'warn'],
  'console.error': [console, 'error'],
  'console.debug': [console, 'debug'],
};
peer.sharedStateIn = (/** @type {any} */ state) => {
  if (state && state.env && typeof state.env === 'object') {
    for (const k of Object.keys(process.env)) if (!(k in state.env)) delete process.env[k];
    for (const [k, v] of Object.entries(state.env)) process.env[k] = String(v);
  }
  const g = state && state.g && typeof state.g === 'object' ? state.g : {};
  for (const name of Object.keys(g)) {
    const where = SHARED_GLOBALS[name];
    if (!where) continue;
    const [o, k] = where;
    if (g[name] === null) {
      if (replaced.has(name)) o[k] = replaced.get(name);
      replaced.delete(name);
      continue;
    }
    if (!replaced.has(name)) replaced.set(name, o[k]);
    o[k] = peer.decode(g[name], []);
  }
};

// Failures of the candidate's own asynchronous code end the run, as they would end `node file.js`.
process.on('uncaughtException', (e) => {
  try {
    peer.send({ k: 'crash', e: peer.encode(e, peer.ctx([]), 0) });
  } catch (x) {
    /* gone */
  }
  exitNow(1);
});

const g = /** @type {any} */ (globalThis);
const mod = { exports: {} };
g.require = require;
g.module = mod;
g.exports = mod.exports;

let loaded = false;
try {
  const script = new Script(source, { filename: 'candidate.js' });
  B.apply(runScript, script, []);
  loaded = true;
} catch (e) {
  peer.send({ k: 'loaderr', e: peer.encode(e, peer.ctx([]), 0) });
}

if (loaded) {
  /** @type {string[]} */
  let names;
  try {
    names = [...topLevelDeclarations(source)].filter((n) => IDENT.test(n) && !RESERVED.has(n));
  } catch (e) {
    names = [];
  }
  const ex = g.module && typeof g.module === 'object' ? g.module.exports : undefined;
  /** @type {any} */
  const msg = { k: 'ready', names, exports: [], esm: false };
  if (typeof ex === 'function') {
    msg.main = peer.encode(ex, peer.ctx([]), 0);
  } else if (ex && typeof ex === 'object') {
    try {
      msg.exports = B.ownKeys(ex).filter((k) => typeof k === 'string' && k !== '__esModule');
      const d = B.getDesc(ex, '__esModule');
      msg.esm = !!(d && ('value' in d ? d.value : true));
    } catch (e) {
      /* a Proxy as exports: names only */
    }
  }
  peer.send(msg);
}
