/**
 * wire/esp: the ESP header (RFC 4303 §2) and RFC 3948 UDP-4500 framing (non-ESP marker,
 * NAT-keepalive). Payload encryption lives in src/ipsec/esp.ts. parse* never throws.
 */
export * from './codec.js';
