import { IsOptional, IsString } from 'class-validator';
import { findUnboundedInput, INPUT_LIMITS, jsonTextDepth } from './bounded-input';
import { freeFormProblem, IsFreeFormObject, IsPlainText } from './input-validators';
import { validateDto } from './validation';

const nested = (n: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
};

describe('jsonTextDepth', () => {
  it('counts brackets outside strings only, and stops past the limit', () => {
    expect(jsonTextDepth(Buffer.from('{"a":[1,{"b":"[[[{{{"}]}'), 10)).toBe(3);
    expect(jsonTextDepth(Buffer.from('{"a":"\\"[[["}'), 10)).toBe(1);
    expect(jsonTextDepth(Buffer.from('['.repeat(100_000)), 32)).toBe(33);
    expect(jsonTextDepth(Buffer.from('1'), 32)).toBe(0);
  });
});

describe('findUnboundedInput', () => {
  it('accepts ordinary payloads and refuses depth, bulk and prototype-named keys at any level', () => {
    expect(findUnboundedInput({ a: [{ b: 1 }], c: 'x' })).toBeNull();
    expect(findUnboundedInput(nested(INPUT_LIMITS.maxDepth - 1))).toBeNull();
    expect(findUnboundedInput(nested(100_000))?.problems[0]).toMatch(/levels deep/);
    expect(findUnboundedInput(new Array(INPUT_LIMITS.maxNodes + 1).fill(1))?.problems[0]).toMatch(/values in all/);
    expect(findUnboundedInput(Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i])))?.problems[0]).toMatch(/keys/);
    for (const k of ['constructor', 'toString', '__proto__', 'valueOf', 'prototype']) {
      expect(findUnboundedInput(JSON.parse(`{"x":[{"${k}":1}]}`))).toEqual({ field: `x.0.${k}`, problems: [`property ${k} should not exist`] });
    }
  });
  it('makes validateDto refuse what would crash class-transformer', async () => {
    class Dto {
      @IsOptional() @IsString() name?: string;
    }
    await expect(validateDto(Dto, { name: { constructor: 'x' } })).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(validateDto(Dto, { name: nested(5000) })).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(validateDto(Dto, JSON.parse('{"toString":"x"}'))).rejects.toMatchObject({ code: 'validation_failed' });
  });
});

describe('free-form objects and plain text', () => {
  it('refuses $ and dotted keys, depth and size', () => {
    expect(freeFormProblem({ a: [{ b: { c: 1 } }] })).toBeNull();
    expect(freeFormProblem({ a: [{ $b: 1 }] })).toMatch(/\$/);
    expect(freeFormProblem({ 'a.b': 1 })).toMatch(/\./);
    expect(freeFormProblem(nested(21))).toMatch(/levels/);
    expect(freeFormProblem({ x: 'y'.repeat(20_000) })).toMatch(/bytes/);
    expect(freeFormProblem([])).toMatch(/object/);
  });
  it('refuses control characters and lone surrogates', async () => {
    class Dto {
      @IsOptional() @IsPlainText() name?: string;
      @IsOptional() @IsPlainText({ multiline: true }) text?: string;
      @IsOptional() @IsFreeFormObject({ maxBytes: 100 }) data?: object;
    }
    await expect(validateDto(Dto, { name: 'Zoë 👍', text: 'a\nb\r\nc\td', data: { a: 1 } })).resolves.toBeTruthy();
    for (const name of ['a\u0000', 'a\nb', 'a\rb', '\ud800', 'x\udc00y', 'a\u2028b']) {
      await expect(validateDto(Dto, { name })).rejects.toMatchObject({ code: 'validation_failed' });
    }
    for (const text of ['a\u0000', 'a\rb', '\ud83d']) await expect(validateDto(Dto, { text })).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(validateDto(Dto, { data: { x: 'y'.repeat(200) } })).rejects.toMatchObject({ details: [{ field: 'data', problems: ['data must be at most 100 bytes of JSON'] }] });
  });
});

describe('findUnboundedInput paths', () => {
  it('names the field as the dotted path of keys and indexes, an empty key leaving no dot', () => {
    const bad = (k: string) => JSON.parse(`{"${k}":1}`) as unknown;
    expect(findUnboundedInput({ a: { b: [0, { c: bad('__proto__') }] } })?.field).toBe('a.b.1.c.__proto__');
    expect(findUnboundedInput({ '': { x: bad('constructor') } })?.field).toBe('x.constructor');
    expect(findUnboundedInput({ a: { '': bad('toString') } })?.field).toBe('a..toString');
    expect(findUnboundedInput([[bad('valueOf')]])?.field).toBe('0.0.valueOf');
    expect(findUnboundedInput({ a: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i])) })?.field).toBe('a');
  });
});
