/**
 * wire/radius: the RADIUS codec (RFC 2865, 2866, 2868, 2869, 3162, 3579, 4818, 5176, RFC 2548 for
 * Microsoft). Raw packets parse into typed readonly values and emit symmetrically; attributes get
 * types from a dictionary of rows; the crypto helpers hide passwords, salt-encrypt tunnel passwords
 * and keys, and compute / check Request, Response and Message Authenticators. No I/O, no clock.
 */
export * from './constants.js';
export { describeRadiusError, type RadiusWireError } from './errors.js';
export {
  attributeWireLength,
  checkRadiusPacket,
  copyOf,
  emitAttribute,
  emitRadiusPacket,
  encodeRadiusPacket,
  parseAttributes,
  parseRadiusPacket,
  radiusLengthOf,
  radiusPacketLength,
  type RadiusAttribute,
  type RadiusPacket,
} from './packet.js';
export { VALUE_CODECS, type Ipv6Prefix, type RadiusValueType, type RadiusValueTypes, type ValueCodec } from './values.js';
export {
  BUILTIN_ATTRIBUTES,
  MS_ATTR,
  RADIUS_ATTR,
  RADIUS_DICTIONARY,
  RadiusDictionary,
  attributeRow,
  builtinDictionary,
  type AttributeDef,
  type Encryption,
  type TagRule,
} from './dictionary.js';
export {
  MAX_TAG,
  attributeValue,
  decodeAttribute,
  decodeAttributes,
  encodeAttribute,
  findAttribute,
  findAttributes,
  formatAttribute,
  saltSource,
  type AttributeCrypto,
  type DecodedAttribute,
  type DecodedAttributes,
} from './attributes.js';
export {
  USER_PASSWORD_MAX,
  chapPassword,
  checkAuthenticators,
  encodeSignedPacket,
  hasComputedRequestAuthenticator,
  hideUserPassword,
  isResponseCode,
  octetsEqual,
  saltDecrypt,
  saltEncrypt,
  signRadiusPacket,
  unhideUserPassword,
  type AuthenticatorCheck,
  type OutgoingRadiusPacket,
} from './crypto.js';
export {
  encodeMsChap2Response,
  parseMsChap2Response,
  parseMsChap2Success,
  parseMsChapError,
  type MsChap2Response,
  type MsChap2Success,
  type MsChapError,
} from './microsoft.js';
export { parseFreeRadiusDictionary, type FreeRadiusDictionary } from './freeradius-dictionary.js';
