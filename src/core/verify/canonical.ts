// Canonical, type-tagged values as the harnesses report them, and the comparisons the parent makes on them.
// A value is a JSON array whose first element is its tag:
//   Python: ["none"] ["bool",b] ["int",hex] ["float",repr] ["str",s] ["bytes",hex] ["complex",re,im]
//           ["list",[..]] ["tuple",[..]] ["set",[..]] ["frozenset",[..]] ["dict",[[k,v],..]] ["obj",class,[[name,v],..]]
//           ["type",qualname,id]
//   JavaScript: ["undef"] ["null"] ["num",repr] ["int",hex] (BigInt) ["str",s] ["bool",b] ["list",..] ["dict",[[k,v]..]]
//           ["map",[[k,v]..]] ["set",[..]] ["date",iso] ["obj",class,[[name,v]..]]
// Equality is exact: tags must match (1 != 1.0 != True), containers compare element-wise.

export type Canon = [string, ...unknown[]];

export function isCanon(v: unknown): v is Canon {
  return Array.isArray(v) && typeof v[0] === 'string';
}

function bigOf(hex: string): bigint {
  return hex.startsWith('-') ? -BigInt('0x' + hex.slice(1)) : BigInt('0x' + hex);
}

function floatOf(repr: string): number {
  if (repr === 'nan') return NaN;
  if (repr === 'inf') return Infinity;
  if (repr === '-inf') return -Infinity;
  return Number(repr);
}

function numOf(v: Canon): number | bigint | undefined {
  switch (v[0]) {
    case 'int': return bigOf(String(v[1]));
    case 'float': return floatOf(String(v[1]));
    case 'num': return Number(v[1]);
    case 'bool': return v[1] ? 1n : 0n;
    default: return undefined;
  }
}

function items(v: Canon): Canon[] {
  return (v[1] as Canon[]) ?? [];
}

export function canonEqual(a: Canon, b: Canon): boolean {
  if (a[0] !== b[0]) return false;
  switch (a[0]) {
    case 'none': case 'undef': case 'null': return true;
    case 'bool': return a[1] === b[1];
    case 'int': return bigOf(String(a[1])) === bigOf(String(b[1]));
    case 'float': return floatOf(String(a[1])) === floatOf(String(b[1]));
    case 'num': return Object.is(Number(a[1]), Number(b[1]));
    case 'str': case 'bytes': case 'date': return a[1] === b[1];
    case 'complex': return floatOf(String(a[1])) === floatOf(String(b[1])) && floatOf(String(a[2])) === floatOf(String(b[2]));
    case 'type': return a[2] === b[2];
    case 'list': case 'tuple': case 'set': case 'frozenset': return listEqual(items(a), items(b));
    case 'dict': case 'map': return pairsEqual(a[1] as [Canon, Canon][], b[1] as [Canon, Canon][]);
    case 'obj': return a[1] === b[1] && pairsEqual(a[2] as [Canon, Canon][], b[2] as [Canon, Canon][]);
    default: return false;
  }
}

function listEqual(x: Canon[], y: Canon[]): boolean {
  return x.length === y.length && x.every((e, i) => canonEqual(e, y[i]));
}

function pairsEqual(x: [unknown, Canon][], y: [unknown, Canon][]): boolean {
  if (x.length !== y.length) return false;
  return x.every(([k, v], i) => {
    const [k2, v2] = y[i];
    const keq = isCanon(k) && isCanon(k2) ? canonEqual(k, k2) : k === k2;
    return keq && canonEqual(v, v2);
  });
}

/** Python truthiness of a canonical value; undefined when it cannot be decided from the value alone. */
export function canonTruth(v: Canon): boolean | undefined {
  switch (v[0]) {
    case 'none': case 'undef': case 'null': return false;
    case 'bool': return v[1] === true;
    case 'int': return bigOf(String(v[1])) !== 0n;
    case 'float': { const f = floatOf(String(v[1])); return f !== 0; }
    case 'num': { const f = Number(v[1]); return f !== 0 && !Number.isNaN(f); }
    case 'str': case 'bytes': return String(v[1]).length > 0;
    case 'complex': return floatOf(String(v[1])) !== 0 || floatOf(String(v[2])) !== 0;
    case 'list': case 'tuple': case 'set': case 'frozenset': case 'dict': case 'map': return items(v).length > 0;
    case 'type': case 'date': return true;
    default: return undefined;
  }
}

function codePoints(s: string): number[] {
  return Array.from(s, (c) => c.codePointAt(0) ?? 0);
}

/** Ordering: negative, zero, positive; undefined when the two cannot be ordered. */
export function canonOrder(a: Canon, b: Canon): number | undefined {
  const na = numOf(a);
  const nb = numOf(b);
  if (na !== undefined && nb !== undefined) {
    if (typeof na === 'bigint' && typeof nb === 'bigint') return na < nb ? -1 : na > nb ? 1 : 0;
    const x = Number(na);
    const y = Number(nb);
    if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a[0] !== b[0]) return undefined;
  if (a[0] === 'str') {
    const x = codePoints(String(a[1]));
    const y = codePoints(String(b[1]));
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  }
  if (a[0] === 'list' || a[0] === 'tuple') {
    const x = items(a);
    const y = items(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      if (!canonEqual(x[i], y[i])) return canonOrder(x[i], y[i]);
    }
    return x.length - y.length;
  }
  return undefined;
}

/** Python `needle in container`; undefined when undecidable. */
export function canonContains(container: Canon, needle: Canon): boolean | undefined {
  switch (container[0]) {
    case 'str': return needle[0] === 'str' ? String(container[1]).includes(String(needle[1])) : undefined;
    case 'bytes': return needle[0] === 'bytes' ? String(container[1]).includes(String(needle[1])) : undefined;
    case 'list': case 'tuple': case 'set': case 'frozenset': return items(container).some((e) => canonEqual(e, needle));
    case 'dict': case 'map': return (container[1] as [Canon, Canon][]).some(([k]) => canonEqual(k, needle));
    default: return undefined;
  }
}

/** Applies one comparison operator (Python ast names). Throws a readable Error when the operands cannot be compared. */
export function canonCompare(op: string, a: Canon, b: Canon): boolean {
  const order = (): number => {
    const o = canonOrder(a, b);
    if (o === undefined) throw new Error(`cannot order ${typeName(a)} and ${typeName(b)}`);
    return o;
  };
  const contains = (): boolean => {
    const c = canonContains(b, a);
    if (c === undefined) throw new Error(`cannot test membership of ${typeName(a)} in ${typeName(b)}`);
    return c;
  };
  switch (op) {
    case 'Eq': case 'Is': return canonEqual(a, b);
    case 'NotEq': case 'IsNot': return !canonEqual(a, b);
    case 'Lt': return order() < 0;
    case 'LtE': return order() <= 0;
    case 'Gt': return order() > 0;
    case 'GtE': return order() >= 0;
    case 'In': return contains();
    case 'NotIn': return !contains();
    default: throw new Error(`unsupported comparison ${op}`);
  }
}

export function typeName(v: Canon): string {
  switch (v[0]) {
    case 'none': return 'NoneType';
    case 'obj': return String(v[1]);
    case 'num': return 'number';
    case 'undef': return 'undefined';
    case 'list': return 'list';
    case 'dict': return 'dict';
    default: return v[0];
  }
}

function pyStr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === q) out += '\\' + q;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return q + out + q;
}

/** Renders a canonical value the way its own language would print it (Python repr or a JS literal). */
export function renderCanon(v: Canon, maxLen = 300): string {
  const s = render(v, maxLen + 50);
  return s.length > maxLen ? s.slice(0, maxLen) + '…' : s;
}

function render(v: Canon, budget = Infinity): string {
  // Sequences stop rendering once past the budget, so a huge value costs no more than its shown prefix.
  const seq = (xs: Canon[]): string => {
    let out = '';
    for (let i = 0; i < xs.length; i++) {
      if (out.length > budget) return out + `, … (${xs.length} items)`;
      out += (i ? ', ' : '') + render(xs[i], budget - out.length);
    }
    return out;
  };
  const pairs = (xs: [Canon, Canon][], sep: string): string => xs.map(([k, x]) => `${render(k)}${sep}${render(x)}`).join(', ');
  switch (v[0]) {
    case 'none': return 'None';
    case 'undef': return 'undefined';
    case 'null': return 'null';
    case 'bool': return v[1] ? 'True' : 'False';
    case 'int': { const n = bigOf(String(v[1])); return n.toString(); }
    case 'float': return String(v[1]);
    case 'num': return String(v[1]);
    case 'str': return pyStr(String(v[1]));
    case 'bytes': return `bytes.fromhex('${String(v[1])}')`;
    case 'complex': return `(${v[1]}+${v[2]}j)`;
    case 'list': return `[${seq(items(v))}]`;
    case 'tuple': { const xs = items(v); return xs.length === 1 ? `(${render(xs[0])},)` : `(${seq(xs)})`; }
    case 'set': return items(v).length ? `{${seq(items(v))}}` : 'set()';
    case 'frozenset': return `frozenset({${seq(items(v))}})`;
    case 'dict': return `{${pairs(v[1] as [Canon, Canon][], ': ')}}`;
    case 'map': return `Map {${pairs(v[1] as [Canon, Canon][], ' => ')}}`;
    case 'date': return `Date(${String(v[1])})`;
    case 'type': return `<class '${String(v[1])}'>`;
    case 'obj': return `${String(v[1])}(${(v[2] as [Canon, Canon][]).map(([k, x]) => `${isCanon(k) ? render(k) : String(k)}=${render(x)}`).join(', ')})`;
    default: return JSON.stringify(v);
  }
}

/** Renders a JavaScript canonical value (booleans lower-case, strings double-quoted). */
export function renderJs(v: Canon, maxLen = 300): string {
  const s = JSON.stringify(toPlain(v));
  return s.length > maxLen ? s.slice(0, maxLen) + `… (${s.length} chars)` : s;
}

function toPlain(v: Canon): unknown {
  switch (v[0]) {
    case 'undef': return 'undefined';
    case 'null': case 'none': return null;
    case 'bool': return v[1];
    case 'num': return Number(v[1]);
    case 'int': return bigOf(String(v[1])).toString() + 'n';
    case 'str': return v[1];
    case 'list': case 'set': return items(v).map(toPlain);
    case 'dict': case 'obj': {
      const out: { [k: string]: unknown } = {};
      for (const [k, x] of (v[0] === 'obj' ? v[2] : v[1]) as [unknown, Canon][]) out[isCanon(k) ? String(k[1]) : String(k)] = toPlain(x);
      return out;
    }
    default: return render(v);
  }
}

/** Whether a canonical Python value has the type a P3 `ans_type` names (int, float, str, bool, List[..], Dict[..]...). */
export function matchesAnsType(v: Canon, ansType: string): boolean | string {
  const t = ansType.replace(/\s+/g, '').replace(/^typing\./, '');
  const inner = (prefix: string): string | undefined => {
    for (const p of [prefix, prefix.toLowerCase()]) {
      if (t.startsWith(p + '[') && t.endsWith(']')) return t.slice(p.length + 1, -1);
    }
    return undefined;
  };
  switch (t) {
    case 'int': return v[0] === 'int';
    case 'float': return v[0] === 'float';
    case 'str': return v[0] === 'str';
    case 'bool': return v[0] === 'bool';
    case 'None': case 'NoneType': return v[0] === 'none';
  }
  const list = inner('List');
  if (list !== undefined) {
    if (v[0] !== 'list') return false;
    for (const e of items(v)) { const r = matchesAnsType(e, list); if (r !== true) return r; }
    return true;
  }
  const set = inner('Set');
  if (set !== undefined) {
    if (v[0] !== 'set') return false;
    for (const e of items(v)) { const r = matchesAnsType(e, set); if (r !== true) return r; }
    return true;
  }
  const dict = inner('Dict');
  if (dict !== undefined) {
    const parts = splitTop(dict);
    if (parts.length !== 2) return `unsupported answer type ${ansType}`;
    if (v[0] !== 'dict') return false;
    for (const [k, x] of v[1] as [Canon, Canon][]) {
      const rk = matchesAnsType(k, parts[0]); if (rk !== true) return rk;
      const rv = matchesAnsType(x, parts[1]); if (rv !== true) return rv;
    }
    return true;
  }
  const tuple = inner('Tuple');
  if (tuple !== undefined) {
    const parts = splitTop(tuple);
    if (v[0] !== 'tuple') return false;
    const xs = items(v);
    if (parts.length === 2 && parts[1] === '...') {
      for (const e of xs) { const r = matchesAnsType(e, parts[0]); if (r !== true) return r; }
      return true;
    }
    if (parts.length !== xs.length) return false;
    for (let i = 0; i < xs.length; i++) { const r = matchesAnsType(xs[i], parts[i]); if (r !== true) return r; }
    return true;
  }
  return `unsupported answer type ${ansType}`;
}

function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === ',' && depth === 0) { out.push(cur); cur = ''; } else cur += ch;
  }
  out.push(cur);
  return out;
}
