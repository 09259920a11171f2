"""A Keras GRU (reset_after=True, Keras' default) fixture in tfjs LayersModel form, from torch.

tfjs-layers 4.22 throws on resetAfter: true and Keras/TensorFlow is not in Debian, so this
writes the model.json + weights.bin that `tensorflowjs_converter` gives for
    Sequential([Bidirectional(GRU(3, return_sequences=True), input_shape=(5, 2)), GRU(4)])
(Keras 2 weight names: bidirectional/forward_gru/gru_cell/kernel, …) with weights taken from
torch.nn.GRU modules, converted to Keras' layout — kernel [I, 3H] with gates z, r, h,
recurrent_kernel [H, 3H], bias [2, 3H] (input row, recurrent row) — and torch's outputs as the
expected result (PyTorch's GRU is Keras' reset_after=True GRU). Run with Debian's python:
    /usr/bin/python3 scripts/interop/keras_gru_fixture.py
"""
import json
import os
import struct

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'packages', 'rnn', 'test', 'fixtures', 'tfjs', 'keras_gru_reset_after')
ZRH = [1, 0, 2]  # Keras block j takes torch block ZRH[j]: z = torch's 1, r = torch's 0, h = n


def keras(w, H):
    """torch [3H, X] (or [3H]) → Keras order z, r, h, transposed to [X, 3H] for matrices."""
    blocks = [w[g * H:(g + 1) * H] for g in ZRH]
    return torch.cat(blocks, 0).t().contiguous() if w.dim() == 2 else torch.cat(blocks, 0)


def gru_weights(prefix, m, sfx, H):
    return [
        (f'{prefix}/kernel', keras(getattr(m, f'weight_ih_l0{sfx}').detach(), H)),
        (f'{prefix}/recurrent_kernel', keras(getattr(m, f'weight_hh_l0{sfx}').detach(), H)),
        (f'{prefix}/bias', torch.stack([keras(getattr(m, f'bias_ih_l0{sfx}').detach(), H), keras(getattr(m, f'bias_hh_l0{sfx}').detach(), H)])),
    ]


def gru_config(name, units, return_sequences, **extra):
    return {'class_name': 'GRU', 'config': {'name': name, 'trainable': True, 'dtype': 'float32', 'return_sequences': return_sequences,
            'return_state': False, 'go_backwards': False, 'stateful': False, 'unroll': False, 'time_major': False, 'units': units,
            'activation': 'tanh', 'recurrent_activation': 'sigmoid', 'use_bias': True, 'dropout': 0.0, 'recurrent_dropout': 0.0,
            'implementation': 2, 'reset_after': True, **extra}}


def main():
    torch.manual_seed(18)
    a = nn.GRU(2, 3, bidirectional=True, batch_first=True)
    b = nn.GRU(6, 4, batch_first=True)
    x = torch.randn(2, 5, 2)
    with torch.no_grad():
        y, _ = a(x)
        _, hn = b(y)
    out = hn[0]  # GRU(4) without return_sequences: the last step, [B, 4]
    weights = gru_weights('bidirectional/forward_gru/gru_cell', a, '', 3) + gru_weights('bidirectional/backward_gru/gru_cell', a, '_reverse', 3) + gru_weights('gru_1/gru_cell_1', b, '', 4)
    topology = {'class_name': 'Sequential', 'config': {'name': 'sequential', 'layers': [
        {'class_name': 'InputLayer', 'config': {'batch_input_shape': [None, 5, 2], 'dtype': 'float32', 'sparse': False, 'ragged': False, 'name': 'input_1'}},
        {'class_name': 'Bidirectional', 'config': {'name': 'bidirectional', 'trainable': True, 'dtype': 'float32', 'merge_mode': 'concat', 'layer': gru_config('gru', 3, True)}},
        gru_config('gru_1', 4, False),
    ]}, 'keras_version': '2.15.0', 'backend': 'tensorflow'}
    os.makedirs(OUT, exist_ok=True)
    blob = b''.join(struct.pack(f'<{w.numel()}f', *w.reshape(-1).tolist()) for _, w in weights)
    with open(os.path.join(OUT, 'weights.bin'), 'wb') as f:
        f.write(blob)
    manifest = [{'paths': ['weights.bin'], 'weights': [{'name': n, 'shape': list(w.shape), 'dtype': 'float32'} for n, w in weights]}]
    with open(os.path.join(OUT, 'model.json'), 'w') as f:
        json.dump({'format': 'layers-model', 'generatedBy': 'keras v2.15.0 (layout written by scripts/interop/keras_gru_fixture.py)', 'convertedBy': None, 'modelTopology': topology, 'weightsManifest': manifest}, f)
    with open(os.path.join(OUT, 'io.json'), 'w') as f:
        json.dump({'source': f'torch {torch.__version__} nn.GRU, scripts/interop/keras_gru_fixture.py', 'input': {'shape': list(x.shape), 'data': x.reshape(-1).tolist()},
                   'output': {'shape': list(out.shape), 'data': out.reshape(-1).tolist()}}, f)
        f.write('\n')
    print('wrote', os.path.normpath(OUT))


if __name__ == '__main__':
    main()
