/**
 * Compile-time proof that a server type fits the wire contract: `Conforms<Server, Wire>` fails to
 * type-check when a value of the server type is not a valid value of the contract type. Used in each
 * lib's wire-contract.ts (nothing runs).
 */
export type Conforms<Server extends Wire, Wire> = Server;
