#!/usr/bin/env python3
"""Writes small.imatrix.gguf and small.imatrix.dat: a tiny importance matrix in llama.cpp's two
formats, encoded here from the format descriptions (GGUF spec; llama.cpp's imatrix layout), with
no qmix code involved, so the tests check qmix against an independent encoder.

Content: chunk_size 32, chunk_count 4, dataset "calib.txt";
  blk.0.attn_q.weight      dense, 32 channels, count 64, Σx²[i] = 0.25 * (i % 7 + 1) * 64
  blk.0.ffn_up_exps.weight 3 experts x 32 channels, counts [40, 0, 88],
                           Σx²[e][i] = 0.5 * (i % 5 + e + 1) * count[e]
The .dat holds what llama-imatrix writes for the same state: values = f32(f32(Σx²)/f32(count)) *
ncall, ncall = ceil(max count / chunk_size), experts without data store ncall.
Run from this directory: python3 make_fixture.py
"""
import math
import struct

CHUNK_SIZE = 32
CHUNK_COUNT = 4
DATASET = "calib.txt"
ALIGN = 32


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def entries():
    q = [0.25 * (i % 7 + 1) * 64 for i in range(32)]
    counts = [40, 0, 88]
    exps = [0.5 * (i % 5 + e + 1) * counts[e] for e in range(3) for i in range(32)]
    return [("blk.0.attn_q.weight", 32, q, [64]),
            ("blk.0.ffn_up_exps.weight", 32, exps, counts)]


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def write_gguf(path):
    kvs = [
        gguf_string("general.type") + struct.pack("<I", 8) + gguf_string("imatrix"),
        gguf_string("imatrix.datasets") + struct.pack("<IIQ", 9, 8, 1) + gguf_string(DATASET),
        gguf_string("imatrix.chunk_count") + struct.pack("<II", 4, CHUNK_COUNT),
        gguf_string("imatrix.chunk_size") + struct.pack("<II", 4, CHUNK_SIZE),
    ]
    tensors = []  # (name, dims, float values)
    for name, n, sums, counts in entries():
        n_mat = len(counts)
        tensors.append((name + ".in_sum2", [n] if n_mat == 1 else [n, n_mat], sums))
        tensors.append((name + ".counts", [1] if n_mat == 1 else [1, n_mat], [float(c) for c in counts]))
    infos, data, offset = b"", b"", 0
    for name, dims, values in tensors:
        infos += gguf_string(name) + struct.pack("<I", len(dims))
        infos += b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", 0, offset)
        blob = b"".join(struct.pack("<f", v) for v in values)
        blob += b"\0" * (-len(blob) % ALIGN)
        data += blob
        offset += len(blob)
    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs) + infos
    header += b"\0" * (-len(header) % ALIGN)
    with open(path, "wb") as f:
        f.write(header + data)


def write_dat(path):
    out = struct.pack("<i", 2)
    for name, n, sums, counts in entries():
        ncall = math.ceil(max(counts) / CHUNK_SIZE)
        out += struct.pack("<i", len(name)) + name.encode() + struct.pack("<ii", ncall, len(sums))
        for i, s in enumerate(sums):
            c = counts[i // n]
            v = float(ncall) if c == 0 else f32(f32(f32(s) / f32(c)) * ncall)
            out += struct.pack("<f", v)
    out += struct.pack("<i", CHUNK_COUNT) + struct.pack("<i", len(DATASET)) + DATASET.encode()
    with open(path, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    write_gguf("small.imatrix.gguf")
    write_dat("small.imatrix.dat")
