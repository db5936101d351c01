// Canonical JSON (docs/bundle-format.md §1): a strict parser that keeps integers exact
// (BigInt) and the one encoder; a document is canonical iff it re-encodes to its bytes.
// Owns parsing of every hashed or signed JSON document; it must never accept floats,
// duplicate keys or any second encoding of a value.

const MAX_U64 = (1n << 64n) - 1n;
const MIN_I64 = -(1n << 63n);

export class JsonError extends Error {}

/** Parses JSON text; numbers become BigInt (integers only). Throws JsonError. */
export function parseJson(text) {
  let i = 0;
  const fail = (m) => { throw new JsonError(`${m} at ${i}`); };
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i++; };
  const value = (depth) => {
    if (depth > 64) fail('too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj = new Map();
      ws();
      if (text[i] === '}') { i++; return obj; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected key');
        const k = string();
        if (obj.has(k)) fail('duplicate key');
        ws();
        if (text[i] !== ':') fail('expected :');
        i++;
        obj.set(k, value(depth + 1));
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return obj; }
        fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const arr = [];
      ws();
      if (text[i] === ']') { i++; return arr; }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return arr; }
        fail('expected , or ]');
      }
    }
    if (c === '"') return string();
    if (text.startsWith('true', i)) { i += 4; return true; }
    if (text.startsWith('false', i)) { i += 5; return false; }
    if (text.startsWith('null', i)) { i += 4; return null; }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) fail('unexpected character');
    if (m[2] || m[3]) fail('number is not an integer');
    const n = BigInt(m[0]);
    if (n > MAX_U64 || n < MIN_I64) fail('integer out of range');
    i += m[0].length;
    return n;
  };
  const string = () => {
    i++;
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text[i];
      const code = c.charCodeAt(0);
      if (c === '"') { i++; return out; }
      if (code < 0x20) fail('control character in string');
      if (c !== '\\') { out += c; i++; continue; }
      const e = text[i + 1];
      i += 2;
      const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e in simple) { out += simple[e]; continue; }
      if (e !== 'u') fail('bad escape');
      const hex = text.slice(i, i + 4);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    }
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail('trailing characters');
  return v;
}

function encString(s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 8) out += '\\b';
    else if (c === 9) out += '\\t';
    else if (c === 10) out += '\\n';
    else if (c === 12) out += '\\f';
    else if (c === 13) out += '\\r';
    else if (c < 0x20) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

// JS string comparison is by UTF-16 code units, as the format requires.
const cmp16 = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** Canonical text of a parsed value. */
export function encode(v) {
  if (v === null) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return encString(v);
  if (Array.isArray(v)) return '[' + v.map(encode).join(',') + ']';
  if (v instanceof Map) {
    const keys = [...v.keys()].sort(cmp16);
    return '{' + keys.map((k) => encString(k) + ':' + encode(v.get(k))).join(',') + '}';
  }
  throw new JsonError('unencodable value');
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8 = new TextEncoder();

/** Parses bytes as JSON without the canonical check. Throws JsonError. */
export function parseBytes(bytes) {
  let text;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new JsonError('not UTF-8');
  }
  return parseJson(text);
}

/** Parses bytes that must be canonical JSON. Throws JsonError. */
export function parseCanonical(bytes) {
  const v = parseBytes(bytes);
  const again = utf8.encode(encode(v));
  if (again.length !== bytes.length) throw new JsonError('JSON is not in canonical form');
  for (let k = 0; k < again.length; k++) {
    if (again[k] !== bytes[k]) throw new JsonError('JSON is not in canonical form');
  }
  return v;
}
