/**
 * The chat platform's TypeScript client SDK (Node >= 20 and browsers).
 *
 * - `ChatServerClient`: REST with the SaaS client's API key (server side only).
 * - `ChatUserClient`: REST with an end user's token.
 * - `ChatSocket`: socket.io with reconnect and seq sync.
 * - `E2EChat`: end-to-end encryption on top of ChatUserClient (messages, reactions, files, history).
 * - `crypto`: the primitives (docs/e2e-crypto.md), also re-exported at the top level (their types only there).
 * - E2E v2 (MLS) is the package's `/mls` subpath (src/mls/index.ts), so that v1-only apps do not load ts-mls.
 */
export * from './crypto';
export * as crypto from './crypto/values'; // values only: the types are at the top level (crypto/values.ts says why)
export * from './errors';
export { HttpClient, bearerAuth, type Credential, type HttpAuth, type HttpOptions, type Query } from './http';
export * from './token-provider';
export * from './types';
export * from './user-client';
export * from './server-client';
export * from './moderation';
export * from './socket-client';
export * from './e2e-client';
// Encrypted files through presigned URLs, for v1 (E2EChat.sendFile) and v2 (the file key in an MLS-sealed message).
export { downloadEncryptedFile, uploadEncryptedFile } from './e2e-files';
