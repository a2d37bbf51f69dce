import type { Socket } from 'socket.io';
import type { ServerToClientEvents } from '@chat/contracts';
import { TokenBucket, TypingThrottle } from '@chat/realtime';
import { TenantId } from '@chat/tenancy';

/** What the gateway keeps per socket (socket.data.session), set once the handshake is accepted. */
export interface SocketSession {
  tenantId: TenantId;
  userId: string;
  applicationId: string;
  /** Resolves when the socket has joined its rooms and counts as online; rejects if that failed. */
  ready: Promise<void>;
  /** True once `ready` resolved: events stop awaiting it (on Node 20 every await runs AsyncLocalStorage's promise hooks). */
  joined: boolean;
  bucket: TokenBucket;
  typing: TypingThrottle;
  /** True once presence counted this socket (so the disconnect uncounts it exactly once). */
  presenceCounted: boolean;
  /** Set when a membership removal for this user happened while the socket was joining its rooms. */
  recheckRooms: boolean;
  releaseConnection: () => void;
  /** When the handshake token expires (ms since epoch): the socket is closed then. */
  expiresAt: number | null;
}

export interface SessionData {
  session?: SocketSession;
}

/** What the server emits to a socket is the wire contract's ServerToClientEvents (type-checked). */
export type GatewaySocket = Socket<Record<string, (...args: any[]) => void>, ServerToClientEvents, Record<string, never>, SessionData>;
