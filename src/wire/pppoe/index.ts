/**
 * wire/pppoe: PPP over Ethernet (RFC 2516) codecs — Ethernet II with 802.1Q/QinQ tags, the PPPoE
 * header, discovery tags as registry rows (RFC 2516 Appendix A, RFC 4638 PPP-Max-Payload), the
 * Broadband Forum access-line tag (TR-101 §3.9.3, vendor 3561) and the §5 rules per CODE.
 * Contract: every `parse*` returns a Result and never throws or modifies its input; every `emit*`
 * writes exactly the length it states and throws only RangeError for values that cannot be
 * encoded. Discovery values are copied out of the frame; session payloads are views.
 */
export * from './errors.js';
export * from './mac.js';
export * from './ethernet.js';
export { TagType, TAG_REGISTRY, TAG_BY_TYPE, TAG_HEADER_LENGTH, tagTitle, parseTagList, emitTagList, tagListLength, decodeTags, encodeTags, planTags, plannedLength, emitPlannedTags } from './tags.js';
export type { RawTag, DiscoveryTags, VendorSpecificTag, TagRow, PlannedTag } from './tags.js';
export { BBF_VENDOR_ID, BBF_SUBOPTIONS, BBF_SUBOPTION_BY_TYPE, parseAccessLine, emitAccessLine, accessLineLength } from './bbf.js';
export type { AccessLine, AccessLineKey, AccessLoopEncapsulation, SubOptionRow, UnknownSubOption } from './bbf.js';
export { PppoeCode, DISCOVERY_SPECS, checkDiscoverySpec, isDiscoveryCode } from './messages.js';
export type { DiscoveryCode, DiscoveryName, DiscoverySpec } from './messages.js';
export * from './frame.js';
