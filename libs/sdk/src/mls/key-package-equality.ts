/**
 * "Is this the same client?" for ts-mls's proposal checks, by signature key as its default does
 * (defaultKeyPackageEqualityConfig), but fast: ts-mls compares every Add with every other Add and with
 * every leaf of the tree, so a commit adding 2,000 devices made ~4 million constant-time comparisons
 * (2.5 s of a 14 s commit, bench/RESULTS.md). Signature keys are public: an ordinary comparison of a
 * string made once per key array is as correct, and the string is cached with the array.
 */
import type { ClientConfig, KeyPackage, LeafNode } from 'ts-mls';

const ids = new WeakMap<Uint8Array, string>();

function idOf(key: Uint8Array): string {
  let id = ids.get(key);
  if (id === undefined) {
    id = String.fromCharCode(...key);
    ids.set(key, id);
  }
  return id;
}

export const fastKeyPackageEquality: ClientConfig['keyPackageEqualityConfig'] = {
  compareKeyPackages: (a: KeyPackage, b: KeyPackage) => idOf(a.leafNode.signaturePublicKey) === idOf(b.leafNode.signaturePublicKey),
  compareKeyPackageToLeafNode: (a: KeyPackage, b: LeafNode) => idOf(a.leafNode.signaturePublicKey) === idOf(b.signaturePublicKey),
};
