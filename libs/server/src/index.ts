export * from './core.module';
export * from './configure-app';
export * from './run-app';
export * from './web-static';
export { BodyLimit, type BodyLimitSetting } from './json-body';
