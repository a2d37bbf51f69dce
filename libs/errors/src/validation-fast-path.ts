import { getMetadataStorage, ValidationTypes } from 'class-validator';
import { FastCheck, fastCheckFor } from './constraint-fast-checks';
import { memoizeValidationMetadata, validationMetadataVersion } from './validation-metadata-cache';

/**
 * class-validator's own rules, checked without its error bookkeeping: for an object that passes, its
 * ValidationExecutor builds a ValidationError per property, filters the metadata per property and
 * call, and makes a closure per constraint, then throws all of it away. That bookkeeping was most of a
 * `message:send`'s server CPU (a 50-member group's envelope holds 50 wrapped keys, each a nested
 * object with four checked fields; bench/RESULTS.md, "Send path").
 *
 * `passesValidation(instance)` answers true only if `validate(instance, { whitelist: true,
 * forbidNonWhitelisted: true, forbidUnknownValues: true })` would find no error: it reads the same
 * metadata (getTargetValidationMetadatas with the same arguments), evaluates the same conditions
 * (IsOptional, ValidateIf) and calls the same constraint instances with the same arguments, in the
 * same shape (each, nested objects and arrays). Anything it does not model (async constraints, Sets
 * and Maps, promise validation) makes it answer false, and so does any failed check: the caller then
 * runs class-validator itself, which produces the errors. So a false answer costs one extra pass, and
 * a true one is exactly class-validator's "no errors".
 */

interface ValidationMetadataLike {
  type: string;
  target: (new (...args: never[]) => unknown) | string;
  propertyName: string;
  constraints: unknown[];
  constraintCls: new (...args: never[]) => unknown;
  each?: boolean;
  name?: string;
  validateIf?: (object: object, value: unknown) => boolean;
}

interface ConstraintInstance {
  validate(value: unknown, args: unknown): unknown;
}

interface ConstraintMetadataLike {
  async: boolean;
  instance: ConstraintInstance;
}

interface Storage {
  getTargetValidationMetadatas(target: unknown, schema: string | undefined, always: boolean, strictGroups: boolean, groups?: string[]): ValidationMetadataLike[];
  groupByPropertyName(metadata: ValidationMetadataLike[]): Record<string, ValidationMetadataLike[]>;
  getTargetValidatorConstraints(target: unknown): ConstraintMetadataLike[];
}

interface CompiledProperty {
  name: string;
  conditions: ValidationMetadataLike[];
  /** IS_DEFINED first, then the custom constraints (class-validator's order; the checks are pure either way). */
  checks: Array<{ meta: ValidationMetadataLike; constraints: ConstraintInstance[]; fast: FastCheck | undefined }>;
  /** With the schema class-validator passes for the nested object (the declaring class's name), read once. */
  nested: Array<{ meta: ValidationMetadataLike; schema: string }>;
}

interface Compiled {
  allowed: Set<string>;
  properties: CompiledProperty[];
  /** Something this path does not model: always left to class-validator. */
  unsupported: boolean;
}

memoizeValidationMetadata();

// Keyed by the metadata array itself: the memoized look-up (validation-metadata-cache) returns a new
// array once metadata changes, so a compiled entry never outlives the rules it was built from.
const compiledByMetadata = new WeakMap<ValidationMetadataLike[], Compiled>();

function compile(storage: Storage, metadatas: ValidationMetadataLike[]): Compiled {
  const found = compiledByMetadata.get(metadatas);
  if (found) return found;
  const grouped = storage.groupByPropertyName(metadatas);
  let unsupported = false;
  const properties: CompiledProperty[] = [];
  for (const [name, list] of Object.entries(grouped)) {
    const checks: CompiledProperty['checks'] = [];
    const conditions: ValidationMetadataLike[] = [];
    const nested: CompiledProperty['nested'] = [];
    for (const meta of list) {
      if (meta.type === ValidationTypes.WHITELIST) continue;
      if (meta.type === ValidationTypes.CONDITIONAL_VALIDATION) conditions.push(meta);
      else if (meta.type === ValidationTypes.NESTED_VALIDATION) nested.push({ meta, schema: typeof meta.target === 'string' ? meta.target : meta.target.name });
      else if (meta.type === ValidationTypes.CUSTOM_VALIDATION || meta.type === ValidationTypes.IS_DEFINED) {
        const constraints = storage.getTargetValidatorConstraints(meta.constraintCls);
        if (constraints.some((c) => c.async)) unsupported = true;
        // `instance` is a container look-up (a scan of every constraint class) on each access; class-validator's
        // default container hands out one instance per class (the platform sets no other), so it is taken once.
        // A built-in's own check first (constraint-fast-checks): only a value it does not accept reaches the constraint.
        const fast = constraints.length === 1 ? fastCheckFor(meta) : undefined;
        checks.push({ meta, constraints: constraints.map((c) => c.instance), fast });
      } else unsupported = true; // PROMISE_VALIDATION and anything newer
    }
    // IS_DEFINED checks run before the others in class-validator; keep that order.
    checks.sort((a, b) => Number(b.meta.type === ValidationTypes.IS_DEFINED) - Number(a.meta.type === ValidationTypes.IS_DEFINED));
    properties.push({ name, conditions, checks, nested });
  }
  const compiled = { allowed: new Set(Object.keys(grouped).filter((k) => grouped[k]!.length > 0)), properties, unsupported };
  compiledByMetadata.set(metadatas, compiled);
  return compiled;
}

/** class-validator's isPromise: an async answer is left to class-validator. */
const isThenable = (v: unknown): boolean => v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';

interface ConstraintArgs {
  targetName: string | undefined;
  property: string;
  object: object | undefined;
  value: unknown;
  constraints: unknown[];
}

/**
 * The ValidationArguments handed to a constraint, one object reused from call to call: class-validator
 * builds a fresh one per constraint call, with these fields in this order, and a 50-key envelope makes
 * ~400 such calls per send. The constraints only read it during their synchronous `validate` (an async
 * answer is left to class-validator, which then builds its own); a constraint that validates again
 * from inside its `validate` finds the spare taken and gets a fresh one.
 */
let spareArgs: ConstraintArgs | null = null;

function passesConstraint(object: object, targetName: string | undefined, value: unknown, meta: ValidationMetadataLike, constraint: ConstraintInstance): boolean {
  const args = spareArgs ?? { targetName, property: meta.propertyName, object, value, constraints: meta.constraints };
  spareArgs = null;
  args.targetName = targetName;
  args.property = meta.propertyName;
  args.object = object;
  args.value = value;
  args.constraints = meta.constraints;
  try {
    if (!meta.each || !Array.isArray(value)) {
      if (meta.each && (value instanceof Set || value instanceof Map)) return false;
      const ok = constraint.validate(value, args);
      return !isThenable(ok) && Boolean(ok);
    }
    for (const sub of value) {
      const ok = constraint.validate(sub, args);
      if (isThenable(ok) || !ok) return false;
    }
    return true;
  } finally {
    // Not kept alive by the spare: the payload is garbage once its event is handled.
    args.object = undefined;
    args.value = undefined;
    spareArgs = args;
  }
}

/** A built-in's sufficient check, applied as passesConstraint applies the constraint (each: every element of an array). */
function passesFast(fast: FastCheck, each: boolean | undefined, value: unknown): boolean {
  if (!each || !Array.isArray(value)) return !(each && (value instanceof Set || value instanceof Map)) && fast(value);
  for (const sub of value) if (!fast(sub)) return false;
  return true;
}

/** class-validator's nestedValidations for one value: undefined is skipped, arrays recurse, objects are validated by their own class. */
function passesNested(storage: Storage, value: unknown, schema: string, depth: number): boolean {
  if (value === undefined) return true;
  if (value instanceof Set || value instanceof Map) return false;
  if (Array.isArray(value)) {
    for (const sub of value) if (!passesNested(storage, sub, schema, depth + 1)) return false;
    return true;
  }
  if (!(value instanceof Object)) return false;
  return passesObject(storage, value, schema, depth + 1);
}

/**
 * The compiled rules per class and schema, so a nested object costs no metadata look-up (the memoized
 * one still builds a key string per call). Valid while validationMetadataVersion() stays where it was
 * when they were read: the memo answers the same array until then. `null`: no metadata (refused).
 */
let byClass = new WeakMap<object, Map<string | undefined, Compiled | null>>();
let byClassVersion = -1;
/**
 * The last answer of compiledFor: an array of nested objects (a group envelope's wrapped keys) is one
 * class over and over, so its elements skip the two map look-ups. Dropped with byClass.
 */
let last: { ctor: unknown; schema: string | undefined; compiled: Compiled | null } | null = null;

function compiledFor(storage: Storage, ctor: unknown, schema: string | undefined): Compiled | null {
  if (last !== null && last.ctor === ctor && last.schema === schema) return last.compiled;
  const cacheable = typeof ctor === 'function';
  let perSchema = cacheable ? byClass.get(ctor) : undefined;
  const found = perSchema?.get(schema);
  if (found !== undefined) {
    last = { ctor, schema, compiled: found };
    return found;
  }
  const metadatas = storage.getTargetValidationMetadatas(ctor, schema, false, false, undefined);
  const c = metadatas.length ? compile(storage, metadatas) : null;
  if (cacheable) {
    if (!perSchema) byClass.set(ctor, (perSchema = new Map()));
    perSchema.set(schema, c);
    last = { ctor, schema, compiled: c };
  }
  return c;
}

function passesObject(storage: Storage, object: object, schema: string | undefined, depth: number): boolean {
  // Deeper than any DTO of the platform: let class-validator decide (it has no such limit, nor a shortcut).
  if (depth > 32) return false;
  const c = compiledFor(storage, object.constructor, schema);
  if (!c) return false; // forbidUnknownValues
  if (c.unsupported) return false;
  // class-validator's ValidationArguments.targetName, read once per object, and only once a constraint is called
  // (a getter call; the built-ins' own checks, constraint-fast-checks, settle most values without one).
  let targetName: string | undefined | null = null;
  // forbidNonWhitelisted: every own enumerable key (Object.keys' set, without its array) is allowed.
  for (const key in object) if (Object.prototype.hasOwnProperty.call(object, key) && !c.allowed.has(key)) return false;
  const record = object as Record<string, unknown>;
  for (const p of c.properties) {
    const value = record[p.name];
    if (value instanceof Promise) return false;
    let validate = true;
    for (const cond of p.conditions) validate = Boolean((cond.constraints[0] as (o: object, v: unknown) => unknown)(object, value)) && validate;
    if (!validate) continue;
    for (const { meta, constraints, fast } of p.checks) {
      if (meta.validateIf && !meta.validateIf(object, value)) continue;
      if (fast !== undefined && passesFast(fast, meta.each, value)) continue;
      if (targetName === null) targetName = object.constructor ? (object.constructor.name as string | undefined) : undefined;
      for (const constraint of constraints) if (!passesConstraint(object, targetName, value, meta, constraint)) return false;
    }
    for (const { schema } of p.nested) if (!passesNested(storage, value, schema, depth)) return false;
  }
  return true;
}

/** True only when class-validator (whitelist, forbidNonWhitelisted, forbidUnknownValues) would report no error for this instance. */
export function passesValidation(instance: object): boolean {
  const version = validationMetadataVersion();
  if (version !== byClassVersion) {
    byClass = new WeakMap();
    last = null;
    byClassVersion = version;
  }
  try {
    return passesObject(getMetadataStorage() as unknown as Storage, instance, undefined, 0);
  } catch {
    // A constraint that throws, or metadata of an unexpected shape: class-validator decides.
    return false;
  }
}
