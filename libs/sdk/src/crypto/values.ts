/**
 * The values of ./index.ts (no types): what the package root exports as the `crypto` namespace. The
 * types stay at the package's top level. A namespace of types and values does not survive the
 * declaration bundle once the `/mls` entry shares these modules (rollup-plugin-dts declares the types
 * of a shared chunk as values in a synthesized namespace), so the namespace holds values only. Keep in
 * step with ./index.ts (values.spec.ts checks).
 */
export { CryptoError, isCryptoError } from './errors';
export { ALGORITHM, MESSAGE_TYPES, isMessageType } from './constants';
export { base64ToBytes, bytesToBase64, bytesToHex, bytesToUtf8, hexToBytes, utf8ToBytes } from './encoding';
export { randomBytes } from './random';
export { deviceKeysFromSecrets, generateDeviceKeys, parsePublicKeyBundle, toPublicKeyBundle } from './identity';
export { createKeyring, currentPublicBundle, exportKeyring, findKeys, getKeys, importKeyring, keyringFromKeys, removeKeyVersions, rotateKeyring } from './keyring';
export { unwrapKey, wrapKeyForRecipients } from './key-wrap';
export { parseMessageContent } from './envelope';
export { messageSigningBytes, verifyMessageSignature } from './signature';
export { decryptMessage, encryptMessage } from './message';
export { reshareMessageKey } from './history';
export { decryptFile, encryptFile, md5Base64, sha256Hex } from './file';
export { conversationKeyCheck, conversationKeyContext, deriveConversationSubkey, fileKeyContext, generateConversationKey } from './conversation-key';
export { MAX_REACTION_BYTES, REACTION_TOKEN_PREFIX, decryptReaction, encryptReaction, isReactionToken } from './reaction';
export { decryptPreview, encryptPreview } from './preview';
export { MIN_SEARCH_WORD_LENGTH, SEARCH_TOKEN_BYTES, normalizeSearchText, searchTokens } from './search';
export { FRANKING_COMMITMENT_LENGTH, FRANKING_KEY_LENGTH, frankingCommit, isFrankedPlaintext, openFrankedPayload, sealFrankedPayload, verifyFrankingCommitment } from './franking';
