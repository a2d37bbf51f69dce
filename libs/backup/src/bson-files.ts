import { createReadStream, createWriteStream, WriteStream } from 'node:fs';
import { once } from 'node:events';
import { mongo } from 'mongoose';

/**
 * mongodump's on-disk format: a `.bson` file is BSON documents back to back (each starts with its own
 * little-endian int32 length), and `<collection>.metadata.json` is canonical Extended JSON with the
 * collection's options and indexes. We write and read exactly that, so `mongorestore` reads our dumps
 * and we read mongodump's.
 */
export class BsonWriter {
  private readonly stream: WriteStream;
  count = 0;
  bytes = 0;

  constructor(path: string) {
    this.stream = createWriteStream(path);
  }

  /** Appends one raw BSON document (as the driver returns it with `raw: true`: byte-exact). */
  async write(doc: Uint8Array): Promise<void> {
    this.count++;
    this.bytes += doc.length;
    if (!this.stream.write(doc)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    this.stream.end();
    await once(this.stream, 'finish');
  }
}

/** Yields each raw BSON document of a `.bson` file, streaming (memory stays at one chunk plus one document). */
export async function* readBsonFile(path: string): AsyncGenerator<Buffer> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    pending = pending.length ? Buffer.concat([pending, chunk as Buffer]) : (chunk as Buffer);
    let offset = 0;
    while (pending.length - offset >= 4) {
      const size = pending.readInt32LE(offset);
      if (size < 5) throw new Error(`${path}: corrupt BSON (document size ${size} at byte ${offset})`);
      if (pending.length - offset < size) break;
      yield pending.subarray(offset, offset + size);
      offset += size;
    }
    pending = pending.subarray(offset);
  }
  if (pending.length) throw new Error(`${path}: truncated BSON file (${pending.length} trailing bytes)`);
}

/**
 * Turns a raw document into one the driver will write back byte for byte: numbers keep their BSON
 * type (int32, int64, double), binaries stay binaries.
 */
export function decodeExact(raw: Uint8Array): mongo.Document {
  return mongo.BSON.deserialize(raw, { promoteValues: false, promoteLongs: false, promoteBuffers: false });
}

export interface CollectionMetadata {
  collectionName: string;
  type: string;
  options: mongo.Document;
  indexes: mongo.Document[];
  uuid?: string;
}

export function metadataToJson(meta: CollectionMetadata): string {
  return mongo.BSON.EJSON.stringify(
    { options: meta.options, indexes: meta.indexes, uuid: meta.uuid ?? '', collectionName: meta.collectionName, type: meta.type },
    { relaxed: false },
  );
}

export function metadataFromJson(text: string, fallbackName: string): CollectionMetadata {
  const m = mongo.BSON.EJSON.parse(text, { relaxed: true }) as Partial<CollectionMetadata>;
  return {
    collectionName: m.collectionName || fallbackName,
    type: m.type || 'collection',
    options: m.options ?? {},
    indexes: m.indexes ?? [],
    uuid: m.uuid,
  };
}
