#!/usr/bin/env python3
"""The char-LM recipe of `npm run bench:recipe` in PyTorch (benchmarks/src/recipe.ts is the Unfold side).

  /usr/bin/python3 benchmarks/python/recipe.py SPEC.json      (prints one JSON line)

SPEC.json (written by recipe.ts): corpus path, vocabulary string, hidden, batch, seq, lr, steps,
threads, and the initial weights (PyTorch names, base64 float32) — the same numbers Unfold starts from.

The recipe: 1-layer LSTM, one-hot input (F.one_hot(ids, V).float(), [T, B, V]) -> nn.LSTM ->
nn.Linear -> cross_entropy, Adam; the first 90 % of the corpus cut into B contiguous streams read
in consecutive windows of T characters, the state carried (detached) from one window to the next
and reset when the streams wrap (truncated BPTT with k1 = k2 = T, as char-rnn); no clipping.
Validation: mean cross-entropy over the next 5 % of the corpus, the same way, from a zero state.
"""
import base64
import json
import os
import sys
import time

spec = json.load(open(sys.argv[1]))
threads = int(spec["threads"])
os.environ.setdefault("OMP_NUM_THREADS", str(threads))
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(threads)

text = open(spec["corpus"], encoding="utf-8", newline="").read()  # no newline translation: the same characters as Node reads
chars = sorted(set(text))  # by code point, as CharVocab.fromText
vocab = "".join(chars)
if vocab != spec["vocab"]:
    raise SystemExit(f"recipe.py: vocabulary differs from Unfold's ({len(vocab)} vs {len(spec['vocab'])} characters)")
index = {c: i for i, c in enumerate(chars)}
ids = torch.tensor([index[c] for c in text], dtype=torch.int64)
N = len(ids)
train_ids = ids[: int(N * 0.9)]
val_ids = ids[int(N * 0.9): int(N * 0.95)]
V, H, B, T = len(chars), spec["hidden"], spec["batch"], spec["seq"]


def streams(a):
    """[B, L] contiguous streams and the number of whole windows of T (+1 for the targets)."""
    L = len(a) // B
    return a[: B * L].reshape(B, L), (L - 1) // T


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(V, H, 1)
        self.fc = nn.Linear(H, V)

    def forward(self, x, h):
        out, h = self.rnn(F.one_hot(x, V).to(torch.float32), h)  # [T, B, H]
        return self.fc(out).reshape(-1, V), h


model = Model()
sd = {n: torch.frombuffer(bytearray(base64.b64decode(v["data"])), dtype=torch.float32).reshape(v["shape"]).clone() for n, v in spec["weights"].items()}
model.load_state_dict(sd, strict=True)
opt = torch.optim.Adam(model.parameters(), lr=spec["lr"])

S, n_win = streams(train_ids)
losses = []
h = None
t0 = time.perf_counter()
for step in range(spec["steps"]):
    k = step % n_win
    if k == 0:
        h = None  # the streams wrapped: start again from a zero state
    x = S[:, k * T: k * T + T].t().contiguous()  # [T, B]
    y = S[:, k * T + 1: k * T + T + 1].t().contiguous()
    opt.zero_grad(set_to_none=True)
    logits, h = model(x, h)
    loss = F.cross_entropy(logits, y.reshape(-1))
    loss.backward()
    opt.step()
    h = tuple(v.detach() for v in h)
    losses.append(loss.item())
train_s = time.perf_counter() - t0

t1 = time.perf_counter()
VS, v_win = streams(val_ids)
tot = 0.0
h = None
model.eval()
with torch.no_grad():
    for k in range(v_win):
        x = VS[:, k * T: k * T + T].t().contiguous()
        y = VS[:, k * T + 1: k * T + T + 1].t().contiguous()
        logits, h = model(x, h)
        tot += F.cross_entropy(logits, y.reshape(-1)).item()
val = tot / v_win

print(json.dumps({
    "framework": f"PyTorch {torch.__version__} ({torch.get_num_threads()} thread)",
    "threads": torch.get_num_threads(),
    "trainSeconds": train_s,
    "valSeconds": time.perf_counter() - t1,
    "steps": len(losses),
    "firstLoss": losses[0],
    "lastLosses": sum(losses[-100:]) / len(losses[-100:]),
    "valLoss": val,
    "losses": losses[:: max(1, len(losses) // 200)],
}))
