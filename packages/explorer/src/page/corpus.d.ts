// The embedded corpus, provided at build time by the esbuild plugin in src/build.ts.
declare module 'explorer:corpus' {
  const text: string;
  export default text;
}
