/**
 * Typed errors of the RADIUS codec (STYLE §5): bad input is a value, never a throw. The cores map
 * them to the protocol's answer: a client silently discards a bad response (RFC 2865 §3, RFC 5080
 * §2.2.2) and counts it; the DAE server discards or NAKs with an Error-Cause (RFC 5176 §3.5).
 */

/** Everything that can be wrong with a RADIUS packet, an attribute or one value. */
export type RadiusWireError =
  | { readonly kind: 'truncated'; readonly what: string; readonly need: number; readonly have: number }
  | { readonly kind: 'bad-length'; readonly what: string; readonly length: number }
  | { readonly kind: 'bad-attribute'; readonly type: number; readonly vendor: number; readonly detail: string }
  | { readonly kind: 'bad-value'; readonly attribute: string; readonly detail: string }
  | { readonly kind: 'too-long'; readonly what: string; readonly length: number; readonly max: number }
  | { readonly kind: 'bad-authenticator'; readonly what: 'response' | 'request' }
  | { readonly kind: 'bad-message-authenticator' }
  | { readonly kind: 'missing-message-authenticator' };

/** Shorthand for a truncation error. */
export const truncated = (what: string, need: number, have: number): RadiusWireError => ({ kind: 'truncated', what, need, have });

/** One line for logs (never contains attribute values, so never a secret). */
export function describeRadiusError(e: RadiusWireError): string {
  switch (e.kind) {
    case 'truncated':
      return `${e.what} truncated: need ${e.need} octets, have ${e.have}`;
    case 'bad-length':
      return `${e.what}: bad length ${e.length}`;
    case 'bad-attribute':
      return `attribute ${e.vendor === 0 ? '' : `${e.vendor}:`}${e.type}: ${e.detail}`;
    case 'bad-value':
      return `${e.attribute}: ${e.detail}`;
    case 'too-long':
      return `${e.what}: ${e.length} octets, at most ${e.max}`;
    case 'bad-authenticator':
      return `${e.what} authenticator does not verify`;
    case 'bad-message-authenticator':
      return 'Message-Authenticator does not verify';
    case 'missing-message-authenticator':
      return 'Message-Authenticator missing';
  }
}
