"""Independent checker for a sworn bundle directory (Python `cryptography`, hashlib).

Written from docs/bundle-format.md only, without the Rust code: recomputes the RFC 6962
root of log/entries.jsonl, verifies every checkpoint signed note (C2SP key id and
Ed25519 over the body), every attestation and the minutes, and that the zip holds the
same files stored. Prints one line per check; exits 1 on the first failure.
"""
import base64, hashlib, json, os, sys, zipfile
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives import serialization

root_dir, zip_path = sys.argv[1], sys.argv[2]
def rd(p): return open(os.path.join(root_dir, p), "rb").read()
def fail(msg): print("FAIL", msg); sys.exit(1)

def mth(leaves):
    if not leaves: return hashlib.sha256(b"").digest()
    if len(leaves) == 1: return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves): k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()

manifest = json.loads(rd("manifest.json"))
entries = rd("log/entries.jsonl").split(b"\n")
assert entries[-1] == b""; entries = entries[:-1]
pub = load_pem_public_key(rd("keys/server.pub.pem"))
raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
name = manifest["origin"].split("/")[0]
key_id = hashlib.sha256(name.encode() + b"\n\x01" + raw).digest()[:4]
pub.verify(rd("manifest.sig"), rd("manifest.json"))
listed = {f["path"]: f for f in manifest["files"]}
for p, f in listed.items():
    b = rd(p)
    if hashlib.sha256(b).hexdigest() != f["sha256"] or len(b) != f["length"]: fail(p + ": manifest")
print(f"PASS manifest signature; {len(listed)} listed files match")
n_notes = 0
for f in sorted(os.listdir(os.path.join(root_dir, "log/checkpoints"))):
    if not f.endswith(".note"): continue
    note = rd("log/checkpoints/" + f).decode()
    body, sigs = note.split("\n\n", 1)
    body += "\n"
    line = sigs.strip("\n").split("\n")[0]
    assert line.startswith("\u2014 " + name + " "), line
    blob = base64.b64decode(line.split(" ")[2])
    if blob[:4] != key_id: fail(f + ": key id")
    pub.verify(blob[4:], body.encode())  # raises InvalidSignature
    origin, size, root_b64 = body.strip("\n").split("\n")
    if origin != manifest["origin"]: fail(f + ": origin")
    if base64.b64decode(root_b64) != mth(entries[: int(size)]): fail(f + ": root")
    n_notes += 1
print(f"PASS {n_notes} checkpoint notes: signature, key id, origin, recomputed root")

bound, ordinal, minutes_key = {}, 0, None
for e in map(json.loads, entries):
    if e["type"] == "key_bound":
        bound[e["participant"]] = base64.urlsafe_b64decode(e["public_key"] + "==")
    if e["type"] == "attestation":
        ordinal += 1
        stem = f"attestations/{ordinal:04d}-{e['kind']}"
        stmt, sig = rd(stem + ".json"), rd(stem + ".sig")
        if hashlib.sha256(stmt).hexdigest() != e["statement_sha256"]: fail(stem + ": hash")
        key = Ed25519PublicKey.from_public_bytes(bound[e["participant"]])
        key.verify(sig, stmt)
        file_key = load_pem_public_key(rd(stem + ".pub.pem")).public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if file_key != bound[e["participant"]]: fail(stem + ": pub.pem")
        if e["kind"] == "minutes": minutes_key = key
print(f"PASS {ordinal} attestations verify under keys bound earlier in the log")
if minutes_key is not None:
    minutes_key.verify(rd("minutes/minutes.sig"), rd("minutes/minutes.html"))
    print("PASS minutes signature")

with zipfile.ZipFile(zip_path) as z:
    names = sorted(i.filename for i in z.infolist())
    on_disk = sorted(os.path.relpath(os.path.join(d, f), root_dir)
                     for d, _, fs in os.walk(root_dir) for f in fs)
    if names != on_disk: fail("zip names differ from directory")
    for i in z.infolist():
        if i.compress_type != zipfile.ZIP_STORED: fail(i.filename + ": not stored")
        if z.read(i) != rd(i.filename): fail(i.filename + ": bytes differ")
print(f"PASS zip: {len(names)} stored entries identical to the directory")
