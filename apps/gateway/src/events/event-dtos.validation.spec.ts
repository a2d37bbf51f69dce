import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { AppError, assertBoundedInput, dtoInstance, flattenValidationErrors, passesValidation, validateDto } from '@chat/errors';
import { ConversationRefEvent, EditMessageEvent, PresenceQueryEvent, ReactionEvent, ReadEvent, SendMessageEvent, SyncEvent } from './event-dtos';

/**
 * The fast path of validateDto (libs/errors/src/validation-fast-path.ts) must say "valid" exactly when
 * class-validator finds no error. Checked here on the client event payloads, valid ones and thousands
 * of mutations of them (wrong types, missing and extra fields, bad nested entries), against
 * class-validator itself with validateDto's options.
 */
const OPTIONS = { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true };
const id = (n: number) => n.toString(16).padStart(24, '0');
const b64 = (n: number) => Buffer.alloc(n, 7).toString('base64');

function sendPayload(members: number): Record<string, unknown> {
  return {
    conversation_id: id(1),
    client_msg_id: 'b-0-12-345',
    content: {
      type: 'text',
      algorithm: 'x25519-hkdf-xchacha20poly1305-v1',
      sender_device_id: 'dev-1',
      sender_key_version: 1,
      ephemeral_public_key: b64(32),
      encrypted_data: b64(120),
      encrypted_key: Array.from({ length: members }, (_, i) => ({ user_id: `user-${i}`, device_id: `dev-${i}`, key_version: 1, wrapped_key: b64(48) })),
    },
    mentions: ['user-1'],
    search_tokens: ['0123456789abcdef'],
  };
}

const VALID: Array<[new () => object, Record<string, unknown>]> = [
  [SendMessageEvent, sendPayload(50)],
  [SendMessageEvent, { ...sendPayload(2), thread_parent_id: id(9), preview: b64(30) }],
  [
    SendMessageEvent,
    {
      conversation_id: id(2),
      content: { type: 'text', algorithm: 'mls-epoch-aes256gcm-ed25519-v2', version: 2, sender_device_id: 'dev-1', encrypted_data: b64(64), signature: b64(64), group_id: 'abcd', epoch: 3 },
    },
  ],
  [EditMessageEvent, (({ client_msg_id: _omit, ...rest }) => ({ ...rest, message_id: id(5) }))(sendPayload(3))],
  [ReactionEvent, { conversation_id: id(1), message_id: id(2), emoji: '👍' }],
  [ReadEvent, { conversation_id: id(1), seq: 4 }],
  [ConversationRefEvent, { conversation_id: id(1) }],
  [SyncEvent, { conversations: [{ conversation_id: id(1), after_seq: 0 }, { conversation_id: id(2), after_seq: 5, before_seq: 9, after_change: 1 }], limit: 20 }],
  [PresenceQueryEvent, { user_ids: ['a', 'b'] }],
];

// A deterministic generator, so a failure names its seed.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const ODD_VALUES: unknown[] = [undefined, null, 0, -1, 1.5, 2 ** 33, '', 'x', 'not base64!', '0'.repeat(600), true, [], [1], {}, { a: 1 }, id(3), 'dev 1', NaN, '👍👍'];

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** Paths of every value in a JSON-like tree. */
function paths(v: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

function mutate(payload: Record<string, unknown>, random: () => number): Record<string, unknown> {
  const copy = clone(payload);
  const all = paths(copy).filter((p) => p.length > 0);
  const times = 1 + Math.floor(random() * 2);
  for (let t = 0; t < times; t++) {
    const path = all[Math.floor(random() * all.length)]!;
    let parent: any = copy;
    for (const k of path.slice(0, -1)) parent = parent?.[k];
    if (parent === null || typeof parent !== 'object') continue;
    const last = path[path.length - 1]!;
    const r = random();
    if (r < 0.15) delete parent[last];
    else if (r < 0.25) parent[`extra_${Math.floor(random() * 3)}`] = 1;
    else parent[last] = clone(ODD_VALUES[Math.floor(random() * ODD_VALUES.length)]);
  }
  return copy;
}

async function classValidatorPasses(cls: new () => object, payload: unknown): Promise<boolean> {
  const errors = await validate(plainToInstance(cls, payload), OPTIONS);
  return errors.length === 0;
}

describe('validateDto fast path (same answers as class-validator)', () => {
  it('accepts every valid client event payload, as class-validator does', async () => {
    for (const [cls, payload] of VALID) {
      expect([cls.name, await validate(plainToInstance(cls, payload), OPTIONS)]).toEqual([cls.name, []]);
      expect(passesValidation(plainToInstance(cls, payload))).toBe(true);
    }
  });

  it('agrees with class-validator on thousands of mutated payloads', async () => {
    const random = rng(16);
    let refused = 0;
    for (let i = 0; i < 4000; i++) {
      const [cls, valid] = VALID[i % VALID.length]!;
      const payload = mutate(valid, random);
      const expected = await classValidatorPasses(cls, payload);
      const fast = passesValidation(plainToInstance(cls, payload));
      if (fast !== expected) throw new Error(`case ${i} (${cls.name}): fast path ${fast}, class-validator ${expected}: ${JSON.stringify(payload).slice(0, 400)}`);
      if (!expected) refused++;
    }
    // The mutations must actually exercise refusals.
    expect(refused).toBeGreaterThan(2000);
    // 4,000 bounded cases, ~2 s on a quiet machine: a budget a machine with both cores busy cannot exceed by accident.
  }, 60_000);

  // The fast path checks class-validator's built-ins itself (libs/errors constraint-fast-checks.ts): at
  // their bounds, on base64 corners and on the unicode validator.js's isLength counts apart, it must
  // still say "valid" exactly when class-validator does.
  it('agrees with class-validator on strings at the bounds and unicode, in every field', async () => {
    const random = rng(1207);
    const strings: unknown[] = [
      'A'.repeat(128), 'A'.repeat(129), 'A'.repeat(64), 'A'.repeat(65), 'A'.repeat(256), 'A'.repeat(260), 'A'.repeat(512), 'A'.repeat(516), 'x'.repeat(4096), 'x'.repeat(4097),
      'AAAA', 'AAA=', 'AA==', 'A===', 'AAA', '====', 'AB-_', ' AAAA', 'AAAA\n', 'AAAA=', '\u0000AAA', 'QUJD'.repeat(40),
      '\ud83d\ude00', '\ud83d', '\ude00', 'a\ufe0f', '\ufe0f', 'x'.repeat(127) + '\ud83d\ude00', 'x'.repeat(128) + '\ufe0f', '\ud83d\ude00'.repeat(64), 'é'.repeat(128),
      'dev-1', 'dev 1', 'd'.repeat(64), 'd'.repeat(65), 'text', 'TEXT', 'x25519', '-x', 0, 0xffffffff, 0x100000000, -1, 1.5, '1',
    ];
    const vectors: Array<[new () => object, Record<string, unknown>]> = [VALID[0]!, VALID[1]!, VALID[3]!];
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const [cls, valid] = vectors[i % vectors.length]!;
      const payload = clone(valid);
      const all = paths(payload).filter((p) => p.length > 0);
      const path = all[Math.floor(random() * all.length)]!;
      let parent: any = payload;
      for (const k of path.slice(0, -1)) parent = parent[k];
      if (parent === null || typeof parent !== 'object') continue;
      parent[path[path.length - 1]!] = strings[Math.floor(random() * strings.length)];
      const expected = await classValidatorPasses(cls, payload);
      const fast = passesValidation(plainToInstance(cls, payload));
      if (fast !== expected) throw new Error(`case ${i} (${cls.name}) at ${path.join('.')}: fast path ${fast}, class-validator ${expected}`);
      if (!expected) refused++;
    }
    expect(refused).toBeGreaterThan(1000);
  }, 60_000);

  it('validateDto answers refusals with class-validator’s errors', async () => {
    const bad = sendPayload(2) as { content: { encrypted_key: Array<Record<string, unknown>> } };
    bad.content.encrypted_key[1]!.wrapped_key = 'not base64!';
    await expect(validateDto(SendMessageEvent, bad)).rejects.toMatchObject({
      code: 'validation_failed',
      details: [{ field: 'content.encrypted_key.1.wrapped_key', problems: ['wrapped_key must be base64 encoded'] }],
    });
    await expect(validateDto(SendMessageEvent, { ...sendPayload(1), surprise: 1 })).rejects.toMatchObject({
      details: [{ field: 'surprise', problems: ['property surprise should not exist'] }],
    });
  });

  it('builds exactly the instance class-transformer builds, or leaves it to class-transformer', () => {
    const random = rng(17);
    let built = 0;
    // Upper-case ids: the events' @Transform (CanonicalConversationId) runs on the new path too.
    const upper = { ...sendPayload(2), conversation_id: 'ABCDEF0123456789ABCDEF01' };
    const cases: Array<[new () => object, Record<string, unknown>]> = [...VALID, [SendMessageEvent, upper], [ReactionEvent, { conversation_id: 'ABCDEF0123456789ABCDEF01', message_id: id(2), emoji: 'x' }]];
    expect(dtoInstance(SendMessageEvent, upper)).toMatchObject({ conversation_id: 'abcdef0123456789abcdef01' });
    for (let i = 0; i < 4000; i++) {
      const [cls, valid] = VALID[i % VALID.length]!;
      cases.push([cls, mutate(valid, random)]);
    }
    for (const [i, [cls, payload]] of cases.entries()) {
      const fast = dtoInstance(cls, payload);
      if (fast === undefined) continue;
      built++;
      // toStrictEqual: the same classes at every level, the same keys (undefined ones too), the same values.
      try {
        expect(fast).toStrictEqual(plainToInstance(cls, payload));
        expect(Object.keys(fast)).toEqual(Object.keys(plainToInstance(cls, payload)));
      } catch (err) {
        throw new Error(`case ${i} (${cls.name}): ${JSON.stringify(payload).slice(0, 400)}\n${(err as Error).message}`);
      }
    }
    // Nearly every payload a client can send (JSON) takes the fast way.
    expect(built).toBeGreaterThan(3900);
  }, 60_000);

  it('leaves what it does not model to class-transformer', () => {
    const base = sendPayload(1);
    expect(dtoInstance(SendMessageEvent, base)).toBeInstanceOf(SendMessageEvent);
    expect(dtoInstance(SendMessageEvent, { ...base, created: new Date(0) })).toBeUndefined();
    expect(dtoInstance(SendMessageEvent, { ...base, mentions: new Set(['a']) })).toBeUndefined();
    expect(dtoInstance(SendMessageEvent, { ...base, content: new Map() })).toBeUndefined();
    expect(dtoInstance(SendMessageEvent, { ...base, preview: () => 'x' })).toBeUndefined();
    expect(dtoInstance(SendMessageEvent, JSON.parse('{"__proto__": {"a": 1}}'))).toBeUndefined();
    expect(dtoInstance(SendMessageEvent, { ...base, toString: 'x' })).toBeUndefined();
    expect(dtoInstance(SendMessageEvent, Object.assign(Object.create(null), base))).toBeUndefined();
  });

  it('validateDto answers every mutated payload as plainToInstance + class-validator did (value or error details)', async () => {
    const shape = (err: unknown) => ({ status: (err as AppError).getStatus(), body: (err as AppError).getResponse() });
    // validateDto as it was: the bounds, class-transformer, class-validator.
    const before = async (cls: new () => object, payload: unknown): Promise<unknown> => {
      try {
        assertBoundedInput(payload);
      } catch (err) {
        return { error: shape(err) };
      }
      const instance = plainToInstance(cls, payload);
      const errors = await validate(instance, OPTIONS);
      return errors.length ? { error: shape(AppError.validation(flattenValidationErrors(errors))) } : { value: instance };
    };
    const now = async (cls: new () => object, payload: unknown): Promise<unknown> => {
      try {
        return { value: await validateDto(cls, payload) };
      } catch (err) {
        return { error: shape(err) };
      }
    };
    const random = rng(18);
    for (let i = 0; i < 2000; i++) {
      const [cls, valid] = VALID[i % VALID.length]!;
      const payload = mutate(valid, random);
      const [a, b] = [await before(cls, payload), await now(cls, payload)];
      try {
        expect(b).toStrictEqual(a);
      } catch (err) {
        throw new Error(`case ${i} (${cls.name}): ${JSON.stringify(payload).slice(0, 400)}\n${(err as Error).message}`);
      }
    }
  }, 60_000);
});
