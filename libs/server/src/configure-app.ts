import { INestApplication } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import express from 'express';
import { Logger } from 'nestjs-pino';
import { AppConfig, APP_VERSION } from '@chat/config';
import { AppError, createValidationPipe, ErrorCode, HttpErrorFilter } from '@chat/errors';
import { TenantContext } from '@chat/tenancy';
import { quietStartupLogger } from '@chat/logging';

export interface ConfigureOptions {
  /** Serve the OpenAPI document and UI at /docs. */
  docs?: boolean;
  title?: string;
}

/**
 * The HTTP pipeline shared by every app and by the tests, so what is tested is what runs: JSON body
 * limit, a request context per request, one error shape, strict DTO validation, OpenAPI docs.
 */
export function configureApp(app: INestApplication, opts: ConfigureOptions = {}): void {
  const config = app.get(AppConfig);
  const express_ = app as NestExpressApplication;
  app.useLogger(quietStartupLogger(app.get(Logger)));
  express_.disable('x-powered-by');
  express_.set('trust proxy', config.TRUST_PROXY);
  // Each request gets its own context; auth guards put the tenant in it, repositories read it.
  app.use((req: express.Request & { id?: string }, _res: express.Response, next: express.NextFunction) =>
    TenantContext.run({ requestId: req.id }, next),
  );
  app.use(express.json({ limit: config.BODY_LIMIT_BYTES }));
  app.use(express.urlencoded({ extended: false, limit: config.BODY_LIMIT_BYTES }));
  // Name body-parser failures here, before Nest turns them into a generic 400.
  app.use((err: unknown, _req: express.Request, _res: express.Response, next: express.NextFunction) => {
    const type = (err as { type?: string })?.type;
    if (type === 'entity.parse.failed') return next(new AppError(ErrorCode.InvalidJson, 'Request body is not valid JSON'));
    if (type === 'entity.too.large') return next(new AppError(ErrorCode.PayloadTooLarge, `Request body is larger than ${config.BODY_LIMIT_BYTES} bytes`));
    if (type) return next(new AppError(ErrorCode.BadRequest, 'Request body could not be read'));
    next(err);
  });
  app.useGlobalFilters(new HttpErrorFilter());
  app.useGlobalPipes(createValidationPipe());
  if (opts.docs !== false) {
    const doc = new DocumentBuilder()
      .setTitle(opts.title ?? 'Chat platform')
      .setDescription('Multi-tenant, end-to-end encrypted chat backend. Errors: { "error": { "code", "message", "details"? } }')
      .setVersion(APP_VERSION)
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Api-Key' }, 'api-key')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'user-token')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'admin-token')
      .build();
    SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc), { jsonDocumentUrl: 'docs/openapi.json' });
  }
}
