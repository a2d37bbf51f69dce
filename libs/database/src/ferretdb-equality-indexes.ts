import type { Connection, Schema } from 'mongoose';
import { ferretDbOnlyIndexNames } from './ferretdb-unused-indexes';

/**
 * Indexes that exist on FerretDB only, so that a read by equality out of a large table does not make
 * PostgreSQL pass over all of it (docs/architecture.md, the FerretDB table).
 *
 * Why: FerretDB v1.24.2's PostgreSQL backend pushes an equality down as `_jsonb->'field' @> value`
 * (containment), which the btree indexes it builds on `_jsonb->'field'` cannot serve: every query but a
 * bare-`_id` one is a sequential pass. `scripts/install-ferretdb.sh` builds FerretDB so that a non-unique
 * index named `ferretdb_gin_*` is a GIN index on the field's expression, which serves that containment
 * exactly. On MongoDB the schemas' compound indexes already serve these reads, so nothing is created there.
 * On an unpatched FerretDB the index is a plain btree: useless, harmless.
 */
const fieldsOf = new WeakMap<Schema, string[]>();

/** The name prefix scripts/install-ferretdb.sh builds as GIN. */
const GIN_PREFIX = 'ferretdb_gin_';
const ginName = (field: string) => GIN_PREFIX + field.replace(/\./g, '_');

/** Asks for one `ferretdb_gin_<field>` index per field on the schema's collection, on FerretDB only. */
export function ferretDbEqualityIndexes(schema: Schema, fields: string[]): void {
  fieldsOf.set(schema, [...(fieldsOf.get(schema) ?? []), ...fields]);
  // Not declared to mongoose: `setup --sync` must not drop them as undeclared.
  ferretDbOnlyIndexNames(schema, fields.map(ginName));
}

/** Creates the indexes asked for by the connection's models (idempotent). Called once the server is known to be FerretDB. */
export async function ensureFerretDbEqualityIndexes(conn: Connection): Promise<void> {
  for (const model of Object.values(conn.models)) {
    for (const field of fieldsOf.get(model.schema) ?? []) {
      await model.collection.createIndex({ [field]: 1 }, { name: ginName(field) });
    }
  }
}
