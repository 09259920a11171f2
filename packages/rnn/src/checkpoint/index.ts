// Checkpoints: a directory holding manifest.json (format, tensor index, meta, SHA-256) and
// tensors.bin (little-endian raw data), written atomically and verified on load.
export { Checkpoint, CheckpointError, CheckpointErrorCode, Manifest, TensorEntry, JsonValue, JsonObject, FORMAT_NAME, FORMAT_VERSION } from './format';
export { saveCheckpoint, SaveOptions, SaveStage } from './save';
export { loadCheckpoint } from './load';
export { packOptimizerState, unpackOptimizerState, OptimizerMeta } from './optimizer';
