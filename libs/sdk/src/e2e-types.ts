/** Types of E2EChat (e2e-client.ts): what a payload holds, what decrypt returns, and the options. */
import type { DeviceKeyring } from './crypto';
import type { MessageView } from './types';
import type { ChatUserClient } from './user-client';

/** What a message's encrypted plaintext holds (JSON, versioned). */
export type MessagePayload =
  | { v: 1; kind: 'text'; text: string }
  | {
      v: 1;
      kind: 'file';
      file_id: string;
      /** base64 file key and nonce: only ever inside the encrypted payload. */
      key: string;
      nonce: string;
      checksum: string;
      name: string | null;
      mime_type: string | null;
      size: number;
      caption?: string;
    };

export interface DecryptedMessage {
  message: MessageView;
  payload: MessagePayload;
  /** The payload string exactly as the sender committed to it (what a report discloses). */
  payloadText: string;
  /**
   * The message's franking key and commitment, already checked against each other (a mismatch fails
   * decryption). Null for a message sent without franking (older SDKs): a report of it is unverifiable.
   */
  franking: { franking_key: string; commitment: string } | null;
  /** True when the sender's signature was verified against the key directory. */
  verified: boolean;
  /** True when it could only be read through a history key share. */
  viaKeyShare: boolean;
}

export interface E2EChatOptions {
  client: ChatUserClient;
  /** My external user id. */
  userId: string;
  /** This device's keyring (kept by the app in protected storage: exportKeyring/importKeyring). */
  keyring: DeviceKeyring;
  /** Refuse messages whose signature cannot be verified (default true: every SDK sender signs). */
  requireSignatures?: boolean;
  /** fetch used for the presigned S3 URLs (default: global fetch). */
  fetch?: typeof fetch;
  /** Index message words for blind-index search (default true; see docs/search.md for the leakage). */
  searchIndex?: boolean;
  /** Commit to every sent payload (message franking) so recipients can report it verifiably (default true). */
  franking?: boolean;
  /** The tenant id (part of the franking context); default: asked once from GET /v1/auth/whoami. */
  tenantId?: string;
}

export interface SendOptions {
  threadParentId?: string;
  clientMsgId?: string;
  mentions?: string[];
}
