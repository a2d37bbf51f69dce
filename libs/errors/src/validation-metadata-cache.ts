import { getMetadataStorage } from 'class-validator';

/**
 * class-validator looks up a class's validation metadata on every object it validates, and that
 * look-up walks every class with validation metadata in the process (for inherited rules): with every
 * DTO of the platform loaded, most of validating a 50-member `message:send` (one look-up per wrapped
 * key) went there (bench/RESULTS.md, "send path"). Metadata only changes while decorators run (module
 * load), so the answers are memoized per class and options, and the memo is dropped whenever metadata
 * is added. The answer is the same array class-validator would build; it is only read.
 */
type Target = abstract new (...args: never[]) => unknown;
type Lookup = (target: Target, schema: string, always: boolean, strictGroups: boolean, groups?: string[]) => unknown[];

interface Storage {
  getTargetValidationMetadatas: Lookup;
  addValidationMetadata(...args: unknown[]): void;
  addConstraintMetadata(...args: unknown[]): void;
  addValidationSchema(...args: unknown[]): void;
  __chatMemo?: true;
  __chatVersion?: number;
}

/**
 * Moves whenever class-validator's metadata changes (once memoizeValidationMetadata is installed):
 * caches built from the metadata compare it. Kept on the storage (class-validator's is global), so
 * every copy of this module sees the same count.
 */
export function validationMetadataVersion(): number {
  return (getMetadataStorage() as unknown as Storage).__chatVersion ?? 0;
}

export function memoizeValidationMetadata(): void {
  const storage = getMetadataStorage() as unknown as Storage;
  if (storage.__chatMemo) return;
  storage.__chatMemo = true;
  let memo = new Map<Target, Map<string, unknown[]>>();
  const lookup = storage.getTargetValidationMetadatas.bind(storage);
  storage.getTargetValidationMetadatas = (target, schema, always, strictGroups, groups) => {
    if (typeof target !== 'function') return lookup(target, schema, always, strictGroups, groups);
    const key = `${schema}\u0000${always}\u0000${strictGroups}\u0000${groups?.join('\u0001') ?? ''}`;
    let perClass = memo.get(target);
    if (!perClass) memo.set(target, (perClass = new Map()));
    let found = perClass.get(key);
    if (!found) perClass.set(key, (found = lookup(target, schema, always, strictGroups, groups)));
    return found;
  };
  for (const name of ['addValidationMetadata', 'addConstraintMetadata', 'addValidationSchema'] as const) {
    const add = storage[name].bind(storage);
    storage[name] = (...args: unknown[]) => {
      memo = new Map();
      storage.__chatVersion = (storage.__chatVersion ?? 0) + 1;
      add(...args);
    };
  }
}
