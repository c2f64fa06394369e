/**
 * wire/ip: read-only views of IPv4/IPv6 packet fields the access layer needs (version, source, scope),
 * and the Neighbor Discovery messages a PPP router sends and a client reads (RFC 4861 §4.1-§4.2,
 * §4.6: Router Solicitation / Advertisement with Prefix Information, MTU and RDNSS options).
 */
export * from './packet.js';
export * from './ndp.js';
