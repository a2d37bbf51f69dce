import { Injectable, Logger } from '@nestjs/common';
import { UserTokenService } from '@chat/auth';
import { ChatEventBus } from '@chat/chat';
import { Clock } from '@chat/clock';
import { AppConfig } from '@chat/config';
import { AppError, ErrorCode } from '@chat/errors';
import { counter } from '@chat/metrics';
import { QuotaService } from '@chat/quotas';
import { errorAck, TokenBucket, TypingThrottle } from '@chat/realtime';
import type { GatewaySocket } from './socket-session';

const handshakes = counter('chat_socket_handshakes_total', 'socket.io handshakes by result', ['result']);

/** `exp` of an already verified JWT, in ms (null if absent). */
function tokenExpiry(token: string): number | null {
  try {
    const exp = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * The handshake (socket.io middleware): the end-user JWT (`auth.token`, or a Bearer header) verified
 * by the same service as HTTP, then a place in the tenant's connection quota. On success the socket
 * gets its session (socket.data.session); a refusal is thrown and becomes a `connect_error` whose
 * `data` is the error shape.
 */
@Injectable()
export class SocketHandshake {
  private readonly logger = new Logger('RealtimeGateway');

  constructor(
    private readonly config: AppConfig,
    private readonly tokens: UserTokenService,
    private readonly quotas: QuotaService,
    private readonly clock: Clock,
    private readonly events: ChatEventBus,
  ) {}

  async authenticate(socket: GatewaySocket, draining: boolean): Promise<void> {
    try {
      if (draining) throw new AppError(ErrorCode.ServiceUnavailable, 'This node is shutting down: connect to another one');
      const auth = socket.handshake.auth as Record<string, unknown> | undefined;
      const header = socket.handshake.headers?.authorization;
      const token = typeof auth?.token === 'string' ? auth.token : typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined;
      const principal = await this.tokens.authenticateUserToken(token);
      const expiresAt = tokenExpiry(token as string);
      const { tenantId, userId, applicationId } = principal;
      await this.quotas.acquireConnection(tenantId, socket.id);
      this.events.emit('connection.opened', { tenantId, user_id: userId }); // usage metering: MAU and peak connections
      let released = false;
      const releaseConnection = () => {
        if (released) return;
        released = true;
        this.quotas.releaseConnection(tenantId, socket.id).catch((err: Error) => this.logger.warn(`releasing a connection slot failed: ${err.message}`));
      };
      // The engine connection closes whether or not the socket ever reached 'connection'.
      socket.conn.once('close', releaseConnection);
      socket.data.session = {
        tenantId,
        userId,
        applicationId,
        ready: Promise.resolve(),
        joined: false,
        bucket: new TokenBucket(this.config.SOCKET_EVENTS_PER_SECOND, this.config.SOCKET_EVENTS_BURST, () => this.clock.now()),
        typing: new TypingThrottle(this.config.TYPING_THROTTLE_MS),
        presenceCounted: false,
        recheckRooms: false,
        releaseConnection,
        expiresAt,
      };
      handshakes.inc({ result: 'ok' });
    } catch (err) {
      const { body, unexpected } = errorAck(err);
      handshakes.inc({ result: body.error.code });
      if (unexpected) this.logger.error(`handshake failed: ${(err as Error)?.stack ?? String(err)}`);
      throw err;
    }
  }
}
