/**
 * wire/l2tp: the L2TPv2 (RFC 2661) codecs. Contract:
 * - `parse*` never throw on any input, never write to it, and return nothing that aliases it (except
 *   data payloads); bad input is a typed `WireError`. Control failures also carry the header and
 *   message type when readable, so the control plane can ack and answer (§4.2), and `partial`: the
 *   AVPs that could be read (the peer's Assigned Tunnel / Session ID for addressing, §3.1).
 * - `emit*` / `writeDataHeader` write exactly the length they state; they throw only on programmer
 *   error (values that cannot be encoded).
 * - Message rules are data: `AVP_REGISTRY` (§4.4 + RFC 3145) and `MESSAGE_SPECS` (§6).
 * - Data payloads are views into the datagram (no copy); control values are copied out.
 * - `L2tpHeaderView` is the checked view of the data path: one `check`, then accessors that cannot fail.
 * - A duplicate known AVP is rejected (`duplicate-avp`); unknown M=0 AVPs land in `avps.unknown`.
 * - Ver≠2 is `bad-version` (L2TPv3, Ver=3, is decoded elsewhere).
 */
export * from './types.js';
export { L2tpHeaderView, parseHeader, parseData, dataHeaderLength, writeDataHeader, CONTROL_HEADER_LENGTH } from './header.js';
export { parseControl, emitControl, RANDOM_VECTOR_LENGTH, HIDDEN_AVP_MIN_DATA } from './control.js';
export {
  AVP_REGISTRY,
  AVP_BY_ATTRIBUTE,
  AVP_BY_NAME,
  ATTR_MESSAGE_TYPE,
  ATTR_RANDOM_VECTOR,
  STOPCCN_RESULT_TEXT,
  CDN_RESULT_TEXT,
  ERROR_CODE_TEXT,
  type AvpRegistryEntry,
  type AvpCodec,
} from './avp-registry.js';
export { MESSAGE_SPECS, messageSpec, messageTypeName, isMessageType, type MessageSpec } from './message-specs.js';
export { formatAvps, formatRefused, wireErrorText } from './format.js';
