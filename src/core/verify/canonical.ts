// Canonical, type-tagged values as the judge reports them (evaluate mode, puzzle answers) and their rendering.
// A value is a JSON array whose first element is its tag:
//   Python: ["none"] ["bool",b] ["int",hex] ["float",repr] ["str",s] ["bytes",hex] ["complex",re,im]
//           ["list",[..]] ["tuple",[..]] ["set",[..]] ["frozenset",[..]] ["dict",[[k,v],..]] ["obj",class,[[name,v],..]]
//   JavaScript: ["undef"] ["null"] ["num",repr] ["int",hex] (BigInt) ["str",s] ["bool",b] ["list",..] ["dict",[[k,v]..]]
//           ["map",[[k,v]..]] ["set",[..]] ["date",iso] ["obj",class,[[name,v]..]]
// The judge compares nothing here: verdicts come from the interpreter that ran the tests.

export type Canon = [string, ...unknown[]];

function bigOf(hex: string): bigint {
  return hex.startsWith('-') ? -BigInt('0x' + hex.slice(1)) : BigInt('0x' + hex);
}

function items(v: Canon): Canon[] {
  return (v[1] as Canon[]) ?? [];
}

export function isCanon(v: unknown): v is Canon {
  return Array.isArray(v) && typeof v[0] === 'string';
}

/** Python truthiness of a canonical value; undefined when it cannot be decided from the value alone. */

/** Ordering: negative, zero, positive; undefined when the two cannot be ordered. */

/** Python `needle in container`; undefined when undecidable. */

/** Applies one comparison operator (Python ast names). Throws a readable Error when the operands cannot be compared. */

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
  const pairs = (xs: [Canon, Canon][], sep: string): string =>
    xs.map(([k, x]) => `${render(k)}${sep}${render(x)}`).join(', ');
  switch (v[0]) {
    case 'none':
      return 'None';
    case 'undef':
      return 'undefined';
    case 'null':
      return 'null';
    case 'bool':
      return v[1] ? 'True' : 'False';
    case 'int': {
      const n = bigOf(String(v[1]));
      return n.toString();
    }
    case 'float':
      return String(v[1]);
    case 'num':
      return String(v[1]);
    case 'str':
      return pyStr(String(v[1]));
    case 'bytes':
      return `bytes.fromhex('${String(v[1])}')`;
    case 'complex':
      return `(${v[1]}+${v[2]}j)`;
    case 'list':
      return `[${seq(items(v))}]`;
    case 'tuple': {
      const xs = items(v);
      return xs.length === 1 ? `(${render(xs[0])},)` : `(${seq(xs)})`;
    }
    case 'set':
      return items(v).length ? `{${seq(items(v))}}` : 'set()';
    case 'frozenset':
      return `frozenset({${seq(items(v))}})`;
    case 'dict':
      return `{${pairs(v[1] as [Canon, Canon][], ': ')}}`;
    case 'map':
      return `Map {${pairs(v[1] as [Canon, Canon][], ' => ')}}`;
    case 'date':
      return `Date(${String(v[1])})`;
    case 'type':
      return `<class '${String(v[1])}'>`;
    case 'obj':
      return `${String(v[1])}(${(v[2] as [Canon, Canon][]).map(([k, x]) => `${isCanon(k) ? render(k) : String(k)}=${render(x)}`).join(', ')})`;
    default:
      return JSON.stringify(v);
  }
}

/** Renders a JavaScript canonical value (booleans lower-case, strings double-quoted). */

/** Whether a canonical Python value has the type a P3 `ans_type` names (int, float, str, bool, List[..], Dict[..]...). */
