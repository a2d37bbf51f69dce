import { jsonByteLength, jsonByteLengthAtMost, jsonStringBytes } from './json-byte-length';

/** What jsonByteLength must equal: the bytes of JSON.stringify's text (-1 where it writes nothing). */
function expected(v: unknown): number {
  const s = JSON.stringify(v);
  return s === undefined ? -1 : Buffer.byteLength(s);
}

/** A small deterministic generator (no Math.random: a failure must replay). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

// Every class of UTF-16 unit JSON.stringify treats differently: controls with and without short
// escapes, quote, backslash, DEL, 2- and 3-byte UTF-8, surrogate pairs and lone halves.
const UNITS = ['a', 'Z', ' ', '"', '\\', '/', '\b', '\t', '\n', '\f', '\r', '\u0000', '\u001f', '\u007f', 'é', '\u07ff', '\u0800', '€', '\uffff', '\ud83d\ude00', '\ud83d', '\ude00'];

function randomString(r: () => number): string {
  let s = '';
  const n = Math.floor(r() * 12);
  for (let i = 0; i < n; i++) s += UNITS[Math.floor(r() * UNITS.length)]!;
  return s;
}

class Wrapped {
  constructor(
    public user_id: string,
    public wrapped_key: string,
    public key_version?: number,
  ) {}
}

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 3 ? 8 : 12));
  switch (k) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return [0, -0, 1.5, -3e-7, 1e21, 123456789012, NaN, Infinity, -Infinity][Math.floor(r() * 9)];
    case 3:
    case 4:
      return randomString(r);
    case 5:
      return undefined;
    case 6:
      return () => 1;
    case 7:
      return Symbol('s');
    case 8:
    case 9: {
      const o: Record<string, unknown> = {};
      const n = Math.floor(r() * 4);
      for (let i = 0; i < n; i++) o[r() < 0.2 ? String(Math.floor(r() * 3)) : randomString(r)] = randomValue(r, depth + 1);
      return o;
    }
    case 10:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default:
      return new Wrapped(randomString(r), randomString(r), r() < 0.5 ? undefined : 2);
  }
}

describe('jsonByteLength', () => {
  it('equals Buffer.byteLength(JSON.stringify(v)) for random JSON-like values, class instances included', () => {
    const r = rng(20261206);
    for (let i = 0; i < 20_000; i++) {
      const v = randomValue(r, 0);
      expect([i, jsonByteLength(v)]).toEqual([i, expected(v)]);
    }
  });

  it('counts every string exactly as JSON.stringify quotes it', () => {
    for (const u of UNITS) expect([u, jsonStringBytes(u)]).toEqual([u, expected(u)]);
    for (let c = 0; c < 0x10000; c++) {
      const s = `x${String.fromCharCode(c)}y`;
      if (jsonStringBytes(s) !== expected(s)) throw new Error(`unit ${c.toString(16)}: ${jsonStringBytes(s)} vs ${expected(s)}`);
    }
  });

  it('hands toJSON, boxed primitives, holes and inherited keys to the same rules as JSON.stringify', () => {
    const proto = { inherited: 'x' };
    const child = Object.create(proto) as Record<string, unknown>;
    child.own = 1;
    Object.defineProperty(child, 'hidden', { value: 2, enumerable: false });
    const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
    const withExtra = Object.assign([1, 2], { extra: 'ignored' });
    const values: unknown[] = [
      new Date(0),
      { at: new Date(0), b: Buffer.from('hi') },
      { toJSON: () => ({ replaced: true }) },
      { toJSON: 'not callable' },
      [new Number(3), new String('s'), new Boolean(false)],
      child,
      sparse,
      withExtra,
      new Map([[1, 2]]),
      new Set([1]),
      new Uint8Array([1, 2, 3]),
      { [Symbol('k')]: 1, k: 2 },
      { 2: 'a', 1: 'b', z: 'c' },
      { get g() { return 'got'; } },
    ];
    for (const v of values) expect(jsonByteLength(v)).toBe(expected(v));
  });

  it('throws what JSON.stringify throws (cycles, bigints)', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(() => jsonByteLength(cyclic)).toThrow(TypeError);
    expect(() => jsonByteLength({ n: 1n })).toThrow(TypeError);
    expect(() => jsonByteLength([Object(1n)])).toThrow(TypeError);
  });

  it('measures nesting deeper than its own limit through JSON.stringify', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 200; i++) deep = i % 2 ? { k: deep } : [deep];
    expect(jsonByteLength(deep)).toBe(expected(deep));
  });
});

describe('jsonByteLengthAtMost', () => {
  it('answers jsonByteLength(v) <= limit for random values, at and around their size', () => {
    const r = rng(20261207);
    const wrong: unknown[] = [];
    for (let i = 0; i < 20_000; i++) {
      const v = randomValue(r, 0);
      const n = expected(v);
      // At the exact size and one below it (the bound pass must hand those to the exact count), at 6x and 0.
      for (const limit of [n, n - 1, n + 1, 6 * n + 2, 0, -1]) if (jsonByteLengthAtMost(v, limit) !== n <= limit) wrong.push([i, limit]);
    }
    expect(wrong).toEqual([]);
  });

  it('counts strings exactly once the bound is over the limit: every UTF-16 unit, escaped or not', () => {
    for (let c = 0; c < 0x10000; c += 7) {
      const v = { k: `x${String.fromCharCode(c)}y` };
      const n = expected(v);
      expect([c, jsonByteLengthAtMost(v, n), jsonByteLengthAtMost(v, n - 1)]).toEqual([c, true, false]);
    }
  });

  it('hands toJSON, bigints and cycles to jsonByteLength: its answer and what it throws', () => {
    expect(jsonByteLengthAtMost({ at: new Date(0) }, expected({ at: new Date(0) }))).toBe(true);
    expect(jsonByteLengthAtMost({ at: new Date(0) }, expected({ at: new Date(0) }) - 1)).toBe(false);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(() => jsonByteLengthAtMost(cyclic, 1e9)).toThrow(TypeError);
    expect(() => jsonByteLengthAtMost({ n: 1n }, 1e9)).toThrow(TypeError);
  });
});
