// The embedded corpus, provided at build time by the esbuild plugin in src/build.ts.
declare module 'explorer:corpus' {
  const text: string;
  export default text;
}

// The shipped pre-trained LSTM (assets/lstm-shakespeare.ckpt), inlined as bytes.
declare module 'explorer:model' {
  const bytes: Uint8Array;
  export default bytes;
}
