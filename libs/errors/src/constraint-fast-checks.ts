/**
 * Sufficient checks for class-validator's built-in constraints, used by the validation fast path
 * (validation-fast-path.ts) before it calls the constraint itself. Each `FastCheck` answers true only
 * for values the built-in accepts; false means "not decided here", and the fast path then calls the
 * constraint (which decides, and whose answer is the one that counts). So a check here may be
 * narrower than the built-in, never wider.
 *
 * What this saves per call (a 50-member group's envelope makes ~400): the ValidationArguments
 * bookkeeping, class-validator's wrappers, validator.js's assertString and, for isBase64, the options
 * object it merges on every call.
 *
 * A built-in is recognized by the name class-validator's decorator registers (`isString`, ...) on a
 * constraint class registerDecorator made from a validator object (`CustomConstraint`), and the
 * constraint arguments it stores. A decorator of the platform's own must not reuse these names:
 * constraint-fast-checks.spec.ts checks the sources of apps/ and libs/ for that.
 */
export type FastCheck = (value: unknown) => boolean;

/** The fields of class-validator's ValidationMetadata read here. */
export interface BuiltInMetaLike {
  name?: string;
  constraints?: unknown[];
  constraintCls?: unknown;
}

/** validator.js isBase64's pattern with its defaults (padding, not URL-safe): the only options form handled here. */
const BASE64_PADDED = /^[A-Za-z0-9+/]+={0,2}$/;
/** The characters validator.js isLength does not count one for one (surrogates, variation selectors). */
const LENGTH_SPECIAL = /[\uD800-\uDFFF]|\uFE0E|\uFE0F/;

const isNum = (v: unknown): v is number => typeof v === 'number';

/**
 * validator.js isLength(value, { min, max }) for a string: its count is the string's length less one
 * per variation-selector sequence and per surrogate pair, so it is never above `value.length`, and
 * never below 1 for a non-empty string (the first character is never the one discounted). Hence for
 * min <= 1 the length alone decides acceptance; otherwise a string without those characters is
 * counted one for one. (min is validator's `options.min || 0`.)
 */
function lengthCheck(min: number, max: number | undefined): FastCheck {
  if (min <= 1) return (v) => typeof v === 'string' && v.length >= min && (max === undefined || v.length <= max);
  return (v) => typeof v === 'string' && v.length >= min && (max === undefined || v.length <= max) && !LENGTH_SPECIAL.test(v);
}

/** A RegExp of the built-in RegExp class, without the flags that make `test` depend on lastIndex. */
const statelessRegExp = (p: unknown): p is RegExp => p instanceof RegExp && Object.getPrototypeOf(p) === RegExp.prototype && !p.global && !p.sticky;

function checkFor(name: string, c: unknown[]): FastCheck | undefined {
  switch (name) {
    case 'isString':
      return (v) => typeof v === 'string';
    case 'isInt':
      return (v) => typeof v === 'number' && Number.isInteger(v);
    case 'min': {
      const [bound] = c;
      return isNum(bound) ? (v) => typeof v === 'number' && v >= bound : undefined;
    }
    case 'max': {
      const [bound] = c;
      return isNum(bound) ? (v) => typeof v === 'number' && v <= bound : undefined;
    }
    case 'isLength': {
      const [min, max] = c;
      if (min !== undefined && !isNum(min)) return undefined;
      if (max !== undefined && !isNum(max)) return undefined;
      return lengthCheck(min || 0, max);
    }
    case 'maxLength': {
      const [max] = c;
      return isNum(max) ? lengthCheck(0, max) : undefined;
    }
    case 'matches': {
      // validator.js `!!value.match(pattern)`: for a RegExp the modifiers are ignored, and without g/y `test` answers the same.
      const [pattern] = c;
      return statelessRegExp(pattern) ? (v) => typeof v === 'string' && pattern.test(v) : undefined;
    }
    case 'isBase64':
      if (c[0] !== undefined) return undefined;
      return (v) => typeof v === 'string' && (v === '' || (v.length % 4 === 0 && BASE64_PADDED.test(v)));
    case 'isIn': {
      const [values] = c;
      // Array#some with ===: indexOf compares the same way (and skips holes alike).
      return Array.isArray(values) ? (v) => values.indexOf(v) !== -1 : undefined;
    }
    case 'isArray':
      return (v) => Array.isArray(v);
    case 'arrayMinSize': {
      const [min] = c;
      return isNum(min) ? (v) => Array.isArray(v) && v.length >= min : undefined;
    }
    case 'arrayMaxSize': {
      const [max] = c;
      return isNum(max) ? (v) => Array.isArray(v) && v.length <= max : undefined;
    }
    case 'isObject':
      return (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
    default:
      return undefined;
  }
}

/** The names handled above (for the spec's check that no decorator of the platform reuses one). */
export const FAST_CHECKED_NAMES: readonly string[] = ['isString', 'isInt', 'min', 'max', 'isLength', 'maxLength', 'matches', 'isBase64', 'isIn', 'isArray', 'arrayMinSize', 'arrayMaxSize', 'isObject'];

/** A sufficient check for this metadata's constraint, or undefined when it is not a built-in handled here. */
export function fastCheckFor(meta: BuiltInMetaLike): FastCheck | undefined {
  if (typeof meta.name !== 'string' || typeof meta.constraintCls !== 'function' || meta.constraintCls.name !== 'CustomConstraint') return undefined;
  return checkFor(meta.name, Array.isArray(meta.constraints) ? meta.constraints : []);
}
