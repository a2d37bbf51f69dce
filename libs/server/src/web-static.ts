import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import express from 'express';

/** The two browser apps `npm run build` makes (apps/web, Vite): each an index.html plus hashed assets. */
export const WEB_APPS = ['app', 'console'] as const;
/** Where Vite puts the hashed JS/CSS of both apps (build.assetsDir in apps/web/vite.config.mjs). */
export const WEB_ASSETS_PATH = '/web-assets';

/** dist/web of the repository: found from this file, whether it runs from dist/ (npm start) or from the sources (tests). */
export function defaultWebRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'apps'))) return join(dir, 'dist', 'web');
    dir = resolve(dir, '..');
  }
  return resolve('dist', 'web');
}

/**
 * The Content-Security-Policy of the pages: scripts, styles and fonts from this origin only (the
 * build has no inline script); network to this origin (REST and the socket: CSP3 'self' covers ws: and
 * wss: of the same host) and to the S3 endpoint that presigned file URLs point at. Nothing else.
 */
export function webCsp(s3Origin: string | null): string {
  const connect = ["'self'", ...(s3Origin ? [s3Origin] : [])].join(' ');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    `connect-src ${connect}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join('; ');
}

/** The origin presigned S3 URLs use: S3_ENDPOINT (read per request: the embedded store sets it at start), bucket-prefixed unless path-style. */
export function s3OriginFrom(env: NodeJS.ProcessEnv): string | null {
  const endpoint = env.S3_ENDPOINT;
  if (!endpoint) return null;
  try {
    const u = new URL(endpoint);
    const pathStyle = (env.S3_FORCE_PATH_STYLE ?? 'true') !== 'false';
    return pathStyle || !env.S3_BUCKET ? u.origin : `${u.protocol}//${env.S3_BUCKET}.${u.host}`;
  } catch {
    return null;
  }
}

function securityHeaders(res: express.Response): void {
  res.setHeader('Content-Security-Policy', webCsp(s3OriginFrom(process.env)));
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
}

/**
 * Serves the chat app at /app and the admin console at /console from the static build: hashed assets
 * cached for a year (their names change with their content), the pages never cached (so a new build is
 * picked up at once), and every path below /app/ or /console/ answered with its page (client-side
 * routes). Without a build the pages answer 404 with a hint; the API is unaffected.
 */
export function webStaticMiddleware(root: string = defaultWebRoot()): express.RequestHandler {
  const assets = express.static(join(root, WEB_ASSETS_PATH), {
    index: false,
    fallthrough: true,
    setHeaders: (res) => {
      res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      res.setHeader('X-Content-Type-Options', 'nosniff');
    },
  });
  // Read at each request (a few KB): a rebuild while the server runs is served at once.
  const page = (name: string): Buffer | null => {
    const file = join(root, name, 'index.html');
    return existsSync(file) ? readFileSync(file) : null;
  };
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const path = req.path;
    if (path.startsWith(`${WEB_ASSETS_PATH}/`)) {
      req.url = req.url.slice(WEB_ASSETS_PATH.length);
      return assets(req, res, () => {
        req.url = WEB_ASSETS_PATH + req.url;
        next();
      });
    }
    const name = WEB_APPS.find((a) => path === `/${a}` || path.startsWith(`/${a}/`));
    if (!name) return next();
    const body = page(name);
    securityHeaders(res);
    res.setHeader('Cache-Control', 'no-cache');
    if (!body) {
      res.status(404).type('text/plain').send(`The ${name} is not built: run npm run build.\n`);
      return;
    }
    res.status(200).type('html').send(body);
  };
}
