import { applyDecorators } from '@nestjs/common';
import { ApiProduces, ApiResponse } from '@nestjs/swagger';
import type { ContractSchemaName } from './contract-schemas.generated';

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
export function ApiView(name: ContractSchemaName, opts: ApiViewOptions = {}): MethodDecorator {
  return response(ref(name), opts);
}

ApiView.page = (name: ContractSchemaName, opts: ApiViewOptions = {}): MethodDecorator =>
  response(
    {
      type: 'object',
      properties: { data: { type: 'array', items: ref(name) }, next_cursor: { type: 'string', nullable: true, description: 'Send as `cursor` for the next page; null on the last one' } },
      required: ['data', 'next_cursor'],
    },
    opts,
  );

ApiView.list = (name: ContractSchemaName, opts: ApiViewOptions = {}): MethodDecorator =>
  response({ type: 'object', properties: { data: { type: 'array', items: ref(name) } }, required: ['data'] }, opts);

/** An answer that is not one of the contract's named views (a small object or a list of strings). */
ApiView.schema = (schema: Record<string, unknown>, opts: ApiViewOptions = {}): MethodDecorator => response(schema, opts);

/** A file answer (an export archive, a CSV, the metrics text). */
ApiView.file = (contentType: string, opts: ApiViewOptions = {}): MethodDecorator =>
  applyDecorators(ApiProduces(contentType), response({ type: 'string', format: contentType.startsWith('text/') ? undefined : 'binary' }, opts));

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
