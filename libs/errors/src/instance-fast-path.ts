import { isPrototypeKey } from './bounded-input';

/**
 * class-transformer's `plainToInstance(cls, payload)` (default options), built directly for the
 * payloads the platform's DTOs receive. class-transformer looks up the class's metadata for every key
 * of every object (expose, exclude, type and transform metadata, each walking the class's ancestors),
 * so turning a 50-member `message:send` (50 nested wrapped keys) into a DTO cost as much as
 * validating it (bench/RESULTS.md, "Send path: CPU per message").
 *
 * `dtoInstance(cls, payload)` answers either exactly what `plainToInstance(cls, payload)` returns (an
 * object of the same classes, keys in the same order, the same values) or `undefined` when the input
 * holds anything it does not model: a class with expose/exclude metadata, a discriminator,
 * a Map/Set/Date/Buffer/promise, an object that is not a plain one, a `@Type` of a built-in
 * (String, Number, ...: class-transformer converts), a prototype-named key, a key naming a method.
 * The caller then runs class-transformer itself. The metadata read is cached per class and dropped
 * whenever class-transformer's metadata changes (decorators run at module load).
 */

interface TypeOptions {
  newObject: unknown;
  object: unknown;
  property: string;
}

interface TypeMetadataLike {
  typeFunction?: (options: TypeOptions) => unknown;
  reflectedType?: unknown;
  options?: { discriminator?: unknown };
}

interface TransformMetadataLike {
  transformFn: (params: { value: unknown; key: string; obj: unknown; type: number; options: unknown }) => unknown;
  options?: { groups?: unknown[] };
}

interface TransformerStorage {
  findTypeMetadata(target: unknown, property: string): TypeMetadataLike | undefined;
  findTransformMetadatas(target: unknown, property: string, transformationType: number): TransformMetadataLike[];
  getStrategy(target: unknown): string;
  getExposedMetadatas(target: unknown): unknown[];
  getExcludedMetadatas(target: unknown): unknown[];
  /** The plans below, kept on the storage: every copy of this module drops them when metadata changes. */
  __chatPlans?: { byClass: Map<Ctor, ClassPlan> };
}

// class-transformer's own singleton (its index requires the same module); not part of its typed API.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const storage = (require('class-transformer/cjs/storage') as { defaultMetadataStorage: TransformerStorage }).defaultMetadataStorage;
// TransformationType.PLAIN_TO_CLASS
const PLAIN_TO_CLASS = 0;
// The executor's options for plainToInstance(cls, plain) without options, as @Transform functions receive them.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const OPTIONS = { ...(require('class-transformer/cjs/constants/default-options.constant') as { defaultOptions: object }).defaultOptions };
const BAIL = Symbol('bail');
type Ctor = new () => object;

/** How one key of a class is built: its @Type metadata and its @Transform functions (class-transformer's order). */
interface KeyPlan {
  type?: TypeMetadataLike;
  transforms: TransformMetadataLike[];
}

/** Per class: whether it can be built here, and per key (memoized, bounded) its plan, or null when the key is left to class-transformer. */
interface ClassPlan {
  ok: boolean;
  keys: Map<string, KeyPlan | null>;
}

const MAX_KEYS_PER_PLAN = 256;

function installPlans(): { byClass: Map<Ctor, ClassPlan> } {
  if (storage.__chatPlans) return storage.__chatPlans;
  const plans = { byClass: new Map<Ctor, ClassPlan>() };
  const target = storage as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of ['addTypeMetadata', 'addTransformMetadata', 'addExposeMetadata', 'addExcludeMetadata', 'clear'] as const) {
    const original = target[name]!.bind(storage);
    target[name] = (...args: unknown[]) => {
      plans.byClass = new Map();
      return original(...args);
    };
  }
  storage.__chatPlans = plans;
  return plans;
}
const plans = installPlans();

/** The prototype chain below Object.prototype holds nothing but constructors (no accessors or methods a key could hit). */
function plainPrototypes(cls: Ctor): boolean {
  for (let p: object | null = cls.prototype as object; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const k of Reflect.ownKeys(p)) if (k !== 'constructor') return false;
  }
  return true;
}

function planFor(cls: Ctor): ClassPlan {
  let plan = plans.byClass.get(cls);
  if (!plan) {
    const ok =
      typeof cls === 'function' &&
      storage.getStrategy(cls) === 'none' &&
      storage.getExposedMetadatas(cls).length === 0 &&
      storage.getExcludedMetadatas(cls).length === 0 &&
      plainPrototypes(cls);
    plan = { ok, keys: new Map() };
    plans.byClass.set(cls, plan);
  }
  return plan;
}

function keyPlan(cls: Ctor, plan: ClassPlan, key: string): KeyPlan | null {
  const known = plan.keys.get(key);
  if (known !== undefined) return known;
  let entry: KeyPlan | null = null;
  // applyCustomTransformations without groups or a version: only the transforms that name no groups.
  const transforms = storage.findTransformMetadatas(cls, key, PLAIN_TO_CLASS).filter((m) => !m.options?.groups?.length);
  const type = storage.findTypeMetadata(cls, key);
  if (!type) entry = { transforms };
  else if (!type.options?.discriminator && type.reflectedType !== Map) entry = { type, transforms };
  if (plan.keys.size < MAX_KEYS_PER_PLAN) plan.keys.set(key, entry);
  return entry;
}

const isPlainObject = (v: object): boolean => Object.getPrototypeOf(v) === Object.prototype;
const ARRAY_TYPES: unknown[] = [undefined, Array, Object];
const BUILT_INS: unknown[] = [String, Number, Boolean, Date, Buffer, Map, Set, Array, Object, Promise];

/** A class instance from a plain object, as class-transformer's executor does for `targetType` = cls. */
function build(cls: Ctor, value: Record<string, unknown>, depth: number): object | typeof BAIL {
  const plan = planFor(cls);
  if (!plan.ok) return BAIL;
  const out = new cls() as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    if (key === '__proto__' || key === 'constructor' || isPrototypeKey(key)) return BAIL;
    const prop = keyPlan(cls, plan, key);
    if (!prop) return BAIL;
    // class-transformer skips keys whose current value on the new object is a function.
    if (typeof out[key] === 'function') return BAIL;
    const sub = value[key];
    let type: unknown;
    if (prop.type) {
      // An array value becomes `new reflectedType()` when that is a Set or has push: only a plain array is modelled.
      if (Array.isArray(sub) && !ARRAY_TYPES.includes(prop.type.reflectedType)) return BAIL;
      type = prop.type.typeFunction ? prop.type.typeFunction({ newObject: out, object: value, property: key }) : prop.type.reflectedType;
      if (type !== undefined && (typeof type !== 'function' || BUILT_INS.includes(type))) return BAIL;
    }
    let converted = convert(sub, type as Ctor | undefined, depth + 1);
    if (converted === BAIL) return BAIL;
    for (const t of prop.transforms) converted = t.transformFn({ value: converted, key, obj: value, type: PLAIN_TO_CLASS, options: OPTIONS });
    // exposeUnsetFields (default true): assigned even when undefined.
    out[key] = converted;
  }
  return out;
}

/** One value: arrays copied element by element, plain objects copied (or built as `type`), anything else as it is. */
function convert(value: unknown, type: Ctor | undefined, depth: number): unknown {
  if (depth > 64) return BAIL;
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? BAIL : value;
  if (Array.isArray(value)) {
    if (!isArrayPrototype(value)) return BAIL;
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) continue; // class-transformer's forEach skips holes
      const converted = convert(value[i], type, depth + 1);
      if (converted === BAIL) return BAIL;
      out.push(converted);
    }
    return out;
  }
  if (!isPlainObject(value)) return BAIL;
  if (type) return build(type, value as Record<string, unknown>, depth);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key === '__proto__' || key === 'constructor' || isPrototypeKey(key)) return BAIL;
    const converted = convert((value as Record<string, unknown>)[key], undefined, depth + 1);
    if (converted === BAIL) return BAIL;
    out[key] = converted;
  }
  return out;
}

const isArrayPrototype = (v: unknown[]): boolean => Object.getPrototypeOf(v) === Array.prototype;

/** `plainToInstance(cls, payload)` for a plain-object payload, or undefined: let class-transformer do it. */
export function dtoInstance<T extends object>(cls: new () => T, payload: object): T | undefined {
  if (!isPlainObject(payload)) return undefined;
  try {
    const built = build(cls, payload as Record<string, unknown>, 0);
    return built === BAIL ? undefined : (built as T);
  } catch {
    // A type function or constructor that throws: class-transformer decides (and throws the same).
    return undefined;
  }
}
