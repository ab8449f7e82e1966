#!/usr/bin/env python3
"""Independent implementation of warpgate's link handshake key schedule, record format and
sealed box, written against docs/link-handshake.md with the Python `cryptography` package.
Prints the test vectors that docs/link-handshake.md lists and the unit tests check, so the C++
code is checked against a second implementation, not against itself. Signatures are ECDSA with
a random k: every run prints different (equally valid) signatures and sealed boxes; the
other values are fixed. Usage: python3 scripts/crypto_vectors.py"""
import hashlib

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def key(byte):
    return ec.derive_private_key(int.from_bytes(bytes([byte]) * 32, "big"), ec.SECP256K1())


def pub(k):
    return k.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)


def sign(k, message):
    r, s = decode_dss_signature(k.sign(message, ec.ECDSA(hashes.SHA256())))
    s = min(s, N - s)  # low-S
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def hkdf(ikm, salt, info, size):
    return HKDF(hashes.SHA256(), size, salt, info).derive(ikm)


def ecdh(k, peer33):
    return k.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), peer33))


def record(key32, counter, plaintext):
    header = counter.to_bytes(8, "big")
    return header + ChaCha20Poly1305(key32).encrypt(b"\0" * 4 + header, plaintext, header)


def show(name, value):
    print(f"{name} = {value.hex()}")


s_i, e_i, s_r, e_r = key(0x11), key(0x22), key(0x33), key(0x44)
nonce = bytes([0x55]) * 32
hello_body = bytes([1, 1]) + pub(e_i) + pub(s_i) + nonce
hello = hello_body + sign(s_i, b"warpgate-link-v1 hello" + hello_body)
reply_body = bytes([1, 2]) + pub(e_r) + pub(s_r)
reply = reply_body + sign(s_r, b"warpgate-link-v1 reply" + hello_body + reply_body)
shared = ecdh(e_i, pub(e_r))
assert shared == ecdh(e_r, pub(e_i))
th = hashlib.sha256(b"warpgate-link-v1 transcript" + hello_body + reply_body).digest()
k_i2r = hkdf(shared, th, b"warpgate-link-v1 initiator->responder", 32)
k_r2i = hkdf(shared, th, b"warpgate-link-v1 responder->initiator", 32)

for name, k in [("initiator identity", s_i), ("initiator ephemeral", e_i), ("responder identity", s_r),
                ("responder ephemeral", e_r)]:
    show(name + " public", pub(k))
show("hello body", hello_body)
show("hello", hello)
show("reply body", reply_body)
show("reply", reply)
show("ecdh shared", shared)
show("transcript hash", th)
show("key initiator->responder", k_i2r)
show("key responder->initiator", k_r2i)
show("record i->r #0 'hello, warpgate'", record(k_i2r, 0, b"hello, warpgate"))
show("record i->r #1 ''", record(k_i2r, 1, b""))
show("record r->i #0 'hi'", record(k_r2i, 0, b"hi"))

# Session records (docs/link-handshake.md, "Record test vectors"): session ids 11223344
# (initiator) and 55667788 (responder), connection id 00..0f; a sealed record is
# type | receiver id | channel record of (kind | body).
id_i, id_r, con_id = bytes.fromhex("11223344"), bytes.fromhex("55667788"), bytes(range(16))
show("hello record, before the handshake hello", bytes([0xD1, 1, 1]) + id_i + con_id)
show("plaintext hello record", bytes([0xD1, 1, 0]) + id_i + con_id)
show("reply record, before the handshake reply", bytes([0xD2]) + id_i + id_r + bytes([1]))
show("refuse record 'encryption required'", bytes([0xD5]) + id_i + b"encryption required")
show("sealed confirm i->r #0", bytes([0xD3]) + id_r + record(k_i2r, 0, bytes([4])))
sealed_data = bytes([0xD3]) + id_r + record(k_i2r, 0, bytes([0]) + b"hi")
show("sealed data 'hi' i->r #0", sealed_data)
show("sealed confirm_ack r->i #0", bytes([0xD3]) + id_i + record(k_r2i, 0, bytes([5])))
show("plain data 'hi' to the responder", bytes([0xD4]) + id_r + bytes([0]) + b"hi")
show("sealed data 'hi' i->r #0 on TCP", len(sealed_data).to_bytes(4, "big") + sealed_data)

# Sealed box to the responder's identity key, aad "signal".
eph = ec.generate_private_key(ec.SECP256K1())
box_key = hkdf(ecdh(eph, pub(s_r)), pub(eph) + pub(s_r), b"warpgate-seal-v1", 44)
header = bytes([1]) + pub(eph)
show("sealed box to responder identity 'offer', aad 'signal'",
     header + ChaCha20Poly1305(box_key[:32]).encrypt(box_key[32:], b"offer", header + b"signal"))
print("node id of responder identity =", hashlib.sha256(pub(s_r)).hexdigest()[:25])
