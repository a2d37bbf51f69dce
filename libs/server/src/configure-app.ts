import { INestApplication } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { completeOpenApiDocument } from '@chat/api-docs';
import express from 'express';
import { Logger } from 'nestjs-pino';
import { AppConfig, APP_VERSION } from '@chat/config';
import { createValidationPipe, HttpErrorFilter } from '@chat/errors';
import { TenantContext } from '@chat/tenancy';
import { quietStartupLogger } from '@chat/logging';
import { canonicalConversationPath } from './conversation-path';
import { JsonBodyInterceptor, requireJsonBody } from './json-body';
import { webStaticMiddleware } from './web-static';

export interface ConfigureOptions {
  /** Serve the OpenAPI document and UI at /docs. */
  docs?: boolean;
  /** Serve the browser apps (chat app at /app, admin console at /console) from the static build (default true). */
  web?: boolean;
  title?: string;
}

/**
 * The HTTP pipeline shared by every app and by the tests, so what is tested is what runs: JSON-only
 * bodies with size and depth limits (json-body.ts), a request context per request, one error shape,
 * strict DTO validation, OpenAPI docs.
 */
export function configureApp(app: INestApplication, opts: ConfigureOptions = {}): void {
  const config = app.get(AppConfig);
  const express_ = app as NestExpressApplication;
  app.useLogger(quietStartupLogger(app.get(Logger)));
  express_.disable('x-powered-by');
  // Node closes idle kept-alive connections after 5 s; a client or balancer reusing one at that moment
  // loses its request with no answer. Headers must be allowed longer than the keep-alive (Node's rule).
  const server = app.getHttpServer() as import('node:http').Server;
  server.keepAliveTimeout = config.HTTP_KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = Math.max(server.headersTimeout, config.HTTP_KEEP_ALIVE_TIMEOUT_MS + 1000);
  express_.set('trust proxy', config.TRUST_PROXY);
  // Each request gets its own context; auth guards put the tenant in it, repositories read it.
  app.use((req: express.Request & { id?: string }, _res: express.Response, next: express.NextFunction) =>
    TenantContext.run({ requestId: req.id }, next),
  );
  if (opts.web !== false) app.use(webStaticMiddleware());
  // Conversation ids in routes in their one spelling (conversation-path.ts), before any route sees them.
  app.use(canonicalConversationPath);
  app.use(requireJsonBody);
  app.useGlobalFilters(new HttpErrorFilter());
  // Bodies are parsed after the guards (see JsonBodyInterceptor), then bounded and validated by the pipe.
  app.useGlobalInterceptors(
    new JsonBodyInterceptor({
      authenticatedBytes: config.BODY_LIMIT_BYTES,
      unauthenticatedBytes: config.BODY_LIMIT_UNAUTHENTICATED_BYTES,
      routeBytes: { MLS_COMMIT_BODY_LIMIT_BYTES: config.MLS_COMMIT_BODY_LIMIT_BYTES },
    }),
  );
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
    SwaggerModule.setup('docs', app, () => completeOpenApiDocument(SwaggerModule.createDocument(app, doc)), { jsonDocumentUrl: 'docs/openapi.json' });
  }
}
