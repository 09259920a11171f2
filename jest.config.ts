import type { Config } from 'jest';

// Tests run on the TypeScript sources (no build step needed for jest itself);
// `npm test` still runs `tsc -b` first so that type errors fail the suite.
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/benchmarks', '<rootDir>/examples', '<rootDir>/docs', '<rootDir>/browser', '<rootDir>/packaging'],
  testMatch: ['**/test/**/*.test.ts'],
  // Transpile only (isolatedModules): type errors are caught by `tsc -b`, which `npm test` runs first.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.base.json', isolatedModules: true, diagnostics: false }] },
  moduleNameMapper: { '^@unfold/(tensor|autodiff|rnn|cli)$': '<rootDir>/packages/$1/src/index.ts', '^@unfold/rnn/node$': '<rootDir>/packages/rnn/src/node/index.ts', '^@unfold/tensor/kernels$': '<rootDir>/packages/tensor/src/kernels.ts' },
  modulePathIgnorePatterns: ['<rootDir>/packages/.*/dist', '<rootDir>/benchmarks/dist', '<rootDir>/examples/dist', '<rootDir>/browser/dist'],
  testTimeout: 120000,
};

export default config;
