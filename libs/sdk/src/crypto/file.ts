/**
 * File encryption: a fresh random 32-byte file key and 24-byte nonce per file,
 * XChaCha20-Poly1305 over the whole file (in memory), associated data
 * canon["file-v1", associatedData]. The checksum is the SHA-256 (hex) of the
 * ciphertext, so the server/storage can verify uploads without any key.
 *
 * The file key is distributed either inside a 'file' message's encrypted
 * plaintext, or with {@link wrapKeyForRecipients} / {@link unwrapKey}.
 */
import { md5 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { aeadDecrypt, aeadEncrypt } from './aead';
import { encodeFields } from './canonical';
import { KEY_LENGTH, LABELS, NONCE_LENGTH } from './constants';
import { bytesEqual, bytesToBase64, bytesToHex, hexToBytes, utf8ToBytes } from './encoding';
import { CryptoError } from './errors';
import { randomBytes } from './random';

export interface EncryptedFile {
  /** ciphertext || tag (nonce NOT included). */
  ciphertext: Uint8Array;
  /** 32-byte file key — secret. */
  key: Uint8Array;
  /** 24-byte nonce. */
  nonce: Uint8Array;
  /** Lower-case hex SHA-256 of `ciphertext`. */
  checksum: string;
}

export interface FileCryptoOptions {
  /** Optional data to bind the ciphertext to (e.g. conversation id + file id). */
  associatedData?: string | Uint8Array;
}

export interface DecryptFileInput extends FileCryptoOptions {
  ciphertext: Uint8Array;
  key: Uint8Array;
  nonce: Uint8Array;
  /** If given, verified before decryption (CHECKSUM_MISMATCH). */
  checksum?: string;
}

function fileAd(associatedData: string | Uint8Array | undefined): Uint8Array {
  const ad = associatedData === undefined ? new Uint8Array(0) : typeof associatedData === 'string' ? utf8ToBytes(associatedData) : associatedData;
  return encodeFields([LABELS.file, ad]);
}

export function sha256Hex(bytes: Uint8Array): string {
  return bytesToHex(sha256(bytes));
}

/**
 * base64 MD5 of the ciphertext: the Content-MD5 the upload URL is signed for, so S3 itself rejects
 * other bytes. (MD5 is only an integrity check against accidents here; SHA-256 is the real checksum.)
 */
export function md5Base64(bytes: Uint8Array): string {
  return bytesToBase64(md5(bytes));
}

export function encryptFile(bytes: Uint8Array, options: FileCryptoOptions = {}): EncryptedFile {
  if (!(bytes instanceof Uint8Array)) throw new CryptoError('INVALID_INPUT', 'file bytes must be a Uint8Array');
  const key = randomBytes(KEY_LENGTH);
  const nonce = randomBytes(NONCE_LENGTH);
  const ciphertext = aeadEncrypt(key, nonce, bytes, fileAd(options.associatedData));
  return { ciphertext, key, nonce, checksum: sha256Hex(ciphertext) };
}

export function decryptFile(input: DecryptFileInput): Uint8Array {
  if (!(input.ciphertext instanceof Uint8Array)) throw new CryptoError('INVALID_INPUT', 'ciphertext must be a Uint8Array');
  if (input.checksum !== undefined) {
    const expected = hexToBytes(input.checksum);
    if (!bytesEqual(expected, sha256(input.ciphertext))) {
      throw new CryptoError('CHECKSUM_MISMATCH', 'file ciphertext does not match its checksum');
    }
  }
  return aeadDecrypt(input.key, input.nonce, input.ciphertext, fileAd(input.associatedData));
}
