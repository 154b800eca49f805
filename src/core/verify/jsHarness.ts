// The JavaScript/TypeScript harness: the program the verify layer hands the sandbox for a JS job (TypeScript is
// transpiled to JavaScript first, candidate and tests separately).
//
// Design (same idea as the Python harness, see pythonHarness.ts):
// 1. The parent rewrites the tests (rewriteJsTests): every use of `assert` / `assert.xxx` / a destructured
//    `strictEqual` etc. from `node:assert` becomes `__crucible_site(i)...`, and the import/require of the assert
//    module is removed. The parent keeps the plan (sites, which must run); it never comes from the child.
// 2. The child's assert functions do not decide anything: they report canonical, type-tagged values of actual and
//    expected on fd 3, nonce-tagged (nonce read from stdin before the candidate runs, kept in a closure). The
//    serialiser only reads own data properties through built-ins captured before the candidate ran: it never calls
//    valueOf, Symbol.toPrimitive, toJSON, getters, or Proxy traps (a Proxy, an accessor, a function is "cannot compare").
// 3. The candidate runs as its own script (vm.Script, so an unclosed comment or template cannot swallow the tests);
//    the tests are compiled as a separate function before the candidate runs and receive the site factory as a
//    parameter, so the candidate cannot reach or replace it by name. process.exit(0) / process.on('exit') before the
//    tests finish leave no `end` marker, which can never pass.
// 4. After the tests the harness reports `end` and exits through the exit function it captured at start.

export interface JsPayload {
  mode: 'tests' | 'evaluate';
  code: string;
  tests: string;
  calls?: string[];
}

import type { SitePlan } from './report';

interface Token {
  type: 'id' | 'punct' | 'str' | 'num' | 'tmpl' | 'regex';
  text: string;
  start: number;
  end: number;
}

const REGEX_AFTER_KEYWORD = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'instanceof', 'yield', 'await']);

/** A small JavaScript tokenizer: enough to find identifiers outside strings, comments, templates and regexes. */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  const braces: ('{' | 'tmpl')[] = [];
  let i = 0;
  const n = src.length;
  const prevSignificant = (): Token | undefined => out[out.length - 1];
  const scanTemplate = (startAt: number): void => {
    // Scans template text from startAt (just after ` or }) to the closing ` or a ${.
    let j = startAt;
    while (j < n) {
      const c = src[j];
      if (c === '\\') { j += 2; continue; }
      if (c === '`') { out.push({ type: 'tmpl', text: src.slice(startAt, j + 1), start: startAt, end: j + 1 }); i = j + 1; return; }
      if (c === '$' && src[j + 1] === '{') { out.push({ type: 'tmpl', text: src.slice(startAt, j + 2), start: startAt, end: j + 2 }); braces.push('tmpl'); i = j + 2; return; }
      j++;
    }
    out.push({ type: 'tmpl', text: src.slice(startAt), start: startAt, end: n });
    i = n;
  };
  while (i < n) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    if (c === '/' && src[i + 1] === '/') { while (i < n && src[i] !== '\n') i++; continue; }
    if (c === '/' && src[i + 1] === '*') { const e = src.indexOf('*/', i + 2); i = e < 0 ? n : e + 2; continue; }
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && src[j] !== c && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
      out.push({ type: 'str', text: src.slice(i, j + 1), start: i, end: j + 1 });
      i = j + 1;
      continue;
    }
    if (c === '`') { scanTemplate(i + 1); continue; }
    if (/[A-Za-z_$\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(src[j])) j++;
      out.push({ type: 'id', text: src.slice(i, j), start: i, end: j });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < n && /[0-9A-Za-z_.]/.test(src[j])) j++;
      out.push({ type: 'num', text: src.slice(i, j), start: i, end: j });
      i = j;
      continue;
    }
    if (c === '/') {
      const p = prevSignificant();
      const regex = !p || (p.type === 'punct' && !/^[)\]]$/.test(p.text)) || (p.type === 'id' && REGEX_AFTER_KEYWORD.has(p.text));
      if (regex) {
        let j = i + 1;
        let cls = false;
        while (j < n && src[j] !== '\n') {
          if (src[j] === '\\') { j += 2; continue; }
          if (src[j] === '[') cls = true;
          else if (src[j] === ']') cls = false;
          else if (src[j] === '/' && !cls) break;
          j++;
        }
        j++;
        while (j < n && /[a-z]/.test(src[j])) j++;
        out.push({ type: 'regex', text: src.slice(i, j), start: i, end: j });
        i = j;
        continue;
      }
    }
    if (c === '{') braces.push('{');
    if (c === '}') {
      const top = braces.pop();
      if (top === 'tmpl') { scanTemplate(i + 1); continue; }
    }
    const three = src.slice(i, i + 3);
    const two = src.slice(i, i + 2);
    const text = ['===', '!==', '...', '**=', '&&=', '||=', '??='].includes(three) ? three
      : ['=>', '==', '!=', '<=', '>=', '&&', '||', '??', '?.', '++', '--', '+=', '-=', '*=', '/='].includes(two) ? two : c;
    out.push({ type: 'punct', text, start: i, end: i + text.length });
    i += text.length;
  }
  return out;
}

const ASSERT_MODULES = new Set(['assert', 'node:assert', 'assert/strict', 'node:assert/strict']);
const ASSERT_METHODS = new Set(['ok', 'equal', 'notEqual', 'strictEqual', 'notStrictEqual', 'deepEqual', 'deepStrictEqual',
  'notDeepEqual', 'notDeepStrictEqual', 'throws', 'doesNotThrow', 'fail', 'match', 'doesNotMatch', 'strict']);

function unquote(s: string): string {
  return s.slice(1, -1);
}

export interface RewrittenTests {
  source: string;
  sites: SitePlan[];
}

function lineAt(src: string, pos: number): number {
  let line = 1;
  for (let k = 0; k < pos; k++) if (src.charCodeAt(k) === 10) line++;
  return line;
}

/**
 * Rewrites node:assert-style tests so each assert call reports to the harness. Throws an Error naming the problem
 * when the tests cannot be rewritten (for example they use `__crucible_site` themselves).
 */
export function rewriteJsTests(src: string): RewrittenTests {
  if (src.includes('__crucible_site')) throw new Error('the tests use the reserved name __crucible_site');
  const toks = tokenize(src);
  const blank: [number, number][] = [];
  const names = new Map<string, string | null>(); // local name -> assert method (null = the assert function/module)
  names.set('assert', null);
  // Find require/import statements of the assert module.
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k];
    // const|let|var X = require('assert')[.strict];   const { a, b: c } = require('assert');
    if (t.type === 'id' && (t.text === 'const' || t.text === 'let' || t.text === 'var')) {
      let j = k + 1;
      const bound: [string, string | null][] = [];
      if (toks[j]?.type === 'id') { bound.push([toks[j].text, null]); j++; }
      else if (toks[j]?.text === '{') {
        j++;
        while (j < toks.length && toks[j].text !== '}') {
          if (toks[j].type === 'id') {
            const key = toks[j].text;
            if (toks[j + 1]?.text === ':' && toks[j + 2]?.type === 'id') { bound.push([toks[j + 2].text, key === 'strict' ? null : key]); j += 3; }
            else { bound.push([key, key === 'strict' ? null : key]); j++; }
          } else j++;
        }
        j++;
      } else continue;
      if (toks[j]?.text !== '=' || toks[j + 1]?.text !== 'require' || toks[j + 2]?.text !== '(' || toks[j + 3]?.type !== 'str' || toks[j + 4]?.text !== ')') continue;
      if (!ASSERT_MODULES.has(unquote(toks[j + 3].text))) continue;
      let end = j + 5;
      if (toks[end]?.text === '.' && toks[end + 1]?.text === 'strict') end += 2;
      if (toks[end]?.text === ';') end++;
      for (const [local, method] of bound) names.set(local, method);
      blank.push([t.start, toks[end - 1].end]);
      continue;
    }
    // import assert from 'assert'; import * as assert from ...; import { strict as assert, equal } from ...;
    if (t.type === 'id' && t.text === 'import' && toks[k + 1]?.text !== '(') {
      let j = k + 1;
      const bound: [string, string | null][] = [];
      while (j < toks.length && toks[j].text !== 'from' && toks[j].type !== 'str') {
        const tk = toks[j];
        if (tk.text === '*' && toks[j + 1]?.text === 'as') { bound.push([toks[j + 2].text, null]); j += 3; continue; }
        if (tk.text === '{') {
          j++;
          while (j < toks.length && toks[j].text !== '}') {
            if (toks[j].type === 'id') {
              const key = toks[j].text;
              if (toks[j + 1]?.text === 'as') { bound.push([toks[j + 2].text, key === 'strict' || key === 'default' ? null : key]); j += 3; }
              else { bound.push([key, key === 'strict' ? null : key]); j++; }
            } else j++;
          }
          j++;
          continue;
        }
        if (tk.type === 'id') bound.push([tk.text, null]);
        j++;
      }
      if (toks[j]?.text === 'from') j++;
      if (toks[j]?.type !== 'str' || !ASSERT_MODULES.has(unquote(toks[j].text))) continue;
      let end = j + 1;
      if (toks[end]?.text === ';') end++;
      for (const [local, method] of bound) names.set(local, method);
      blank.push([t.start, toks[end - 1].end]);
    }
  }
  const inBlank = (pos: number): boolean => blank.some(([a, b]) => pos >= a && pos < b);
  // Replace each use of an assert name with a site.
  const edits: { start: number; end: number; text: string }[] = [];
  const sites: SitePlan[] = [];
  let depth = 0;
  let conditional = false; // a conditional keyword seen in the current top-level statement
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k];
    if (t.type === 'punct') {
      if (t.text === '{' || t.text === '(' || t.text === '[') depth++;
      else if (t.text === '}' || t.text === ')' || t.text === ']') { depth--; if (depth === 0 && t.text === '}') conditional = false; }
      else if (t.text === ';' && depth === 0) conditional = false;
      else if (['?', '&&', '||', '??', '?.'].includes(t.text)) conditional = true;
      continue;
    }
    if (t.type === 'id' && ['if', 'else', 'while', 'for', 'do', 'catch', 'switch', 'case', 'function', 'class', 'try'].includes(t.text)) {
      conditional = true;
      continue;
    }
    if (t.type !== 'id' || !names.has(t.text) || inBlank(t.start)) continue;
    const prev = toks[k - 1];
    const next = toks[k + 1];
    if (prev && (prev.text === '.' || prev.text === '?.')) continue;
    if (next && next.text === ':' && prev && (prev.text === '{' || prev.text === ',')) continue;
    const method = names.get(t.text) ?? null;
    let callEnd = -1;
    if (method === null) {
      if (next?.text === '(') callEnd = k + 1;
      else if (next?.text === '.' && toks[k + 2]?.type === 'id' && ASSERT_METHODS.has(toks[k + 2].text)) callEnd = k + 3;
      else continue;
    } else {
      if (next?.text !== '(') continue;
      callEnd = k + 1;
    }
    // Source of the whole call, for feedback: up to the matching close paren.
    let d = 0;
    let m = callEnd;
    for (; m < toks.length; m++) {
      if (toks[m].text === '(') d++;
      if (toks[m].text === ')') { d--; if (d === 0) break; }
    }
    const endPos = m < toks.length ? toks[m].end : src.length;
    const site = sites.length;
    sites.push({ line: lineAt(src, t.start), src: src.slice(t.start, endPos).replace(/\s+/g, ' ').slice(0, 300), required: depth === 0 && !conditional });
    edits.push({ start: t.start, end: t.end, text: method === null ? `__crucible_site(${site})` : `__crucible_site(${site}).${method}` });
  }
  let out = '';
  let pos = 0;
  const all = [...blank.map(([a, b]) => ({ start: a, end: b, text: src.slice(a, b).replace(/[^\n]/g, ' ') })), ...edits].sort((a, b) => a.start - b.start);
  for (const e of all) {
    out += src.slice(pos, e.start) + e.text;
    pos = e.end;
  }
  out += src.slice(pos);
  return { source: out, sites };
}

const HARNESS = String.raw`
(function crucibleHarness(P) {
  'use strict';
  const fs = require('fs');
  const vm = require('vm');
  const util = require('util');
  const writeSync = fs.writeSync;
  const readSync = fs.readSync;
  const Buf = Buffer;
  const bufFrom = Buffer.from;
  const apply = Reflect.apply;
  const ownKeys = Reflect.ownKeys;
  const getDesc = Object.getOwnPropertyDescriptor;
  const getProto = Object.getPrototypeOf;
  const isArray = Array.isArray;
  const isProxy = util.types.isProxy;
  const isMap = util.types.isMap;
  const isSet = util.types.isSet;
  const isDate = util.types.isDate;
  const isBoxed = util.types.isBoxedPrimitive;
  const ArrayProto = Array.prototype;
  const ObjectProto = Object.prototype;
  const MapProto = Map.prototype;
  const SetProto = Set.prototype;
  const mapForEach = Map.prototype.forEach;
  const setForEach = Set.prototype.forEach;
  const dateIso = Date.prototype.toISOString;
  const bigToString = BigInt.prototype.toString;
  const strJson = JSON.stringify;
  const arrSort = Array.prototype.sort;
  const arrJoin = Array.prototype.join;
  const arrPush = Array.prototype.push;
  const StringCtor = String;
  const ObjectIs = Object.is;
  const exit = typeof process.reallyExit === 'function' ? process.reallyExit.bind(process) : process.exit.bind(process);
  const compileFunction = vm.compileFunction;
  const promiseThen = Promise.prototype.then;
  const Script = vm.Script;
  const runScript = vm.Script.prototype.runInThisContext;

  let nonce = '';
  {
    const buf = Buf.alloc(256);
    let got = '';
    for (;;) {
      let n = 0;
      try { n = readSync(0, buf, 0, 256, null); } catch (e) { if (e && e.code === 'EAGAIN') continue; break; }
      if (n <= 0) break;
      got += buf.toString('latin1', 0, n);
      if (got.indexOf('\n') >= 0) break;
    }
    nonce = got.split('\n')[0].trim();
  }

  function emit(kind, body) {
    let data = bufFrom('\n' + nonce + ' ' + kind + ' ' + body + '\n', 'utf8');
    try {
      for (;;) {
        let n = 0;
        try { n = writeSync(3, data); } catch (e) { if (e && e.code === 'EAGAIN') continue; throw e; }
        if (n >= data.length) break;
        data = data.subarray(n);
      }
    } catch (e) { /* report channel gone */ }
  }
  function push(a, x) { apply(arrPush, a, [x]); }
  function join(a) { return apply(arrJoin, a, [',']); }
  function sorted(a) { return apply(arrSort, a, []); }
  function Bad(msg) { this.msg = msg; }

  function ctorName(proto) {
    const d = getDesc(proto, 'constructor');
    if (!d || !('value' in d) || typeof d.value !== 'function' || isProxy(d.value)) return 'Object';
    const nd = getDesc(d.value, 'name');
    return nd && typeof nd.value === 'string' ? nd.value : 'Object';
  }

  function dataProps(v, stack, budget) {
    const keys = ownKeys(v);
    const pairs = [];
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k];
      if (typeof key !== 'string') throw new Bad('an object with symbol keys cannot be compared');
      const d = getDesc(v, key);
      if (!d.enumerable) continue;
      if (!('value' in d)) throw new Bad('an object with a getter (' + key + ') cannot be compared');
      push(pairs, '[' + strJson(key) + ',' + enc(d.value, stack, budget) + ']');
    }
    return sorted(pairs);
  }

  function enc(v, stack, budget) {
    if (++budget.n > 200000) throw new Bad('value too large to compare');
    const t = typeof v;
    if (v === undefined) return '["undef"]';
    if (v === null) return '["null"]';
    if (t === 'boolean') return v ? '["bool",true]' : '["bool",false]';
    if (t === 'number') return '["num",' + strJson(ObjectIs(v, -0) ? '-0' : StringCtor(v)) + ']';
    if (t === 'bigint') return '["int",' + strJson(apply(bigToString, v, [16])) + ']';
    if (t === 'string') return '["str",' + strJson(v) + ']';
    if (t === 'symbol') throw new Bad('a symbol cannot be compared');
    if (t === 'function') throw new Bad(isProxy(v) ? 'a Proxy cannot be compared' : 'a function cannot be compared');
    if (isProxy(v)) throw new Bad('a Proxy cannot be compared');
    if (stack.indexOf(v) >= 0) throw new Bad('a value refers to itself (cycle)');
    push(stack, v);
    try {
      const proto = getProto(v);
      if (isArray(v)) {
        if (proto !== ArrayProto) throw new Bad('an array subclass cannot be compared');
        const ld = getDesc(v, 'length');
        const out = [];
        for (let k = 0; k < ld.value; k++) {
          const d = getDesc(v, StringCtor(k));
          if (d === undefined) { push(out, '["undef"]'); continue; }
          if (!('value' in d)) throw new Bad('an array with a getter cannot be compared');
          push(out, enc(d.value, stack, budget));
        }
        if (ownKeys(v).length !== ld.value + 1) throw new Bad('an array with extra properties cannot be compared');
        return '["list",[' + join(out) + ']]';
      }
      if (isBoxed(v)) throw new Bad('a boxed primitive (new Number/String/Boolean) cannot be compared');
      if (isMap(v) && proto === MapProto) {
        const out = [];
        apply(mapForEach, v, [function (val, key) { push(out, '[' + enc(key, stack, budget) + ',' + enc(val, stack, budget) + ']'); }]);
        return '["map",[' + join(sorted(out)) + ']]';
      }
      if (isSet(v) && proto === SetProto) {
        const out = [];
        apply(setForEach, v, [function (val) { push(out, enc(val, stack, budget)); }]);
        return '["set",[' + join(sorted(out)) + ']]';
      }
      if (isDate(v)) return '["date",' + strJson(apply(dateIso, v, [])) + ']';
      if (proto === ObjectProto || proto === null) return '["dict",[' + join(dataProps(v, stack, budget)) + ']]';
      if (isMap(v) || isSet(v)) throw new Bad('a Map/Set subclass cannot be compared');
      return '["obj",' + strJson(ctorName(proto)) + ',[' + join(dataProps(v, stack, budget)) + ']]';
    } finally {
      stack.length = stack.length - 1;
    }
  }

  function encValue(v) {
    try { return '["ok",' + enc(v, [], { n: 0 }) + ']'; }
    catch (e) {
      if (e instanceof Bad) return '["bad",' + strJson(e.msg) + ']';
      return '["bad","the value cannot be compared"]';
    }
  }

  function errInfo(e) {
    let name = 'Error';
    let message = '';
    let stack = '';
    try {
      if (e !== null && (typeof e === 'object' || typeof e === 'function') && !isProxy(e)) {
        let p = getProto(e);
        const own = getDesc(e, 'name');
        if (own && typeof own.value === 'string') name = own.value;
        else {
          for (let k = 0; p && k < 50; k++, p = getProto(p)) {
            if (isProxy(p)) break;
            const nd = getDesc(p, 'name');
            if (nd && typeof nd.value === 'string') { name = nd.value; break; }
          }
        }
        const md = getDesc(e, 'message');
        if (md && typeof md.value === 'string') message = md.value;
        const sd = getDesc(e, 'stack');
        if (sd && typeof sd.value === 'string') stack = sd.value;
      } else {
        name = 'thrown value';
        message = typeof e === 'string' ? e : (typeof e === 'number' || typeof e === 'boolean' ? StringCtor(e) : typeof e);
      }
    } catch (x) { /* keep the defaults */ }
    const frames = [];
    const lines = stack.split('\n');
    for (let k = 0; k < lines.length && frames.length < 20; k++) {
      const m = /at (?:(.*?) \()?(candidate\.js|tests\.js):(\d+):\d+\)?$/.exec(lines[k].trim());
      if (m) push(frames, '[' + strJson(m[2]) + ',' + m[3] + ',' + strJson(m[1] || '') + ']');
    }
    return '{"error":' + strJson(name + (message ? ': ' + message : '')) + ',"frames":[' + join(frames) + ']}';
  }

  function threw(e) { return '["exc",' + errInfo(e) + ']'; }

  function report(site, leaves, struct) {
    emit('a', '[' + site + ',[' + join(leaves) + '],' + struct + ']');
  }

  function siteFactory(site) {
    const cmp = (op) => function (actual, expected) { report(site, [encValue(actual), encValue(expected)], '["cmp",["' + op + '"],[0,1]]'); };
    const truth = function (value) { report(site, [encValue(value)], '["truth",0]'); };
    const a = function (value) { truth(value); };
    a.ok = truth;
    a.equal = cmp('Eq'); a.strictEqual = cmp('Eq'); a.deepEqual = cmp('Eq'); a.deepStrictEqual = cmp('Eq');
    a.notEqual = cmp('NotEq'); a.notStrictEqual = cmp('NotEq'); a.notDeepEqual = cmp('NotEq'); a.notDeepStrictEqual = cmp('NotEq');
    a.fail = function () { report(site, [], '["fail",""]'); };
    a.match = function (s, re) {
      let ok = false;
      try { ok = typeof s === 'string' && util.types.isRegExp(re) && apply(RegExp.prototype.test, re, [s]); } catch (e) { ok = false; }
      report(site, ['["ok",["bool",' + (ok ? 'true' : 'false') + ']]'], '["truth",0]');
    };
    a.throws = function (fn, expected) {
      let leaf = '["ok",["undef"]]';
      let want = 'null';
      try { fn(); } catch (e) {
        leaf = threw(e);
        if (typeof expected === 'function' && !isProxy(expected)) {
          const pd = getDesc(expected, 'prototype');
          const target = pd && 'value' in pd ? pd.value : undefined;
          let p = (e !== null && typeof e === 'object' && !isProxy(e)) ? getProto(e) : null;
          let found = false;
          for (let k = 0; p && k < 50 && !found; k++) { if (p === target) found = true; else if (isProxy(p)) break; else p = getProto(p); }
          if (!found) want = strJson('instance of ' + (getDesc(expected, 'name') || { value: '?' }).value);
        }
      }
      report(site, [leaf], '["throws",0,' + want + ']');
    };
    a.doesNotThrow = function (fn) {
      try { fn(); report(site, ['["ok",["bool",true]]'], '["truth",0]'); } catch (e) { report(site, [threw(e)], '["truth",0]'); }
    };
    a.strict = a;
    return a;
  }

  let testsFn = null;
  if (P.mode === 'tests') {
    try { testsFn = compileFunction(P.tests, ['__crucible_site'], { filename: 'tests.js' }); }
    catch (e) { emit('fatal', '{"error":' + strJson('the tests do not parse: ' + JSON.parse(errInfo(e)).error) + '}'); exit(0); }
  }
  emit('plan', '{"sites":[]}');

  globalThis.require = require;
  globalThis.module = { exports: {} };
  globalThis.exports = globalThis.module.exports;
  let script;
  try { script = new Script(P.code, { filename: 'candidate.js' }); }
  catch (e) { emit('cerror', errInfo(e)); exit(0); }
  try { apply(runScript, script, []); }
  catch (e) { emit('cerror', errInfo(e)); exit(0); }
  emit('ran', '{}');

  if (P.mode === 'evaluate') {
    const out = [];
    for (let k = 0; k < P.calls.length; k++) {
      try { push(out, encValue(apply(runScript, new Script('(' + P.calls[k] + ')', { filename: 'call.js' }), []))); }
      catch (e) { push(out, threw(e)); }
    }
    emit('values', '[' + join(out) + ']');
    emit('end', '{}');
    exit(0);
  }
  let result;
  try { result = testsFn(siteFactory); }
  catch (e) { emit('error', errInfo(e)); emit('end', '{"errored":true}'); exit(0); }
  if (util.types.isPromise(result)) {
    // Async tests: wait with the then() captured at start. A promise that never settles ends with no end marker.
    apply(promiseThen, result, [
      function () { emit('end', '{}'); exit(0); },
      function (e) { emit('error', errInfo(e)); emit('end', '{"errored":true}'); exit(0); },
    ]);
    return;
  }
  emit('end', '{}');
  exit(0);
})
`;

/** The whole JavaScript program for one job. */
export function buildJsProgram(payload: JsPayload): string {
  return `${HARNESS}(JSON.parse(${JSON.stringify(JSON.stringify(payload))}));\n`;
}
