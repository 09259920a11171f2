// Checkpoints as bytes (browser and Node alike): a manifest (format, tensor index, meta,
// SHA-256) and little-endian raw data, verified on load. The crash-safe directory layout
// (manifest.json + tensors.bin) is the Node wrapper in '@unfold/rnn/node'.
export {
  Checkpoint, CheckpointError, CheckpointErrorCode, Manifest, TensorEntry, JsonValue, JsonObject, FORMAT_NAME, FORMAT_VERSION, MANIFEST_CHECKSUM_FIELD, MANIFEST_FILE, BINARY_FILE, checkJson,
} from './format';
export { encodeCheckpoint, decodeCheckpoint, encodeParts, decodeParts, parseManifest, readManifestFile, manifestFileBytes, CONTAINER_MAGIC, CONTAINER_VERSION } from './codec';
export { CheckpointStore, memoryStore } from './store';
export { sha256, sha256Hex } from './sha256';
export { packOptimizerState, unpackOptimizerState, OptimizerMeta } from './optimizer';
