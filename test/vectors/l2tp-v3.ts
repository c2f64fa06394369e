/**
 * L2TPv3 (RFC 3931) wire vectors, one or more per message type, as hex with a comment per field.
 * Sources: "lab" = bytes of /work/shared/lab/l2tp_craft.py (hand-crafted packets that tshark decodes
 * cleanly) and of the Linux kernel captures in its notes, "rfc" = built by hand from the RFC layouts.
 * `canonical` = emitV3Control(value) reproduces the bytes exactly (registry order and M bits).
 * Digest vectors were computed independently with OpenSSL 3.0 (commands beside each).
 */
import {
  DigestType,
  V3MessageType as T,
  controlConnectionId as cc,
  v3SessionId as sid,
  type V3ControlMessage,
  type V3Encapsulation,
} from '../../src/wire/l2tpv3/types.js';

/** Join commented hex parts into bytes. */
export function hex(...parts: string[]): Uint8Array {
  return Uint8Array.from(Buffer.from(parts.join('').replace(/\s+/g, ''), 'hex'));
}
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A control message vector. */
export interface V3ControlVector {
  readonly name: string;
  readonly source: 'lab' | 'rfc';
  readonly section: string;
  readonly encapsulation: V3Encapsulation;
  readonly bytes: Uint8Array;
  readonly value: V3ControlMessage;
  readonly canonical: boolean;
}

const msg = (connectionId: number, ns: number, nr: number, type: V3ControlMessage['type'], avps: V3ControlMessage['avps']): V3ControlMessage => ({
  connectionId: cc(connectionId),
  ns,
  nr,
  type,
  avps,
});

/** Every RFC 3931 message type, the ACK and a ZLB. */
export const V3_CONTROL_VECTORS: readonly V3ControlVector[] = [
  {
    name: 'SCCRQ over UDP',
    source: 'lab',
    section: '6.1',
    encapsulation: 'udp',
    canonical: false, // the lab sends Receive Window Size last; the registry writes attribute order
    bytes: hex(
      'c803 0048 00000000 0000 0000', // T L S Ver 3, Length 72, CCID 0, Ns 0, Nr 0
      '8008 0000 0000 0001', //          Message Type SCCRQ
      '800e 0000 0007 6c61622d6c636365', // Host Name "lab-lcce"
      '800a 0000 003c c6120001', //      Router ID 198.18.0.1
      '800a 0000 003d 11223344', //      Assigned Control Connection ID 0x11223344
      '800a 0000 003e 0005 0007', //     PW Capabilities Ethernet, PPP
      '8008 0000 000a 0008', //          Receive Window Size 8
    ),
    value: msg(0, 0, 0, T.SCCRQ, {
      hostName: 'lab-lcce',
      routerId: 0xc6120001,
      assignedConnectionId: cc(0x11223344),
      pwCapabilities: [5, 7],
      receiveWindowSize: 8,
    }),
  },
  {
    name: 'SCCRQ over IP',
    source: 'rfc',
    section: '6.1',
    encapsulation: 'ip',
    canonical: true,
    bytes: hex(
      '00000000', //                     Session ID 0: control message over IP (§4.1.1.2)
      'c803 006a 00000000 0000 0000', // Length 106 (not counting the zero Session ID)
      '8008 0000 0000 0001', //          Message Type SCCRQ
      '800e 0000 0005 0102030405060708', // Control Connection Tie Breaker
      '800c 0000 0007 6c6363652d61', //  Host Name "lcce-a"
      '8008 0000 000a 0010', //          Receive Window Size 16
      '800a 0000 003c c6120002', //      Router ID 198.18.0.2
      '800a 0000 003d 0000abcd', //      Assigned Control Connection ID 0xabcd
      '800a 0000 003e 0004 0005', //     PW Capabilities Ethernet VLAN, Ethernet
      '8016 0000 0049 00112233445566778899aabbccddeeff', // Control Message Authentication Nonce
    ),
    value: msg(0, 0, 0, T.SCCRQ, {
      tieBreaker: hex('0102030405060708'),
      hostName: 'lcce-a',
      receiveWindowSize: 16,
      routerId: 0xc6120002,
      assignedConnectionId: cc(0xabcd),
      pwCapabilities: [4, 5],
      nonce: hex('00112233445566778899aabbccddeeff'),
    }),
  },
  {
    name: 'SCCRP',
    source: 'rfc',
    section: '6.2',
    encapsulation: 'udp',
    canonical: true,
    bytes: hex(
      'c803 006f 0000abcd 0000 0001', // Length 111, CCID 0xabcd (the peer's), Ns 0, Nr 1
      '8008 0000 0000 0002', //          Message Type SCCRP
      '0008 0000 0006 0102', //          Firmware Revision 0x0102 (M=0)
      '800c 0000 0007 6c6363652d62', //  Host Name "lcce-b"
      '000d 0000 0008 6c3274706b6974', // Vendor Name "l2tpkit" (M=0)
      '8008 0000 000a 0008', //          Receive Window Size 8
      '800e 0000 000b 0011223344556677', // Challenge (v2-style tunnel auth of some vendors)
      '800a 0000 003c c6120003', //      Router ID 198.18.0.3
      '800a 0000 003d 00001234', //      Assigned Control Connection ID 0x1234
      '8008 0000 003e 0005', //          PW Capabilities Ethernet
      '0008 0000 0048 656e', //          Preferred Language "en" (M=0)
    ),
    value: msg(0xabcd, 0, 1, T.SCCRP, {
      firmwareRevision: 0x0102,
      hostName: 'lcce-b',
      vendorName: 'l2tpkit',
      receiveWindowSize: 8,
      challenge: hex('0011223344556677'),
      routerId: 0xc6120003,
      assignedConnectionId: cc(0x1234),
      pwCapabilities: [5],
      preferredLanguage: 'en',
    }),
  },
  {
    name: 'SCCCN',
    source: 'rfc',
    section: '6.3',
    encapsulation: 'udp',
    canonical: true,
    bytes: hex(
      'c803 002a 00001234 0001 0001', // Length 42
      '8008 0000 0000 0003', //          Message Type SCCCN
      '8016 0000 000d 000102030405060708090a0b0c0d0e0f', // Challenge Response
    ),
    value: msg(0x1234, 1, 1, T.SCCCN, { challengeResponse: hex('000102030405060708090a0b0c0d0e0f') }),
  },
  {
    name: 'StopCCN',
    source: 'rfc',
    section: '6.4',
    encapsulation: 'udp',
    canonical: true,
    bytes: hex(
      'c803 002e 00001234 0002 0001', // Length 46
      '8008 0000 0000 0004', //          Message Type StopCCN
      '8010 0000 0001 0002 0008 415650203939', // Result 2 (general error), error 8, "AVP 99"
      '800a 0000 003d 0000abcd', //      Assigned Control Connection ID
    ),
    value: msg(0x1234, 2, 1, T.StopCCN, { resultCode: { result: 2, error: 8, message: 'AVP 99' }, assignedConnectionId: cc(0xabcd) }),
  },
  {
    name: 'HELLO',
    source: 'rfc',
    section: '6.5',
    encapsulation: 'udp',
    canonical: true,
    bytes: hex('c803 0014 00001234 0003 0002', '8008 0000 0000 0006'),
    value: msg(0x1234, 3, 2, T.HELLO, {}),
  },
  {
    name: 'ICRQ',
    source: 'rfc',
    section: '6.6',
    encapsulation: 'udp',
    canonical: true,
    bytes: hex(
      'c803 007c 00001234 0002 0001', // Length 124
      '8008 0000 0000 000a', //          Message Type ICRQ
      '800e 0000 0005 1112131415161718', // Session Tie Breaker
      '000a 0000 000f 00000001', //      Serial Number 1 (M=0)
      '8009 0000 0016 313030', //        Calling Number "100"
      '800a 0000 003f 00000fa0', //      Local Session ID 4000
      '800a 0000 0040 00000000', //      Remote Session ID 0 (not yet known)
      '800a 0000 0041 cafef00d', //      Assigned Cookie (4 bytes)
      '8009 0000 0042 707731', //        Remote End ID "pw1"
      '8008 0000 0044 0005', //          Pseudowire Type Ethernet
      '8008 0000 0045 0001', //          L2-Specific Sublayer default
      '8008 0000 0046 0000', //          Data Sequencing none
      '8008 0000 0047 0003', //          Circuit Status active, new
    ),
    value: msg(0x1234, 2, 1, T.ICRQ, {
      tieBreaker: hex('1112131415161718'),
      serialNumber: 1,
      callingNumber: '100',
      localSessionId: sid(4000),
      remoteSessionId: sid(0),
      assignedCookie: hex('cafef00d'),
      remoteEndId: ascii('pw1'),
      pwType: 5,
      l2SpecificSublayer: 1,
      dataSequencing: 0,
      circuitStatus: { active: true, new: true },
    }),
  },
  {
    name: 'ICRP over IP',
    source: 'rfc',
    section: '6.7',
    encapsulation: 'ip',
    canonical: true,
    bytes: hex(
      '00000000', //                     zero Session ID
      'c803 0050 0000abcd 0001 0003', // Length 80
      '8008 0000 0000 000b', //          Message Type ICRP
      '000a 0000 0019 00000007', //      Physical Channel ID 7 (M=0)
      '800a 0000 003f 00000bb8', //      Local Session ID 3000
      '800a 0000 0040 00000fa0', //      Remote Session ID 4000
      '800e 0000 0041 0102030405060708', // Assigned Cookie (8 bytes)
      '8008 0000 0045 0001', //          L2-Specific Sublayer default
      '8008 0000 0047 0001', //          Circuit Status active
    ),
    value: msg(0xabcd, 1, 3, T.ICRP, {
      physicalChannelId: 7,
      localSessionId: sid(3000),
      remoteSessionId: sid(4000),
      assignedCookie: hex('0102030405060708'),
      l2SpecificSublayer: 1,
      circuitStatus: { active: true, new: false },
    }),
  },
  {
    name: 'ICCN',
    source: 'rfc',
    section: '6.8',
    encapsulation: 'udp',
    canonical: true,
    bytes: hex(
      'c803 005c 00001234 0003 0002', // Length 92
      '8008 0000 0000 000c', //          Message Type ICCN
      '800a 0000 003f 00000fa0', //      Local Session ID 4000
      '800a 0000 0040 00000bb8', //      Remote Session ID 3000
      '8008 0000 0045 0001', //          L2-Specific Sublayer default
      '8008 0000 0046 0002', //          Data Sequencing all
      '8008 0000 0047 0001', //          Circuit Status active
      '000e 0000 004a 000000003b9aca00', // Tx Connect Speed 1e9 (64-bit, M=0)
      '000e 0000 004b 0000000005f5e100', // Rx Connect Speed 1e8 (M=0)
    ),
    value: msg(0x1234, 3, 2, T.ICCN, {
      localSessionId: sid(4000),
      remoteSessionId: sid(3000),
      l2SpecificSublayer: 1,
      dataSequencing: 2,
      circuitStatus: { active: true, new: false },
      txConnectSpeed: 1_000_000_000n,
      rxConnectSpeed: 100_000_000n,
    }),
  },
  {
    name: 'OCRQ',
    source: 'rfc',
    section: '6.9',
    encapsulation: 'udp',
    canonical: true,
    bytes: hex(
      'c803 0060 00001234 0004 0002', // Length 96
      '8008 0000 0000 0007', //          Message Type OCRQ
      '000a 0000 000f 00000002', //      Serial Number 2
      '8008 0000 0015 3432', //          Called Number "42"
      '8007 0000 0017 37', //            Sub-Address "7"
      '800a 0000 003f 00001388', //      Local Session ID 5000
      '800a 0000 0040 00000000', //      Remote Session ID 0
      '8006 0000 0041', //               Assigned Cookie of zero length: no cookie
      '8009 0000 0042 707732', //        Remote End ID "pw2"
      '8008 0000 0044 0004', //          Pseudowire Type Ethernet VLAN
      '8008 0000 0047 0000', //          Circuit Status inactive
    ),
    value: msg(0x1234, 4, 2, T.OCRQ, {
      serialNumber: 2,
      calledNumber: '42',
      subAddress: '7',
      localSessionId: sid(5000),
      remoteSessionId: sid(0),
      assignedCookie: new Uint8Array(0),
      remoteEndId: ascii('pw2'),
      pwType: 4,
      circuitStatus: { active: false, new: false },
    }),
  },
  {
    name: 'OCRP',
    source: 'rfc',
    section: '6.10',
    encapsulation: 'udp',
    canonical: true,
    bytes: hex(
      'c803 0042 0000abcd 0002 0005', // Length 66
      '8008 0000 0000 0008', //          Message Type OCRP
      '000a 0000 0019 00000009', //      Physical Channel ID 9
      '800a 0000 003f 00001770', //      Local Session ID 6000
      '800a 0000 0040 00001388', //      Remote Session ID 5000
      '8008 0000 0045 0000', //          L2-Specific Sublayer none
      '8008 0000 0047 0003', //          Circuit Status active, new
    ),
    value: msg(0xabcd, 2, 5, T.OCRP, {
      physicalChannelId: 9,
      localSessionId: sid(6000),
      remoteSessionId: sid(5000),
      l2SpecificSublayer: 0,
      circuitStatus: { active: true, new: true },
    }),
  },
  {
    name: 'OCCN',
    source: 'rfc',
    section: '6.11',
    encapsulation: 'udp',
    canonical: true,
    bytes: hex(
      'c803 003e 0000abcd 0003 0005', // Length 62
      '8008 0000 0000 0009', //          Message Type OCCN
      '800a 0000 003f 00001770', //      Local Session ID 6000
      '800a 0000 0040 00001388', //      Remote Session ID 5000
      '8008 0000 0047 0001', //          Circuit Status active
      '000e 0000 004a 0000000000000000', // Tx Connect Speed 0 (indeterminable)
    ),
    value: msg(0xabcd, 3, 5, T.OCCN, {
      localSessionId: sid(6000),
      remoteSessionId: sid(5000),
      circuitStatus: { active: true, new: false },
      txConnectSpeed: 0n,
    }),
  },
  {
    name: 'CDN over IP',
    source: 'rfc',
    section: '6.12',
    encapsulation: 'ip',
    canonical: true,
    bytes: hex(
      '00000000', //                     zero Session ID
      'c803 0039 0000abcd 0004 0004', // Length 57
      '8008 0000 0000 000e', //          Message Type CDN
      '8008 0000 0001 0003', //          Result Code 3 (administrative)
      '8009 0000 000c 0010 5a', //       Q.931 Cause 16, msg 0x5a
      '800a 0000 003f 00000bb8', //      Local Session ID 3000
      '800a 0000 0040 00000fa0', //      Remote Session ID 4000
    ),
    value: msg(0xabcd, 4, 4, T.CDN, {
      resultCode: { result: 3 },
      q931Cause: { cause: 16, msg: 0x5a },
      localSessionId: sid(3000),
      remoteSessionId: sid(4000),
    }),
  },
  {
    name: 'WEN',
    source: 'rfc',
    section: '6.13',
    encapsulation: 'udp',
    canonical: true,
    bytes: hex(
      'c803 0040 0000abcd 0005 0004', // Length 64
      '8008 0000 0000 000f', //          Message Type WEN
      '0018 0000 0022 0000 00000001 00000002 00000003 00000004', // Circuit Errors (§5.4.5 figure, M=0)
      '800a 0000 003f 00000fa0', //      Local Session ID 4000
      '800a 0000 0040 00000bb8', //      Remote Session ID 3000
    ),
    value: msg(0xabcd, 5, 4, T.WEN, {
      circuitErrors: { hardwareOverruns: 1, bufferOverruns: 2, timeoutErrors: 3, alignmentErrors: 4 },
      localSessionId: sid(4000),
      remoteSessionId: sid(3000),
    }),
  },
  {
    name: 'SLI',
    source: 'rfc',
    section: '6.14',
    encapsulation: 'udp',
    canonical: true,
    bytes: hex(
      'c803 0030 0000abcd 0006 0004', // Length 48
      '8008 0000 0000 0010', //          Message Type SLI
      '800a 0000 003f 00000fa0', //      Local Session ID 4000
      '800a 0000 0040 00000bb8', //      Remote Session ID 3000
      '8008 0000 0047 0000', //          Circuit Status inactive
    ),
    value: msg(0xabcd, 6, 4, T.SLI, { localSessionId: sid(4000), remoteSessionId: sid(3000), circuitStatus: { active: false, new: false } }),
  },
  {
    name: 'ACK',
    source: 'rfc',
    section: '6.15',
    encapsulation: 'udp',
    canonical: true,
    bytes: hex('c803 0014 00001234 0005 0007', '8008 0000 0000 0014'),
    value: msg(0x1234, 5, 7, T.ACK, {}),
  },
  {
    name: 'ZLB over IP',
    source: 'rfc',
    section: '6.15',
    encapsulation: 'ip',
    canonical: true,
    bytes: hex('00000000', 'c803 000c 0000abcd 0007 0006'),
    value: msg(0xabcd, 7, 6, undefined, {}),
  },
];

/** Secret of the digest and hidden-AVP vectors. */
export const LAB_SECRET = ascii('lab-secret');
/**
 * §5.4.1 digest key HMAC_MD5("lab-secret", 0x02):
 *   printf '\x02' > two; openssl mac -digest MD5 -macopt key:lab-secret -in two HMAC
 */
export const LAB_DIGEST_KEY = hex('09f5ffb5e0f0a0fc4a1764609032eb31');
/** §5.3 hiding key HMAC_MD5("lab-secret", 0x01): `printf '\x01' > one; openssl mac -digest MD5 -macopt key:lab-secret -in one HMAC`. */
export const LAB_HIDING_KEY = hex('42e7de9f92f59382ce086377e17db240');
/** §4.3 integrity-only key HMAC_MD5("", 0x02): `openssl mac -digest MD5 -macopt hexkey:00 -in two HMAC` (HMAC zero-pads keys). */
export const EMPTY_DIGEST_KEY = hex('7b6085fbf45933670abcb07a27fcea5e');
/** Nonce of LCCE A (initiator) and B (responder). */
export const NONCE_A = hex('000102030405060708090a0b0c0d0e0f');
/** Nonce of LCCE B. */
export const NONCE_B = hex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');

/** A Message Digest vector: the message as sent and who sent it. */
export interface DigestVector {
  readonly name: string;
  readonly encapsulation: V3Encapsulation;
  readonly bytes: Uint8Array;
  readonly digestType: DigestType;
  /** Sent by A (initiator) or B (responder); the receiver's local nonce is the other one. */
  readonly sender: 'A' | 'B';
  /** Integrity digest only (§4.3: empty secret, no nonces). */
  readonly integrity?: true;
  readonly value: V3ControlMessage;
}

/**
 * The digests were computed over the bytes with the digest value zeroed, e.g. for the SCCRQ
 *   echo "c8030069...(digest 00 x16)..." | xxd -r -p > sccrq
 *   openssl mac -digest MD5 -macopt hexkey:09f5ffb5e0f0a0fc4a1764609032eb31 -in sccrq HMAC
 * and for the SCCRP (sender B: B's nonce, then A's, then the message from the T bit)
 *   echo "$NB$NA c803006d...(digest 00 x20)..." | xxd -r -p > sccrp
 *   openssl mac -digest SHA1 -macopt hexkey:09f5... -in sccrp HMAC
 */
export const DIGEST_VECTORS: readonly DigestVector[] = [
  {
    name: 'SCCRQ HMAC-MD5 (no nonces, §5.4.1)',
    encapsulation: 'udp',
    digestType: DigestType.hmacMd5,
    sender: 'A',
    bytes: hex(
      'c803 0069 00000000 0000 0000', //  Length 105
      '8008 0000 0000 0001', //           Message Type SCCRQ
      '8017 0000 003b 00 64ff93f483e0b582ba40f351964361b1', // Message Digest HMAC-MD5
      '800c 0000 0007 6c6363652d61', //   Host Name "lcce-a"
      '800a 0000 003c c6120002', //       Router ID
      '800a 0000 003d 0000abcd', //       Assigned Control Connection ID
      '8008 0000 003e 0005', //           PW Capabilities Ethernet
      '8016 0000 0049 000102030405060708090a0b0c0d0e0f', // Nonce A
    ),
    value: msg(0, 0, 0, T.SCCRQ, { hostName: 'lcce-a', routerId: 0xc6120002, assignedConnectionId: cc(0xabcd), pwCapabilities: [5], nonce: NONCE_A }),
  },
  {
    name: 'SCCRP over IP HMAC-SHA-1 (nonce B + nonce A + message)',
    encapsulation: 'ip',
    digestType: DigestType.hmacSha1,
    sender: 'B',
    bytes: hex(
      '00000000',
      'c803 006d 0000abcd 0000 0001', //  Length 109
      '8008 0000 0000 0002', //           Message Type SCCRP
      '801b 0000 003b 01 137da40cf0ff0de02adbf552dd21f12b04e93a91', // Message Digest HMAC-SHA-1
      '800c 0000 0007 6c6363652d62', //   Host Name "lcce-b"
      '800a 0000 003c c6120003', //       Router ID
      '800a 0000 003d 00001234', //       Assigned Control Connection ID
      '8008 0000 003e 0005', //           PW Capabilities Ethernet
      '8016 0000 0049 f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff', // Nonce B
    ),
    value: msg(0xabcd, 0, 1, T.SCCRP, { hostName: 'lcce-b', routerId: 0xc6120003, assignedConnectionId: cc(0x1234), pwCapabilities: [5], nonce: NONCE_B }),
  },
  {
    name: 'SCCCN HMAC-MD5 (nonce A + nonce B + message)',
    encapsulation: 'udp',
    digestType: DigestType.hmacMd5,
    sender: 'A',
    bytes: hex('c803 002b 00001234 0001 0001', '8008 0000 0000 0003', '8017 0000 003b 00 7bcb11e348095a8327e3770fda548586'),
    value: msg(0x1234, 1, 1, T.SCCCN, {}),
  },
  {
    name: 'HELLO with the integrity-only digest (§4.3)',
    encapsulation: 'udp',
    digestType: DigestType.hmacMd5,
    sender: 'A',
    integrity: true,
    bytes: hex('c803 002b 00001234 0002 0001', '8008 0000 0000 0006', '8017 0000 003b 00 879779d2f1b2c4ffc7d2b96acc2dc25a'),
    value: msg(0x1234, 2, 1, T.HELLO, {}),
  },
];

/**
 * A hidden Local Session ID 4000 (attribute 63) with Random Vector 0xaa x16 and no padding (§5.3):
 *   echo 003f<LAB_HIDING_KEY>aa..aa | xxd -r -p | openssl dgst -md5   -> 6a321e43d804...
 *   [00 04 00 00 0f a0] xor [6a 32 1e 43 d8 04] = 6a 36 1e 43 d7 a4
 */
export const HIDDEN_VECTOR = {
  bytes: hex(
    'c803 0040 00001234 0004 0003', //  Length 64
    '8008 0000 0000 0010', //           Message Type SLI
    '8016 0000 0024 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', // Random Vector
    'c00c 0000 003f 6a361e43d7a4', //   Local Session ID, H bit, hidden subformat
    '800a 0000 0040 00000bb8', //       Remote Session ID 3000
  ),
  value: msg(0x1234, 4, 3, T.SLI, { localSessionId: sid(4000), remoteSessionId: sid(3000) }),
} as const;
