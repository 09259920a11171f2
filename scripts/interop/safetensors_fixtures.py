"""safetensors fixtures for packages/rnn/test/interop-safetensors.test.ts, and the check that
torch loads what Unfold writes. Run with Debian's python3 (python3-torch):

    /usr/bin/python3 scripts/interop/safetensors_fixtures.py write   # py_*.safetensors + .json
    UNFOLD_REGEN_FIXTURES=1 npx jest packages/rnn/test/interop-safetensors.test.ts   # unfold_*
    /usr/bin/python3 scripts/interop/safetensors_fixtures.py check   # torch loads unfold_*

`check` exits 1 on any mismatch."""
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import dumps, loads  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, '..', '..', 'packages', 'rnn', 'test', 'fixtures', 'safetensors')
SOURCE = f'scripts/interop/safetensors_fixtures.py, torch {torch.__version__}'


def flat(t):
    return [float(v) for v in t.detach().double().reshape(-1).tolist()]


def entry(t):
    return {'shape': list(t.shape), 'data': flat(t)}


def write_mixed():
    g = torch.Generator().manual_seed(0)
    ts = {
        'weight': torch.randn(3, 4, generator=g),
        'bias.f64': torch.randn(4, generator=g, dtype=torch.float64),
        'half': torch.randn(2, 3, generator=g).half(),
        'brain': torch.randn(5, generator=g).bfloat16(),
        'steps': torch.tensor([1, -2, 2 ** 40], dtype=torch.int64),
        'ids': torch.tensor([[3, 1], [4, 1]], dtype=torch.int32),
        'bytes': torch.tensor([0, 255, 7], dtype=torch.uint8),
        'mask': torch.tensor([True, False, True]),
        'scalar': torch.tensor(2.5),
        'empty': torch.zeros(0, 3),
        'naïve': torch.tensor([1.0, -0.0, float('inf')]),
    }
    meta = {'format': 'pt', 'source': SOURCE}
    with open(os.path.join(FIX, 'py_mixed.safetensors'), 'wb') as f:
        f.write(dumps(ts, meta))
    ref = {n: {'dtype': str(t.dtype), 'shape': list(t.shape), 'values': [v if v == v and abs(v) != float('inf') else {float('inf'): 'Infinity', float('-inf'): '-Infinity'}.get(v, 'NaN') for v in flat(t)]} for n, t in ts.items()}
    with open(os.path.join(FIX, 'py_mixed.json'), 'w') as f:
        json.dump({'metadata': meta, 'tensors': ref}, f, indent=1, ensure_ascii=False)


def write_lstm():
    torch.manual_seed(1)
    m = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    x = torch.randn(5, 2, 3)
    h0 = torch.randn(4, 2, 4)
    c0 = torch.randn(4, 2, 4)
    with torch.no_grad():
        out, (hn, cn) = m(x, (h0, c0))
    with open(os.path.join(FIX, 'py_lstm.safetensors'), 'wb') as f:
        f.write(dumps(m.state_dict(), {'format': 'pt'}))
    io = {'__source__': SOURCE, '__input__': entry(x), '__h0__': entry(h0), '__c0__': entry(c0),
          '__output__': entry(out), '__h_n__': entry(hn), '__c_n__': entry(cn),
          '__config__': {'mode': 'LSTM', 'input_size': 3, 'hidden_size': 4, 'num_layers': 2, 'bias': True, 'batch_first': False, 'bidirectional': True}}
    with open(os.path.join(FIX, 'py_lstm.json'), 'w') as f:
        json.dump(io, f)


class CharRNN(nn.Module):
    """The torch twin of Unfold's CharRNN: children embedding (optional), rnn, fc."""

    def __init__(self, cell, vocab, hidden, layers, embedding_dim=None):
        super().__init__()
        self.vocab = vocab
        self.embedding = nn.Embedding(vocab, embedding_dim) if embedding_dim else None
        cls = {'lstm': nn.LSTM, 'gru': nn.GRU, 'rnn': nn.RNN}[cell]
        self.rnn = cls(embedding_dim or vocab, hidden, layers)
        self.fc = nn.Linear(hidden, vocab)

    def forward(self, ids):  # ids [T, B]
        x = self.embedding(ids) if self.embedding is not None else nn.functional.one_hot(ids, self.vocab).float()
        out, state = self.rnn(x)
        return self.fc(out), state


def check():
    worst, bad = 0.0, 0
    names = sorted(n for n in os.listdir(FIX) if n.startswith('unfold_') and n.endswith('.safetensors'))
    if not names:
        print('no unfold_*.safetensors: run the jest test with UNFOLD_REGEN_FIXTURES=1 first')
        return 1
    for n in names:
        data = open(os.path.join(FIX, n), 'rb').read()
        sd, meta = loads(data)
        same = dumps(sd, meta) == data  # this writer re-creates Unfold's bytes
        io = json.load(open(os.path.join(FIX, n.replace('.safetensors', '.json'))))
        c = io['config']
        m = CharRNN(c['cell'], c['vocabSize'], c['hiddenSize'], c['numLayers'], c.get('embeddingDim') if c.get('input') == 'embedding' else None)
        m.load_state_dict(sd, strict=True)  # every name and shape must match torch's
        T, B = io['shape']
        ids = torch.tensor(io['ids'], dtype=torch.int64).reshape(T, B)
        with torch.no_grad():
            logits, _ = m(ids)
        want = torch.tensor(io['logits'], dtype=torch.float64).reshape(logits.shape)
        err = (logits.double() - want).abs().max().item()
        scale = max(1.0, want.abs().max().item())
        tol = 64 * torch.finfo(logits.dtype).eps * scale  # float32 rounding over a few layers
        ok = same and err <= tol
        bad += not ok
        worst = max(worst, err)
        print(f'{n}: torch load_state_dict(strict) ok, logits max |Δ| {err:.3e} (tol {tol:.1e}), rewritten bytes {"identical" if same else "DIFFER"} → {"OK" if ok else "MISMATCH"}')
    return 1 if bad else 0


if __name__ == '__main__':
    what = sys.argv[1] if len(sys.argv) > 1 else 'write'
    os.makedirs(FIX, exist_ok=True)
    if what == 'write':
        write_mixed()
        write_lstm()
        print('wrote py_mixed.*, py_lstm.* in', os.path.normpath(FIX))
    elif what == 'check':
        sys.exit(check())
    else:
        sys.exit(f'unknown command {what} (write | check)')
