import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  ArrayMaxSize,
  ArrayMinSize,
  getMetadataStorage,
  IsArray,
  IsBase64,
  IsIn,
  IsInt,
  IsObject,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  validateSync,
} from 'class-validator';
import { FAST_CHECKED_NAMES, fastCheckFor } from './constraint-fast-checks';

/** One property per built-in (and forms of it), each with a single constraint, so an error names the constraint. */
class Subject {
  @IsString() str!: unknown;
  @IsInt() int!: unknown;
  @Min(0) min0!: unknown;
  @Max(0xffffffff) maxU32!: unknown;
  @Length(1, 128) len1to128!: unknown;
  @Length(3, 6) len3to6!: unknown;
  @Length(0) len0!: unknown;
  @MaxLength(4) maxLen4!: unknown;
  @Matches(/^[A-Za-z0-9_.:-]{1,64}$/) id!: unknown;
  @Matches(/^a/i) ci!: unknown;
  @Matches(/a/g) global!: unknown;
  @Matches('^a+$') source!: unknown;
  @IsBase64() b64!: unknown;
  @IsBase64({ urlSafe: true }) b64url!: unknown;
  @IsIn(['text', 'file', 1, 2]) in!: unknown;
  @IsArray() arr!: unknown;
  @ArrayMinSize(1) arrMin1!: unknown;
  @ArrayMaxSize(2) arrMax2!: unknown;
  @IsObject() obj!: unknown;
}

const metas = (getMetadataStorage() as unknown as { getTargetValidationMetadatas(...a: unknown[]): Array<Record<string, unknown>> }).getTargetValidationMetadatas(
  Subject,
  '',
  false,
  false,
);

/** What class-validator itself answers for `value` in `property`. */
function accepts(property: string, value: unknown): boolean {
  const s = new Subject() as unknown as Record<string, unknown>;
  s[property] = value;
  return !validateSync(s as object).some((e) => e.property === property);
}

// Wrong types, bounds, every base64 corner, and the unicode validator.js's isLength counts differently.
const VALUES: unknown[] = [
  undefined, null, true, 0, -0, 1, -1, 1.5, NaN, Infinity, -Infinity, 0xffffffff, 0x100000000, 2 ** 53, 1n,
  [], ['a'], ['a', 'b', 'c'], [1, 2], {}, { a: 1 }, new String('abc'), new Number(1), () => 1, Symbol('s'), new Set([1]), new Map(), new Date(0), /a/,
  '', 'a', 'A', 'ab', 'abc', 'abcd', 'abcde', 'abcdef', 'abcdefg', 'text', 'file', '1', 'x'.repeat(128), 'x'.repeat(129), 'x'.repeat(64), 'x'.repeat(65),
  'AAAA', 'AAA=', 'AA==', 'A===', 'AAA', '====', '=AAA', 'AB+/', 'AB-_', 'AB-_AB-_', ' AAAA', 'AAAA ', 'AAAA\n', '\nAAAA', 'AAAA=', 'AAAAAA==', 'QUJD\u0000', 'QUJD'.repeat(40),
  '\ud83d\ude00', 'a\ud83d\ude00', '\ud83d\ude00'.repeat(3), '\ud83d', '\ude00', 'a\ufe0f', '\ufe0f', 'aa\ufe0f', 'a\ufe0fb\ufe0fc\ufe0f', '\ud83d\ude00\ufe0f',
  '\ud83d\ude00\ufe0f'.repeat(2), 'é', 'ü'.repeat(128), 'x'.repeat(127) + '\ud83d\ude00', 'x'.repeat(128) + '\ufe0f', 'a.b:c-d_e', 'a b', 'A', 'ba', 'aaa', 'aab',
];

describe('fastCheckFor (class-validator built-ins)', () => {
  it('accepts nothing the built-in refuses, for every built-in handled and adversarial values', () => {
    let handled = 0;
    for (const meta of metas) {
      const fast = fastCheckFor(meta);
      if (!fast) continue;
      handled++;
      for (const v of VALUES) if (fast(v)) expect([meta.propertyName, v, accepts(meta.propertyName as string, v)]).toEqual([meta.propertyName, v, true]);
    }
    // Every property above but the forms left to class-validator (a global RegExp, a pattern string, IsBase64 options).
    expect(handled).toBe(metas.length - 3);
  });

  it('leaves the forms it does not model to the constraint', () => {
    const byProperty = new Map(metas.map((m) => [m.propertyName, m]));
    for (const p of ['global', 'source', 'b64url']) expect([p, fastCheckFor(byProperty.get(p)!)]).toEqual([p, undefined]);
    // A constraint class of its own (not registerDecorator's CustomConstraint) is never taken for a built-in.
    expect(fastCheckFor({ ...byProperty.get('str')!, constraintCls: class IsString {} })).toBeUndefined();
  });

  it('accepts what the group envelope sends (else it saves nothing)', () => {
    const byProperty = new Map(metas.map((m) => [m.propertyName, fastCheckFor(m)!]));
    const key = Buffer.alloc(72, 7).toString('base64');
    expect([byProperty.get('str')!(key), byProperty.get('len1to128')!(key), byProperty.get('b64')!(key), byProperty.get('b64')!('')]).toEqual([true, true, true, true]);
    expect([byProperty.get('id')!('d1'), byProperty.get('int')!(1), byProperty.get('min0')!(0), byProperty.get('maxU32')!(0xffffffff), byProperty.get('in')!('text')]).toEqual([true, true, true, true, true]);
    expect([byProperty.get('arr')!([{}]), byProperty.get('arrMin1')!([{}]), byProperty.get('obj')!({})]).toEqual([true, true, true]);
  });

  it('agrees with the built-in on long random strings of base64 and length-counting characters', () => {
    let x = 20261207;
    const next = () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 8) / 0x1000000;
    const units = ['A', 'z', '0', '+', '/', '=', '-', '_', '\ufe0f', '\ufe0e', '\ud83d', '\ude00', 'é', ' '];
    const byProperty = new Map(metas.map((m) => [m.propertyName as string, fastCheckFor(m)]));
    for (let i = 0; i < 3000; i++) {
      let s = '';
      const n = Math.floor(next() * 12);
      for (let j = 0; j < n; j++) s += units[Math.floor(next() * units.length)]!;
      for (const p of ['b64', 'len3to6', 'len1to128', 'maxLen4']) if (byProperty.get(p)!(s)) expect([p, s, accepts(p, s)]).toEqual([p, s, true]);
    }
  });

  // A decorator of the platform's own registered under a built-in's name would be checked as that built-in.
  it('no decorator in apps/ or libs/ registers a name it handles', () => {
    const root = join(__dirname, '..', '..', '..');
    const sources: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        if (name === 'node_modules' || name.startsWith('.')) continue;
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.ts') && !name.endsWith('.spec.ts')) sources.push(path);
      }
    };
    walk(join(root, 'apps'));
    walk(join(root, 'libs'));
    const names: string[] = [];
    for (const path of sources) {
      const text = readFileSync(path, 'utf8');
      if (!/ValidateBy|registerDecorator/.test(text)) continue;
      for (const m of text.matchAll(/name:\s*['"`]([A-Za-z0-9_]+)['"`]/g)) names.push(m[1]!);
    }
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => FAST_CHECKED_NAMES.includes(n))).toEqual([]);
  });
});
