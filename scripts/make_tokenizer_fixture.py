#!/usr/bin/env python3
"""Builds the tokenizer fixtures in testdata/tokenizer/ from ../shared (see the README there).

For each tiny model: <model>.vocab.gguf keeps only the `tokenizer.*` metadata of
../shared/gguf/<model>.bf16.gguf (llama.cpp's converter output; values copied byte for byte,
no tensors), and <model>.tokens.json is ../shared/models/<model>/reference/tokens.json
(transformers' token ids) unchanged.

Usage: python3 scripts/make_tokenizer_fixture.py [SHARED_DIR]   (default ../shared)
"""
import os
import shutil
import struct
import sys

MODELS = ["tiny-qwen3", "tiny-llama"]
SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
STRING, ARRAY = 8, 9


def skip_value(buf, pos, value_type):
    """Position just past a value of `value_type` starting at `pos`."""
    if value_type == STRING:
        (n,) = struct.unpack_from("<Q", buf, pos)
        return pos + 8 + n
    if value_type == ARRAY:
        element_type, count = struct.unpack_from("<IQ", buf, pos)
        pos += 12
        if element_type in SCALAR_SIZES:
            return pos + count * SCALAR_SIZES[element_type]
        for _ in range(count):
            pos = skip_value(buf, pos, element_type)
        return pos
    return pos + SCALAR_SIZES[value_type]


def tokenizer_kvs(path):
    """[(key, raw type+value bytes)] of the tokenizer.* keys of a GGUF file."""
    buf = open(path, "rb").read()
    magic, _version, _n_tensors, n_kv = struct.unpack_from("<4sIQQ", buf, 0)
    assert magic == b"GGUF", path
    pos = 24
    out = []
    for _ in range(n_kv):
        (key_len,) = struct.unpack_from("<Q", buf, pos)
        key = buf[pos + 8:pos + 8 + key_len].decode()
        pos += 8 + key_len
        (value_type,) = struct.unpack_from("<I", buf, pos)
        end = skip_value(buf, pos + 4, value_type)
        if key.startswith("tokenizer.") and key != "tokenizer.chat_template":
            out.append((key, buf[pos:end]))
        pos = end
    return out


def write_gguf(path, kvs):
    with open(path, "wb") as f:
        f.write(struct.pack("<4sIQQ", b"GGUF", 3, 0, len(kvs)))
        for key, raw in kvs:
            encoded = key.encode()
            f.write(struct.pack("<Q", len(encoded)) + encoded + raw)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared")
    out_dir = os.path.join(root, "testdata", "tokenizer")
    os.makedirs(out_dir, exist_ok=True)
    for model in MODELS:
        kvs = tokenizer_kvs(os.path.join(shared, "gguf", f"{model}.bf16.gguf"))
        write_gguf(os.path.join(out_dir, f"{model}.vocab.gguf"), kvs)
        shutil.copyfile(os.path.join(shared, "models", model, "reference", "tokens.json"),
                        os.path.join(out_dir, f"{model}.tokens.json"))


if __name__ == "__main__":
    main()
