/**
 * wire/l2tpv3: the L2TPv3 (RFC 3931, RFC 4719) codecs. Contract:
 * - `parse*` never throw and never write into their input (Buffer, Buffer view, Uint8Array); bad input
 *   is a typed `V3WireError`. Control failures carry the header, message type, the id AVPs that could
 *   be read and the scope to clear (§5.2), and whether the digest verified.
 * - `emit*` / `write*` write exactly the length they state; they throw only on programmer error.
 * - Message rules are data: `V3_AVP_REGISTRY` (§5.4) and `V3_MESSAGE_SPECS` (§6).
 * - Control Message Authentication (§4.3, §5.4.1): `digestSharedKey(secret)` and `auth` options.
 * - Data headers are read and written in place (no copies) for the pseudowire data plane.
 * - Independent of `src/wire/l2tp` (RFC 2661): nothing is shared, in particular not the hidden-AVP code.
 */
export * from './types.js';
export {
  parseV3ControlHeader,
  writeV3ControlHeader,
  parseV3DataHeader,
  writeV3DataHeader,
  v3DataHeaderLength,
  classifyUdp,
  cookieMatches,
  writeDefaultSublayer,
  readDefaultSublayer,
  controlOffset,
  V3_CONTROL_HEADER_LENGTH,
  V3_UDP_DATA_HEADER,
  V3_IP_DATA_HEADER,
  DEFAULT_SUBLAYER_LENGTH,
  SUBLAYER_SEQ_MASK,
  type UdpKind,
  type V3DataHeader,
} from './header.js';
export { parseV3Control, emitV3Control, V3_RANDOM_VECTOR_LENGTH, V3_HIDDEN_AVP_MIN_DATA } from './control.js';
export { digestSharedKey, hidingSharedKey, computeDigest, digestLength } from './crypto.js';
export {
  V3_AVP_REGISTRY,
  V3_AVP_BY_ATTRIBUTE,
  V3_AVP_BY_NAME,
  V3_STOPCCN_RESULT_TEXT,
  V3_CDN_RESULT_TEXT,
  V3_ERROR_CODE_TEXT,
  pwTypeText,
  type V3AvpRegistryEntry,
  type V3AvpCodec,
} from './avp-registry.js';
export { V3_MESSAGE_SPECS, v3MessageSpec, v3MessageTypeName, isV3MessageType, type V3MessageSpec } from './message-specs.js';
export { formatV3Avps, v3WireErrorText } from './format.js';
