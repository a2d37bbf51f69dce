// Two projects: fast unit tests next to the code, and integration/e2e tests in test/ that talk to
// real FerretDB, Redis and an S3-compatible server started once per run by the global setup.
const { swcOptions } = require('./scripts/register-ts');

const swc = ['@swc/jest', swcOptions];
const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  // @noble/* v2 and ts-mls ship ESM only: let swc turn them into CommonJS for jest.
  transform: { '^.+\\.(t|j)s$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(@noble|ts-mls)/)'],
  moduleNameMapper: { '^@chat/(.*)$': '<rootDir>/libs/$1/src' },
  moduleFileExtensions: ['ts', 'js', 'json'],
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/data/', '<rootDir>/libs/sdk/dist/'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,bench}/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/setup/after-env.ts'],
    },
  ],
};
