// @ts-check
// The wire codec and RPC peer shared by the JavaScript judge and candidate runtimes (see docs/verdict.md).
// Runs inside the sandbox with Node built-ins only (no dependencies).
//
// Frames: 4-byte big-endian length, then that many bytes of UTF-8 JSON. Every frame is an object with a kind `k`:
//   {k:'ready', names, exports, main?, esm}      candidate → judge, once its source ran
//   {k:'loaderr', e}                              candidate → judge, its source threw
//   {k:'call', i, f, t, a} {k:'new', i, f, a}     call / construct a handle the receiver owns
//   {k:'get'|'has'|'desc'|'del', i, o, p}  {k:'set', i, o, p, v}  {k:'keys'|'proto'|'inspect', i, o}
//   {k:'resolve', i, n}                           judge → candidate: values of top-level names
//   {k:'ok', i, v, w?} {k:'err', i, e, w?}        the reply to request i (w = write-back of mutated arguments)
//   {k:'settle', p, ok, v, w?}                    a Promise sent earlier as ["P", p] settled
// Values (`enc`): JSON numbers/strings/booleans/null for themselves, everything else a tagged array:
//   ["u"] undefined  ["n","NaN"|"Infinity"|"-Infinity"|"-0"]  ["b",decimal] BigInt  ["Y",...] symbol
//   ["A",ix,[items],extra?,flags?] array (["h"] = hole)  ["O",ix,[[key,v,pflags?]...],flags?] plain object
//   ["M",ix,[[k,v]...]] Map  ["S",ix,[v...]] Set  ["D",ms|"NaN"] Date  ["R",source,flags,lastIndex] RegExp
//   ["T",ix,type,base64] typed array/Buffer  ["AB",ix,base64] ArrayBuffer  ["BX",v] boxed primitive
//   ["E",id,name,message,stack,base,[[key,v]...]] Error (id: the sender's handle, so it can come back as itself)
//   ["H",id,kind,name] a handle the sender owns (kind 'f' function, 'o' object)  ["L",id] a handle the receiver owns
//   ["P",pid] a Promise  ["r",ix] the ix-th container of this message  ["p",ix] the ix-th container of the call's arguments
// Decoding is structural: nothing received is ever evaluated. Depth is bounded (MAX_DEPTH) on both ends.
'use strict';

const fs = require('fs');
const util = require('util');

/** Exits at once, without 'exit' handlers; captured when this file loads, before any candidate code runs. */
const exitNow =
  typeof (/** @type {any} */ (process).reallyExit) === 'function'
    ? /** @type {any} */ (process).reallyExit.bind(process)
    : process.exit.bind(process);

/** Everything readable from `fd` until EOF, as UTF-8 (a non-blocking fd is polled until it has data). */
function readAll(/** @type {number} */ fd) {
  const chunks = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    let n;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      const code = /** @type {any} */ (e).code;
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        continue;
      }
      if (code === 'EOF') break;
      throw e;
    }
    if (n <= 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

const MAX_DEPTH = 200;
const MAX_FRAME = 256 * 1024 * 1024;

// Built-ins captured when this file loads (before any candidate code runs in this process).
const B = {
  apply: Reflect.apply,
  construct: Reflect.construct,
  ownKeys: Reflect.ownKeys,
  getDesc: Object.getOwnPropertyDescriptor,
  defineProperty: Object.defineProperty,
  getProto: Object.getPrototypeOf,
  setProto: Object.setPrototypeOf,
  create: Object.create,
  isExtensible: Object.isExtensible,
  preventExtensions: Object.preventExtensions,
  isArray: Array.isArray,
  is: Object.is,
  ArrayProto: Array.prototype,
  ObjectProto: Object.prototype,
  FunctionProto: Function.prototype,
  MapProto: Map.prototype,
  SetProto: Set.prototype,
  mapForEach: Map.prototype.forEach,
  mapSet: Map.prototype.set,
  mapGet: Map.prototype.get,
  mapHas: Map.prototype.has,
  mapClear: Map.prototype.clear,
  mapSize: /** @type {() => number} */ (
    /** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(Map.prototype, 'size')).get
  ),
  setForEach: Set.prototype.forEach,
  setAdd: Set.prototype.add,
  setClear: Set.prototype.clear,
  setSize: /** @type {() => number} */ (
    /** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(Set.prototype, 'size')).get
  ),
  dateGetTime: Date.prototype.getTime,
  reSource: /** @type {() => string} */ (
    /** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(RegExp.prototype, 'source')).get
  ),
  reFlags: /** @type {() => string} */ (
    /** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(RegExp.prototype, 'flags')).get
  ),
  typedArrayProto: Object.getPrototypeOf(Uint8Array.prototype),
  taBuffer: /** @type {() => ArrayBuffer} */ (
    /** @type {PropertyDescriptor} */ (
      Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'buffer')
    ).get
  ),
  taByteOffset: /** @type {() => number} */ (
    /** @type {PropertyDescriptor} */ (
      Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'byteOffset')
    ).get
  ),
  taByteLength: /** @type {() => number} */ (
    /** @type {PropertyDescriptor} */ (
      Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'byteLength')
    ).get
  ),
  abByteLength: /** @type {() => number} */ (
    /** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')).get
  ),
  abSlice: ArrayBuffer.prototype.slice,
  promiseThen: Promise.prototype.then,
  bigToString: BigInt.prototype.toString,
  symToString: Symbol.prototype.toString,
  symDesc: /** @type {() => string | undefined} */ (
    /** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(Symbol.prototype, 'description')).get
  ),
  symKeyFor: Symbol.keyFor,
  numValueOf: Number.prototype.valueOf,
  strValueOf: String.prototype.valueOf,
  boolValueOf: Boolean.prototype.valueOf,
  bigValueOf: BigInt.prototype.valueOf,
  symValueOf: Symbol.prototype.valueOf,
  jsonStringify: JSON.stringify,
  jsonParse: JSON.parse,
  String,
  Number,
  BigInt,
  Symbol,
  Map,
  Set,
  Date,
  RegExp,
  Error,
  Promise,
  Proxy,
  Buffer,
  ArrayBuffer,
  bufFrom: Buffer.from,
  bufAlloc: Buffer.alloc,
  bufConcat: Buffer.concat,
  bufToString: Buffer.prototype.toString,
  readSync: fs.readSync,
  writeSync: fs.writeSync,
  arrPush: Array.prototype.push,
  arrPop: Array.prototype.pop,
  isProxy: util.types.isProxy,
  isMap: util.types.isMap,
  isSet: util.types.isSet,
  isDate: util.types.isDate,
  isRegExp: util.types.isRegExp,
  isTypedArray: util.types.isTypedArray,
  isArrayBuffer: util.types.isArrayBuffer,
  isPromise: util.types.isPromise,
  isNativeError: util.types.isNativeError,
  isBoxed: util.types.isBoxedPrimitive,
  isNumberObject: util.types.isNumberObject,
  isStringObject: util.types.isStringObject,
  isBooleanObject: util.types.isBooleanObject,
  isBigIntObject: util.types.isBigIntObject,
  isSymbolObject: util.types.isSymbolObject,
  isGeneratorObject: util.types.isGeneratorObject,
  inspect: util.inspect,
  sab: new Int32Array(new SharedArrayBuffer(4)),
  atomicsWait: Atomics.wait,
  hrtime: process.hrtime,
};

/** @type {{[name: string]: any}} */
const ERROR_TYPES = { Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError };
const ERROR_PROTOS = new Map(Object.keys(ERROR_TYPES).map((n) => [ERROR_TYPES[n].prototype, n]));
/** @type {{[name: string]: any}} */
const TYPED = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  Buffer,
};
const TYPED_PROTOS = new Map(Object.keys(TYPED).map((n) => [TYPED[n].prototype, n]));
const WELL_KNOWN = new Map(
  [
    'iterator',
    'asyncIterator',
    'hasInstance',
    'isConcatSpreadable',
    'match',
    'matchAll',
    'replace',
    'search',
    'species',
    'split',
    'toPrimitive',
    'toStringTag',
    'unscopables',
  ].map((n) => [/** @type {any} */ (Symbol)[n], n]),
);

/** An error whose message is meant for the user (depth, size, protocol). */
class WireError extends Error {}

/** @param {any} v */
function isObj(v) {
  return v !== null && (typeof v === 'object' || typeof v === 'function');
}

/** @param {any[]} a @param {any} x */
function push(a, x) {
  B.apply(B.arrPush, a, [x]);
}

/** Name of the function or of the constructor of an object, read through descriptors only. */
function nameOf(/** @type {any} */ v) {
  try {
    if (B.isProxy(v)) return typeof v === 'function' ? 'Function' : 'Object';
    if (typeof v === 'function') {
      const d = B.getDesc(v, 'name');
      return d && typeof d.value === 'string' ? d.value : '';
    }
    for (let p = B.getProto(v), k = 0; p && k < 64; p = B.getProto(p), k++) {
      if (B.isProxy(p)) return 'Object';
      const d = B.getDesc(p, 'constructor');
      if (d && 'value' in d && typeof d.value === 'function' && !B.isProxy(d.value)) {
        const nd = B.getDesc(d.value, 'name');
        return nd && typeof nd.value === 'string' ? nd.value : 'Object';
      }
    }
  } catch (e) {
    /* fall through */
  }
  return 'Object';
}

/** Reads a data property along the prototype chain without running getters or traps. */
function dataProp(/** @type {any} */ v, /** @type {string} */ key) {
  for (let p = v, k = 0; p && k < 64; p = B.getProto(p), k++) {
    if (B.isProxy(p)) return undefined;
    const d = B.getDesc(p, key);
    if (d) return 'value' in d ? d.value : undefined;
  }
  return undefined;
}

/** Base64 of bytes. */
function b64(/** @type {ArrayBuffer} */ buf, /** @type {number} */ off, /** @type {number} */ len) {
  return B.apply(B.bufToString, B.bufFrom(buf, off, len), ['base64']);
}

/**
 * One end of the RPC stream. `side` is 'judge' or 'candidate'; the judge applies stricter rules to what it serves
 * (own data properties of its objects only) and to what it accepts.
 */
class Peer {
  /**
   * @param {{fd: number, side: 'judge'|'candidate', onEof: () => void, onProtocolError: (msg: string) => void,
   *   resolveName?: (name: string) => {found: boolean, value?: any}, coercible?: (name: string) => boolean}} opts
   */
  constructor(opts) {
    this.fd = opts.fd;
    this.side = opts.side;
    this.onEof = opts.onEof;
    this.onProtocolError = opts.onProtocolError;
    this.resolveName = opts.resolveName;
    this.coercible = opts.coercible || (() => false);
    /** @type {Map<number, any>} handles I own: id -> object */
    this.local = new Map();
    /** @type {Map<any, number>} */
    this.localIds = new Map();
    this.nextLocal = 1;
    /** @type {Map<number, any>} proxies of handles the peer owns */
    this.remote = new Map();
    /** @type {WeakMap<object, number>} proxy (or error copy) -> the peer's id */
    this.remoteIds = new WeakMap();
    /** @type {Map<number, {resolve: (v: any) => void, reject: (e: any) => void, known: any[]}>} */
    this.waiting = new Map();
    this.nextPromise = 1;
    /** @type {Map<symbol, number>} */
    this.symIds = new Map();
    /** @type {Map<number, symbol>} */
    this.symLocal = new Map();
    /** @type {Map<number, symbol>} */
    this.symRemote = new Map();
    /** @type {Map<symbol, number>} */
    this.symRemoteIds = new Map();
    this.nextReq = 1;
    /** @type {Buffer} */
    this.inbuf = B.bufAlloc(0);
    this.chunk = B.bufAlloc(65536);
    this.closed = false;
    /** @type {any} */
    this.socket = null;
    /** @type {((msg: any) => void) | null} */
    this.onUnexpected = null;
    /** pending remote promises: while > 0 the event loop must stay alive for the socket */
    this.pendingRemote = 0;
    this.drainScheduled = false;
    /** @type {(() => void) | null} */
    this.onIdle = null;
    /** Judge: the process-wide state the tests changed since the last request (see judge.js sharedState). */
    /** @type {(() => any) | null} */
    this.sharedStateOut = null;
    /** Candidate: applies that state before serving the request it came with. */
    /** @type {((state: any) => void) | null} */
    this.sharedStateIn = null;
  }

  /** Starts reading asynchronously (the event loop delivers frames while no synchronous call waits). */
  startAsync(/** @type {boolean} */ keepAlive) {
    const net = require('net');
    const s = new net.Socket({ fd: this.fd, readable: true, writable: false });
    this.socket = s;
    s.on('data', (/** @type {Buffer} */ d) => {
      this.inbuf = this.inbuf.length ? B.bufConcat([this.inbuf, d]) : d;
      this.drain();
    });
    s.on('end', () => {
      this.closed = true;
      this.onEof();
    });
    s.on('error', () => {
      this.closed = true;
      this.onEof();
    });
    this.keepAlive = keepAlive;
    if (!keepAlive) s.unref();
  }

  refresh() {
    if (!this.socket || this.keepAlive) return;
    if (this.pendingRemote > 0) this.socket.ref();
    else this.socket.unref();
  }

  whenIdle(/** @type {() => void} */ done) {
    let quiet = 0;
    const check = () => {
      const busy = process
        .getActiveResourcesInfo()
        .filter((r) => r !== 'PipeWrap' && r !== 'TTYWrap' && r !== 'Immediate' && r !== 'TCPSocketWrap');
      // Two quiet checks in a row (a settled promise may schedule more work between them).
      if (busy.length === 0 && this.inbuf.length === 0) {
        if (++quiet >= 2) {
          done();
          return;
        }
      } else quiet = 0;
      // Checked from an Immediate: inside a timer callback the timer itself still counts as active.
      if (busy.length) setTimeout(() => setImmediate(check), 1);
      else setImmediate(check);
    };
    setImmediate(check);
  }

  scheduleDrain() {
    if (this.drainScheduled || this.inbuf.length === 0) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  /** Dispatches every complete frame in the input buffer (asynchronous mode). */
  drain() {
    for (;;) {
      const msg = this.takeFrame();
      if (msg === undefined) return;
      this.dispatch(msg, -1);
    }
  }

  /** @returns {any} a parsed frame from the input buffer, or undefined when none is complete. */
  takeFrame() {
    if (this.inbuf.length < 4) return undefined;
    const len = this.inbuf.readUInt32BE(0);
    if (len > MAX_FRAME) {
      this.onProtocolError('a frame larger than the limit');
      return undefined;
    }
    if (this.inbuf.length < 4 + len) return undefined;
    const body = B.apply(B.bufToString, this.inbuf, ['utf8', 4, 4 + len]);
    this.inbuf = this.inbuf.subarray(4 + len);
    let msg;
    try {
      msg = B.jsonParse(body);
    } catch (e) {
      this.onProtocolError('a frame that is not JSON');
      return undefined;
    }
    if (!isObj(msg) || typeof msg.k !== 'string') {
      this.onProtocolError('a frame without a kind');
      return undefined;
    }
    if (process.env.CRUCIBLE_RPC_DEBUG) process.stderr.write(this.side + ' < ' + body.slice(0, 200) + '\n');
    return msg;
  }

  /** Reads at least one more chunk synchronously (fd may be non-blocking: back off on EAGAIN). */
  readMore() {
    let spins = 0;
    for (;;) {
      let n;
      try {
        n = B.readSync(this.fd, this.chunk, 0, this.chunk.length, null);
      } catch (e) {
        const code = /** @type {any} */ (e).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          spins++;
          if (spins > 200) B.atomicsWait(B.sab, 0, 0, spins > 2000 ? 2 : spins > 1000 ? 0.5 : 0.05);
          continue;
        }
        if (code === 'EINTR') continue;
        n = 0;
      }
      if (n <= 0) {
        this.closed = true;
        this.onEof();
        throw new WireError('the other process is gone');
      }
      const got = B.bufFrom(this.chunk.subarray(0, n));
      this.inbuf = this.inbuf.length ? B.bufConcat([this.inbuf, got]) : got;
      return;
    }
  }

  /** Writes one frame (blocking; while the peer's buffer is full, reads what it sends so neither side deadlocks). */
  send(/** @type {any} */ msg) {
    if (process.env.CRUCIBLE_RPC_DEBUG)
      process.stderr.write(this.side + ' > ' + JSON.stringify(msg).slice(0, 200) + '\n');
    const body = B.bufFrom(B.jsonStringify(msg), 'utf8');
    if (body.length > MAX_FRAME) throw new WireError('a value larger than the limit');
    const head = B.bufAlloc(4);
    head.writeUInt32BE(body.length, 0);
    let data = B.bufConcat([head, body]);
    let spins = 0;
    while (data.length) {
      let n;
      try {
        n = B.writeSync(this.fd, data);
      } catch (e) {
        const code = /** @type {any} */ (e).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          // Drain what the peer sends meanwhile (kept in inbuf for later), then retry.
          try {
            const r = B.readSync(this.fd, this.chunk, 0, this.chunk.length, null);
            if (r > 0) {
              const got = B.bufFrom(this.chunk.subarray(0, r));
              this.inbuf = B.bufConcat([this.inbuf, got]);
              this.scheduleDrain();
              continue;
            }
          } catch (e2) {
            /* nothing to read */
          }
          spins++;
          if (spins > 200) B.atomicsWait(B.sab, 0, 0, 0.2);
          continue;
        }
        if (code === 'EINTR') continue;
        this.closed = true;
        this.onEof();
        throw new WireError('the other process is gone');
      }
      data = data.subarray(n);
    }
  }

  /** A synchronous request: sends it, serves nested requests, returns the reply's value or throws its error. */
  request(/** @type {any} */ msg, /** @type {any[]} */ known = []) {
    if (this.closed) {
      this.onEof();
      throw new WireError('the other process is gone');
    }
    const id = this.nextReq++;
    msg.i = id;
    if (this.sharedStateOut) {
      const s = this.sharedStateOut();
      if (s) msg.s = s;
    }
    this.send(msg);
    for (;;) {
      let reply = this.takeFrame();
      while (reply === undefined) {
        this.readMore();
        reply = this.takeFrame();
      }
      if ((reply.k === 'ok' || reply.k === 'err') && reply.i === id) {
        // Frames that arrived with the reply (a settle, a request) are served once this synchronous call is over.
        this.scheduleDrain();
        if (reply.w !== undefined) this.writeBack(reply.w, known);
        if (reply.k === 'ok') return this.decode(reply.v, known);
        throw this.decode(reply.e, known);
      }
      this.dispatch(reply, id);
    }
  }

  /** Handles one incoming frame that is not the reply we wait for. */
  dispatch(/** @type {any} */ msg, /** @type {number} */ waitingFor) {
    switch (msg.k) {
      case 'settle': {
        const w = this.waiting.get(msg.p);
        if (!w) {
          this.onProtocolError('a settle for an unknown promise');
          return;
        }
        this.waiting.delete(msg.p);
        this.pendingRemote--;
        this.refresh();
        try {
          if (msg.w !== undefined) this.writeBack(msg.w, w.known);
          const v = this.decode(msg.v, w.known);
          if (msg.ok === true) w.resolve(v);
          else w.reject(v);
        } catch (e) {
          w.reject(e);
        }
        return;
      }
      case 'quiesce':
        // judge → candidate: tell me when your event loop has nothing left but this stream (timers, I/O, promises
        // the program started may still call back into the tests, as they would in one process).
        if (this.side === 'candidate')
          this.whenIdle(() => {
            try {
              this.send({ k: 'idle' });
            } catch (e) {
              /* gone */
            }
          });
        else this.onProtocolError('an unexpected quiesce');
        return;
      case 'idle':
        if (this.side === 'judge' && this.onIdle) {
          const f = this.onIdle;
          this.onIdle = null;
          f();
        } else this.onProtocolError('an unexpected idle');
        return;
      case 'ok':
      case 'err':
        this.onProtocolError(waitingFor < 0 ? 'a reply nobody asked for' : 'a reply out of order');
        return;
      default:
        if (this.onUnexpected && (msg.k === 'ready' || msg.k === 'loaderr' || msg.k === 'crash')) {
          this.onUnexpected(msg);
          return;
        }
        this.serve(msg);
    }
  }

  /** Serves a request from the peer and sends the reply. */
  serve(/** @type {any} */ msg) {
    const id = msg.i;
    if (typeof id !== 'number') {
      this.onProtocolError('a request without an id');
      return;
    }
    /** @type {any[]} */
    const known = [];
    let result;
    let ok = true;
    try {
      if (msg.s !== undefined && this.sharedStateIn) this.sharedStateIn(msg.s);
      result = this.perform(msg, known);
    } catch (e) {
      if (e instanceof WireError && this.closed) throw e;
      ok = false;
      result = e;
    }
    let reply;
    try {
      const ctx = this.ctx(known);
      const v = this.encode(result, ctx, 0);
      reply = ok ? { k: 'ok', i: id, v } : { k: 'err', i: id, e: v };
      const w = this.collectWriteBack(known, ctx);
      if (w) /** @type {any} */ (reply).w = w;
      if (B.isPromise(result) && ok) {
        /* promise already registered by encode */
      }
    } catch (e) {
      reply = {
        k: 'err',
        i: id,
        e: this.encode(e instanceof Error ? e : new Error('the value cannot be sent'), this.ctx([]), 0),
      };
    }
    this.send(reply);
  }

  /** What a request does on the serving side. */
  perform(/** @type {any} */ msg, /** @type {any[]} */ known) {
    const judge = this.side === 'judge';
    switch (msg.k) {
      case 'call': {
        const f = this.decodeLocal(msg.f);
        const self = this.decode(msg.t, []);
        const args = this.decodeArgs(msg.a, known);
        if (typeof f !== 'function') throw new TypeError('not a function');
        return B.apply(f, self, args);
      }
      case 'new': {
        const f = this.decodeLocal(msg.f);
        const args = this.decodeArgs(msg.a, known);
        if (typeof f !== 'function') throw new TypeError('not a constructor');
        return B.construct(f, args);
      }
      case 'get': {
        const o = this.decodeLocal(msg.o);
        const key = this.decodeKey(msg.p);
        if (judge) return ownData(o, key);
        return o[key];
      }
      case 'set': {
        const o = this.decodeLocal(msg.o);
        if (judge) throw new TypeError("the judge's objects are read-only to the candidate");
        o[this.decodeKey(msg.p)] = this.decode(msg.v, []);
        return true;
      }
      case 'del': {
        const o = this.decodeLocal(msg.o);
        if (judge) throw new TypeError("the judge's objects are read-only to the candidate");
        return delete o[this.decodeKey(msg.p)];
      }
      case 'has': {
        const o = this.decodeLocal(msg.o);
        const key = this.decodeKey(msg.p);
        if (judge) return B.getDesc(o, key) !== undefined;
        return key in o;
      }
      case 'keys': {
        const o = this.decodeLocal(msg.o);
        const keys = B.ownKeys(o);
        const out = [];
        for (let k = 0; k < keys.length; k++) push(out, this.encodeKey(keys[k]));
        return new WireKeys(out);
      }
      case 'desc': {
        const o = this.decodeLocal(msg.o);
        const key = this.decodeKey(msg.p);
        const d = B.getDesc(o, key);
        if (!d) return undefined;
        if (judge && !('value' in d)) return [d.enumerable === true, undefined, true];
        // [enumerable, value, writable]
        return [d.enumerable === true, 'value' in d ? d.value : o[key], d.writable !== false];
      }
      case 'proto': {
        const o = this.decodeLocal(msg.o);
        if (judge) return null;
        return B.getProto(o);
      }
      case 'inspect': {
        const o = this.decodeLocal(msg.o);
        if (judge) return '[judge object]';
        return B.inspect(o, { depth: 2, breakLength: Infinity, maxArrayLength: 20, maxStringLength: 200 });
      }
      case 'resolve': {
        if (judge || !this.resolveName) throw new TypeError('resolve is not served here');
        const names = msg.n;
        const out = [];
        for (let k = 0; k < names.length; k++) {
          const r = this.resolveName(String(names[k]));
          push(out, r.found ? [true, r.value] : [false]);
        }
        return out;
      }
      default:
        this.onProtocolError('an unknown request ' + String(msg.k).slice(0, 20));
        return undefined;
    }
  }

  decodeLocal(/** @type {any} */ e) {
    if (!B.isArray(e) || e[0] !== 'L' || !this.local.has(e[1])) throw new TypeError('no such object');
    return this.local.get(e[1]);
  }

  /** @returns {any[]} */
  decodeArgs(/** @type {any} */ a, /** @type {any[]} */ known) {
    if (!B.isArray(a)) throw new TypeError('bad arguments');
    const ctx = this.dctx(known, true);
    const out = [];
    for (let k = 0; k < a.length; k++) push(out, this.dec(a[k], ctx, 0));
    // Snapshot of each container as it arrived, to send back only what the call changed.
    /** @type {any} */ (known).snap = known.map((c) => shallow(c));
    return out;
  }

  // ───────── encoding

  /** @param {any[]} known containers of the current call's arguments (they encode as ["p", ix]) */
  ctx(known) {
    const km = new Map();
    for (let k = 0; k < known.length; k++) km.set(known[k], k);
    return { seen: new Map(), n: 0, known: km, table: /** @type {any[]} */ ([]), budget: { n: 0 } };
  }

  encodeKey(/** @type {string | symbol} */ key) {
    return typeof key === 'symbol' ? this.encSymbol(key) : key;
  }

  encSymbol(/** @type {symbol} */ s) {
    const wk = WELL_KNOWN.get(s);
    if (wk) return ['Y', 'w', wk];
    const reg = B.symKeyFor(s);
    if (reg !== undefined) return ['Y', 'r', reg];
    const rid = this.symRemoteIds.get(s);
    if (rid !== undefined) return ['Y', 'l', rid];
    let id = this.symIds.get(s);
    if (id === undefined) {
      id = this.symIds.size + 1;
      this.symIds.set(s, id);
      this.symLocal.set(id, s);
    }
    const desc = B.apply(B.symDesc, s, []);
    return ['Y', 'h', id, desc === undefined ? null : desc];
  }

  /** Encodes one value; `ctx` carries the containers of this message. */
  encode(/** @type {any} */ v, /** @type {any} */ ctx, /** @type {number} */ depth) {
    if (++ctx.budget.n > 5000000)
      throw new RangeError('the value is too large to send between the judge and the candidate');
    switch (typeof v) {
      case 'undefined':
        return ['u'];
      case 'boolean':
      case 'string':
        return v;
      case 'number':
        if (v !== v) return ['n', 'NaN'];
        if (v === Infinity) return ['n', 'Infinity'];
        if (v === -Infinity) return ['n', '-Infinity'];
        if (v === 0 && 1 / v < 0) return ['n', '-0'];
        return v;
      case 'bigint':
        return ['b', B.apply(B.bigToString, v, [10])];
      case 'symbol':
        return this.encSymbol(v);
      default:
        break;
    }
    if (v === null) return null;
    if (depth > MAX_DEPTH)
      throw new RangeError(
        'a value nested deeper than ' + MAX_DEPTH + ' levels cannot be sent between the judge and the candidate',
      );
    const rid = this.remoteIds.get(v);
    if (rid !== undefined) return ['L', rid];
    const kix = ctx.known.get(v);
    if (kix !== undefined) return ['p', kix];
    const six = ctx.seen.get(v);
    if (six !== undefined) return ['r', six];
    if (v instanceof WireKeys) return ['K', v.keys];
    if (typeof v === 'function' || B.isProxy(v)) return this.handle(v);
    if (B.isPromise(v)) return this.encPromise(v, ctx);
    const proto = B.getProto(v);
    if (B.isArray(v)) {
      if (proto !== B.ArrayProto) return this.handle(v);
      const ix = this.reg(v, ctx);
      const len = /** @type {PropertyDescriptor} */ (B.getDesc(v, 'length')).value;
      const items = [];
      const keys = B.ownKeys(v);
      if (keys.length - 1 > len) {
        // something besides indices: extra properties
      }
      for (let k = 0; k < len; k++) {
        const d = B.getDesc(v, B.String(k));
        if (d === undefined) {
          push(items, ['h']);
          continue;
        }
        if (!('value' in d)) {
          ctx.seen.delete(v);
          return this.handle(v);
        }
        push(items, this.encode(d.value, ctx, depth + 1));
      }
      const out = ['A', ix, items];
      const extra = [];
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k];
        if (key === 'length' || (typeof key === 'string' && isIndex(key, len))) continue;
        const d = /** @type {PropertyDescriptor} */ (B.getDesc(v, key));
        if (!('value' in d)) {
          ctx.seen.delete(v);
          return this.handle(v);
        }
        push(extra, [this.encodeKey(key), this.encode(d.value, ctx, depth + 1), pflags(d)]);
      }
      const f = oflags(v);
      if (extra.length || f) push(out, extra);
      if (f) push(out, f);
      return out;
    }
    if (proto === B.ObjectProto || proto === null) {
      const keys = B.ownKeys(v);
      // A plain object with accessors or methods travels as a handle: its behaviour stays in its own process.
      for (let k = 0; k < keys.length; k++) {
        const d = /** @type {PropertyDescriptor} */ (B.getDesc(v, keys[k]));
        if (!('value' in d) || typeof d.value === 'function') return this.handle(v);
      }
      const ix = this.reg(v, ctx);
      const props = [];
      for (let k = 0; k < keys.length; k++) {
        const d = /** @type {PropertyDescriptor} */ (B.getDesc(v, keys[k]));
        const f = pflags(d);
        const e = [this.encodeKey(keys[k]), this.encode(d.value, ctx, depth + 1)];
        if (f) push(e, f);
        push(props, e);
      }
      const f = (proto === null ? 1 : 0) | oflags(v);
      return f ? ['O', ix, props, f] : ['O', ix, props];
    }
    if (B.isMap(v) && proto === B.MapProto) {
      const ix = this.reg(v, ctx);
      const out = [];
      B.apply(B.mapForEach, v, [
        (/** @type {any} */ val, /** @type {any} */ key) => {
          push(out, [this.encode(key, ctx, depth + 1), this.encode(val, ctx, depth + 1)]);
        },
      ]);
      return ['M', ix, out];
    }
    if (B.isSet(v) && proto === B.SetProto) {
      const ix = this.reg(v, ctx);
      const out = [];
      B.apply(B.setForEach, v, [
        (/** @type {any} */ val) => {
          push(out, this.encode(val, ctx, depth + 1));
        },
      ]);
      return ['S', ix, out];
    }
    if (B.isDate(v) && proto === B.Date.prototype) {
      const t = B.apply(B.dateGetTime, v, []);
      return ['D', t !== t ? 'NaN' : t];
    }
    if (B.isRegExp(v) && proto === B.RegExp.prototype) {
      const li = B.getDesc(v, 'lastIndex');
      return [
        'R',
        B.apply(B.reSource, v, []),
        B.apply(B.reFlags, v, []),
        li && typeof li.value === 'number' ? li.value : 0,
      ];
    }
    if (B.isTypedArray(v)) {
      const tn = TYPED_PROTOS.get(proto);
      if (tn && B.ownKeys(v).length === /** @type {any} */ (v).length) {
        const ix = this.reg(v, ctx);
        return [
          'T',
          ix,
          tn,
          b64(B.apply(B.taBuffer, v, []), B.apply(B.taByteOffset, v, []), B.apply(B.taByteLength, v, [])),
        ];
      }
      return this.handle(v);
    }
    if (B.isArrayBuffer(v) && proto === B.ArrayBuffer.prototype) {
      const ix = this.reg(v, ctx);
      return ['AB', ix, b64(v, 0, B.apply(B.abByteLength, v, []))];
    }
    if (B.isBoxed(v)) {
      if (B.isNumberObject(v)) return ['BX', this.encode(B.apply(B.numValueOf, v, []), ctx, depth + 1)];
      if (B.isStringObject(v)) return ['BX', B.apply(B.strValueOf, v, [])];
      if (B.isBooleanObject(v)) return ['BX', B.apply(B.boolValueOf, v, [])];
      if (B.isBigIntObject(v)) return ['BX', this.encode(B.apply(B.bigValueOf, v, []), ctx, depth + 1)];
      return this.handle(v);
    }
    if (B.isNativeError(v) || errorBase(v)) {
      const base = errorBase(v) || 'Error';
      const name = dataProp(v, 'name');
      const md = B.getDesc(v, 'message');
      const sd = B.getDesc(v, 'stack');
      const props = [];
      const keys = B.ownKeys(v);
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k];
        if (typeof key !== 'string' || key === 'message' || key === 'stack') continue;
        const d = /** @type {PropertyDescriptor} */ (B.getDesc(v, key));
        if (!('value' in d)) continue;
        if (!d.enumerable && key !== 'cause' && key !== 'errors' && key !== 'name') continue;
        let ev;
        try {
          ev = this.encode(d.value, ctx, depth + 1);
        } catch (e) {
          continue;
        }
        push(props, [key, ev, d.enumerable ? 0 : 1]);
      }
      return [
        'E',
        this.handleId(v),
        typeof name === 'string' ? name : base,
        md && typeof md.value === 'string' ? md.value : '',
        sd && typeof sd.value === 'string' ? sd.value.slice(0, 4000) : '',
        base,
        props,
      ];
    }
    return this.handle(v);
  }

  reg(/** @type {any} */ v, /** @type {any} */ ctx) {
    const ix = ctx.n++;
    ctx.seen.set(v, ix);
    push(ctx.table, v);
    return ix;
  }

  handleId(/** @type {any} */ v) {
    let id = this.localIds.get(v);
    if (id === undefined) {
      id = this.nextLocal++;
      this.localIds.set(v, id);
      this.local.set(id, v);
    }
    return id;
  }

  handle(/** @type {any} */ v) {
    const id = this.handleId(v);
    const kind = typeof v === 'function' ? 'f' : 'o';
    return ['H', id, kind, nameOf(v)];
  }

  encPromise(/** @type {any} */ p, /** @type {any} */ ctx) {
    const pid = this.nextPromise++;
    const known = ctx.known.size ? [...ctx.known.keys()] : [];
    /** @type {any} */ (known).snap = known.map((c) => shallow(c));
    const settle = (/** @type {boolean} */ ok, /** @type {any} */ v) => {
      if (this.closed) return;
      let msg;
      try {
        const c = this.ctx(known);
        msg = { k: 'settle', p: pid, ok, v: this.encode(v, c, 0) };
        const w = this.collectWriteBack(known, c);
        if (w) /** @type {any} */ (msg).w = w;
      } catch (e) {
        msg = {
          k: 'settle',
          p: pid,
          ok: false,
          v: this.encode(e instanceof Error ? e : new Error('the value cannot be sent'), this.ctx([]), 0),
        };
      }
      try {
        this.send(msg);
      } catch (e) {
        /* peer gone */
      }
    };
    B.apply(B.promiseThen, p, [(/** @type {any} */ v) => settle(true, v), (/** @type {any} */ e) => settle(false, e)]);
    return ['P', pid];
  }

  // ───────── write-back of mutated arguments

  /** @returns {any[] | undefined} [[ix, enc], ...] for every argument container the call changed */
  collectWriteBack(/** @type {any[]} */ known, /** @type {any} */ ctx) {
    const snap = /** @type {any} */ (known).snap;
    if (!known.length || !snap) return undefined;
    const out = [];
    for (let k = 0; k < known.length; k++) {
      const c = known[k];
      if (sameShallow(snap[k], shallow(c))) continue;
      push(out, [k, this.encodeContents(c, ctx)]);
    }
    return out.length ? out : undefined;
  }

  /** The current contents of an argument container (its children encode normally, known ones as ["p", ix]). */
  encodeContents(/** @type {any} */ c, /** @type {any} */ ctx) {
    if (B.isArray(c)) {
      const len = /** @type {PropertyDescriptor} */ (B.getDesc(c, 'length')).value;
      const items = [];
      for (let k = 0; k < len; k++) {
        const d = B.getDesc(c, B.String(k));
        push(items, d === undefined ? ['h'] : this.encode('value' in d ? d.value : undefined, ctx, 1));
      }
      return ['A', items];
    }
    if (B.isMap(c)) {
      const out = [];
      B.apply(B.mapForEach, c, [
        (/** @type {any} */ val, /** @type {any} */ key) => {
          push(out, [this.encode(key, ctx, 1), this.encode(val, ctx, 1)]);
        },
      ]);
      return ['M', out];
    }
    if (B.isSet(c)) {
      const out = [];
      B.apply(B.setForEach, c, [
        (/** @type {any} */ val) => {
          push(out, this.encode(val, ctx, 1));
        },
      ]);
      return ['S', out];
    }
    if (B.isTypedArray(c))
      return ['T', b64(B.apply(B.taBuffer, c, []), B.apply(B.taByteOffset, c, []), B.apply(B.taByteLength, c, []))];
    const props = [];
    const keys = B.ownKeys(c);
    for (let k = 0; k < keys.length; k++) {
      const d = /** @type {PropertyDescriptor} */ (B.getDesc(c, keys[k]));
      push(props, [this.encodeKey(keys[k]), this.encode('value' in d ? d.value : undefined, ctx, 1), pflags(d)]);
    }
    return ['O', props];
  }

  /** Applies a write-back to our own argument containers, in place. */
  writeBack(/** @type {any} */ w, /** @type {any[]} */ known) {
    if (!B.isArray(w)) throw new WireError('bad write-back');
    const ctx = this.dctx(known, false);
    for (let k = 0; k < w.length; k++) {
      const entry = w[k];
      if (!B.isArray(entry) || typeof entry[0] !== 'number' || !B.isArray(entry[1]))
        throw new WireError('bad write-back');
      const c = known[entry[0]];
      if (c === undefined) throw new WireError('write-back to an unknown argument');
      const body = entry[1];
      try {
        if (body[0] === 'A' && B.isArray(c) && B.isArray(body[1])) {
          const items = body[1].map((/** @type {any} */ x) =>
            B.isArray(x) && x[0] === 'h' ? HOLE : this.dec(x, ctx, 1),
          );
          c.length = items.length;
          for (let j = 0; j < items.length; j++) {
            if (items[j] === HOLE) delete c[j];
            else if (!B.is(c[j], items[j]) || !(j in c)) c[j] = items[j];
          }
        } else if (body[0] === 'M' && B.isMap(c) && B.isArray(body[1])) {
          const pairs = body[1].map((/** @type {any} */ p) => [this.dec(p[0], ctx, 1), this.dec(p[1], ctx, 1)]);
          B.apply(B.mapClear, c, []);
          for (const [kk, vv] of pairs) B.apply(B.mapSet, c, [kk, vv]);
        } else if (body[0] === 'S' && B.isSet(c) && B.isArray(body[1])) {
          const vals = body[1].map((/** @type {any} */ x) => this.dec(x, ctx, 1));
          B.apply(B.setClear, c, []);
          for (const vv of vals) B.apply(B.setAdd, c, [vv]);
        } else if (body[0] === 'T' && B.isTypedArray(c) && typeof body[1] === 'string') {
          const bytes = B.bufFrom(body[1], 'base64');
          const view = new Uint8Array(
            B.apply(B.taBuffer, c, []),
            B.apply(B.taByteOffset, c, []),
            B.apply(B.taByteLength, c, []),
          );
          view.set(bytes.subarray(0, view.length));
        } else if (body[0] === 'O' && B.isArray(body[1])) {
          const seen = new Set();
          for (const p of body[1]) {
            const key = this.decodeKey(p[0]);
            seen.add(key);
            const val = this.dec(p[1], ctx, 1);
            const d = B.getDesc(c, key);
            if (!d || !('value' in d) || !B.is(d.value, val)) {
              if (this.side === 'judge' && d === undefined && key === '__proto__')
                B.defineProperty(c, key, { value: val, writable: true, enumerable: true, configurable: true });
              else c[key] = val;
            }
          }
          for (const key of B.ownKeys(c)) if (!seen.has(key)) delete c[key];
        }
      } catch (e) {
        /* a frozen argument: leave it as it is */
      }
    }
  }

  // ───────── decoding

  dctx(/** @type {any[]} */ known, /** @type {boolean} */ collect) {
    return { table: /** @type {any[]} */ ([]), known, collect };
  }

  decode(/** @type {any} */ e, /** @type {any[]} */ known) {
    return this.dec(e, this.dctx(known, false), 0);
  }

  decodeKey(/** @type {any} */ k) {
    if (typeof k === 'string') return k;
    if (B.isArray(k) && k[0] === 'Y') return this.decSymbol(k);
    throw new WireError('bad property key');
  }

  decSymbol(/** @type {any[]} */ e) {
    switch (e[1]) {
      case 'w': {
        for (const [s, n] of WELL_KNOWN) if (n === e[2]) return s;
        throw new WireError('bad symbol');
      }
      case 'r':
        return B.Symbol.for(B.String(e[2]));
      case 'l': {
        const s = this.symLocal.get(e[2]);
        if (!s) throw new WireError('bad symbol');
        return s;
      }
      case 'h': {
        let s = this.symRemote.get(e[2]);
        if (!s) {
          s = B.Symbol(typeof e[3] === 'string' ? e[3] : undefined);
          this.symRemote.set(e[2], s);
          this.symRemoteIds.set(s, e[2]);
        }
        return s;
      }
      default:
        throw new WireError('bad symbol');
    }
  }

  /** Structural decoding; `ctx.collect` records argument containers (for write-back) in `ctx.known`. */
  dec(/** @type {any} */ e, /** @type {any} */ ctx, /** @type {number} */ depth) {
    if (e === null || typeof e === 'string' || typeof e === 'boolean' || typeof e === 'number') return e;
    if (!B.isArray(e) || typeof e[0] !== 'string') throw new WireError('bad value');
    if (depth > MAX_DEPTH + 2)
      throw new RangeError('a value nested deeper than ' + MAX_DEPTH + ' levels cannot be received');
    const tag = e[0];
    switch (tag) {
      case 'u':
        return undefined;
      case 'n': {
        const m = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 }[/** @type {'NaN'} */ (e[1])];
        if (m === undefined) throw new WireError('bad number');
        return m;
      }
      case 'b':
        if (typeof e[1] !== 'string' || !/^-?\d+$/.test(e[1])) throw new WireError('bad bigint');
        return B.BigInt(e[1]);
      case 'Y':
        return this.decSymbol(e);
      case 'h':
        throw new WireError('a hole outside an array');
      case 'r': {
        const v = ctx.table[e[1]];
        if (v === undefined) throw new WireError('bad reference');
        return v;
      }
      case 'p': {
        if (typeof e[1] !== 'number' || e[1] < 0 || e[1] >= ctx.known.length)
          throw new WireError('bad argument reference');
        return ctx.known[e[1]];
      }
      case 'L': {
        if (!this.local.has(e[1])) throw new WireError('unknown object');
        return this.local.get(e[1]);
      }
      case 'H':
        return this.remoteHandle(e);
      case 'P':
        return this.remotePromise(e[1], ctx.known);
      case 'K':
        return e[1];
      case 'A': {
        const a = [];
        this.decReg(a, e[1], ctx);
        const items = e[2];
        if (!B.isArray(items)) throw new WireError('bad array');
        a.length = items.length;
        for (let k = 0; k < items.length; k++) {
          const x = items[k];
          if (B.isArray(x) && x[0] === 'h') continue;
          a[k] = this.dec(x, ctx, depth + 1);
        }
        if (B.isArray(e[3])) this.decProps(a, e[3], ctx, depth);
        if (e[4] & 2) applyOflags(a, e[4]);
        return a;
      }
      case 'O': {
        const f = typeof e[3] === 'number' ? e[3] : 0;
        const o = f & 1 ? B.create(null) : {};
        this.decReg(o, e[1], ctx);
        if (!B.isArray(e[2])) throw new WireError('bad object');
        this.decProps(o, e[2], ctx, depth);
        if (this.side === 'judge') {
          // Plain data only: an object that carries its own coercion methods would decide == and String() by
          // running candidate code, so it is refused (the candidate's encoder sends such objects as handles).
          for (const key of ['valueOf', 'toString', 'toJSON', Symbol.toPrimitive]) {
            const d = B.getDesc(o, key);
            if (d && typeof d.value === 'function')
              throw new TypeError('the candidate sent a plain object with its own ' + String(key) + ' method');
          }
        }
        if (f & 2) applyOflags(o, f);
        return o;
      }
      case 'M': {
        const m = new B.Map();
        this.decReg(m, e[1], ctx);
        if (!B.isArray(e[2])) throw new WireError('bad map');
        for (const p of e[2]) B.apply(B.mapSet, m, [this.dec(p[0], ctx, depth + 1), this.dec(p[1], ctx, depth + 1)]);
        return m;
      }
      case 'S': {
        const s = new B.Set();
        this.decReg(s, e[1], ctx);
        if (!B.isArray(e[2])) throw new WireError('bad set');
        for (const x of e[2]) B.apply(B.setAdd, s, [this.dec(x, ctx, depth + 1)]);
        return s;
      }
      case 'D':
        return new B.Date(e[1] === 'NaN' ? NaN : B.Number(e[1]));
      case 'R': {
        const r = new B.RegExp(B.String(e[1]), B.String(e[2]));
        r.lastIndex = B.Number(e[3]) || 0;
        return r;
      }
      case 'T': {
        const Ctor = TYPED[e[2]];
        if (!Ctor) throw new WireError('bad typed array');
        const bytes = B.bufFrom(B.String(e[3]), 'base64');
        let t;
        if (Ctor === B.Buffer) t = B.bufFrom(bytes);
        else {
          const ab = new B.ArrayBuffer(bytes.length);
          new Uint8Array(ab).set(bytes);
          t = new Ctor(ab);
        }
        this.decReg(t, e[1], ctx);
        return t;
      }
      case 'AB': {
        const bytes = B.bufFrom(B.String(e[2]), 'base64');
        const ab = new B.ArrayBuffer(bytes.length);
        new Uint8Array(ab).set(bytes);
        this.decReg(ab, e[1], ctx);
        return ab;
      }
      case 'BX':
        return Object(this.dec(e[1], ctx, depth + 1));
      case 'E':
        return this.decError(e, ctx, depth);
      default:
        throw new WireError('bad value tag');
    }
  }

  decReg(/** @type {any} */ v, /** @type {any} */ ix, /** @type {any} */ ctx) {
    if (ix !== ctx.table.length) throw new WireError('bad container index');
    push(ctx.table, v);
    if (ctx.collect) push(ctx.known, v);
  }

  decProps(/** @type {any} */ o, /** @type {any} */ props, /** @type {any} */ ctx, /** @type {number} */ depth) {
    for (const p of props) {
      if (!B.isArray(p)) throw new WireError('bad property');
      const key = this.decodeKey(p[0]);
      const val = this.dec(p[1], ctx, depth + 1);
      const f = typeof p[2] === 'number' ? p[2] : 0;
      B.defineProperty(o, key, { value: val, enumerable: !(f & 1), writable: !(f & 2), configurable: !(f & 4) });
    }
  }

  decError(/** @type {any[]} */ e, /** @type {any} */ ctx, /** @type {number} */ depth) {
    const base = typeof e[5] === 'string' && ERROR_TYPES[e[5]] ? e[5] : 'Error';
    const Ctor = ERROR_TYPES[base];
    const message = typeof e[3] === 'string' ? e[3] : '';
    const err = base === 'AggregateError' ? new Ctor([], message) : new Ctor(message);
    if (message === '') delete err.message;
    const name = typeof e[2] === 'string' ? e[2] : base;
    if (name !== base)
      B.defineProperty(err, 'name', { value: name, writable: true, enumerable: false, configurable: true });
    B.defineProperty(err, 'stack', {
      value: typeof e[4] === 'string' && e[4] ? e[4] : name + (message ? ': ' + message : ''),
      writable: true,
      enumerable: false,
      configurable: true,
    });
    if (B.isArray(e[6])) {
      for (const p of e[6]) {
        if (!B.isArray(p) || typeof p[0] !== 'string') continue;
        B.defineProperty(err, p[0], {
          value: this.dec(p[1], ctx, depth + 1),
          writable: true,
          enumerable: !(p[2] & 1),
          configurable: true,
        });
      }
    }
    if (typeof e[1] === 'number') this.remoteIds.set(err, e[1]);
    return err;
  }

  remotePromise(/** @type {any} */ pid, /** @type {any[]} */ known) {
    if (typeof pid !== 'number') throw new WireError('bad promise');
    /** @type {any} */
    let res;
    /** @type {any} */
    let rej;
    const p = new B.Promise((a, b) => {
      res = a;
      rej = b;
    });
    this.waiting.set(pid, { resolve: res, reject: rej, known });
    this.pendingRemote++;
    this.refresh();
    return p;
  }

  /** The local stand-in for an object the peer owns. */
  remoteHandle(/** @type {any[]} */ e) {
    const id = e[1];
    if (typeof id !== 'number') throw new WireError('bad handle');
    const have = this.remote.get(id);
    if (have) return have;
    const kind = e[2] === 'f' ? 'f' : 'o';
    const name = typeof e[3] === 'string' ? e[3].slice(0, 200) : '';
    const peer = this;
    const ref = ['L', id];
    const judge = this.side === 'judge';
    // Coercion (==, String(), template literals, <) on a candidate object is forwarded only for instances of
    // classes the tests name; otherwise the judge uses default object semantics.
    const coercible = judge && kind === 'o' && this.coercible(name);
    /** @type {any} */
    const target = kind === 'f' ? function () {} : B.create(HANDLE_TARGET_PROTO);
    B.defineProperty(target, INSPECT, {
      value: () =>
        `[${kind === 'f' ? 'function ' + (name || '(anonymous)') : name + ' object'} from the ${judge ? 'candidate' : 'judge'}]`,
      configurable: true,
    });
    let protoSynced = false;
    /** @type {ProxyHandler<any>} */
    const handler = {
      get(t, key, receiver) {
        if (key === INSPECT) return t[INSPECT];
        if (judge && !coercible && (key === 'valueOf' || key === 'toString' || key === Symbol.toPrimitive)) {
          return kind === 'f'
            ? key === Symbol.toPrimitive
              ? undefined
              : B.FunctionProto[key]
            : key === Symbol.toPrimitive
              ? undefined
              : B.ObjectProto[key];
        }
        if (
          !judge &&
          (key === 'valueOf' || key === 'toString' || key === Symbol.toPrimitive || key === 'constructor')
        ) {
          return kind === 'f'
            ? key === Symbol.toPrimitive
              ? undefined
              : B.FunctionProto[key]
            : key === Symbol.toPrimitive
              ? undefined
              : B.ObjectProto[key];
        }
        if (!judge && (key === 'call' || key === 'apply' || key === 'bind') && kind === 'f')
          return B.FunctionProto[key];
        const v = peer.request({ k: 'get', o: ref, p: peer.encodeKey(key) });
        if (key === 'prototype' && kind === 'f') {
          t.prototype = v;
          protoSynced = true;
        }
        void receiver;
        return v;
      },
      set(_t, key, value) {
        peer.request({ k: 'set', o: ref, p: peer.encodeKey(key), v: peer.encode(value, peer.ctx([]), 0) });
        return true;
      },
      has(_t, key) {
        return peer.request({ k: 'has', o: ref, p: peer.encodeKey(key) }) === true;
      },
      deleteProperty(t, key) {
        if (kind === 'f' && key === 'prototype') return false;
        void t;
        return peer.request({ k: 'del', o: ref, p: peer.encodeKey(key) }) === true;
      },
      ownKeys(t) {
        const keys = peer.request({ k: 'keys', o: ref });
        if (!B.isArray(keys)) return [];
        const out = [];
        const seen = new Set();
        for (const k of keys) {
          const key = peer.decodeKey(k);
          if (!seen.has(key)) {
            seen.add(key);
            push(out, key);
          }
        }
        if (kind === 'f' && !seen.has('prototype') && B.getDesc(t, 'prototype')) push(out, 'prototype');
        return out;
      },
      getOwnPropertyDescriptor(t, key) {
        if (kind === 'f' && key === 'prototype') {
          if (!protoSynced) {
            try {
              t.prototype = peer.request({ k: 'get', o: ref, p: 'prototype' });
            } catch (e) {
              /* keep */
            }
            protoSynced = true;
          }
          return B.getDesc(t, 'prototype');
        }
        const d = peer.request({ k: 'desc', o: ref, p: peer.encodeKey(key) });
        if (!B.isArray(d)) return undefined;
        return { value: d[1], writable: d[2] !== false, enumerable: d[0] === true, configurable: true };
      },
      defineProperty(_t, key, desc) {
        if ('value' in desc) {
          peer.request({ k: 'set', o: ref, p: peer.encodeKey(key), v: peer.encode(desc.value, peer.ctx([]), 0) });
          return true;
        }
        return false;
      },
      getPrototypeOf(t) {
        if (!judge) return B.getProto(t);
        const p = peer.request({ k: 'proto', o: ref });
        return isObj(p) ? p : null;
      },
      setPrototypeOf() {
        return false;
      },
      apply(_t, self, args) {
        const ctx = peer.ctx([]);
        const a = args.map((/** @type {any} */ x) => peer.encode(x, ctx, 0));
        const t = peer.encode(self, ctx, 0);
        return peer.request({ k: 'call', f: ref, t, a }, ctx.table);
      },
      construct(_t, args) {
        const ctx = peer.ctx([]);
        const a = args.map((/** @type {any} */ x) => peer.encode(x, ctx, 0));
        return peer.request({ k: 'new', f: ref, a }, ctx.table);
      },
    };
    const proxy = new B.Proxy(target, handler);
    this.remote.set(id, proxy);
    this.remoteIds.set(proxy, id);
    return proxy;
  }

  /** A rendering of a peer's object for feedback (asks the owner). */
  describe(/** @type {any} */ proxy) {
    const id = this.remoteIds.get(proxy);
    if (id === undefined) return undefined;
    try {
      const s = this.request({ k: 'inspect', o: ['L', id] });
      return typeof s === 'string' ? s : undefined;
    } catch (e) {
      return undefined;
    }
  }
}

/** Reply marker for the keys of an object (already encoded). */
class WireKeys {
  constructor(/** @type {any[]} */ keys) {
    this.keys = keys;
  }
}

const HOLE = { hole: true };
const INSPECT = util.inspect.custom;
const HANDLE_TARGET_PROTO = B.create(null);

/** @param {string} key @param {number} len */
function isIndex(key, len) {
  if (!/^(0|[1-9]\d*)$/.test(key)) return false;
  const n = B.Number(key);
  return n < len;
}

/** @param {PropertyDescriptor} d */
function pflags(d) {
  return (d.enumerable ? 0 : 1) | (d.writable === false ? 2 : 0) | (d.configurable ? 0 : 4);
}

/** @param {any} v */
function oflags(v) {
  return B.isExtensible(v) ? 0 : 2;
}

/** @param {any} v @param {number} f */
function applyOflags(v, f) {
  if (f & 2) B.preventExtensions(v);
}

/** The name of the nearest built-in Error type in the prototype chain, or undefined. */
function errorBase(/** @type {any} */ v) {
  for (let p = B.getProto(v), k = 0; p && k < 64; p = B.getProto(p), k++) {
    if (B.isProxy(p)) return undefined;
    const n = ERROR_PROTOS.get(p);
    if (n) return n;
  }
  return undefined;
}

/** Own data of a judge object, as served to the candidate: own data properties only, never inherited ones. */
function ownData(/** @type {any} */ o, /** @type {string | symbol} */ key) {
  const d = B.getDesc(o, key);
  return d && 'value' in d ? d.value : undefined;
}

/** A shallow snapshot of a container, to see whether a call changed it. */
function shallow(/** @type {any} */ c) {
  const out = [];
  try {
    if (B.isMap(c)) {
      B.apply(B.mapForEach, c, [
        (/** @type {any} */ v, /** @type {any} */ k) => {
          push(out, k);
          push(out, v);
        },
      ]);
      return out;
    }
    if (B.isSet(c)) {
      B.apply(B.setForEach, c, [
        (/** @type {any} */ v) => {
          push(out, v);
        },
      ]);
      return out;
    }
    if (B.isTypedArray(c)) {
      return [
        B.apply(
          B.bufToString,
          B.bufFrom(B.apply(B.taBuffer, c, []), B.apply(B.taByteOffset, c, []), B.apply(B.taByteLength, c, [])),
          ['latin1'],
        ),
      ];
    }
    if (B.isArrayBuffer(c)) return [];
    const keys = B.ownKeys(c);
    for (let k = 0; k < keys.length; k++) {
      const d = /** @type {PropertyDescriptor} */ (B.getDesc(c, keys[k]));
      push(out, keys[k]);
      push(out, 'value' in d ? d.value : d.get);
      push(out, d.enumerable ? 1 : 0);
    }
  } catch (e) {
    /* ignore */
  }
  return out;
}

/** @param {any[]} a @param {any[]} b */
function sameShallow(a, b) {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (!B.is(a[k], b[k])) return false;
  return true;
}

// ───────── a small JavaScript tokenizer (statement boundaries in the judge, declarations in the candidate)

const REGEX_AFTER = new Set([
  'return',
  'typeof',
  'case',
  'do',
  'else',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'instanceof',
  'yield',
  'await',
]);

/**
 * @typedef {{type: 'id'|'punct'|'str'|'num'|'tmpl'|'regex', text: string, start: number, end: number, nl: boolean}} Token
 * `nl`: a line break precedes the token.
 */

/** @param {string} src @returns {Token[]} */
function tokenize(src) {
  /** @type {Token[]} */
  const out = [];
  /** @type {string[]} */
  const braces = [];
  let i = 0;
  const n = src.length;
  let nl = true;
  /** @param {Token['type']} type @param {number} start @param {number} end */
  const add = (type, start, end) => {
    out.push({ type, text: src.slice(start, end), start, end, nl });
    nl = false;
  };
  /** @param {number} startAt */
  const scanTemplate = (startAt) => {
    let j = startAt;
    while (j < n) {
      const c = src[j];
      if (c === '\\') {
        j += 2;
        continue;
      }
      if (c === '`') {
        add('tmpl', startAt - 1, j + 1);
        i = j + 1;
        return;
      }
      if (c === '$' && src[j + 1] === '{') {
        add('tmpl', startAt - 1, j + 2);
        braces.push('tmpl');
        i = j + 2;
        return;
      }
      j++;
    }
    add('tmpl', startAt - 1, n);
    i = n;
  };
  while (i < n) {
    const c = src[i];
    if (c === '\n' || c === '\u2028' || c === '\u2029') {
      nl = true;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v' || c === '\ufeff' || c === '\u00a0') {
      i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const e = src.indexOf('*/', i + 2);
      const end = e < 0 ? n : e + 2;
      if (src.slice(i, end).includes('\n')) nl = true;
      i = end;
      continue;
    }
    if (c === '#' && i === 0 && src[1] === '!') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && src[j] !== c && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
      add('str', i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '`') {
      scanTemplate(i + 1);
      continue;
    }
    if (/[A-Za-z_$\u0080-\uffff#]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(src[j])) j++;
      add('id', i, j);
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      let j = i + 1;
      while (
        j < n &&
        (/[0-9A-Za-z_.]/.test(src[j]) ||
          ((src[j] === '+' || src[j] === '-') && /[eE]/.test(src[j - 1]) && !/^0[xX]/.test(src.slice(i, j))))
      )
        j++;
      add('num', i, j);
      i = j;
      continue;
    }
    if (c === '/') {
      const p = out[out.length - 1];
      const regex =
        !p ||
        (p.type === 'punct' && !/^[)\]}]$/.test(p.text)) ||
        (p.type === 'id' && REGEX_AFTER.has(p.text)) ||
        (p.type === 'punct' && p.text === '}' && false);
      if (regex) {
        let j = i + 1;
        let cls = false;
        while (j < n && src[j] !== '\n') {
          if (src[j] === '\\') {
            j += 2;
            continue;
          }
          if (src[j] === '[') cls = true;
          else if (src[j] === ']') cls = false;
          else if (src[j] === '/' && !cls) break;
          j++;
        }
        j++;
        while (j < n && /[a-z]/.test(src[j])) j++;
        add('regex', i, j);
        i = j;
        continue;
      }
    }
    if (c === '{') braces.push('{');
    if (c === '}') {
      const top = braces.pop();
      if (top === 'tmpl') {
        scanTemplate(i + 1);
        continue;
      }
    }
    const four = src.slice(i, i + 4);
    const three = src.slice(i, i + 3);
    const two = src.slice(i, i + 2);
    const text = ['>>>=', '===', '!=='].includes(four.slice(0, 4) === '>>>=' ? four : '')
      ? four
      : ['===', '!==', '...', '**=', '&&=', '||=', '??=', '>>>', '<<=', '>>='].includes(three)
        ? three
        : [
              '=>',
              '==',
              '!=',
              '<=',
              '>=',
              '&&',
              '||',
              '??',
              '?.',
              '++',
              '--',
              '+=',
              '-=',
              '*=',
              '/=',
              '%=',
              '&=',
              '|=',
              '^=',
              '**',
              '<<',
              '>>',
            ].includes(two)
          ? two
          : c;
    add('punct', i, i + text.length);
    i += text.length;
  }
  return out;
}

/** Top-level names a script declares (function, class, var/let/const incl. destructuring). */
function topLevelDeclarations(/** @type {string} */ src) {
  const toks = tokenize(src);
  /** @type {Set<string>} */
  const names = new Set();
  let depth = 0;
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k];
    if (t.type === 'punct') {
      if (t.text === '{' || t.text === '(' || t.text === '[') depth++;
      else if (t.text === '}' || t.text === ')' || t.text === ']') depth--;
      continue;
    }
    if (t.type === 'tmpl') {
      if (t.text.endsWith('${')) depth++;
      if (t.text.startsWith('}')) depth--;
      continue;
    }
    if (depth !== 0 || t.type !== 'id') continue;
    const prev = toks[k - 1];
    if (prev && (prev.text === '.' || prev.text === '?.')) continue;
    if (t.text === 'function' || t.text === 'class') {
      let j = k + 1;
      if (toks[j] && toks[j].text === '*') j++;
      if (toks[j] && toks[j].type === 'id' && toks[j].text !== 'extends') names.add(toks[j].text);
      continue;
    }
    if (t.text === 'var' || t.text === 'let' || t.text === 'const') {
      // Binding names up to the end of the declaration: identifiers at pattern depth followed by , = } ] ;
      let j = k + 1;
      let d = 0;
      let expectName = true;
      for (; j < toks.length; j++) {
        const u = toks[j];
        if (u.text === '{' || u.text === '[' || u.text === '(') {
          d++;
          if (u.text === '(') expectName = false;
          continue;
        }
        if (u.text === '}' || u.text === ']' || u.text === ')') {
          d--;
          continue;
        }
        if (d === 0 && u.text === ';') break;
        if (d === 0 && u.text === '=') {
          // skip the initializer at depth 0
          let e = 0;
          for (j = j + 1; j < toks.length; j++) {
            const w = toks[j];
            if (w.text === '{' || w.text === '[' || w.text === '(') e++;
            else if (w.text === '}' || w.text === ']' || w.text === ')') e--;
            else if (w.type === 'tmpl') {
              if (w.text.endsWith('${')) e++;
              if (w.text.startsWith('}')) e--;
            }
            if (e === 0 && (w.text === ',' || w.text === ';')) break;
            if (e === 0 && toks[j + 1] && toks[j + 1].nl && endsExpression(w) && !continues(toks[j + 1])) {
              j++;
              break;
            }
            if (e < 0) break;
          }
          if (!toks[j] || toks[j].text !== ',') {
            k = j - 1;
            break;
          }
          expectName = true;
          continue;
        }
        if (u.type === 'id' && (d > 0 || expectName)) {
          const nx = toks[j + 1];
          if (d > 0 && nx && nx.text === ':') continue; // property key in a pattern
          if (u.text !== 'of' && u.text !== 'in') names.add(u.text);
          if (d === 0) expectName = false;
        }
        if (u.text === ',' && d === 0) expectName = true;
        if (u.text === '=' && d > 0) {
          // default value inside a pattern: skip to , or closing bracket
          let e = 0;
          for (j = j + 1; j < toks.length; j++) {
            const w = toks[j];
            if (w.text === '{' || w.text === '[' || w.text === '(') e++;
            else if (w.text === '}' || w.text === ']' || w.text === ')') {
              if (e === 0) {
                j--;
                break;
              }
              e--;
            } else if (e === 0 && w.text === ',') {
              j--;
              break;
            }
          }
        }
      }
      k = Math.max(k, j - 1);
    }
  }
  return names;
}

/** Whether a token can end an expression (so a following line break may end the statement). */
function endsExpression(/** @type {Token} */ t) {
  if (t.type === 'id' || t.type === 'num' || t.type === 'str' || t.type === 'regex') return true;
  if (t.type === 'tmpl') return t.text.endsWith('`') && t.text.length > 1;
  return t.text === ')' || t.text === ']' || t.text === '}' || t.text === '++' || t.text === '--';
}

/** Whether a token at the start of a line continues the previous line's expression (no automatic semicolon). */
function continues(/** @type {Token} */ t) {
  if (t.type === 'tmpl') return t.text.startsWith('`');
  if (t.type === 'id') return t.text === 'instanceof' || t.text === 'in' || t.text === 'of';
  if (t.type !== 'punct') return false;
  return !['{', '}', ';', '!', '~', '++', '--'].includes(t.text);
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for function if ' +
    'import in instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface ' +
    'package private protected public await arguments eval undefined NaN Infinity globalThis __proto__ constructor prototype'
  ).split(' '),
);

module.exports = {
  readAll,
  exitNow,
  Peer,
  WireError,
  B,
  MAX_DEPTH,
  tokenize,
  topLevelDeclarations,
  endsExpression,
  continues,
  IDENT,
  RESERVED,
  isObj,
  nameOf,
};
