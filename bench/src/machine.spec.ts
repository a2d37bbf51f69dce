import { serverNode } from './machine';

describe('the servers\' node in the report header', () => {
  it('names the version and which binary', () => {
    expect(serverNode(null)).toBe(`${process.version} (the harness's own node)`);
    expect(serverNode(process.execPath)).toBe(`${process.version} (${process.execPath})`);
  });
});
