// Container health check: GET http://127.0.0.1:$PORT/health (liveness). Exit 0 on a 2xx answer,
// 1 otherwise. Plain node, because the slim base image has neither curl nor wget.
// HEALTHCHECK_PATH overrides the path (e.g. /health/ready to also require MongoDB and Redis).
'use strict';
const http = require('node:http');

const port = Number(process.env.PORT || 3000);
const path = process.env.HEALTHCHECK_PATH || '/health';
const timeoutMs = 4000;

const req = http.get({ host: '127.0.0.1', port, path, timeout: timeoutMs }, (res) => {
  res.resume();
  const ok = res.statusCode >= 200 && res.statusCode < 300;
  if (!ok) console.error(`healthcheck: GET ${path} answered ${res.statusCode}`);
  process.exit(ok ? 0 : 1);
});
req.on('timeout', () => {
  console.error(`healthcheck: GET ${path} timed out after ${timeoutMs} ms`);
  req.destroy();
  process.exit(1);
});
req.on('error', (err) => {
  console.error(`healthcheck: GET ${path} failed: ${err.message}`);
  process.exit(1);
});
