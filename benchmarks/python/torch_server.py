#!/usr/bin/env python3
"""The PyTorch contender of `npm run bench`: a long-lived child process speaking JSON lines.

One request per line on stdin, one reply per line on stdout (benchmarks/src/torch/protocol.ts
is the other side). Arrays travel as base64 of little-endian float32 / int32.

  {"cmd": "hello"}                                  -> versions, threads, torch config, BLAS
  {"cmd": "build", "id", "workload", "weights", "x", "y"}   -> {"ok": true}
  {"cmd": "train" | "infer", "id", "reps"}          -> {"losses": [...], "ms": [...]}
  {"cmd": "gradients", "id"}                        -> {"grads": {name: {shape, data}}}
  {"cmd": "memory", "id"}                           -> {"rssBytes", "rssDelta"}
  {"cmd": "dispose", "id"} / {"cmd": "quit"}

The model is what a PyTorch user writes for a one-hot character model: F.one_hot(ids, V).float()
([T, B, V], time-major) -> nn.LSTM / nn.GRU / nn.RNN(tanh) -> nn.Linear(H, V) ->
F.cross_entropy(mean over T*B), torch.optim.Adam. The one-hot input is a dense [T, B, V] tensor
(a real GEMM with W_ih, as nn.LSTM does with any input), not an embedding lookup.

Each repetition is timed here with time.perf_counter() around the step only (zero_grad, forward,
backward, optimizer step, loss.item() for training; forward + loss.item() under no_grad for
inference): the JSON round trip to Node is outside the timed region.

Thread count: argv[1] (default 1). The parent also sets OMP_NUM_THREADS / OPENBLAS_NUM_THREADS
before this process starts, and torch.set_num_threads() is called before anything runs.
"""
import base64
import ctypes
import json
import os
import re
import sys
import time

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 1

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except Exception as e:  # reported as one line by the parent
    sys.stdout.write(json.dumps({"error": f"cannot import torch: {type(e).__name__}: {e}"}) + "\n")
    sys.stdout.flush()
    sys.exit(3)

torch.set_num_threads(THREADS)
torch.manual_seed(0)


def f32(s):
    return torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.float32)


def i64(s):
    return torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.int32).to(torch.int64)


def b64(t):
    return base64.b64encode(t.detach().contiguous().to(torch.float32).numpy().tobytes()).decode("ascii")


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def blas_report():
    """Which BLAS is actually mapped into this process, and OpenBLAS's own view of itself."""
    a = torch.randn(256, 256)
    torch.mm(a, a)  # make sure lazily loaded BLAS/LAPACK libraries are mapped
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and re.search(r"(blas|lapack|mkl|gomp|iomp|omp\.so)", os.path.basename(parts[5])):
                libs.add(parts[5])
    out = {"mapped": sorted(libs), "resolved": {p: os.path.realpath(p) for p in sorted(libs)}}
    for p in sorted(libs):
        if "blas" not in os.path.basename(p):
            continue
        try:
            h = ctypes.CDLL(p)
        except OSError:
            continue
        for sym, key in (("openblas_get_config", "openblasConfig"), ("openblas_get_corename", "openblasCore")):
            if hasattr(h, sym):
                fn = getattr(h, sym)
                fn.restype = ctypes.c_char_p
                out[key] = fn().decode()
        if hasattr(h, "openblas_get_num_threads"):
            out["openblasThreads"] = int(h.openblas_get_num_threads())
    out["env"] = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "MKL", "GOMP"))}
    return out


class CharModel(nn.Module):
    def __init__(self, cell, V, H, L):
        super().__init__()
        RNN = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.V = V
        self.rnn = RNN(V, H, L)  # time-major input [T, B, V]; nn.RNN's default nonlinearity is tanh
        self.fc = nn.Linear(H, V)

    def forward(self, x, y):
        h, _ = self.rnn(F.one_hot(x, self.V).to(torch.float32))  # [T, B, V] -> [T, B, H]
        logits = self.fc(h)  # [T, B, V]
        return F.cross_entropy(logits.reshape(-1, self.V), y.reshape(-1))


class Instance:
    def __init__(self, req):
        w = req["workload"]
        self.rss0 = rss_bytes()
        self.model = CharModel(w["cell"], w["vocab"], w["hidden"], w["layers"])
        sd = {}
        for name, v in req["weights"].items():
            sd[name] = f32(v["data"]).reshape(v["shape"]).clone()
        self.model.load_state_dict(sd, strict=True)
        T, B = req["T"], req["B"]
        self.x = i64(req["x"]).reshape(T, B)
        self.y = i64(req["y"]).reshape(T, B)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=w["lr"])  # betas (0.9, 0.999), eps 1e-8
        self.peak = rss_bytes()

    def train_step(self):
        self.model.train()
        t0 = time.perf_counter()
        self.opt.zero_grad(set_to_none=True)
        loss = self.model(self.x, self.y)
        loss.backward()
        self.opt.step()
        v = loss.item()
        return v, (time.perf_counter() - t0) * 1e3

    def infer(self):
        self.model.eval()
        t0 = time.perf_counter()
        with torch.no_grad():
            v = self.model(self.x, self.y).item()
        return v, (time.perf_counter() - t0) * 1e3

    def gradients(self):
        self.model.train()
        self.opt.zero_grad(set_to_none=True)
        self.model(self.x, self.y).backward()
        g = {n: {"shape": list(p.grad.shape), "data": b64(p.grad)} for n, p in self.model.named_parameters()}
        self.opt.zero_grad(set_to_none=True)
        return g


def handle(req, insts):
    cmd = req.get("cmd")
    if cmd == "hello":
        return {
            "torch": torch.__version__,
            "python": sys.version.split()[0],
            "executable": sys.executable,
            "threads": torch.get_num_threads(),
            "interopThreads": torch.get_num_interop_threads(),
            "config": torch.__config__.show(),
            "parallel": torch.__config__.parallel_info(),
            "blas": blas_report(),
        }
    if cmd == "build":
        insts[req["id"]] = Instance(req)
        return {"ok": True}
    if cmd in ("train", "infer"):
        inst = insts[req["id"]]
        run = inst.train_step if cmd == "train" else inst.infer
        losses, ms = [], []
        for _ in range(int(req.get("reps", 1))):
            v, t = run()
            losses.append(v)
            ms.append(t)
        inst.peak = max(inst.peak, rss_bytes())
        return {"losses": losses, "ms": ms}
    if cmd == "gradients":
        return {"grads": insts[req["id"]].gradients()}
    if cmd == "memory":
        inst = insts[req["id"]]
        return {"rssBytes": rss_bytes(), "rssDelta": inst.peak - inst.rss0}
    if cmd == "dispose":
        insts.pop(req["id"], None)
        return {"ok": True}
    raise ValueError(f"unknown command {cmd!r}")


def main():
    insts = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if req.get("cmd") == "quit":
                break
            rep = handle(req, insts)
        except Exception as e:
            rep = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(rep) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
