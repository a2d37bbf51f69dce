/**
 * E2E v2: group keys through MLS (RFC 9420). The only module of the SDK that imports ts-mls (pinned,
 * unaudited: keep it replaceable). See docs/e2e-crypto.md, "v2 (MLS) — status".
 */
export * from './errors';
export * from './identity';
export { type MlsStateStore, InMemoryMlsStateStore } from './state-store';
export { MLS_CIPHERSUITE, groupInfoMembers, inspectGroupInfo, inspectGroupMessage, inspectKeyPackage, inspectWelcome, toHex, type GroupMessageInfo, type HandshakeKind, type KeyPackageInfo } from './codec';
export { MlsClient, type MlsCommitOutput, type MlsReceived } from './client';
export { MlsDevice, type MlsDeliveredMessage } from './device';
export { type EpochKeyStore, HISTORY_KEY_LABEL, InMemoryEpochKeyStore, StoredEpochKeyStore } from './history-keys';
export * from './epoch-keys';
export * from './key-backup';
export * from './history-bundle';
export * from './decrypt-reason';
export * from './safety-number';
export { KeyBackupClient, ConversationHistoryClient, type KeyBackupStatus, type HistoryInfo } from './history-client';
export { ChatHistory, type ChatHistoryOptions } from './chat-history';
export { HANDSHAKE_TYPE, V2_ALGORITHM, isHandshakeContent, isV2Content, openV2, sealV2, type MlsHandshakeContent, type MlsMessageContent, type V2Binding, type V2MessageType } from './content';
export { MlsChat } from './chat';
export { ChatExtras, DEFAULT_SEARCH_EPOCHS, SEARCH_SETS_PER_REQUEST, SEARCH_WORDS_PER_QUERY, type SearchV2Options } from './chat-extras';
export * from './purpose-keys';
export type { MlsChatOptions, MlsReceivedMessage } from './chat-types';
export { followMembership, openAllConversations, sendOverSocket } from './chat-socket';
