import { Checkpoint } from './format';
import { decodeCheckpoint, encodeCheckpoint } from './codec';

/**
 * Where fit keeps its checkpoints: anything that can save and load one. The library does no
 * I/O of its own, so the store is the caller's: `directoryStore(dir)` from '@unfold/rnn/node'
 * (crash-safe directories), `memoryStore()` below (a tab, tests), or your own over IndexedDB,
 * localStorage or a server — `encodeCheckpoint`/`decodeCheckpoint` turn one into bytes and back.
 */
export interface CheckpointStore {
  save(ckpt: Checkpoint): void;
  /** The last saved checkpoint, or null when there is none yet. */
  load(): Checkpoint | null;
  /** Called by fit before training: throw here (with a named error) when saving cannot work. */
  check?(): void;
  /** Where the checkpoints go, for messages. */
  describe?: string;
}

/** A store holding the last checkpoint as bytes in memory (encoded and verified like any other). */
export function memoryStore(): CheckpointStore & { bytes: Uint8Array | null } {
  const s = {
    bytes: null as Uint8Array | null,
    describe: 'memory',
    save(ckpt: Checkpoint): void {
      s.bytes = encodeCheckpoint(ckpt);
    },
    load(): Checkpoint | null {
      return s.bytes === null ? null : decodeCheckpoint(s.bytes);
    },
  };
  return s;
}
