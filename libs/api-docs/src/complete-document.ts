import type { OpenAPIObject } from '@nestjs/swagger';
import type { OperationObject, ResponseObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { CONTRACT_SCHEMAS } from './contract-schemas.generated';

const ERROR_REF = { $ref: '#/components/schemas/ErrorResponse' };

/** Errors any operation can answer (the error filter maps every failure to one of these, never a raw 5xx body). */
const COMMON_ERRORS: Record<string, string> = {
  '400': 'validation_failed, invalid_json, bad_request: details name the fields',
  '401': 'unauthorized: missing, invalid or expired credentials',
  '403': 'forbidden, tenant_suspended: not allowed for this caller',
  '404': 'not_found: does not exist or is not visible to this caller (another tenant\'s ids look the same)',
  '429': 'rate_limited: retry after the Retry-After header (seconds)',
};

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/**
 * Finishes the generated document: the wire contract's schemas (libs/contracts) as components, every
 * error response in the one error shape (ErrorResponse), the common errors on every operation, and no
 * placeholder success entries next to a documented one (Nest adds `201: ''` to a POST answering 200).
 */
export function completeOpenApiDocument(doc: OpenAPIObject): OpenAPIObject {
  doc.components ??= {};
  doc.components.schemas = { ...CONTRACT_SCHEMAS, ...(doc.components.schemas ?? {}) };
  for (const item of Object.values(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method] as OperationObject | undefined;
      if (op) completeOperation(op);
    }
  }
  return doc;
}

function completeOperation(op: OperationObject): void {
  const responses = (op.responses ??= {}) as Record<string, ResponseObject>;
  const documented = Object.entries(responses).some(([code, r]) => code.startsWith('2') && (r.content || code === '204'));
  for (const [code, r] of Object.entries(responses)) {
    if (documented && code.startsWith('2') && !r.content && code !== '204' && !r.description) delete responses[code];
  }
  for (const [code, description] of Object.entries(COMMON_ERRORS)) responses[code] ??= { description };
  for (const [code, r] of Object.entries(responses)) {
    // Whatever a controller declared, every error leaves through the one filter in the one shape.
    if (Number(code) >= 400) r.content = { 'application/json': { schema: ERROR_REF } };
  }
}
