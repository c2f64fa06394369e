/**
 * Typed errors of the PPP codecs (STYLE §5): bad input is a value, never a throw. The PPP cores
 * map them to the protocol's answer (silently discard, RFC 1661 §5; or Code-Reject, §5.6).
 */

/** Everything that can be wrong with a PPP frame or packet. */
export type PppWireError =
  | { readonly kind: 'truncated'; readonly what: string; readonly need: number; readonly have: number }
  | { readonly kind: 'bad-protocol'; readonly protocol: number }
  | { readonly kind: 'bad-length'; readonly what: string; readonly length: number }
  | { readonly kind: 'bad-option'; readonly type: number; readonly detail: string }
  | { readonly kind: 'bad-value'; readonly what: string; readonly detail: string };

/** Shorthand for a truncation error. */
export const truncated = (what: string, need: number, have: number): PppWireError => ({ kind: 'truncated', what, need, have });
