// RFC 3161 time-stamp token verification in the browser (src/verify/timestamp.rs):
// structure, imprint = SHA-256/384/512(note), the algorithms of tsalgs.js (RSA PKCS#1
// v1.5 or PSS, ECDSA P-256/P-384, SHA-256/384/512; WebCrypto), ESS
// signingCertificate(V2) binding, contentType and messageDigest attributes, signature
// over the stored signed attributes, path to a pinned certificate valid at genTime (each
// certificate signature checked), and a critical, exclusive timeStamping EKU.
// It must never read the clock or trust a certificate the chain PEM does not anchor.

import { bytesEqual } from './sha256.js';
import { Malformed, T, children, ctxCons, ctxPrim, single, oidToString, eq, stripSignByte, Cert } from './der.js';
import { b64decode } from './keys.js';
import { AlgError, sha2, digest, signatureScheme, verifySignature } from './tsalgs.js';

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingCertV1: '1.2.840.113549.1.9.16.2.12',
  signingCertV2: '1.2.840.113549.1.9.16.2.47',
  sha256: '2.16.840.1.101.3.4.2.1',
  timeStamping: '1.3.6.1.5.5.7.3.8',
};
const UNDERSTOOD = ['2.5.29.19', '2.5.29.15', '2.5.29.37', '2.5.29.14', '2.5.29.35', '2.5.29.17'];
const MAX_PATH = 8;

class TsError extends Error {}
const fail = (m) => new TsError(m);

function parseGenTime(bytes) {
  const s = new TextDecoder().decode(bytes);
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?Z$/.exec(s);
  if (!m) throw new Malformed('genTime');
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number);
  const dim = mo === 2 ? ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28) : [4, 6, 9, 11].includes(mo) ? 30 : 31;
  if (mo < 1 || mo > 12 || d < 1 || d > dim || h > 23 || mi > 59 || se > 59) throw new Malformed('genTime');
  const p2 = (n) => String(n).padStart(2, '0');
  return {
    unix: Date.UTC(y, mo - 1, d, h, mi, se) / 1000,
    rfc3339: `${String(y).padStart(4, '0')}-${p2(mo)}-${p2(d)}T${p2(h)}:${p2(mi)}:${p2(se)}${m[7] ? '.' + m[7] : ''}Z`,
  };
}

function parseTstInfo(der) {
  const r = children(single(der, T.SEQUENCE, 'TSTInfo'));
  if (!eq(r.next(T.INTEGER, 'TSTInfo version').value, [1])) throw new Malformed('TSTInfo version is not 1');
  r.next(T.OID, 'TSTInfo policy');
  const ir = children(r.next(T.SEQUENCE, 'messageImprint'));
  const alg = oidToString(children(ir.next(T.SEQUENCE, 'messageImprint algorithm')).next(T.OID, 'imprint algorithm').value);
  const imprint = ir.next(T.OCTET_STRING, 'hashedMessage').value;
  ir.finish('messageImprint');
  r.next(T.INTEGER, 'serialNumber');
  const genTime = parseGenTime(r.next(T.GENERALIZED_TIME, 'genTime').value);
  r.nextIf(T.SEQUENCE, 'accuracy');
  const ord = r.nextIf(T.BOOLEAN, 'ordering');
  if (ord && ord.value.length !== 1) throw new Malformed('ordering');
  r.nextIf(T.INTEGER, 'nonce');
  r.nextIf(ctxCons(0), 'tsa');
  r.nextIf(ctxCons(1), 'extensions');
  r.finish('TSTInfo trailing fields');
  return { alg, imprint, genTime };
}

const firstOid = (t, what) => oidToString(children(t).next(T.OID, what).value);

function parseSignedData(token) {
  const r = children(single(token, T.SEQUENCE, 'ContentInfo'));
  if (oidToString(r.next(T.OID, 'contentType').value) !== OID.signedData) throw new Malformed('token is not CMS SignedData');
  const explicit = r.next(ctxCons(0), 'ContentInfo content');
  r.finish('ContentInfo');
  const s = children(single(explicit.value, T.SEQUENCE, 'SignedData'));
  if (!eq(s.next(T.INTEGER, 'SignedData version').value, [3])) throw new Malformed('SignedData version is not 3');
  const digestAlgs = [];
  const dr = children(s.next(T.SET, 'digestAlgorithms'));
  while (!dr.isEmpty()) digestAlgs.push(firstOid(dr.next(T.SEQUENCE, 'digestAlgorithms'), 'digestAlgorithms'));
  const er = children(s.next(T.SEQUENCE, 'encapContentInfo'));
  if (oidToString(er.next(T.OID, 'eContentType').value) !== OID.tstInfo) throw new Malformed('eContentType is not id-ct-TSTInfo');
  const econtent = er.next(ctxCons(0), 'eContent');
  er.finish('encapContentInfo');
  const tstInfo = single(econtent.value, T.OCTET_STRING, 'eContent').value;
  const certificates = [];
  const certs = s.nextIf(ctxCons(0), 'certificates');
  if (certs) {
    const cr = children(certs);
    while (!cr.isEmpty()) {
      const c = cr.nextAny('certificate');
      if (c.tag === T.SEQUENCE) certificates.push(c.raw);
    }
  }
  s.nextIf(ctxCons(1), 'crls');
  const infos = s.next(T.SET, 'signerInfos');
  s.finish('SignedData');
  const ir = children(infos);
  const info = ir.next(T.SEQUENCE, 'SignerInfo');
  if (!ir.isEmpty()) throw new Malformed('token has more than one SignerInfo');
  const p = children(info);
  const version = p.next(T.INTEGER, 'SignerInfo version').value;
  const sidT = p.nextAny('sid');
  let sid;
  if (!eq(version, [1]) && !eq(version, [3])) throw new Malformed('SignerInfo version');
  if (sidT.tag === T.SEQUENCE && eq(version, [1])) {
    const sr = children(sidT);
    sid = { issuer: sr.next(T.SEQUENCE, 'sid issuer').raw, serial: sr.next(T.INTEGER, 'sid serial').value };
    sr.finish('sid');
  } else if (sidT.tag === ctxPrim(0) && eq(version, [3])) {
    sid = { keyId: sidT.value };
  } else {
    throw new Malformed('sid');
  }
  const digestAlg = firstOid(p.next(T.SEQUENCE, 'digestAlgorithm'), 'digestAlgorithm');
  const attrs = p.nextIf(ctxCons(0), 'signedAttrs');
  if (!attrs) throw new Malformed('signedAttrs missing');
  const sa = children(p.next(T.SEQUENCE, 'signatureAlgorithm'));
  const sigAlg = oidToString(sa.next(T.OID, 'signatureAlgorithm').value);
  const sigParams = sa.isEmpty() ? null : sa.nextAny('signatureAlgorithm').raw;
  sa.finish('signatureAlgorithm');
  const signature = p.next(T.OCTET_STRING, 'signature').value;
  p.nextIf(ctxCons(1), 'unsignedAttrs');
  p.finish('SignerInfo');
  const signedAttrs = Uint8Array.from(attrs.raw);
  signedAttrs[0] = T.SET;
  const out = { tstInfo, certificates, sid, digestAlg, signedAttrs, sigAlg, sigParams, signature, contentType: null, messageDigest: null, essV2: null, essV1: null };
  const ar = children(attrs);
  while (!ar.isEmpty()) {
    const a = children(ar.next(T.SEQUENCE, 'signed attribute'));
    const oid = oidToString(a.next(T.OID, 'attribute type').value);
    const vr = children(a.next(T.SET, 'attribute values'));
    a.finish('signed attribute');
    const value = vr.nextAny('attribute value');
    const once = (slot, what) => { if (out[slot] !== null || !vr.isEmpty()) throw new Malformed(what); };
    if (oid === OID.contentType) {
      once('contentType', 'contentType attribute');
      if (value.tag !== T.OID) throw new Malformed('contentType attribute');
      out.contentType = oidToString(value.value);
    } else if (oid === OID.messageDigest) {
      once('messageDigest', 'messageDigest attribute');
      if (value.tag !== T.OCTET_STRING) throw new Malformed('messageDigest attribute');
      out.messageDigest = value.value;
    } else if (oid === OID.signingCertV2) {
      once('essV2', 'signingCertificateV2 attribute');
      const w = 'signingCertificateV2 attribute';
      if (value.tag !== T.SEQUENCE) throw new Malformed(w);
      const first = children(children(children(value).next(T.SEQUENCE, w)).next(T.SEQUENCE, w));
      const alg = first.nextIf(T.SEQUENCE, w);
      out.essV2 = { alg: alg ? firstOid(alg, w) : OID.sha256, hash: first.next(T.OCTET_STRING, w).value };
    } else if (oid === OID.signingCertV1) {
      once('essV1', 'signingCertificate attribute');
      const w = 'signingCertificate attribute';
      if (value.tag !== T.SEQUENCE) throw new Malformed(w);
      const first = children(children(children(value).next(T.SEQUENCE, w)).next(T.SEQUENCE, w));
      out.essV1 = first.next(T.OCTET_STRING, w).value;
    }
  }
  if (out.contentType === null) throw new Malformed('contentType attribute missing');
  if (out.messageDigest === null) throw new Malformed('messageDigest attribute missing');
  if (!digestAlgs.includes(digestAlg)) throw new Malformed('SignerInfo digest algorithm not listed in digestAlgorithms');
  return out;
}

async function issuedBy(cert, issuer) {
  if (!eq(cert.issuer, issuer.subject)) return false;
  const scheme = signatureScheme(cert.sigAlg, cert.sigParams, null, 'certificate signature');
  return verifySignature(issuer, scheme, cert.tbs, cert.signature);
}

/** PEM list -> certificates, as chain.rs `certs_from_pem` reads it. */
function certsFromPem(pem) {
  const bad = () => fail('the trusted chain is not a PEM list of certificates');
  const BEGIN = '-----BEGIN CERTIFICATE-----';
  const END = '-----END CERTIFICATE-----';
  let text;
  try { text = new TextDecoder('utf-8', { fatal: true }).decode(pem); } catch { throw bad(); }
  const out = [];
  let rest = text;
  for (let start = rest.indexOf(BEGIN); start >= 0; start = rest.indexOf(BEGIN)) {
    const after = rest.slice(start + BEGIN.length);
    const end = after.indexOf(END);
    if (end < 0) throw bad();
    const der = b64decode(after.slice(0, end).replace(/[\t\n\f\r ]/g, ''));
    if (!der) throw bad();
    try { out.push(new Cert(der)); } catch { throw bad(); }
    rest = after.slice(end + END.length);
  }
  if (!out.length) throw bad();
  return out;
}

async function checkPath(signer, pool, trusted, at) {
  let current = signer;
  for (let i = 0; i < MAX_PATH; i++) {
    if (!(current.notBefore <= at && at <= current.notAfter)) throw fail('a certificate on the TSA path was not valid at genTime');
    const unknown = current.extensions.find((e) => e.critical && !UNDERSTOOD.includes(e.oid));
    if (unknown) throw fail(`a certificate on the TSA path has an unknown critical extension ${unknown.oid}`);
    if (trusted.some((t) => bytesEqual(t.der, current.der))) return;
    let next = null;
    for (const c of [...trusted, ...pool]) {
      if (!bytesEqual(c.der, current.der) && c.isCa() && (await issuedBy(current, c))) { next = c; break; }
    }
    if (!next) throw fail('the TSA certificate does not chain to a trusted certificate');
    current = next;
  }
  throw fail('the TSA certificate does not chain to a trusted certificate');
}

function checkTsaUsage(signer) {
  const e = signer.ext('2.5.29.37');
  if (!e) throw fail('the TSA certificate has no extendedKeyUsage timeStamping');
  const r = children(single(e.value, T.SEQUENCE, 'certificate extension'));
  const purposes = [];
  while (!r.isEmpty()) purposes.push(oidToString(r.next(T.OID, 'certificate extension').value));
  if (!purposes.includes(OID.timeStamping)) throw fail('the TSA certificate has no extendedKeyUsage timeStamping');
  if (purposes.length !== 1) throw fail("the TSA certificate's extendedKeyUsage has purposes besides timeStamping");
  if (!e.critical) throw fail("the TSA certificate's extendedKeyUsage is not critical");
  const ku = signer.keyUsage();
  if (ku && !ku(0) && !ku(1)) throw fail("the TSA certificate's keyUsage forbids signing");
}

/** -> {genTime, unix, notAfter, notAfterUnix} | {mismatch: true} | {invalid: reason}. */
export async function verifyToken(token, message, chainPem) {
  return verifyWith(token, chainPem, async (tst) => {
    const imprintHash = sha2(tst.alg, 'message imprint (need SHA-256/384/512)');
    return bytesEqual(tst.imprint, await digest(imprintHash, message));
  });
}

/**
 * The token's imprint must be exactly `imprint` under the SHA-2 OID `algOid` (an
 * evidence record's root hash; timestamp.rs `verify_token_digest`).
 */
export async function verifyTokenDigest(token, algOid, imprint, chainPem) {
  return verifyWith(token, chainPem, async (tst) => {
    sha2(tst.alg, 'message imprint (need SHA-256/384/512)');
    return tst.alg === algOid && bytesEqual(tst.imprint, imprint);
  });
}

/** RFC 3339 of Unix seconds, whole seconds (as chain.rs `not_after_rfc3339`). */
const rfc3339 = (unix) => new Date(unix * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function verifyWith(token, chainPem, imprintMatches) {
  try {
    const parts = parseSignedData(token);
    const tst = parseTstInfo(parts.tstInfo);
    if (!(await imprintMatches(tst))) return { mismatch: true };
    const signerHash = sha2(parts.digestAlg, 'SignerInfo digest (need SHA-256/384/512)');
    const scheme = signatureScheme(parts.sigAlg, parts.sigParams, signerHash, 'SignerInfo signature');
    const trusted = certsFromPem(chainPem);
    const embedded = parts.certificates.map((d) => new Cert(d));
    const signer = [...embedded, ...trusted].find((c) => (parts.sid.keyId
      ? (c.subjectKeyId() && bytesEqual(c.subjectKeyId(), parts.sid.keyId))
      : eq(c.issuer, parts.sid.issuer) && eq(stripSignByte(parts.sid.serial), c.serial)));
    if (!signer) throw fail("the signer's certificate is not in the token nor in the trusted chain");
    if (!parts.essV2 && !parts.essV1) throw fail('the ESS signingCertificate(V2) attribute is missing');
    const essMismatch = "the ESS signingCertificate(V2) hash does not match the signer's certificate";
    if (parts.essV2) {
      const essHash = sha2(parts.essV2.alg, 'signingCertificateV2 hash');
      if (!bytesEqual(parts.essV2.hash, await digest(essHash, signer.der))) throw fail(essMismatch);
    }
    if (parts.essV1 && !bytesEqual(parts.essV1, await digest('SHA-1', signer.der))) throw fail(essMismatch);
    if (parts.contentType !== OID.tstInfo) throw fail('the signed contentType attribute is not id-ct-TSTInfo');
    if (!bytesEqual(parts.messageDigest, await digest(signerHash, parts.tstInfo))) throw fail('the signed messageDigest attribute does not match the TSTInfo');
    if (!(await verifySignature(signer, scheme, parts.signedAttrs, parts.signature))) throw fail('the TSA signature does not verify');
    await checkPath(signer, embedded, trusted, tst.genTime.unix);
    checkTsaUsage(signer);
    return { genTime: tst.genTime.rfc3339, unix: tst.genTime.unix, notAfter: rfc3339(signer.notAfter), notAfterUnix: signer.notAfter };
  } catch (e) {
    if (e instanceof Malformed || e instanceof TsError || e instanceof AlgError) return { invalid: e.message };
    return { invalid: `time-stamp token is malformed: ${e && e.message}` };
  }
}
