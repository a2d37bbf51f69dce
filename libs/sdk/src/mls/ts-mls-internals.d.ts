// ts-mls exports these from its "./*.js" subpaths but not from its index; the project's TypeScript
// (module commonjs, node10 resolution) does not read package "exports", so declare the ones we use.
declare module 'ts-mls/keyPackage.js' {
  import type { CiphersuiteImpl, KeyPackage } from 'ts-mls';
  export function makeKeyPackageRef(value: KeyPackage, h: CiphersuiteImpl['hash']): Promise<Uint8Array>;
  export function verifyKeyPackage(kp: KeyPackage, s: CiphersuiteImpl['signature']): Promise<boolean>;
}
declare module 'ts-mls/groupInfo.js' {
  import type { GroupInfo, RatchetTree } from 'ts-mls';
  export function ratchetTreeFromExtension(info: GroupInfo): RatchetTree | undefined;
}
