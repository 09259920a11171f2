"""Validates the ONNX models Unfold exports with python3-onnx's checker (an independent protobuf
decoder and the ONNX operator schemas), plus shape inference. The models are the ones
packages/rnn/test/interop-onnx.test.ts writes to packages/rnn/test/fixtures/onnx/
(UNFOLD_REGEN_FIXTURES=1) and checks byte-for-byte against exportOnnx. Run with Debian's python:

    /usr/bin/python3 scripts/interop/onnx_check.py

Exits 1 if a model fails, or if the negative controls (an LSTM node with a dangling input, or
with an unknown op type) are not caught."""
import os
import sys

import onnx
from onnx import checker, shape_inference

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'packages', 'rnn', 'test', 'fixtures', 'onnx')


def check(model):
    checker.check_model(model, full_check=True)
    shape_inference.infer_shapes(model, check_type=True, strict_mode=True)


def main():
    bad = 0
    names = sorted(n for n in os.listdir(FIX) if n.endswith('.onnx'))
    for n in names:
        m = onnx.load(os.path.join(FIX, n))
        try:
            check(m)
            ops = sorted({node.op_type for node in m.graph.node})
            ins = ', '.join(i.name for i in m.graph.input)
            outs = ', '.join(o.name for o in m.graph.output)
            print(f'{n}: OK (ir {m.ir_version}, opset {m.opset_import[0].version}; inputs {ins}; outputs {outs}; ops {" ".join(ops)})')
        except Exception as e:  # noqa: BLE001
            bad += 1
            print(f'{n}: FAIL {e}')
    # negative controls: the checker must reject broken copies
    def dangling(node):
        node.input[1] = 'no_such_value'

    def unknown_op(node):
        node.op_type = 'LSTMX'

    for what, breakit in [('a dangling input', dangling), ('an unknown op type', unknown_op)]:
        m = onnx.load(os.path.join(FIX, 'charrnn_lstm_embedding.onnx'))
        breakit(next(node for node in m.graph.node if node.op_type == 'LSTM'))
        try:
            check(m)
            bad += 1
            print(f'negative control NOT caught: {what} passed the checker')
        except Exception as e:  # noqa: BLE001
            print(f'negative control ({what}) caught: {str(e).strip().splitlines()[0][:100]}')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
