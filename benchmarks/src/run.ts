// `npm run bench` entry point: filled in by the benchmark suite.
console.log('benchmarks: nothing registered yet');
