#!/usr/bin/env python3
"""Writes the tiny GGUF fixtures in testdata/gguf/ and, beside each, the facts a reader must
report (tensor count, parameters and bytes per type), computed here independently of qmix.

The files are written byte by byte from the GGUF v3 layout (no qmix, no gguf-py), so tests that
compare `qmix inspect` with the .expected.json files check our reader against a second
implementation. Tensor data is zeros (F32 tensors hold 1.0): inspect never decodes it.

    python3 scripts/make_gguf_fixtures.py [OUT_DIR]     # default: testdata/gguf
"""
import json
import os
import struct
import sys

# ggml type id -> (name, values per block, bytes per block): format facts from ggml.
GGML_TYPES = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 8: ("Q8_0", 32, 34),
    12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210),
    23: ("IQ4_XS", 256, 136), 30: ("BF16", 1, 2),
}
TYPE_ID = {name: tid for tid, (name, _, _) in GGML_TYPES.items()}

# GGUF metadata value types.
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCALAR_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f",
              BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d"}

ALIGNMENT = 64
HIDDEN = 256
VOCAB = 40

TOKENS = ["<unk>", "<s>", "</s>"] + [f"tok{i}" for i in range(VOCAB - 3)]
MERGES = [f"t o{i}" for i in range(12)]

METADATA = [
    ("general.architecture", STR, "llama"),
    ("general.name", STR, "tiny-mixed"),
    ("general.file_type", U32, 15),
    ("general.quantization_version", U32, 2),
    ("general.alignment", U32, ALIGNMENT),
    ("llama.block_count", U32, 2),
    ("llama.context_length", U64, 128),
    ("llama.embedding_length", U32, HIDDEN),
    ("llama.rope.freq_base", F32, 10000.0),
    ("llama.attention.layer_norm_rms_epsilon", F64, 1e-6),
    ("test.i8", I8, -3),
    ("test.i16", I16, -300),
    ("test.u16", U16, 60000),
    ("test.i64", I64, -(1 << 40)),
    ("test.u8", U8, 200),
    ("tokenizer.ggml.model", STR, "gpt2"),
    ("tokenizer.ggml.pre", STR, "llama-bpe"),
    ("tokenizer.ggml.tokens", (ARR, STR), TOKENS),
    ("tokenizer.ggml.token_type", (ARR, I32), [2, 3, 3] + [1] * (VOCAB - 3)),
    ("tokenizer.ggml.merges", (ARR, STR), MERGES),
    ("tokenizer.ggml.bos_token_id", U32, 1),
    ("tokenizer.ggml.eos_token_id", U32, 2),
    ("tokenizer.ggml.add_bos_token", BOOL, True),
    ("tokenizer.chat_template", STR, "{% for m in messages %}\n{{ m.content }}\n{% endfor %}"),
]

# (name, shape in ggml order (row length first), type): a mixed-precision two-block model with
# a bias, a 3-D expert tensor, a 1-D "other" tensor and every role group.
TENSORS = [
    ("token_embd.weight", [HIDDEN, VOCAB], "Q8_0"),
    ("rope_freqs.weight", [32], "F32"),
    ("blk.0.attn_norm.weight", [HIDDEN], "F32"),
    ("blk.0.attn_q.weight", [HIDDEN, 4], "Q4_K"),
    ("blk.0.attn_q.bias", [4], "F32"),
    ("blk.0.attn_k.weight", [HIDDEN, 2], "Q4_K"),
    ("blk.0.attn_v.weight", [HIDDEN, 2], "Q6_K"),
    ("blk.0.attn_output.weight", [HIDDEN, 2], "F16"),
    ("blk.0.ffn_norm.weight", [HIDDEN], "F32"),
    ("blk.0.ffn_up.weight", [HIDDEN, 4], "Q4_K"),
    ("blk.0.ffn_down.weight", [HIDDEN, 4], "Q6_K"),
    ("blk.1.attn_norm.weight", [HIDDEN], "F32"),
    ("blk.1.attn_q.weight", [HIDDEN, 4], "Q5_K"),
    ("blk.1.attn_k.weight", [HIDDEN, 2], "Q5_K"),
    ("blk.1.attn_v.weight", [HIDDEN, 2], "Q6_K"),
    ("blk.1.attn_output.weight", [HIDDEN, 2], "BF16"),
    ("blk.1.ffn_norm.weight", [HIDDEN], "F32"),
    ("blk.1.ffn_up_exps.weight", [HIDDEN, 2, 2], "Q4_0"),
    ("blk.1.ffn_down.weight", [HIDDEN, 4], "IQ4_XS"),
    ("output_norm.weight", [HIDDEN], "F32"),
    ("output.weight", [HIDDEN, VOCAB], "Q6_K"),
]


def gguf_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def kv_bytes(key, vtype, value):
    out = gguf_string(key)
    if isinstance(vtype, tuple):
        _, elem = vtype
        out += struct.pack("<IIQ", ARR, elem, len(value))
        for v in value:
            out += gguf_string(v) if elem == STR else struct.pack(SCALAR_FMT[elem], v)
        return out
    out += struct.pack("<I", vtype)
    return out + (gguf_string(value) if vtype == STR else struct.pack(SCALAR_FMT[vtype], value))


def n_elements(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def tensor_nbytes(shape, type_name):
    _, block, block_bytes = GGML_TYPES[TYPE_ID[type_name]]
    assert shape[0] % block == 0, (shape, type_name)
    return n_elements(shape) // block * block_bytes


def align(n):
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def tensor_data(shape, type_name):
    if type_name == "F32":
        return struct.pack("<f", 1.0) * n_elements(shape)
    return bytes(tensor_nbytes(shape, type_name))


def gguf_bytes(metadata, tensors):
    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    header += b"".join(kv_bytes(*kv) for kv in metadata)
    offset = 0
    data = b""
    for name, shape, type_name in tensors:
        header += gguf_string(name) + struct.pack("<I", len(shape))
        header += b"".join(struct.pack("<Q", d) for d in shape)
        header += struct.pack("<IQ", TYPE_ID[type_name], offset)
        blob = tensor_data(shape, type_name)
        data += blob + bytes(align(len(blob)) - len(blob))
        offset = len(data)
    header += bytes(align(len(header)) - len(header))
    return header + data


def expected_facts(tensors, file_sizes):
    types = {}
    for _, shape, type_name in tensors:
        t = types.setdefault(type_name, {"tensors": 0, "params": 0, "bytes": 0})
        t["tensors"] += 1
        t["params"] += n_elements(shape)
        t["bytes"] += tensor_nbytes(shape, type_name)
    return {
        "tensor_count": len(tensors),
        "params": sum(t["params"] for t in types.values()),
        "tensor_bytes": sum(t["bytes"] for t in types.values()),
        "file_size": sum(file_sizes),
        "shards": len(file_sizes),
        "types": types,
        "tensor_types": {name: type_name for name, _, type_name in tensors},
    }


def write(path, blob):
    with open(path, "wb") as f:
        f.write(blob)


def write_json(path, facts):
    with open(path, "w") as f:
        json.dump(facts, f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "gguf")
    os.makedirs(out_dir, exist_ok=True)

    whole = gguf_bytes(METADATA, TENSORS)
    write(os.path.join(out_dir, "tiny-mixed.gguf"), whole)
    write_json(os.path.join(out_dir, "tiny-mixed.expected.json"),
               expected_facts(TENSORS, [len(whole)]))

    # The same model split in two as llama.cpp's gguf-split does it: all metadata in the first
    # shard, only split.* keys in the others, tensors divided in order.
    half = len(TENSORS) // 2
    sizes = []
    for no, part in enumerate([TENSORS[:half], TENSORS[half:]]):
        split_kvs = [("split.no", U16, no), ("split.count", U16, 2),
                     ("split.tensors.count", I32, len(TENSORS))]
        blob = gguf_bytes((METADATA if no == 0 else []) + split_kvs, part)
        write(os.path.join(out_dir, f"tiny-mixed-split-{no + 1:05d}-of-00002.gguf"), blob)
        sizes.append(len(blob))
    write_json(os.path.join(out_dir, "tiny-mixed-split.expected.json"),
               expected_facts(TENSORS, sizes))


if __name__ == "__main__":
    main()
