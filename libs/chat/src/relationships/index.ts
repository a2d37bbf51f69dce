export * from './relationships.service';
