/**
 * The wire contract shared by the server and the SDK: what REST answers (views) and what travels over
 * socket.io (events, payloads, acks). Types only: nothing here runs, so the SDK bundles it and stays
 * browser-safe. The server's view builders and gateway are typed against these; the OpenAPI component
 * schemas are generated from them (libs/api-docs).
 */
export * from './common';
export * from './users';
export * from './conversations';
export * from './messages';
export * from './keys';
export * from './files';
export * from './mls';
export * from './platform';
export * from './webhooks';
export * from './billing';
export * from './socket-events';
export * from './check';
