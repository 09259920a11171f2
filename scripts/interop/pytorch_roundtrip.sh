#!/bin/sh
# A real PyTorch ⇄ Unfold round trip through docs/export_pytorch.py and Debian's python3-torch
# (docs/pytorch.md). Exits non-zero if anything disagrees — or if the tampered file passes.
#   sh scripts/interop/pytorch_roundtrip.sh
set -eu
PY=${PYTHON:-/usr/bin/python3}
cd "$(dirname "$0")/../.."
FIX=packages/rnn/test/fixtures
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
npx tsc -b

echo "== PyTorch → Unfold: the committed fixtures, written by torch $($PY -c 'import torch; print(torch.__version__)')"
$PY docs/export_pytorch.py --mode LSTM --input-size 3 --hidden-size 4 --num-layers 2 --bidirectional \
    --seq-len 5 --batch 3 --lengths 5,3,1 --with-state --out $FIX/lstm_2layer_bidirectional.json
$PY docs/export_pytorch.py --mode GRU --input-size 3 --hidden-size 4 --num-layers 2 --bidirectional --batch-first \
    --seq-len 4 --batch 2 --out $FIX/gru_2layer_bidirectional_batchfirst.json
$PY docs/export_pytorch.py --mode RNN_RELU --input-size 2 --hidden-size 3 --num-layers 2 --no-bias \
    --seq-len 4 --batch 2 --with-state --out $FIX/rnn_relu_nobias.json
npx jest packages/rnn/test/pytorch.test.ts 2>&1 | grep -E '^(Tests|PASS|FAIL)'

echo "== Unfold → PyTorch: layers exported by exportLayerJson, loaded and run by torch"
node scripts/interop/unfold_layers.js "$TMP" >/dev/null
for f in "$TMP"/unfold_*.json; do
  echo "-- $(basename "$f")"
  $PY docs/export_pytorch.py --check "$f"
done

echo "== negative control: one weight moved by 1e-3 must fail the check"
$PY - "$TMP/unfold_lstm_float32.json" "$TMP/tampered.json" <<'PYEOF'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["weight_ih_l0"]["data"][0] += 1e-3
json.dump(doc, open(sys.argv[2], "w"))
PYEOF
if $PY docs/export_pytorch.py --check "$TMP/tampered.json"; then echo "the tampered file passed: the check cannot fail"; exit 1; fi
echo "round trip OK"
