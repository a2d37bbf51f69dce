export * from './error-codes';
export * from './app-error';
export * from './to-error-body';
export * from './redis-unavailable';
export * from './http-exception.filter';
export * from './validation';
export * from './bounded-input';
export * from './input-validators';
export { passesValidation } from './validation-fast-path';
