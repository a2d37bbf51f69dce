import { BadRequestException, NotFoundException } from '@nestjs/common';
import { IsString } from 'class-validator';
import { AppError } from './app-error';
import { toErrorBody } from './to-error-body';
import { validateDto } from './validation';

class Dto {
  @IsString() name!: string;
}

describe('toErrorBody', () => {
  it('keeps AppError code, message, details and retry hint', () => {
    const n = toErrorBody(AppError.rateLimited(3));
    expect(n.status).toBe(429);
    expect(n.body.error.code).toBe('rate_limited');
    expect(n.retryAfterSeconds).toBe(3);
  });
  it('maps Nest exceptions by status', () => {
    expect(toErrorBody(new NotFoundException('Cannot GET /x')).body).toEqual({ error: { code: 'route_not_found', message: 'Cannot GET /x' } });
    expect(toErrorBody(new NotFoundException('gone')).body.error.code).toBe('not_found');
    expect(toErrorBody(new BadRequestException()).status).toBe(400);
  });
  it('maps body-parser failures', () => {
    expect(toErrorBody({ type: 'entity.parse.failed' }).body.error.code).toBe('invalid_json');
    expect(toErrorBody({ type: 'entity.too.large' }).status).toBe(413);
    // An undecodable Content-Encoding: an http-errors 400 without a type.
    expect(toErrorBody(Object.assign(new Error('Bad Request'), { status: 400, expose: true })).body.error).toEqual({ code: 'bad_request', message: 'Request body could not be read' });
    expect(toErrorBody(Object.assign(new Error('x'), { status: 415, expose: true })).status).toBe(415);
    expect(toErrorBody(Object.assign(new Error('x'), { status: 500, expose: false })).status).toBe(500);
  });
  it('maps Redis being unreachable to the retryable service_unavailable, not internal_error', () => {
    const maxRetries = Object.assign(new Error('Reached the max retries per request limit (which is 2).'), { name: 'MaxRetriesPerRequestError' });
    for (const err of [maxRetries, new Error('Connection is closed.'), new Error("Stream isn't writeable and enableOfflineQueue options is false")]) {
      const n = toErrorBody(err);
      expect(n.status).toBe(503);
      expect(n.body).toEqual({ error: { code: 'service_unavailable', message: 'A backing service is unavailable: retry shortly' } });
      expect(n.retryAfterSeconds).toBe(1);
      expect(n.unexpected).toBe(false);
    }
    // A command Redis refused is a bug, not an outage.
    expect(toErrorBody(Object.assign(new Error('WRONGTYPE Operation against a key'), { name: 'ReplyError' })).body.error.code).toBe('internal_error');
  });
  it('hides unknown errors', () => {
    const n = toErrorBody(new Error('secret internals'));
    expect(n.status).toBe(500);
    expect(n.body.error.message).not.toContain('secret');
    expect(n.unexpected).toBe(true);
  });
});

describe('validateDto', () => {
  it('rejects non-objects and bad fields in the standard shape', async () => {
    await expect(validateDto(Dto, 'x')).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(validateDto(Dto, { name: 1 })).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(validateDto(Dto, { name: 'a', extra: 1 })).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(validateDto(Dto, { name: 'a' })).resolves.toMatchObject({ name: 'a' });
  });
});
