// A minimal DER reader and X.509 certificate view for RFC 3161 checks
// (src/verify/timestamp/der_walk.rs, chain.rs): definite lengths only, exact ends.
// Owns parsing; it must never accept trailing bytes or a length past its parent.

export class Malformed extends Error {
  constructor(what) { super(`time-stamp token is malformed: ${what}`); this.what = what; }
}

export const T = {
  BOOLEAN: 0x01, INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04, OID: 0x06,
  UTC_TIME: 0x17, GENERALIZED_TIME: 0x18, SEQUENCE: 0x30, SET: 0x31,
};
export const ctxCons = (n) => 0xa0 | n;
export const ctxPrim = (n) => 0x80 | n;

/** One TLV starting at `off` of `buf`: {tag, value, raw, end}. */
function tlvAt(buf, off, what) {
  if (off + 2 > buf.length) throw new Malformed(what);
  const tag = buf[off];
  if ((tag & 0x1f) === 0x1f) throw new Malformed(what);
  let len = buf[off + 1];
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > buf.length) throw new Malformed(what);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i];
    if (buf[p] === 0 || len < 128) throw new Malformed(what); // not minimal
    p += n;
  }
  if (p + len > buf.length) throw new Malformed(what);
  return { tag, value: buf.subarray(p, p + len), raw: buf.subarray(off, p + len), end: p + len };
}

export class Reader {
  constructor(buf) { this.buf = buf; this.off = 0; }
  isEmpty() { return this.off >= this.buf.length; }
  peekTag() { return this.isEmpty() ? null : this.buf[this.off]; }
  nextAny(what) {
    const t = tlvAt(this.buf, this.off, what);
    this.off = t.end;
    return t;
  }
  next(tag, what) {
    const t = this.nextAny(what);
    if (t.tag !== tag) throw new Malformed(what);
    return t;
  }
  nextIf(tag, what) { return this.peekTag() === tag ? this.next(tag, what) : null; }
  finish(what) { if (!this.isEmpty()) throw new Malformed(what); }
}

export const children = (t) => new Reader(t.value);

/** The single TLV that is all of `buf`, with the expected tag. */
export function single(buf, tag, what) {
  const r = new Reader(buf);
  const t = r.next(tag, what);
  r.finish(what);
  return t;
}

export function oidToString(b) {
  if (!b.length) throw new Malformed('OID');
  const parts = [];
  let v = 0;
  for (let i = 0; i < b.length; i++) {
    v = v * 128 + (b[i] & 0x7f);
    if (!(b[i] & 0x80)) { parts.push(v); v = 0; }
  }
  const first = parts.shift();
  const a = first < 40 ? 0 : first < 80 ? 1 : 2;
  return [a, first - a * 40, ...parts].join('.');
}

export const eq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
export const stripSignByte = (v) => (v.length > 1 && v[0] === 0 ? v.subarray(1) : v);

function parseTime(t) {
  const s = new TextDecoder().decode(t.value);
  let m;
  if (t.tag === T.UTC_TIME) {
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
    if (!m) throw new Malformed('certificate');
    const yy = Number(m[1]);
    m = [null, String(yy < 50 ? 2000 + yy : 1900 + yy), ...m.slice(2)];
  } else if (t.tag === T.GENERALIZED_TIME) {
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
    if (!m) throw new Malformed('certificate');
  } else {
    throw new Malformed('certificate');
  }
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number);
  // The der crate's DateTime: years 1970..=9999, real calendar dates.
  const dim = mo === 2 ? ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28) : [4, 6, 9, 11].includes(mo) ? 30 : 31;
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > dim || h > 23 || mi > 59 || se > 59) throw new Malformed('certificate');
  return Date.UTC(y, mo - 1, d, h, mi, se) / 1000;
}

/**
 * The primitive checks the der crate applies to the typed fields of a certificate:
 * minimal INTEGERs, canonical BOOLEANs, BIT STRING unused-bit counts, OID encodings.
 * (Values x509-cert keeps as `Any`, such as name attribute values, are not looked into.)
 */
function checkPrim(t) {
  const what = 'certificate';
  const v = t.value;
  switch (t.tag) {
    case T.BOOLEAN:
      if (v.length !== 1 || (v[0] !== 0 && v[0] !== 0xff)) throw new Malformed(what);
      break;
    case T.INTEGER:
      if (!v.length || (v.length > 1 && ((v[0] === 0 && !(v[1] & 0x80)) || (v[0] === 0xff && (v[1] & 0x80))))) throw new Malformed(what);
      break;
    case T.BIT_STRING:
      if (!v.length || v[0] > 7 || (v.length === 1 && v[0] !== 0)) throw new Malformed(what);
      break;
    case T.OID:
      if (v.length < 2 || v[v.length - 1] & 0x80) throw new Malformed(what);
      for (let i = 0; i < v.length; i++) if (v[i] === 0x80 && (i === 0 || !(v[i - 1] & 0x80))) throw new Malformed(what);
      break;
    default:
  }
  return t;
}

// Universal tag bytes the der crate (0.7) knows; it refuses any other universal tag even
// where x509-cert keeps the value as `Any` (tags of the other classes pass here, the
// high-tag-number form is refused by tlvAt).
const KNOWN_UNIVERSAL = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x09, 0x0a, 0x0c, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
  0x18, 0x1a, 0x1e, 0x30, 0x31];

/** A certificate's `Any` value: any content, but a tag the der crate can name. */
function anyValue(r, what) {
  const t = r.nextAny(what);
  if (t.tag < 0x40 && !KNOWN_UNIVERSAL.includes(t.tag)) throw new Malformed(what);
  return t;
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }. */
function algorithm(r) {
  const what = 'certificate';
  const a = children(r.next(T.SEQUENCE, what));
  const oid = checkPrim(a.next(T.OID, what));
  const params = a.isEmpty() ? null : anyValue(a, what);
  a.finish(what);
  return { oid: oidToString(oid.value), params };
}

/** Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }. */
function checkName(t) {
  const what = 'certificate';
  const rdns = children(t);
  while (!rdns.isEmpty()) {
    const set = children(rdns.next(T.SET, what));
    if (set.isEmpty()) throw new Malformed(what);
    while (!set.isEmpty()) {
      const atv = children(set.next(T.SEQUENCE, what));
      checkPrim(atv.next(T.OID, what));
      anyValue(atv, what);
      atv.finish(what);
    }
  }
}

/** X.509 certificate: raw pieces the chain checks need. */
export class Cert {
  constructor(der) {
    const what = 'certificate';
    const outer = single(der, T.SEQUENCE, what);
    const r = children(outer);
    const tbs = r.next(T.SEQUENCE, what);
    const sigAlg = algorithm(r);
    const sigBits = checkPrim(r.next(T.BIT_STRING, what)).value;
    r.finish(what);
    const t = children(tbs);
    const version = t.nextIf(ctxCons(0), what);
    if (version) checkPrim(single(version.value, T.INTEGER, what));
    this.serial = stripSignByte(checkPrim(t.next(T.INTEGER, what)).value);
    algorithm(t);
    const issuer = t.next(T.SEQUENCE, what);
    checkName(issuer);
    this.issuer = issuer.raw;
    const validity = children(t.next(T.SEQUENCE, what));
    this.notBefore = parseTime(validity.nextAny(what));
    this.notAfter = parseTime(validity.nextAny(what));
    validity.finish(what);
    const subject = t.next(T.SEQUENCE, what);
    checkName(subject);
    this.subject = subject.raw;
    const spki = t.next(T.SEQUENCE, what);
    this.spki = spki.raw;
    const sr = children(spki);
    const keyAlg = algorithm(sr);
    this.keyAlg = keyAlg.oid;
    this.curve = keyAlg.params && keyAlg.params.tag === T.OID ? oidToString(keyAlg.params.value) : null;
    this.publicKey = checkPrim(sr.next(T.BIT_STRING, what)).value.subarray(1);
    sr.finish(what);
    const uid1 = t.nextIf(ctxPrim(1), what);
    if (uid1) checkPrim({ tag: T.BIT_STRING, value: uid1.value });
    const uid2 = t.nextIf(ctxPrim(2), what);
    if (uid2) checkPrim({ tag: T.BIT_STRING, value: uid2.value });
    this.extensions = [];
    const exts = t.nextIf(ctxCons(3), what);
    if (exts) {
      const er = children(single(exts.value, T.SEQUENCE, what));
      while (!er.isEmpty()) {
        const e = children(er.next(T.SEQUENCE, what));
        const oid = oidToString(checkPrim(e.next(T.OID, what)).value);
        const crit = e.nextIf(T.BOOLEAN, what);
        if (crit) checkPrim(crit);
        const value = e.next(T.OCTET_STRING, what).value;
        e.finish(what);
        this.extensions.push({ oid, critical: !!crit && crit.value[0] === 0xff, value });
      }
    }
    t.finish(what);
    this.der = der;
    this.tbs = tbs.raw;
    this.sigAlg = sigAlg.oid;
    this.sigParams = sigAlg.params ? sigAlg.params.raw : null;
    this.signature = sigBits.subarray(1);
  }
  ext(oid) { return this.extensions.find((e) => e.oid === oid) || null; }
  subjectKeyId() {
    const e = this.ext('2.5.29.14');
    try { return e ? single(e.value, T.OCTET_STRING, 'ski').value : null; } catch { return null; }
  }
  /** KeyUsage bits (0 = digitalSignature) or null. */
  keyUsage() {
    const e = this.ext('2.5.29.15');
    if (!e) return null;
    const v = single(e.value, T.BIT_STRING, 'certificate extension').value;
    return (bit) => v.length > 1 + (bit >> 3) && !!(v[1 + (bit >> 3)] & (0x80 >> (bit & 7)));
  }
  isCa() {
    let ca = false;
    try {
      const e = this.ext('2.5.29.19');
      if (e) {
        const b = children(single(e.value, T.SEQUENCE, 'bc')).nextIf(T.BOOLEAN, 'bc');
        ca = !!b && b.value[0] === 0xff;
      }
      const ku = this.keyUsage();
      return ca && (ku === null || ku(5));
    } catch {
      return false;
    }
  }
}
