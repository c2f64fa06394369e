/**
 * One-line descriptions of codec errors for `bad-datagram` events (the daemon logs them).
 */
import type { WireError } from '../wire/l2tp/index.js';

/** One-line text for a WireError (bad-datagram events). */
export function describeWireError(e: WireError): string {
  switch (e.kind) {
    case 'truncated':
      return `truncated: need ${e.need} bytes, have ${e.have}`;
    case 'bad-version':
      return `bad version ${e.version}`;
    case 'bad-length':
      return `bad ${e.field} length: ${e.detail}`;
    case 'bad-flags':
      return `bad flags: ${e.detail}`;
    case 'offset-too-large':
      return `offset ${e.offsetSize} larger than ${e.max}`;
    case 'first-avp-not-message-type':
      return 'first AVP is not Message Type';
    case 'unknown-message-type':
      return `unknown message type ${e.messageType}`;
    case 'unknown-mandatory-avp':
      return `unknown mandatory AVP ${e.vendorId}:${e.attribute}`;
    case 'bad-avp-value':
      return `bad value in AVP ${e.attribute}: ${e.detail}`;
    case 'duplicate-avp':
      return `duplicate AVP ${e.attribute}`;
    case 'missing-avp':
      return `message type ${e.messageType} lacks AVP ${e.name} (${e.attribute})`;
    case 'zero-assigned-id':
      return `message type ${e.messageType} has ${e.name} (${e.attribute}) 0`;
    case 'hidden-without-secret':
      return `hidden AVP ${e.attribute} but no secret`;
    case 'hidden-without-random-vector':
      return `hidden AVP ${e.attribute} without Random Vector`;
    case 'bad-hidden':
      return `bad hidden AVP ${e.attribute}: ${e.detail}`;
  }
}
