/**
 * Compile-time proof that a server type and its wire contract type match, both ways: every value of
 * the server type is a value of the contract type (the server sends what the contract promises), and
 * every value of the contract type is a value of the server type (the contract is no looser than what
 * the server sends: no wider field type, no field optional or missing that the server always sends).
 * `Matches<Server, Wire>` fails to type-check otherwise. Used in the wire-contract.ts of a lib that declares or infers a view type of its own (nothing runs).
 * (`Back` is the server type again, for the reverse check: pass two arguments only. TypeScript refuses
 * two type parameters constrained by each other, hence the third.)
 */
export type Matches<Server extends Wire, Wire extends Back, Back = Server> = Server;
