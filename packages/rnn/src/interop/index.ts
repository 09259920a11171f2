// Weights that travel: safetensors (bytes), ONNX export, TensorFlow.js/Keras import. No Node imports here.
export {
  encodeSafetensors, decodeSafetensors, entryToFloat64, SafetensorsError, SAFETENSORS_DTYPES, SAFETENSORS_MAX_HEADER,
  SafetensorsDType, SafetensorsData, SafetensorsEntry, SafetensorsFile, SafetensorsProblem,
} from './safetensors';
export { saveSafetensors, loadSafetensors, readSafetensors, tensorsToSafetensors } from './stateDict';
export { exportOnnx, OnnxExportOptions } from './onnx/export';
export { ONNX_OPSETS } from './onnx/graph';
export { ONNX_GATE_ORDER } from './onnx/recurrent';
export { loadTfjsLayersModel, KerasSequential, TFJS_SUPPORTED } from './tfjs/sequential';
export { TfjsModelJson, TfjsWeightSpec, TfjsWeightData } from './tfjs/weights';
