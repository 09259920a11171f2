"""safetensors read/write with struct + json only (the `safetensors` pip package is not in
Debian), following the reference writer (huggingface/safetensors, Rust `serialize`): tensors
ordered by dtype (widest alignment first: the Rust Dtype enum order, descending) then by name,
compact JSON with __metadata__ first and keys dtype, shape, data_offsets, header padded with
spaces to a multiple of 8. Tensors are torch tensors."""
import json
import struct

import torch

# Rust `Dtype` enum order (the writer sorts by it, descending)
DTYPES = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64']
TORCH = {'BOOL': torch.bool, 'U8': torch.uint8, 'I8': torch.int8, 'I16': torch.int16, 'F16': torch.float16,
         'BF16': torch.bfloat16, 'I32': torch.int32, 'F32': torch.float32, 'F64': torch.float64, 'I64': torch.int64}
NAME = {v: k for k, v in TORCH.items()}
SIZE = {'BOOL': 1, 'U8': 1, 'I8': 1, 'I16': 2, 'F16': 2, 'BF16': 2, 'I32': 4, 'F32': 4, 'F64': 8, 'I64': 8}


def _raw(t):
    t = t.detach().contiguous().reshape(-1)
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)  # numpy has no bfloat16
    return t.numpy().tobytes()  # little-endian on every machine torch runs on here


def dumps(tensors, metadata=None):
    """{name: torch.Tensor} -> bytes."""
    names = sorted(tensors, key=lambda n: n.encode('utf-8'))
    names.sort(key=lambda n: DTYPES.index(NAME[tensors[n].dtype]), reverse=True)  # stable: name order within a dtype
    parts, blobs, at = [], [], 0
    if metadata is not None:
        meta = ','.join(json.dumps(k, ensure_ascii=False) + ':' + json.dumps(metadata[k], ensure_ascii=False)
                        for k in sorted(metadata, key=lambda k: k.encode('utf-8')))
        parts.append('"__metadata__":{' + meta + '}')
    for n in names:
        t = tensors[n]
        raw = _raw(t)
        shape = ','.join(str(d) for d in t.shape)
        parts.append(f'{json.dumps(n, ensure_ascii=False)}:{{"dtype":"{NAME[t.dtype]}","shape":[{shape}],"data_offsets":[{at},{at + len(raw)}]}}')
        blobs.append(raw)
        at += len(raw)
    header = ('{' + ','.join(parts) + '}').encode('utf-8')
    header += b' ' * ((8 - len(header) % 8) % 8)
    return struct.pack('<Q', len(header)) + header + b''.join(blobs)


def loads(data):
    """bytes -> ({name: torch.Tensor}, metadata); raises ValueError on any inconsistency."""
    if len(data) < 8:
        raise ValueError('too short')
    (n,) = struct.unpack('<Q', data[:8])
    if n > 100_000_000 or 8 + n > len(data):
        raise ValueError(f'bad header length {n}')
    header = json.loads(data[8:8 + n].decode('utf-8'))
    metadata = header.pop('__metadata__', None)
    body = data[8 + n:]
    entries = sorted(header.items(), key=lambda kv: kv[1]['data_offsets'])
    at, out = 0, {}
    for name, e in entries:
        b, end = e['data_offsets']
        count = 1
        for d in e['shape']:
            count *= d
        if b != at or end - b != count * SIZE[e['dtype']]:
            raise ValueError(f'{name}: bad offsets {e["data_offsets"]}')
        at = end
        dt = TORCH[e['dtype']]
        raw = bytearray(body[b:end])
        if dt == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if raw else torch.empty(0, dtype=dt)
        else:
            t = torch.frombuffer(raw, dtype=dt) if raw else torch.empty(0, dtype=dt)
        out[name] = t.reshape(e['shape'])
    if at != len(body):
        raise ValueError('trailing bytes')
    return out, metadata
