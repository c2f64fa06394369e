/**
 * UDP endpoints as the I/O shell reports them (address text <-> bytes lives in base/ip.ts).
 */

/** A UDP endpoint as the I/O shell reports it. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** Same address and port. */
export const sameEndpoint = (a: Endpoint, b: Endpoint): boolean => a.address === b.address && a.port === b.port;
