import WebSocket from 'ws';

/**
 * A minimal socket.io v4 client over one WebSocket (engine.io protocol 4, socket.io protocol 5), for
 * generator throughput: payloads are pre-serialized strings, acks and deliveries are read without
 * parsing the whole envelope. Same wire format as socket.io-client with `transports: ['websocket']`
 * (namespace "/", text packets only): `40{auth}` connect, `42<id>[event, data]` emit with ack,
 * `43<id>[data]` ack, `42[event, data]` server event, `2`/`3` ping/pong.
 */
export class LeanSocket {
  connected = false;
  private readonly ws: WebSocket;
  private readonly acks = new Map<number, (raw: string) => void>();
  private nextAck = 0;

  constructor(
    url: string,
    token: string,
    handlers: {
      connect: () => void;
      connectError: (code: string) => void;
      disconnect: (reason: string) => void;
      /** A server event: its name and the raw packet text (`42["name",{...}]`). */
      event: (name: string, raw: string) => void;
    },
  ) {
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
    let opened = false;
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const s = data.toString();
      const type = s.charCodeAt(0);
      if (type === 50 /* '2' ping */) return this.ws.send('3');
      if (type === 48 /* '0' open */) {
        this.ws.send(`40${JSON.stringify({ token })}`);
        return;
      }
      if (type !== 52 /* '4' message */) return;
      const kind = s.charCodeAt(1);
      if (kind === 51 /* '3' ack */) {
        let i = 2;
        let id = 0;
        while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) id = id * 10 + (s.charCodeAt(i++) - 48);
        const cb = this.acks.get(id);
        if (cb) {
          this.acks.delete(id);
          cb(s);
        }
      } else if (kind === 50 /* '2' event */) {
        const q = s.indexOf('"', 2);
        const end = s.indexOf('"', q + 1);
        handlers.event(s.slice(q + 1, end), s);
      } else if (kind === 48 /* '0' connect ok */) {
        opened = true;
        this.connected = true;
        handlers.connect();
      } else if (kind === 52 /* '4' connect error */) {
        let code = 'CONNECT_ERROR';
        try {
          const body = JSON.parse(s.slice(2)) as { message?: string; data?: { error?: { code?: string } } };
          code = body.data?.error?.code ?? body.message ?? code;
        } catch {
          /* keep the generic code */
        }
        handlers.connectError(code);
        this.ws.close();
      } else if (kind === 49 /* '1' disconnect */) {
        this.ws.close();
      }
    });
    this.ws.on('error', (err) => {
      if (!opened) handlers.connectError((err as NodeJS.ErrnoException).code ?? err.message);
    });
    this.ws.on('close', () => {
      const was = this.connected;
      this.connected = false;
      if (was) handlers.disconnect('transport close');
      else if (!opened) handlers.connectError('CLOSED_BEFORE_CONNECT');
    });
  }

  /** Emits `[event, data]` given as its JSON text, with an ack; the ack callback gets the raw packet. */
  emitRaw(jsonArray: string, ack: (raw: string) => void): void {
    const id = this.nextAck++;
    this.acks.set(id, ack);
    this.ws.send(`42${id}${jsonArray}`);
  }

  close(): void {
    this.connected = false;
    this.ws.close();
  }
}

/** Ack packet `43<id>[{"ok":true,...}]` → null when ok, else the error code (same rule as ackError). */
export function leanAckError(raw: string): string | null {
  const start = raw.indexOf('[');
  if (raw.startsWith('{"ok":true', start + 1)) return null;
  try {
    const [body] = JSON.parse(raw.slice(start)) as [{ error?: { code?: string } }];
    return typeof body?.error?.code === 'string' ? body.error.code : 'BAD_ACK';
  } catch {
    return 'BAD_ACK';
  }
}

/** client_msg_id of a delivered message, found in the raw packet without parsing the envelope. */
export function leanClientMsgId(raw: string): string | undefined {
  const key = '"client_msg_id":"';
  const i = raw.indexOf(key);
  if (i < 0) return undefined;
  const end = raw.indexOf('"', i + key.length);
  return end < 0 ? undefined : raw.slice(i + key.length, end);
}
