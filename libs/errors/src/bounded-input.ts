import { AppError } from './app-error';
import type { FieldProblem } from './field-problem';

/**
 * Bounds on any untrusted JSON (HTTP bodies, socket payloads) checked before anything recursive
 * (class-transformer, class-validator, Nest's proto stripping) touches it: those recurse once per
 * level and overflow the stack a few thousand levels down, and their cost grows with the node count.
 * No legitimate request comes near these: the deepest DTO plus a free-form object is ~25 levels.
 */
export const INPUT_LIMITS = {
  maxDepth: 32,
  /** Objects, arrays and scalars together. A 1 MB body of `[1,1,...]` has ~500,000. */
  maxNodes: 200_000,
  maxKeysPerObject: 1_000,
} as const;

/**
 * Keys that name an Object.prototype member (`constructor`, `toString`, `__proto__`, ...). Tools
 * that look keys up on plain objects (class-transformer, class-validator's whitelist) mistake them
 * for inherited members, so they are refused wherever they appear, like any unknown field.
 */
const PROTOTYPE_KEYS = new Set<string>([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

export const isPrototypeKey = (key: string): boolean => PROTOTYPE_KEYS.has(key);

/**
 * Depth of a JSON text, found by one pass over its bytes (brackets outside strings), without
 * parsing it; stops at `limit + 1`. Lets a body parser refuse a deep body before JSON.parse.
 */
export function jsonTextDepth(buf: Uint8Array, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/**
 * The first problem with a parsed JSON value against INPUT_LIMITS (too deep, too many nodes or
 * keys, a prototype-named key), or null. Iterative: safe on any depth.
 */
export function findUnboundedInput(value: unknown, limits = INPUT_LIMITS): FieldProblem | null {
  if (value === null || typeof value !== 'object') return null;
  // Each entry keeps its parent and key, and the dotted path is written only for a problem: a valid
  // payload (nearly all) built one string per nested value for nothing (50 per group message).
  const stack: Frame[] = [{ v: value, depth: 1, parent: null, key: '' }];
  let nodes = 0;
  while (stack.length) {
    const frame = stack.pop()!;
    const { v, depth } = frame;
    if (depth > limits.maxDepth) return { field: pathOf(frame), problems: [`nesting must be at most ${limits.maxDepth} levels deep`] };
    if (Array.isArray(v)) {
      nodes += v.length;
      if (nodes > limits.maxNodes) return { field: pathOf(frame), problems: [`must hold at most ${limits.maxNodes} values in all`] };
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        if (item !== null && typeof item === 'object') stack.push({ v: item, depth: depth + 1, parent: frame, key: i });
      }
      continue;
    }
    const keys = Object.keys(v);
    if (keys.length > limits.maxKeysPerObject) return { field: pathOf(frame), problems: [`must have at most ${limits.maxKeysPerObject} keys`] };
    nodes += keys.length;
    if (nodes > limits.maxNodes) return { field: pathOf(frame), problems: [`must hold at most ${limits.maxNodes} values in all`] };
    for (const key of keys) {
      if (PROTOTYPE_KEYS.has(key)) return { field: pathOf({ v, depth, parent: frame, key }), problems: [`property ${key} should not exist`] };
      const item: unknown = (v as Record<string, unknown>)[key];
      if (item !== null && typeof item === 'object') stack.push({ v: item, depth: depth + 1, parent: frame, key });
    }
  }
  return null;
}

interface Frame {
  v: object;
  depth: number;
  /** The frame holding this value (null at the top), and its key or index there. */
  parent: Frame | null;
  key: string | number;
}

/**
 * The dotted path of a frame's value, as `a.b.0.c` ('' for the top): its keys from the top, each joined
 * to the path so far with a dot unless that path is empty (so an empty key leaves no dot behind).
 */
function pathOf(frame: Frame): string {
  const keys: string[] = [];
  for (let f: Frame | null = frame; f && f.parent; f = f.parent) keys.push(String(f.key));
  let path = '';
  for (let i = keys.length - 1; i >= 0; i--) path = path ? `${path}.${keys[i]}` : keys[i]!;
  return path;
}

/** Throws validation_failed when `value` is outside INPUT_LIMITS (see findUnboundedInput). */
export function assertBoundedInput(value: unknown): void {
  const problem = findUnboundedInput(value);
  if (problem) throw AppError.validation([problem]);
}
