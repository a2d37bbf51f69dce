import { ValidateBy, ValidationOptions } from 'class-validator';

export interface FreeFormLimits {
  /** Serialized JSON size. */
  maxBytes: number;
  /** Levels of nesting inside the object (the object itself is 1). */
  maxDepth: number;
}

export const FREE_FORM_DEFAULTS: FreeFormLimits = { maxBytes: 16 * 1024, maxDepth: 20 };

/**
 * Why a free-form object cannot be stored, or null. MongoDB refuses keys that start with `$` or
 * hold a `.` or NUL (and nesting past 100 levels) with a server error, after the request has cost a
 * round trip: these are refused up front instead. Iterative.
 */
export function freeFormProblem(value: unknown, limits: FreeFormLimits = FREE_FORM_DEFAULTS): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'must be an object';
  const stack: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 1 }];
  while (stack.length) {
    const { v, depth } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > limits.maxDepth) return `must be nested at most ${limits.maxDepth} levels deep`;
    if (Array.isArray(v)) {
      for (const item of v) stack.push({ v: item, depth: depth + 1 });
      continue;
    }
    for (const [key, item] of Object.entries(v)) {
      if (key.startsWith('$') || key.includes('.') || key.includes('\u0000')) return `keys must not start with $ or contain . or NUL (got ${JSON.stringify(key.slice(0, 64))})`;
      stack.push({ v: item, depth: depth + 1 });
    }
  }
  if (Buffer.byteLength(JSON.stringify(value), 'utf8') > limits.maxBytes) return `must be at most ${limits.maxBytes} bytes of JSON`;
  return null;
}

/** A free-form JSON object the server stores as given (see freeFormProblem). */
export function IsFreeFormObject(limits: Partial<FreeFormLimits> = {}, options?: ValidationOptions): PropertyDecorator {
  const l = { ...FREE_FORM_DEFAULTS, ...limits };
  return ValidateBy(
    {
      name: 'isFreeFormObject',
      validator: {
        validate: (value: unknown) => freeFormProblem(value, l) === null,
        defaultMessage: (args) => `${args?.property ?? 'value'} ${freeFormProblem(args?.value, l) ?? 'must be a free-form object'}`,
      },
    },
    options,
  );
}

// C0 controls, DEL, C1 controls and the Unicode line / paragraph separators (control characters
// are what these patterns are for).
// eslint-disable-next-line no-control-regex
const CONTROL_SINGLE_LINE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// The same, but tab and line feed (and CR LF) are allowed.
// eslint-disable-next-line no-control-regex
const CONTROL_MULTI_LINE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]|\r(?!\n)/;

/**
 * Text a person reads (names, reasons): well-formed Unicode (no lone surrogate, which MongoDB would
 * silently replace) and no control characters; `multiline` allows tab, LF and CRLF.
 */
export function IsPlainText(opts: { multiline?: boolean } = {}, options?: ValidationOptions): PropertyDecorator {
  const re = opts.multiline ? CONTROL_MULTI_LINE : CONTROL_SINGLE_LINE;
  return ValidateBy(
    {
      name: 'isPlainText',
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || (!LONE_SURROGATE.test(value) && !re.test(value)),
        defaultMessage: (args) =>
          `${args?.property ?? 'value'} must be well-formed text without control characters${opts.multiline ? ' (tab and line breaks allowed)' : ' or line breaks'}`,
      },
    },
    options,
  );
}
