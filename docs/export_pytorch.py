#!/usr/bin/env python3
"""Export a torch.nn.RNN / LSTM / GRU to Unfold's JSON, with an example input and PyTorch's
output for it in the same file, or check an Unfold export against PyTorch (docs/pytorch.md).

    # a fresh module (float64, seeded), run on a random input:
    python docs/export_pytorch.py --mode LSTM --input-size 3 --hidden-size 4 --num-layers 2 \
        --bidirectional --seq-len 5 --batch 3 --lengths 5,3,1 --with-state --out lstm.json

    # the other way: weights written by Unfold's stateDictToJson (with __config__ and
    # __input__ / __output__ extras) into torch, and compare the outputs:
    python docs/export_pytorch.py --check unfold.json

From Python, for a module of your own: `json_text = export(module, x, h0, c0, lengths)`.

Format: {name: {"shape": [...], "data": [row-major floats]}} for every entry of
module.state_dict(), plus the reserved entries __source__, __config__, __input__, __h0__,
__c0__, __lengths__, __output__, __h_n__, __c_n__ (and __dtype__ from Unfold). Values are
written as float64.
"""
import argparse
import json
import math

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def entry(t):
    t = t.detach().to(torch.float64).contiguous()
    data = t.reshape(-1).tolist()
    if not all(math.isfinite(v) for v in data):
        raise ValueError(f"non-finite value in a tensor of shape {list(t.shape)}: JSON cannot hold it")
    return {"shape": list(t.shape), "data": data}


def tensor_of(e, dtype):
    return torch.tensor(e["data"], dtype=dtype).reshape(e["shape"])


def config_of(m):
    return {"mode": m.mode, "input_size": m.input_size, "hidden_size": m.hidden_size, "num_layers": m.num_layers,
            "bias": m.bias, "batch_first": m.batch_first, "bidirectional": m.bidirectional}


def build(c, dtype=torch.float64):
    kw = dict(input_size=c["input_size"], hidden_size=c["hidden_size"], num_layers=c["num_layers"], bias=c["bias"],
              batch_first=c["batch_first"], bidirectional=c["bidirectional"], dtype=dtype)
    if c["mode"] == "LSTM":
        return nn.LSTM(**kw)
    if c["mode"] == "GRU":
        return nn.GRU(**kw)
    return nn.RNN(nonlinearity="relu" if c["mode"] == "RNN_RELU" else "tanh", **kw)


def run(m, x, h0=None, c0=None, lengths=None):
    """Eval-mode forward; with lengths, through pack_padded_sequence (outputs past a length are 0)."""
    m.eval()
    with torch.no_grad():
        hx = ((h0, c0) if h0 is not None else None) if isinstance(m, nn.LSTM) else h0
        if lengths is None:
            out, h = m(x, hx)
        else:
            T = x.shape[1] if m.batch_first else x.shape[0]
            packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=m.batch_first, enforce_sorted=False)
            out, h = m(packed, hx)
            out, _ = pad_packed_sequence(out, batch_first=m.batch_first, total_length=T)
    return (out,) + (h if isinstance(h, tuple) else (h, None))


def export(m, x, h0=None, c0=None, lengths=None):
    out, h_n, c_n = run(m, x, h0, c0, lengths)
    doc = {"__source__": f"torch {torch.__version__}", "__config__": config_of(m)}
    for name, t in m.state_dict().items():
        doc[name] = entry(t)
    doc["__input__"] = entry(x)
    if h0 is not None:
        doc["__h0__"] = entry(h0)
    if c0 is not None:
        doc["__c0__"] = entry(c0)
    if lengths is not None:
        doc["__lengths__"] = [int(v) for v in lengths]
    doc["__output__"] = entry(out)
    doc["__h_n__"] = entry(h_n)
    if c_n is not None:
        doc["__c_n__"] = entry(c_n)
    # one entry per line, each compact (the layout of packages/rnn/test/fixtures/*.json)
    lines = [f"{json.dumps(k)}: {json.dumps(v, allow_nan=False, separators=(',', ':'))}" for k, v in doc.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


# The largest |torch − file| accepted, per element of the producer's dtype: K units of that dtype's
# rounding (eps), times the size of the values (max(1, |reference|)). A float32 layer's outputs
# are float32-rounded and its recurrences add rounding per step and layer (seen: ~6e-8 against
# torch's float64 result); a float64 layer agrees to ~1e-15. K = 256 leaves room for longer
# sequences and deeper stacks while still catching any real mistake (wrong gate, missing bias:
# errors of 1e-3 and more).
TOLERANCE_ULPS = 256
EPS = {"float32": 2.0 ** -23, "float64": 2.0 ** -52}


def producer_dtype(doc):
    """The dtype the file's numbers were computed in: __dtype__ when the producer wrote it
    (Unfold's exportLayerJson does), else float32 if every weight is a float32 value, else float64."""
    if "__dtype__" in doc:
        if doc["__dtype__"] not in EPS:
            raise ValueError(f"__dtype__ must be float32 or float64, got {doc['__dtype__']!r}")
        return doc["__dtype__"]
    values = [v for k, e in doc.items() if not (k.startswith("__") and k.endswith("__")) for v in e["data"]]
    return "float32" if all(float(torch.tensor(v, dtype=torch.float32)) == v for v in values) else "float64"


def check(path):
    """Loads an Unfold export into torch (strict names and shapes), runs it in float64 and compares
    the outputs with a tolerance from the producer's dtype. Returns True when they agree."""
    with open(path) as f:
        doc = json.load(f)
    dtype = producer_dtype(doc)
    m = build(doc["__config__"])
    sd = {k: tensor_of(v, torch.float64) for k, v in doc.items() if not (k.startswith("__") and k.endswith("__"))}
    m.load_state_dict(sd, strict=True)
    get = lambda k: tensor_of(doc[k], torch.float64) if k in doc else None
    out, h_n, c_n = run(m, get("__input__"), get("__h0__"), get("__c0__"), doc.get("__lengths__"))
    ok = True
    worst = 0.0
    for key, mine in (("__output__", out), ("__h_n__", h_n), ("__c_n__", c_n)):
        if key in doc and mine is not None:
            ref = get(key)
            d = (mine - ref).abs().max().item() if ref.numel() else 0.0
            tol = TOLERANCE_ULPS * EPS[dtype] * max(1.0, ref.abs().max().item() if ref.numel() else 0.0)
            ok = ok and d <= tol
            worst = max(worst, d)
            print(f"{key}: max |torch - file| = {d:.3e} (tolerance {tol:.1e})")
    print("OK" if ok else "MISMATCH", f"(worst {worst:.3e}; the file is {dtype}: tolerance {TOLERANCE_ULPS} × {EPS[dtype]:.2e} × max(1, |value|))")
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", metavar="JSON", help="compare an Unfold export with PyTorch instead of exporting")
    p.add_argument("--mode", choices=["RNN_TANH", "RNN_RELU", "LSTM", "GRU"], default="LSTM")
    p.add_argument("--input-size", type=int, default=3)
    p.add_argument("--hidden-size", type=int, default=4)
    p.add_argument("--num-layers", type=int, default=1)
    p.add_argument("--no-bias", action="store_true")
    p.add_argument("--batch-first", action="store_true")
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--seq-len", type=int, default=5)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--lengths", help="comma-separated, one per example, each in 1..seq-len (torch rejects 0)")
    p.add_argument("--with-state", action="store_true", help="random h0 (and c0) instead of zeros")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="-")
    a = p.parse_args()
    if a.check:
        raise SystemExit(0 if check(a.check) else 1)

    torch.manual_seed(a.seed)
    c = {"mode": a.mode, "input_size": a.input_size, "hidden_size": a.hidden_size, "num_layers": a.num_layers,
         "bias": not a.no_bias, "batch_first": a.batch_first, "bidirectional": a.bidirectional}
    m = build(c)
    x = torch.randn(*((a.batch, a.seq_len) if a.batch_first else (a.seq_len, a.batch)), a.input_size, dtype=torch.float64)
    state = (a.num_layers * (2 if a.bidirectional else 1), a.batch, a.hidden_size)
    h0 = 0.5 * torch.randn(*state, dtype=torch.float64) if a.with_state else None
    c0 = 0.5 * torch.randn(*state, dtype=torch.float64) if a.with_state and a.mode == "LSTM" else None
    lengths = [int(v) for v in a.lengths.split(",")] if a.lengths else None
    text = export(m, x, h0, c0, lengths)
    if a.out == "-":
        print(text, end="")
    else:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
