/**
 * PPPoE (RFC 2516) frame vectors as hex with a comment per field.
 * Sources:
 *  - "capture": real frames between third-party peers only, captured by tcpdump in the Debian guest
 *    (test/interop/vm/guest/pppoe-capture.sh): pppd 2.4.9 with the rp-pppoe.so plugin and with
 *    `pty "pppoe"` (rp-pppoe 3.15) as clients, pppoe-relay 3.15 in the middle, pppoe-server 3.15
 *    as the access concentrator. Client c0 = ee:a1:0b:35:a8:4a, AC (as seen through the relay) =
 *    12:d4:8d:34:50:39; on the server side the relay is 26:0e:5b:70:60:1c, the AC 36:aa:fe:37:43:53.
 *  - "rfc": RFC 2516 Appendix B and §4 examples; the RFC writes the MAC addresses symbolically
 *    (Host_mac_addr, Access_Concentrator_mac_addr), here 02:00:00:00:00:01 and 02:00:00:00:00:02.
 *  - "tr-101": a PADI as an access node's PPPoE Intermediate Agent rewrites it (TR-101 §3.9.3),
 *    built by hand from the sub-option table; test/interop/pppoe-codec-tshark.test.ts checks that
 *    tshark decodes the same values.
 * `canonical` = encodeDiscoveryFrame(value) reproduces the bytes exactly (registry tag order).
 */
import type { DiscoveryFrame, SessionFrame } from '../../src/wire/pppoe/frame.js';
import { PppoeCode } from '../../src/wire/pppoe/messages.js';
import { EtherType, vlanTag } from '../../src/wire/pppoe/ethernet.js';
import { parseMac, type MacAddress } from '../../src/wire/pppoe/mac.js';

/** Join commented hex lines into bytes. */
export function hex(...parts: string[]): Uint8Array {
  return Uint8Array.from(Buffer.from(parts.join('').replace(/\s+/g, ''), 'hex'));
}

function mac(s: string): MacAddress {
  const m = parseMac(s);
  if (m === undefined) throw new TypeError(s);
  return m;
}

const CLIENT = mac('ee:a1:0b:35:a8:4a');
const AC = mac('12:d4:8d:34:50:39');
const RELAY = mac('26:0e:5b:70:60:1c');
const BCAST = mac('ff:ff:ff:ff:ff:ff');
const HOST = mac('02:00:00:00:00:01');
const RFC_AC = mac('02:00:00:00:00:02');

/** rp-pppoe 3.15's AC-Cookie: MD5(peer MAC, secret) + 4 bytes of its PID. */
const COOKIE = hex('88a891210a60cef88ae63c99dc4c15cf be000000');
/** pppoe-relay 3.15's Relay-Session-Id toward the client (relay id 1, the AC-side MAC 36:aa:fe:37:43:53). */
const RELAY_TO_CLIENT = hex('01000000 36aafe374353');
/** pppoe-relay 3.15's Relay-Session-Id toward the AC (the client's MAC). */
const RELAY_TO_AC = hex('00000000 eea10b35a84a');

/** A discovery vector. */
export interface DiscoveryVector {
  readonly name: string;
  readonly source: 'capture' | 'rfc' | 'tr-101';
  readonly bytes: Uint8Array;
  readonly value: DiscoveryFrame;
  readonly canonical: boolean;
}

/** A session-stage vector. */
export interface SessionVector {
  readonly name: string;
  readonly source: 'capture' | 'rfc';
  readonly bytes: Uint8Array;
  readonly value: SessionFrame;
}

const eth = (destination: MacAddress, source: MacAddress, ethertype: number = EtherType.pppoeDiscovery) => ({ destination, source, vlans: [], ethertype });
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Discovery vectors: every code from real peers, the RFC examples and a TR-101 PADI. */
export const DISCOVERY_VECTORS: readonly DiscoveryVector[] = [
  {
    name: 'RFC 2516 Appendix B PADI',
    source: 'rfc',
    canonical: true,
    bytes: hex(
      'ffffffffffff', // destination: broadcast (§5.1)
      '020000000001', // source: Host_mac_addr
      '8863', //         ETHER_TYPE: discovery
      '11', //           VER 1, TYPE 1
      '09', //           CODE: PADI
      '0000', //         SESSION_ID
      '0004', //         LENGTH
      '0101 0000', //    Service-Name, length 0 (any service)
    ),
    value: { ethernet: eth(BCAST, HOST), packet: { code: PppoeCode.PADI, sessionId: 0, tags: { serviceNames: [''] } } },
  },
  {
    name: 'RFC 2516 Appendix B PADO',
    source: 'rfc',
    canonical: true,
    bytes: hex(
      '020000000001', // destination: Host_mac_addr
      '020000000002', // source: Access_Concentrator_mac_addr
      '8863 11 07', //   discovery, VER/TYPE, CODE: PADO
      '0000 0020', //    SESSION_ID, LENGTH 32
      '0101 0000', //    Service-Name, length 0
      '0102 0018', //    AC-Name, length 24:
      '476f205265644261636b202d2065736873686573686f6f74', // "Go RedBack - eshsheshoot"
    ),
    value: {
      ethernet: eth(HOST, RFC_AC),
      packet: { code: PppoeCode.PADO, sessionId: 0, tags: { serviceNames: [''], acName: 'Go RedBack - eshsheshoot' } },
    },
  },
  {
    name: 'pppd rp-pppoe.so PADI (Host-Uniq, PPP-Max-Payload 1500)',
    source: 'capture',
    canonical: true,
    bytes: hex(
      'ffffffffffff eea10b35a84a 8863', // broadcast <- client, discovery
      '11 09 0000 0012', //               VER/TYPE, PADI, SESSION_ID 0, LENGTH 18
      '0101 0000', //                     Service-Name "" (any)
      '0103 0004 c5000000', //            Host-Uniq: pppd's PID 197 as it lies in memory (little endian)
      '0120 0002 05dc', //                PPP-Max-Payload 1500 (RFC 4638 §4: mtu/mru 1500 > 1492)
    ),
    value: {
      ethernet: eth(BCAST, CLIENT),
      packet: { code: PppoeCode.PADI, sessionId: 0, tags: { serviceNames: [''], hostUniq: hex('c5000000'), pppMaxPayload: 1500 } },
    },
  },
  {
    name: 'pppoe-relay PADI toward the AC (Relay-Session-Id first)',
    source: 'capture',
    canonical: false, // the relay puts its tag first; the registry order puts Service-Name first
    bytes: hex(
      'ffffffffffff 260e5b70601c 8863', // broadcast <- relay, discovery
      '11 09 0000 001a', //               PADI, LENGTH 26
      '0110 000a 00000000eea10b35a84a', // Relay-Session-Id: relay's id for the client
      '0101 0000', //                     Service-Name ""
      '0103 0004 c2000000', //            Host-Uniq (pppoe-discovery -U)
    ),
    value: {
      ethernet: eth(BCAST, RELAY),
      packet: { code: PppoeCode.PADI, sessionId: 0, tags: { serviceNames: [''], hostUniq: hex('c2000000'), relaySessionId: RELAY_TO_AC } },
    },
  },
  {
    name: 'pppoe-server PADO through the relay (two services, cookie, PPP-Max-Payload echoed)',
    source: 'capture',
    canonical: false, // AC-Name first, PPP-Max-Payload before the services, Host-Uniq last
    bytes: hex(
      'eea10b35a84a 12d48d345039 8863', // client <- AC, discovery
      '11 07 0000 005a', //               PADO, LENGTH 90
      '0102 0010 6c326b69742d636170747572652d6163', // AC-Name "l2kit-capture-ac"
      '0120 0002 05dc', //                PPP-Max-Payload 1500 (RFC 4638 §5: the AC agrees)
      '0101 0005 6973702d61', //          Service-Name "isp-a"
      '0101 0005 6973702d62', //          Service-Name "isp-b"
      '0104 0014 88a891210a60cef88ae63c99dc4c15cf be000000', // AC-Cookie (20 bytes)
      '0110 000a 0100000036aafe374353', // Relay-Session-Id (the relay's toward the client)
      '0103 0004 c5000000', //            Host-Uniq echoed
    ),
    value: {
      ethernet: eth(CLIENT, AC),
      packet: {
        code: PppoeCode.PADO,
        sessionId: 0,
        tags: {
          serviceNames: ['isp-a', 'isp-b'],
          acName: 'l2kit-capture-ac',
          hostUniq: hex('c5000000'),
          acCookie: COOKIE,
          relaySessionId: RELAY_TO_CLIENT,
          pppMaxPayload: 1500,
        },
      },
    },
  },
  {
    name: 'pppd rp-pppoe.so PADR (cookie and relay id echoed)',
    source: 'capture',
    canonical: true,
    bytes: hex(
      '12d48d345039 eea10b35a84a 8863', // AC <- client, discovery
      '11 19 0000 0038', //               PADR, LENGTH 56
      '0101 0000', //                     Service-Name "" (pppd asks for any)
      '0103 0004 c5000000', //            Host-Uniq
      '0120 0002 05dc', //                PPP-Max-Payload 1500
      '0104 0014 88a891210a60cef88ae63c99dc4c15cf be000000', // AC-Cookie echoed
      '0110 000a 0100000036aafe374353', // Relay-Session-Id echoed
    ),
    value: {
      ethernet: eth(AC, CLIENT),
      packet: {
        code: PppoeCode.PADR,
        sessionId: 0,
        tags: { serviceNames: [''], hostUniq: hex('c5000000'), acCookie: COOKIE, relaySessionId: RELAY_TO_CLIENT, pppMaxPayload: 1500 },
      },
    },
  },
  {
    name: 'pppoe-server PADS (session 1)',
    source: 'capture',
    canonical: false, // PPP-Max-Payload before Host-Uniq; the registry has it the other way round
    bytes: hex(
      'eea10b35a84a 12d48d345039 8863', // client <- AC
      '11 65 0001 0017', //               PADS, SESSION_ID 1, LENGTH 23
      '0101 0005 6973702d61', //          Service-Name "isp-a" (the AC's first service)
      '0103 0004 c5000000', //            Host-Uniq
      '0120 0002 05dc', //                PPP-Max-Payload 1500
    ),
    value: {
      ethernet: eth(CLIENT, AC),
      packet: { code: PppoeCode.PADS, sessionId: 1, tags: { serviceNames: ['isp-a'], hostUniq: hex('c5000000'), pppMaxPayload: 1500 } },
    },
  },
  {
    name: 'pppoe-server PADT after the kernel-plugin hang-up',
    source: 'capture',
    canonical: true,
    bytes: hex(
      'eea10b35a84a 12d48d345039 8863', // client <- AC
      '11 a7 0001 002b', //               PADT, SESSION_ID 1, LENGTH 43
      '0203 0027', //                     Generic-Error, 39 bytes:
      '52502d5050506f453a204368696c6420707070642070726f63657373207465726d696e61746564', // "RP-PPPoE: Child pppd process terminated"
    ),
    value: {
      ethernet: eth(CLIENT, AC),
      packet: { code: PppoeCode.PADT, sessionId: 1, tags: { genericError: 'RP-PPPoE: Child pppd process terminated' } },
    },
  },
  {
    name: 'pppoe (userspace) PADI without Host-Uniq',
    source: 'capture',
    canonical: true,
    bytes: hex('ffffffffffff eea10b35a84a 8863', '11 09 0000 0004', '0101 0000'),
    value: { ethernet: eth(BCAST, CLIENT), packet: { code: PppoeCode.PADI, sessionId: 0, tags: { serviceNames: [''] } } },
  },
  {
    name: 'pppoe (userspace) PADT on hang-up (error text, cookie, relay id)',
    source: 'capture',
    canonical: false, // Generic-Error first; the registry puts it after AC-Cookie and Relay-Session-Id
    bytes: hex(
      '12d48d345039 eea10b35a84a 8863', // AC <- client
      '11 a7 0001 0059', //               PADT, SESSION_ID 1, LENGTH 89
      '0203 002f', //                     Generic-Error, 47 bytes:
      '52502d5050506f453a2053797374656d2063616c6c206572726f723a20496e7075742f6f7574707574206572726f72', // "RP-PPPoE: System call error: Input/output error"
      '0104 0014 88a891210a60cef88ae63c99dc4c15cf be000000', // AC-Cookie
      '0110 000a 0100000036aafe374353', // Relay-Session-Id
    ),
    value: {
      ethernet: eth(AC, CLIENT),
      packet: {
        code: PppoeCode.PADT,
        sessionId: 1,
        tags: { genericError: 'RP-PPPoE: System call error: Input/output error', acCookie: COOKIE, relaySessionId: RELAY_TO_CLIENT },
      },
    },
  },
  {
    name: 'TR-101 PADI from an intermediate agent on VLAN 100 (Broadband Forum tag)',
    source: 'tr-101',
    canonical: true,
    bytes: hex(
      'ffffffffffff 020000000001', //     broadcast <- host
      '8100 6064', //                     802.1Q: PCP 3, DEI 0, VID 100
      '8863 11 09 0000 004a', //          discovery, PADI, LENGTH 74
      '0101 0005 69737061', '2e', //      Service-Name "ispa."
      '0103 0002 abcd', //                Host-Uniq
      '0105 0037', //                     Vendor-Specific, 55 bytes:
      '00000de9', //                        vendor id 3561 (Broadband Forum)
      '01 13 61636e312065746820312f312f30313a313030', // Agent-Circuit-Id "acn1 eth 1/1/01:100" (19)
      '02 0b 637573746f6d65722d3432', //    Agent-Remote-Id "customer-42" (11)
      '81 04 00001f40', //                  Actual-Data-Rate-Upstream 8000 kbit/s
      '82 04 0000c350', //                  Actual-Data-Rate-Downstream 50000 kbit/s
      '90 03 010100', //                    Access-Loop-Encapsulation: Ethernet, untagged, NA
    ),
    value: {
      ethernet: { destination: BCAST, source: HOST, vlans: [vlanTag(100, 3)], ethertype: EtherType.pppoeDiscovery },
      packet: {
        code: PppoeCode.PADI,
        sessionId: 0,
        tags: {
          serviceNames: ['ispa.'],
          hostUniq: hex('abcd'),
          accessLine: {
            circuitId: 'acn1 eth 1/1/01:100',
            remoteId: 'customer-42',
            actualDataRateUpstream: 8000,
            actualDataRateDownstream: 50000,
            accessLoopEncapsulation: { dataLink: 1, encaps1: 1, encaps2: 0 },
          },
        },
      },
    },
  },
];

/** Session-stage vectors. */
export const SESSION_VECTORS: readonly SessionVector[] = [
  {
    name: 'pppd LCP Configure-Request in session 1',
    source: 'capture',
    bytes: hex(
      '12d48d345039 eea10b35a84a 8864', // AC <- client, session stage
      '11 00 0001 000c', //               VER/TYPE, CODE 0x00, SESSION_ID 1, LENGTH 12
      'c021', //                          PPP Protocol: LCP (§7: no Address/Control)
      '01 01 000a 0506 92c0a4a5', //      Configure-Request id 1, length 10, Magic-Number
    ),
    value: { ethernet: eth(AC, CLIENT, EtherType.pppoeSession), sessionId: 1, payload: hex('c021 0101000a050692c0a4a5') },
  },
  {
    name: 'RFC 2516 §4 session packet (LCP, session 0x1234, padded to 60 octets)',
    source: 'rfc',
    bytes: hex(
      '020000000002 020000000001 8864', // AC <- host
      '11 00 1234 0006', //               SESSION_ID 0x1234, LENGTH 6
      'c021 01 01 0004', //               LCP Configure-Request id 1 without options
      '00000000000000000000000000000000000000000000000000000000000000000000', // padding to 60 octets, not in LENGTH
    ),
    value: { ethernet: eth(RFC_AC, HOST, EtherType.pppoeSession), sessionId: 0x1234, payload: hex('c021 0101 0004') },
  },
];

/** Hex of a frame as UTF-8 text, for tests that build Service-Names. */
export const textBytes = utf8;
