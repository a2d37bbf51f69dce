/**
 * The credential identities of the leaves of an encoded ratchet tree (the data of a GroupInfo's
 * ratchet_tree extension, RFC 9420 §12.4.3.3), read without decoding the rest: ts-mls's full decoder
 * takes ~0.6 s for a 1,000-leaf tree (measured), and the Delivery Service reads every commit's tree.
 * Parsing only (the TLS presentation language of RFC 9420 §2.1), no cryptography: whoever needs the
 * tree itself decodes it with ts-mls.
 *
 *   optional<Node> ratchet_tree<V>;   Node = uint8 node_type; leaf(1): LeafNode | parent(2): ParentNode
 *   ParentNode = encryption_key<V>, parent_hash<V>, unmerged_leaves<V>
 *   LeafNode   = encryption_key<V>, signature_key<V>, Credential, Capabilities (5 vectors),
 *                uint8 leaf_node_source (key_package(1): 16 bytes lifetime | update(2) | commit(3): parent_hash<V>),
 *                extensions<V>, signature<V>
 *   Credential = uint16 type; basic(1): identity<V> | x509(2): certificates<V>
 */
import { MlsError } from './errors';

class Reader {
  constructor(
    private readonly b: Uint8Array,
    public off = 0,
  ) {}

  private need(n: number): void {
    if (n < 0 || this.off + n > this.b.length) throw new MlsError('INVALID_INPUT', 'truncated ratchet tree');
  }

  u8(): number {
    this.need(1);
    return this.b[this.off++]!;
  }

  u16(): number {
    return (this.u8() << 8) | this.u8();
  }

  /** RFC 9420 §2.1.2 variable-length integer (1, 2 or 4 bytes). */
  varint(): number {
    const first = this.u8();
    const prefix = first >> 6;
    if (prefix === 0) return first & 0x3f;
    if (prefix === 1) return ((first & 0x3f) << 8) | this.u8();
    if (prefix === 2) return (first & 0x3f) * 0x1000000 + ((this.u8() << 16) | (this.u8() << 8) | this.u8());
    throw new MlsError('INVALID_INPUT', 'invalid variable-length integer');
  }

  skip(n: number): void {
    this.need(n);
    this.off += n;
  }

  vec(): Uint8Array {
    const len = this.varint();
    this.need(len);
    const out = this.b.subarray(this.off, this.off + len);
    this.off += len;
    return out;
  }
}

/** One entry per leaf node present (blank leaves skipped): the basic credential's identity bytes, or null for another credential type. */
export function treeLeafCredentials(extensionData: Uint8Array): Array<Uint8Array | null> {
  const r = new Reader(extensionData);
  const end = r.varint() + r.off;
  if (end !== extensionData.length) throw new MlsError('INVALID_INPUT', 'ratchet tree length mismatch');
  const out: Array<Uint8Array | null> = [];
  while (r.off < end) {
    const present = r.u8();
    if (present === 0) continue;
    if (present !== 1) throw new MlsError('INVALID_INPUT', 'invalid optional node');
    const nodeType = r.u8();
    if (nodeType === 2) {
      r.vec(); // encryption_key
      r.vec(); // parent_hash
      r.vec(); // unmerged_leaves
      continue;
    }
    if (nodeType !== 1) throw new MlsError('INVALID_INPUT', 'invalid node type');
    r.vec(); // encryption_key
    r.vec(); // signature_key
    const credentialType = r.u16();
    let identity: Uint8Array | null = null;
    if (credentialType === 1) identity = r.vec();
    else if (credentialType === 2) r.vec();
    else throw new MlsError('INVALID_INPUT', 'unknown credential type');
    for (let i = 0; i < 5; i++) r.vec(); // capabilities: versions, cipher_suites, extensions, proposals, credentials
    const source = r.u8();
    if (source === 1) r.skip(16);
    else if (source === 3) r.vec();
    else if (source !== 2) throw new MlsError('INVALID_INPUT', 'invalid leaf node source');
    r.vec(); // extensions
    r.vec(); // signature
    out.push(identity);
  }
  if (r.off !== end) throw new MlsError('INVALID_INPUT', 'ratchet tree length mismatch');
  return out;
}
