/**
 * Typed errors of the PPPoE codecs (STYLE §5): bad input is a value, never a throw. The access
 * concentrator counts them and drops the frame (RFC 2516 has no error answer to a malformed frame;
 * a PADS with Service-Name-Error answers only a well-formed PADR it does not like, §5.4).
 */

/** Everything that can be wrong with an Ethernet / PPPoE frame. */
export type PppoeWireError =
  | { readonly kind: 'truncated'; readonly what: string; readonly need: number; readonly have: number }
  | { readonly kind: 'bad-ethertype'; readonly ethertype: number }
  | { readonly kind: 'too-many-vlans'; readonly count: number }
  | { readonly kind: 'bad-version'; readonly version: number; readonly type: number }
  | { readonly kind: 'bad-code'; readonly code: number; readonly ethertype: number }
  | { readonly kind: 'bad-tag'; readonly tag: number; readonly detail: string }
  | { readonly kind: 'duplicate-tag'; readonly tag: number }
  | { readonly kind: 'missing-tag'; readonly code: number; readonly tag: number }
  | { readonly kind: 'bad-session-id'; readonly code: number; readonly sessionId: number }
  | { readonly kind: 'bad-destination'; readonly code: number; readonly detail: string }
  | { readonly kind: 'too-long'; readonly code: number; readonly length: number; readonly max: number };

/** The `kind` of a {@link PppoeWireError}, for counters. */
export type PppoeWireErrorKind = PppoeWireError['kind'];

/** Shorthand for a truncation error. */
export const truncated = (what: string, need: number, have: number): PppoeWireError => ({ kind: 'truncated', what, need, have });

const hex4 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

/** One line of text for logs and test failures. */
export function pppoeWireErrorText(e: PppoeWireError): string {
  switch (e.kind) {
    case 'truncated':
      return `truncated ${e.what}: need ${e.need} bytes, have ${e.have}`;
    case 'bad-ethertype':
      return `ethertype ${hex4(e.ethertype)} is not PPPoE`;
    case 'too-many-vlans':
      return `${e.count} VLAN tags (at most 2)`;
    case 'bad-version':
      return `version ${e.version} type ${e.type} (want 1/1)`;
    case 'bad-code':
      return `code 0x${e.code.toString(16)} not valid for ethertype ${hex4(e.ethertype)}`;
    case 'bad-tag':
      return `tag ${hex4(e.tag)}: ${e.detail}`;
    case 'duplicate-tag':
      return `tag ${hex4(e.tag)} appears twice`;
    case 'missing-tag':
      return `code 0x${e.code.toString(16)} without tag ${hex4(e.tag)}`;
    case 'bad-session-id':
      return `code 0x${e.code.toString(16)} with session id ${hex4(e.sessionId)}`;
    case 'bad-destination':
      return `code 0x${e.code.toString(16)}: ${e.detail}`;
    case 'too-long':
      return `code 0x${e.code.toString(16)} of ${e.length} bytes (at most ${e.max})`;
  }
}
