import { applyDecorators } from '@nestjs/common';
import { ApiProduces, ApiResponse } from '@nestjs/swagger';
import type { Serialized } from '@chat/contracts';
import type { ContractSchemaName, ContractTypes } from './contract-schemas.generated';

/** unknown when the method's (awaited, serialized) result is a valid W; else a property no method has, so the decorator does not apply. */
type Answers<M, W> = M extends (...args: never[]) => infer R ? (Serialized<Awaited<R>> extends W ? unknown : { 'returns a value that is not the documented view': W }) : unknown;

/**
 * A method decorator that also checks, at compile time, that the method answers W: documenting one view
 * and returning another fails the type-check (inferred return types included).
 */
export type ViewDecorator<W> = <M>(target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<M> & Answers<M, W>) => void;

export interface ApiViewOptions {
  /** HTTP status of the success answer (default 200). */
  status?: number;
  description?: string;
  /** An example answer, shown in /docs and in generated clients. */
  example?: unknown;
}

const ref = (name: ContractSchemaName) => ({ $ref: `#/components/schemas/${name}` });

/**
 * The success response of an operation, typed by the wire contract (libs/contracts): `ApiView('MessageView')`
 * answers a MessageView, `ApiView.page('MessageView')` a `{ data: MessageView[], next_cursor }` page,
 * `ApiView.list('DeviceView')` a `{ data: DeviceView[] }`. The name is checked at compile time against
 * the generated component schemas. Error responses are added to every operation by completeOpenApiDocument.
 */
export function ApiView<K extends ContractSchemaName>(name: K, opts: ApiViewOptions = {}): ViewDecorator<ContractTypes[K]> {
  return response(ref(name), opts) as ViewDecorator<ContractTypes[K]>;
}

ApiView.page = <K extends ContractSchemaName>(name: K, opts: ApiViewOptions = {}): ViewDecorator<{ data: Array<ContractTypes[K]>; next_cursor: string | null }> =>
  response(
    {
      type: 'object',
      properties: { data: { type: 'array', items: ref(name) }, next_cursor: { type: 'string', nullable: true, description: 'Send as `cursor` for the next page; null on the last one' } },
      required: ['data', 'next_cursor'],
    },
    opts,
  ) as ViewDecorator<{ data: Array<ContractTypes[K]>; next_cursor: string | null }>;

ApiView.list = <K extends ContractSchemaName>(name: K, opts: ApiViewOptions = {}): ViewDecorator<{ data: Array<ContractTypes[K]> }> =>
  response({ type: 'object', properties: { data: { type: 'array', items: ref(name) } }, required: ['data'] }, opts) as ViewDecorator<{ data: Array<ContractTypes[K]> }>;

/** An answer that is not one of the contract's named views (a small object or a list of strings). */
ApiView.schema = (schema: Record<string, unknown>, opts: ApiViewOptions = {}): MethodDecorator => response(schema, opts);

/** A file answer (an export archive, a CSV, the metrics text). */
ApiView.file = (contentType: string, opts: ApiViewOptions = {}): MethodDecorator =>
  applyDecorators(ApiProduces(contentType), response({ type: 'string', format: contentType.startsWith('text/') ? undefined : 'binary' }, opts));

/**
 * A contract view as JSON, or the same resource as a file of `contentType` (e.g. `?format=csv`): both
 * media types documented on the one success response. The return type is not checked (it is a union).
 */
ApiView.orFile = (name: ContractSchemaName, contentType: string, opts: ApiViewOptions = {}): MethodDecorator =>
  ApiResponse({
    status: opts.status ?? 200,
    description: opts.description ?? 'ok',
    content: {
      'application/json': { schema: ref(name) },
      [contentType]: { schema: { type: 'string', format: contentType.startsWith('text/') ? undefined : 'binary' } },
    },
  });

/** A success answer without a body (204). */
ApiView.empty = (description = 'done, no body'): MethodDecorator => ApiResponse({ status: 204, description });

function response(schema: Record<string, unknown>, opts: ApiViewOptions): MethodDecorator {
  const status = opts.status ?? 200;
  return ApiResponse({
    status,
    description: opts.description ?? (status === 201 ? 'created' : 'ok'),
    schema,
    ...(opts.example === undefined ? {} : { example: opts.example as never }),
  });
}
