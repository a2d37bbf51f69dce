/**
 * MLS wire bytes: the one ciphersuite, decoding, and inspection of what a Delivery Service may read
 * in the clear (key package identity and signature, group id / epoch / content type of handshake and
 * application messages, the key package references a Welcome is for). Nothing here decrypts: the
 * server uses these functions too.
 */
// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- an ambient declaration file cannot be imported; this keeps it in every compile that reaches this module (bench/tsconfig.json too)
/// <reference path="./ts-mls-internals.d.ts" />
import { type CiphersuiteImpl, type CryptoProvider, type KeyPackage, type MLSMessage, type RatchetTree, decodeMlsMessage, defaultCryptoProvider, encodeMlsMessage, getCiphersuiteFromName, getCiphersuiteImpl } from 'ts-mls';
import { ratchetTreeFromExtension } from 'ts-mls/groupInfo.js';
import { makeKeyPackageRef, verifyKeyPackage } from 'ts-mls/keyPackage.js';
import { fastCryptoProvider } from './crypto-provider';
import { MlsError } from './errors';
import { type MlsIdentity, decodeIdentity } from './identity';
import { treeLeafCredentials } from './tree-leaves';

/** The only ciphersuite this SDK speaks (RFC 9420 §17.1, id 1). */
export const MLS_CIPHERSUITE = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519' as const;

let suite: Promise<CiphersuiteImpl> | undefined;
let provider: CryptoProvider = fastCryptoProvider;

export function cipherSuite(): Promise<CiphersuiteImpl> {
  suite ??= getCiphersuiteImpl(getCiphersuiteFromName(MLS_CIPHERSUITE), provider);
  return suite;
}

/** For benchmarks: ts-mls's own provider ('default') against ours ('fast', the default; crypto-provider.ts). */
export function useCryptoProvider(which: 'default' | 'fast'): void {
  provider = which === 'fast' ? fastCryptoProvider : defaultCryptoProvider;
  suite = undefined;
}

/** Decodes one whole MLSMessage (trailing bytes are refused). */
export function decodeMessage(bytes: Uint8Array): MLSMessage {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new MlsError('INVALID_INPUT', 'empty MLS message');
  let decoded: ReturnType<typeof decodeMlsMessage>;
  try {
    decoded = decodeMlsMessage(bytes, 0);
  } catch (err) {
    throw new MlsError('INVALID_INPUT', 'not an MLS message', { cause: err });
  }
  if (!decoded || decoded[1] !== bytes.length) throw new MlsError('INVALID_INPUT', 'not an MLS message');
  return decoded[0];
}

export function encodeMessage(message: MLSMessage): Uint8Array {
  return encodeMlsMessage(message);
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** The KeyPackageRef (RFC 9420 §5.2) that Welcome messages name a new member by, as hex. */
export async function keyPackageRef(kp: KeyPackage): Promise<string> {
  return toHex(await makeKeyPackageRef(kp, (await cipherSuite()).hash));
}

export interface KeyPackageInfo {
  /** The credential's `tenant/user/device`, or null when it is not one. */
  identity: MlsIdentity | null;
  /** Hex KeyPackageRef. */
  ref: string;
  keyPackage: KeyPackage;
}

/**
 * Decodes a KeyPackage MLSMessage and checks what anyone can check: our ciphersuite, a basic
 * credential, and a valid signature by the leaf's signature key.
 */
export async function inspectKeyPackage(bytes: Uint8Array): Promise<KeyPackageInfo> {
  const msg = decodeMessage(bytes);
  if (msg.wireformat !== 'mls_key_package') throw new MlsError('INVALID_INPUT', 'not a key package');
  const kp = msg.keyPackage;
  if (kp.cipherSuite !== MLS_CIPHERSUITE) throw new MlsError('INVALID_INPUT', `key package ciphersuite must be ${MLS_CIPHERSUITE}`);
  const cs = await cipherSuite();
  let valid = false;
  try {
    valid = await verifyKeyPackage(kp, cs.signature);
  } catch {
    valid = false;
  }
  if (!valid) throw new MlsError('INVALID_INPUT', 'key package signature does not verify');
  const cred = kp.leafNode.credential;
  const identity = cred.credentialType === 'basic' ? decodeIdentity(cred.identity) : null;
  return { identity, ref: await keyPackageRef(kp), keyPackage: kp };
}

export type HandshakeKind = 'commit' | 'proposal' | 'application';

export interface GroupMessageInfo {
  kind: HandshakeKind;
  wireformat: 'mls_public_message' | 'mls_private_message';
  /** Hex group id. */
  groupId: string;
  epoch: bigint;
  /** Sender type of a public message (a joiner's external commit says new_member_commit). */
  senderType: string | null;
  /** Identity of the leaf a joiner's external commit puts in the tree (null for any other message). */
  joiner: MlsIdentity | null;
}

/** Group id, epoch and content type of a public or private message: the clear header, no decryption. */
export function inspectGroupMessage(bytes: Uint8Array): GroupMessageInfo {
  const msg = decodeMessage(bytes);
  if (msg.wireformat === 'mls_private_message') {
    const pm = msg.privateMessage;
    return { kind: pm.contentType, wireformat: msg.wireformat, groupId: toHex(pm.groupId), epoch: pm.epoch, senderType: null, joiner: null };
  }
  if (msg.wireformat === 'mls_public_message') {
    const c = msg.publicMessage.content;
    let joiner: MlsIdentity | null = null;
    if (c.sender.senderType === 'new_member_commit' && c.contentType === 'commit') {
      const cred = c.commit.path?.leafNode.credential;
      joiner = cred?.credentialType === 'basic' ? decodeIdentity(cred.identity) : null;
    }
    return { kind: c.contentType, wireformat: msg.wireformat, groupId: toHex(c.groupId), epoch: c.epoch, senderType: c.sender.senderType, joiner };
  }
  throw new MlsError('INVALID_INPUT', 'not an MLS public or private message');
}

/** The hex KeyPackageRefs of the new members a Welcome is encrypted to. */
export function inspectWelcome(bytes: Uint8Array): { newMembers: string[] } {
  const msg = decodeMessage(bytes);
  if (msg.wireformat !== 'mls_welcome') throw new MlsError('INVALID_INPUT', 'not a Welcome');
  if (msg.welcome.cipherSuite !== MLS_CIPHERSUITE) throw new MlsError('INVALID_INPUT', `Welcome ciphersuite must be ${MLS_CIPHERSUITE}`);
  return { newMembers: msg.welcome.secrets.map((s) => toHex(s.newMember)) };
}

/** Group id and epoch a GroupInfo describes. */
export function inspectGroupInfo(bytes: Uint8Array): { groupId: string; epoch: bigint } {
  const msg = decodeMessage(bytes);
  if (msg.wireformat !== 'mls_group_info') throw new MlsError('INVALID_INPUT', 'not a GroupInfo');
  const gc = msg.groupInfo.groupContext;
  if (gc.cipherSuite !== MLS_CIPHERSUITE) throw new MlsError('INVALID_INPUT', `GroupInfo ciphersuite must be ${MLS_CIPHERSUITE}`);
  return { groupId: toHex(gc.groupId), epoch: gc.epoch };
}

/**
 * The identities of the leaves of the ratchet tree a GroupInfo carries (its ratchet_tree extension),
 * or null when it carries none. As the committer wrote it: the server uses it to know whose devices
 * are in the group, members verify the real tree themselves.
 */
export function groupInfoMembers(bytes: Uint8Array): MlsIdentity[] | null {
  const msg = decodeMessage(bytes);
  if (msg.wireformat !== 'mls_group_info') throw new MlsError('INVALID_INPUT', 'not a GroupInfo');
  const ext = msg.groupInfo.extensions.find((e) => e.extensionType === 'ratchet_tree');
  if (!ext) return null;
  // The fast reader (tree-leaves.ts): ts-mls's full tree decoder is far too slow for a server path.
  const out: MlsIdentity[] = [];
  for (const cred of treeLeafCredentials(ext.extensionData)) {
    const id = cred ? decodeIdentity(cred) : null;
    if (!id) throw new MlsError('INVALID_INPUT', 'a leaf credential is not tenant/user/device');
    out.push(id);
  }
  return out;
}

/** The ratchet tree a GroupInfo carries (its ratchet_tree extension), for joining from a Welcome that carries none. */
export function ratchetTreeOf(groupInfoBytes: Uint8Array): RatchetTree {
  const msg = decodeMessage(groupInfoBytes);
  if (msg.wireformat !== 'mls_group_info') throw new MlsError('INVALID_INPUT', 'not a GroupInfo');
  const tree = ratchetTreeFromExtension(msg.groupInfo);
  if (!tree) throw new MlsError('INVALID_INPUT', 'the GroupInfo carries no ratchet tree');
  return tree;
}
