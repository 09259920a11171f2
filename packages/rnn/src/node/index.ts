// @unfold/rnn/node — the Node-only side of the library: files and directories. The main entry
// ('@unfold/rnn') imports nothing from Node and runs in a browser; everything here wraps its
// bytes APIs with node:fs.
export { saveCheckpoint, loadCheckpoint, hasCheckpoint, previousDir, removeOrphans, directoryStore, SaveOptions, SaveStage } from './checkpointDir';
export { loadTextFile } from './corpus';
export { writeSvg, writeFileAtomic } from './write';
export { fileWriter } from './log-file';
export { saveSafetensorsFile, loadSafetensorsFile, readSafetensorsFile, decodeSafetensorsFile } from './safetensors';
export { loadTfjsLayersModelFile } from './tfjs';
