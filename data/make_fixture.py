#!/usr/bin/env python3
"""Builds the CLI fixtures in data/ and derives the expected answer independently of
the C++ kernel: ChaCha8, Morphogen's PRG, DPF evaluation and the page scan are
re-implemented here from docs (shared/reference/morphogen-page-pir.md); packed keys
(docs/packed-dpf.md) from the format of issue 14, key generation and the key RNG
(KeyRng: a ChaCha20 keystream) included.

  make_fixture.py --pagequery BIN   write the matrix, make the request with `BIN keygen`
                                    (fixed seeds), write the expected responses; the
                                    packed request is derived here and must equal
                                    `BIN keygen --format packed`
  make_fixture.py                   rewrite the matrix and responses from the checked-in
                                    Morphogen request and the derived packed one
  make_fixture.py --check           write nothing; exit 1 unless the files in data/ match
"""
import argparse, hashlib, json, os, struct, subprocess, sys

DATA = os.path.dirname(os.path.abspath(__file__))
PAGE = 4096
MATRIX_BYTES = 5 * PAGE + 1000          # 6 pages, the last one zero-padded; d = 3
# (keygen --seed, --index): query 0 holds the party-0 keys, query 1 the party-1 keys,
# so results[0].pages[j] XOR results[1].pages[j] = page TARGETS[j].
KEYGEN = [(11, 2), (12, 5), (13, 7)]    # a full page, the partial last page, a page past the end
# Packed keys (leaf bits 1: pages 0..255): the same three, and page 200 of the second leaf.
PACKED_KEYGEN = KEYGEN + [(14, 200)]
PACKED_LEAF_BITS = 1
M32 = 0xFFFFFFFF

def chacha_block(key, counter, nonce, rounds):
    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574, *key, counter, *nonce]
    x = list(s)
    def qr(a, b, c, d):
        for (p, q, r, n) in ((a, b, d, 16), (c, d, b, 12), (a, b, d, 8), (c, d, b, 7)):
            x[p] = (x[p] + x[q]) & M32
            x[r] ^= x[p]
            x[r] = ((x[r] << n) | (x[r] >> (32 - n))) & M32
    for _ in range(rounds // 2):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return [(a + b) & M32 for a, b in zip(x, s)]

def expand(seed):                        # seed: 4 words -> (left, right, t_left, t_right)
    b0 = chacha_block(seed + seed, 0, [0, 0, 0], 8)
    b1 = chacha_block(seed + seed, 1, [0, 0, 0], 8)
    return b0[0:4], b0[4:8], b1[0] & 1, b1[1] & 1

def expand_packed(seed):                 # one block: children and control bits
    b = chacha_block(seed + seed, 0, [0, 0, 0], 8)
    return b[0:4], b[4:8], b[8] & 1, b[9] & 1

class KeyRng:                            # core/dpf.cpp KeyRng(seed): a ChaCha20 keystream
    def __init__(self, seed):
        self.key = [((seed >> (32 * (i % 2))) ^ (0x9E3779B9 * i)) & M32 for i in range(8)]
        self.counter, self.words = 0, []
    def next_seed(self):
        while len(self.words) < 4:
            self.words += chacha_block(self.key, self.counter, [0, 0, 0], 20)
            self.counter += 1
        out, self.words = self.words[:4], self.words[4:]
        return out

def generate_packed(bits, page, rng):    # issue 14: Morphogen's construction, one-block PRG
    roots = [rng.next_seed(), rng.next_seed()]
    s, t, cws, leaf = list(roots), [0, 1], [], page >> 7
    for l in range(bits):
        bit = (leaf >> (bits - 1 - l)) & 1
        e = [expand_packed(x) for x in s]
        keep = [(c[1], c[3]) if bit else (c[0], c[2]) for c in e]
        lose = [(c[0], c[2]) if bit else (c[1], c[3]) for c in e]
        seed_cw = [a ^ b for a, b in zip(lose[0][0], lose[1][0])]
        t_keep = keep[0][1] ^ keep[1][1] ^ t[0] ^ t[1]
        t_lose = lose[0][1] ^ lose[1][1] ^ t[0] ^ t[1] ^ 1
        cws.append((seed_cw, t_lose if bit else t_keep, t_keep if bit else t_lose))
        for q in range(2):
            s[q], nt = keep[q]
            if t[q]:
                s[q], nt = [a ^ b for a, b in zip(s[q], seed_cw)], nt ^ t_keep
            t[q] = nt
    beta = [0, 0, 0, 0]
    beta[(page & 127) // 32] = 1 << (page % 32)
    final = [a ^ b ^ c for a, b, c in zip(s[0], s[1], beta)]
    def to_bytes(party):
        out = b"PQP1" + struct.pack("<4I", *roots[party]) + bytes([party, party, bits])
        for cw, tl, tr in cws:
            out += struct.pack("<4I", *cw) + bytes([tl, tr])
        return out + struct.pack("<4I", *final)
    return "0x" + to_bytes(0).hex(), "0x" + to_bytes(1).hex()

def parse_key(hexstr):
    b = bytes.fromhex(hexstr[2:] if hexstr.startswith("0x") else hexstr)
    words = lambda at: list(struct.unpack_from("<4I", b, at))
    d = b[18]
    assert len(b) == 19 + 18 * d + 16, "key length"
    cws = [(words(19 + 18 * l), b[35 + 18 * l], b[36 + 18 * l]) for l in range(d)]
    return dict(root=words(0), t=b[16], party=b[17], d=d, cws=cws, final=words(19 + 18 * d))

def parse_packed(hexstr):
    b = bytes.fromhex(hexstr[2:])
    assert b[:4] == b"PQP1" and len(b) == 39 + 18 * b[22], "packed key"
    key = parse_key("0x" + b[4:].hex())
    key["packed"] = True
    return key

def mask(key, i):                        # one party's 16-byte mask (packed: leaf) at index i
    seed, t = key["root"], key["t"]
    prg = expand_packed if key.get("packed") else expand
    for l in range(key["d"]):
        bit = (i >> (key["d"] - 1 - l)) & 1
        left, right, tl, tr = prg(seed)
        seed, nt = (right, tr) if bit else (left, tl)
        if t:
            cw, cl, cr = key["cws"][l]
            seed, nt = [a ^ c for a, c in zip(seed, cw)], nt ^ (cr if bit else cl)
        t = nt
    if t:
        seed = [a ^ c for a, c in zip(seed, key["final"])]
    return struct.pack("<4I", *seed)

def selected(key, p):                    # packed: bit p & 127 of leaf p >> 7
    return (int.from_bytes(mask(key, p >> 7), "little") >> (p & 127)) & 1

def answer(key, matrix):                 # XOR over pages of page AND mask, per 16-byte vector
    pages = -(-len(matrix) // PAGE)
    padded = matrix + bytes(pages * PAGE - len(matrix))
    acc = 0
    for i in range(pages):
        if key.get("packed"):
            m = -selected(key, i)        # all ones or zero
        else:
            m = int.from_bytes(mask(key, i) * (PAGE // 16), "little")
        acc ^= int.from_bytes(padded[i * PAGE:(i + 1) * PAGE], "little") & m
    return acc.to_bytes(PAGE, "little")

def response_of(keys, matrix):           # Morphogen's response JSON, one compact line
    response = {"epoch_id": 0,
                "results": [{"pages": ["0x" + answer(k, matrix).hex() for k in q]} for q in keys]}
    return response, json.dumps(response, separators=(",", ":")) + "\n"

def check_reconstruction(response, matrix, targets):
    # Party 0 XOR party 1 = the target page (zero past the end).
    padded = matrix + bytes(256 * PAGE - len(matrix))
    for j, x in enumerate(targets):
        a = bytes.fromhex(response["results"][0]["pages"][j][2:])
        b = bytes.fromhex(response["results"][1]["pages"][j][2:])
        assert bytes(p ^ q for p, q in zip(a, b)) == padded[x * PAGE:(x + 1) * PAGE], f"target {x}"

def packed_request(pagequery):
    pairs = [generate_packed(PACKED_LEAF_BITS, x, KeyRng(s)) for s, x in PACKED_KEYGEN]
    if pagequery:                        # the C++ keygen must derive the same bytes
        for (s, x), (k0, k1) in zip(PACKED_KEYGEN, pairs):
            out = json.loads(subprocess.run([pagequery, "keygen", "--format", "packed", "--domain-bits",
                                             str(PACKED_LEAF_BITS), "--index", str(x), "--seed", str(s)],
                                            check=True, capture_output=True, text=True).stdout)
            if (out["party0"], out["party1"]) != (k0, k1):
                sys.exit(f"make_fixture.py: keygen --format packed --seed {s} --index {x} differs from the derivation")
    # The keys are point functions: leaves XOR to beta at the target's leaf, to zero elsewhere.
    for (_, x), (k0, k1) in zip(PACKED_KEYGEN, pairs):
        a, b = parse_packed(k0), parse_packed(k1)
        assert (a["party"], a["t"], b["party"], b["t"], a["d"]) == (0, 0, 1, 1, PACKED_LEAF_BITS)
        for leaf in range(1 << PACKED_LEAF_BITS):
            m = int.from_bytes(mask(a, leaf), "little") ^ int.from_bytes(mask(b, leaf), "little")
            assert m == ((1 << (x & 127)) if leaf == x >> 7 else 0), f"packed key {x} at leaf {leaf}"
    request = {"queries": [{"keys": [k0 for k0, _ in pairs[:3]]}, {"keys": [k1 for _, k1 in pairs[:3]]},
                           {"keys": [pairs[3][0], pairs[3][1], pairs[0][0]]}]}
    return request, json.dumps(request, indent=2) + "\n"

def make_matrix():                       # SHA-256 in counter mode: every byte differs
    out = b"".join(hashlib.sha256(b"pagequery fixture %d" % n).digest()
                   for n in range(-(-MATRIX_BYTES // 32)))
    return out[:MATRIX_BYTES]

def self_test():
    # RFC 8439 2.3.2: the 20-round block function.
    key = list(struct.unpack("<8I", bytes(range(32))))
    nonce = list(struct.unpack("<3I", bytes.fromhex("000000090000004a00000000")))
    out = struct.pack("<16I", *chacha_block(key, 1, nonce, 20))
    assert out.hex().startswith("10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"), "ChaCha"

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pagequery", help="pagequery binary: regenerate the request with its keygen")
    ap.add_argument("--check", action="store_true", help="compare with data/ instead of writing")
    args = ap.parse_args()
    self_test()
    matrix = make_matrix()
    req_path = os.path.join(DATA, "fixture_request.json")
    if args.pagequery:
        pairs = [json.loads(subprocess.run([args.pagequery, "keygen", "--domain-bits", "3",
                                            "--index", str(x), "--seed", str(s)],
                                           check=True, capture_output=True, text=True).stdout)
                 for s, x in KEYGEN]
        request = {"queries": [{"keys": [p["party0"] for p in pairs]},
                               {"keys": [p["party1"] for p in pairs]}]}
        request_text = json.dumps(request, indent=2) + "\n"
    else:
        with open(req_path) as f:
            request_text = f.read()
        request = json.loads(request_text)
    keys = [[parse_key(k) for k in q["keys"]] for q in request["queries"]]
    # The keys must be Morphogen point functions at the documented targets.
    for j, (_, x) in enumerate(KEYGEN):
        k0, k1 = keys[0][j], keys[1][j]
        assert (k0["party"], k0["t"], k1["party"], k1["t"], k0["d"]) == (0, 0, 1, 1, 3)
        for i in range(8):
            m = bytes(a ^ b for a, b in zip(mask(k0, i), mask(k1, i)))
            assert m == (b"\xff" * 16 if i == x else bytes(16)), f"key {j} at {i}"
    response, response_text = response_of(keys, matrix)
    check_reconstruction(response, matrix, [x for _, x in KEYGEN])
    # Packed keys: query 0 = party 0, query 1 = party 1 of the first three; query 2 =
    # both parties of page 200, then party 0 of page 2 again.
    packed, packed_text = packed_request(args.pagequery)
    pkeys = [[parse_packed(k) for k in q["keys"]] for q in packed["queries"]]
    packed_response, packed_response_text = response_of(pkeys, matrix)
    check_reconstruction(packed_response, matrix, [x for _, x in PACKED_KEYGEN[:3]])
    p200 = [bytes.fromhex(h[2:]) for h in packed_response["results"][2]["pages"][:2]]
    assert bytes(a ^ b for a, b in zip(*p200)) == bytes(PAGE), "page 200 lies past the end: zero"
    files = {"fixture_matrix.bin": matrix, "fixture_request.json": request_text.encode(),
             "fixture_response.json": response_text.encode(),
             "fixture_request_packed.json": packed_text.encode(),
             "fixture_response_packed.json": packed_response_text.encode()}
    if args.check:
        bad = []
        for name, content in files.items():
            path = os.path.join(DATA, name)
            if not os.path.exists(path):
                bad.append(name + " (missing)")
                continue
            with open(path, "rb") as f:
                if f.read() != content:
                    bad.append(name)
        if bad:
            sys.exit("make_fixture.py --check: differs from the derivation: " + ", ".join(bad))
        print("make_fixture.py --check: fixtures match")
        return
    for name, content in files.items():
        with open(os.path.join(DATA, name), "wb") as f:
            f.write(content)
    print("wrote", ", ".join(files))

if __name__ == "__main__":
    main()
