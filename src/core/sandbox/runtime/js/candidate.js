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
