/**
 * End-to-end encryption for the chat SDK (Node >= 20 and browsers).
 * See docs/e2e-crypto.md for the design and its security properties.
 */
export { CryptoError, isCryptoError, type CryptoErrorCode } from './errors';
export { ALGORITHM, MESSAGE_TYPES, isMessageType, type Algorithm, type MessageType } from './constants';
export { base64ToBytes, bytesToBase64, bytesToHex, bytesToUtf8, hexToBytes, utf8ToBytes } from './encoding';
export { randomBytes } from './random';
export {
  deviceKeysFromSecrets,
  generateDeviceKeys,
  parsePublicKeyBundle,
  toPublicKeyBundle,
  type DeviceKeys,
  type GenerateDeviceKeysOptions,
  type KeyPair,
  type PublicKeyBundle,
} from './identity';
export {
  createKeyring,
  currentPublicBundle,
  exportKeyring,
  findKeys,
  getKeys,
  importKeyring,
  keyringFromKeys,
  removeKeyVersions,
  rotateKeyring,
  type DeviceKeyring,
  type KeyringOptions,
  type SerializedKeyring,
} from './keyring';
export {
  unwrapKey,
  wrapKeyForRecipients,
  type RecipientPublicKey,
  type UnwrapKeyInput,
  type WrapKeyInput,
  type WrappedKey,
  type WrappedKeySet,
} from './key-wrap';
export { parseMessageContent, type EncryptedMessageContent } from './envelope';
export { messageSigningBytes, verifyMessageSignature } from './signature';
export { decryptMessage, encryptMessage, type DecryptMessageInput, type EncryptMessageInput } from './message';
export { reshareMessageKey, type ReshareMessageKeyInput } from './history';
export { decryptFile, encryptFile, md5Base64, sha256Hex, type DecryptFileInput, type EncryptedFile, type FileCryptoOptions } from './file';
export {
  conversationKeyCheck,
  conversationKeyContext,
  deriveConversationSubkey,
  fileKeyContext,
  generateConversationKey,
} from './conversation-key';
export { MAX_REACTION_BYTES, REACTION_TOKEN_PREFIX, decryptReaction, encryptReaction, isReactionToken, type ReactionContext } from './reaction';
export { decryptPreview, encryptPreview, type PreviewOptions } from './preview';
export { MIN_SEARCH_WORD_LENGTH, SEARCH_TOKEN_BYTES, normalizeSearchText, searchTokens } from './search';
export {
  FRANKING_COMMITMENT_LENGTH,
  FRANKING_KEY_LENGTH,
  frankingCommit,
  isFrankedPlaintext,
  openFrankedPayload,
  sealFrankedPayload,
  verifyFrankingCommitment,
  type FrankedPlaintext,
  type FrankingContext,
  type VerifyFrankingInput,
} from './franking';
