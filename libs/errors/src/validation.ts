import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { AppError } from './app-error';
import { assertBoundedInput } from './bounded-input';
import type { FieldProblem } from './field-problem';
import { dtoInstance } from './instance-fast-path';
import { passesValidation } from './validation-fast-path';
import { memoizeValidationMetadata } from './validation-metadata-cache';

export type { FieldProblem } from './field-problem';

memoizeValidationMetadata();

export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const e of errors) {
    const field = parent ? `${parent}.${e.property}` : e.property;
    if (e.constraints) out.push({ field, problems: Object.values(e.constraints) });
    if (e.children?.length) out.push(...flattenValidationErrors(e.children, field));
  }
  return out;
}

/** Checks the bounds of untrusted input (depth, size, prototype-named keys) before Nest's pipe recurses into it. */
class BoundedValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' || metadata.type === 'query') assertBoundedInput(value);
    return super.transform(value, metadata);
  }
}

/** The global pipe: strips nothing silently; unknown fields and wrong types are a 400 with details. */
export function createValidationPipe(): ValidationPipe {
  return new BoundedValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    exceptionFactory: (errors) => AppError.validation(flattenValidationErrors(errors)),
  });
}

/**
 * Validates a socket payload (or any untrusted object) against a DTO class; throws AppError in the
 * standard shape. Used by gateways, where Nest's pipes would lose the ack.
 */
export async function validateDto<T extends object>(cls: new () => T, payload: unknown): Promise<T> {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw AppError.validation([{ field: '', problems: ['payload must be an object'] }], 'Payload must be a JSON object');
  }
  assertBoundedInput(payload);
  // The same instance class-transformer builds, without its per-key metadata look-ups (undefined: it builds it).
  const instance = dtoInstance(cls, payload) ?? plainToInstance(cls, payload);
  // The same rules without class-validator's error bookkeeping; only a payload that fails them pays for both.
  if (passesValidation(instance)) return instance;
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  if (errors.length) throw AppError.validation(flattenValidationErrors(errors));
  return instance;
}
