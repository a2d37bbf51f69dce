import { pickMongoSource } from './mongo-source';

const probe = (ferretDbBuilt: boolean, goAvailable: boolean) => ({ ferretDbBuilt: () => ferretDbBuilt, goAvailable: () => goAvailable });

describe('pickMongoSource', () => {
  it('prefers MONGODB_URI, then FerretDB (built, or buildable with Go), then mongodb-memory-server', () => {
    expect(pickMongoSource({ MONGODB_URI: 'mongodb://x' }, probe(true, true))).toBe('uri');
    expect(pickMongoSource({}, probe(true, false))).toBe('ferretdb');
    expect(pickMongoSource({}, probe(false, true))).toBe('ferretdb');
    expect(pickMongoSource({}, probe(false, false))).toBe('memory-server');
  });
});
