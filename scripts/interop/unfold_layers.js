// Writes Unfold layers, an input and their outputs as exportLayerJson files, for
// `python docs/export_pytorch.py --check` (scripts/interop/pytorch_roundtrip.sh). Needs `npx tsc -b`.
//   node scripts/interop/unfold_layers.js OUT_DIR
const fs = require('fs');
const path = require('path');
const { GRU, LSTM, SimpleRNN, exportLayerJson } = require('../../packages/rnn/dist');
const { Rng, uniform } = require('../../packages/tensor/dist');

const out = process.argv[2];
if (!out) throw new Error('usage: node scripts/interop/unfold_layers.js OUT_DIR');
fs.mkdirSync(out, { recursive: true });
const make = { lstm: (o) => new LSTM(o), gru: (o) => new GRU(o), rnn_relu: (o) => new SimpleRNN({ ...o, nonlinearity: 'relu' }) };
for (const dtype of ['float32', 'float64']) {
  for (const [kind, ctor] of Object.entries(make)) {
    const rng = new Rng(kind.length + (dtype === 'float64' ? 100 : 0));
    const layer = ctor({ inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, batchFirst: kind === 'gru', dtype, seed: 7 });
    const [T, B] = [6, 3];
    const x = uniform(kind === 'gru' ? [B, T, 3] : [T, B, 3], -1, 1, { rng, dtype });
    const h0 = uniform([4, B, 5], -0.5, 0.5, { rng, dtype });
    const input = { h0, lengths: [6, 4, 1] };
    if (kind === 'lstm') input.c0 = uniform([4, B, 5], -0.5, 0.5, { rng, dtype });
    const file = path.join(out, `unfold_${kind}_${dtype}.json`);
    fs.writeFileSync(file, exportLayerJson(layer, x, input));
    console.log(file);
  }
}
