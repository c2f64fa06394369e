/**
 * L2TPv2 (RFC 2661) wire vectors, one per message type, as hex with a comment per field.
 * Sources: "lab" = bytes of /work/shared/lab/l2tp_craft.py (the hand-crafted packets used against real
 * peers), "go-l2tp" = katalix/go-l2tp msg_test.go peer vectors, "rfc" = built by hand from the RFC
 * layout. `canonical` = emitControl(value) reproduces the bytes exactly (registry order and M bits).
 */
import { MessageType, sessionId as sid, tunnelId as tid, type ControlMessage, type DataMessage } from '../../src/wire/l2tp/types.js';

/** Join commented hex lines into bytes. */
export function hex(...parts: string[]): Uint8Array {
  return Uint8Array.from(Buffer.from(parts.join('').replace(/\s+/g, ''), 'hex'));
}
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A control message vector. */
export interface ControlVector {
  readonly name: string;
  readonly source: 'lab' | 'go-l2tp' | 'rfc';
  readonly bytes: Uint8Array;
  readonly value: ControlMessage;
  readonly canonical: boolean;
}

/** A data message vector (maxOffset 64). */
export interface DataVector {
  readonly name: string;
  readonly source: 'lab' | 'rfc';
  readonly bytes: Uint8Array;
  readonly value: DataMessage;
  /** The L bit is set, so every truncated prefix must fail. */
  readonly withLength: boolean;
}

/** Control message vectors: every RFC 2661 message type + ZLB. */
export const CONTROL_VECTORS: readonly ControlVector[] = [
  {
    name: 'SCCRQ',
    source: 'lab',
    canonical: false, // lab sends Bearer Capabilities with M=0; the registry sends M=1
    bytes: hex(
      'c802 0062 0000 0000 0000 0000', // T L S ver2, Length 98, tunnel 0, session 0, Ns 0, Nr 0
      '8008 0000 0000 0001', //          M len 8, Message Type = 1 SCCRQ
      '8008 0000 0002 0100', //          Protocol Version 1.0
      '800a 0000 0003 00000003', //      Framing Capabilities sync+async
      '000a 0000 0004 00000000', //      Bearer Capabilities 0 (M=0)
      '0008 0000 0006 0100', //          Firmware Revision 0x0100 (M=0)
      '800d 0000 0007 6c61622d6c6163', // Host Name "lab-lac"
      '000d 0000 0008 6c3274706c6162', // Vendor Name "l2tplab" (M=0)
      '8008 0000 0009 0007', //          Assigned Tunnel ID 7
      '8008 0000 000a 0004', //          Receive Window Size 4
    ),
    value: {
      tunnelId: tid(0),
      sessionId: sid(0),
      ns: 0,
      nr: 0,
      type: MessageType.SCCRQ,
      avps: {
        protocolVersion: { version: 1, revision: 0 },
        framingCapabilities: 3,
        bearerCapabilities: 0,
        firmwareRevision: 0x100,
        hostName: 'lab-lac',
        vendorName: 'l2tplab',
        assignedTunnelId: tid(7),
        receiveWindowSize: 4,
      },
    },
  },
  {
    name: 'SCCRQ with Tie Breaker and Challenge',
    source: 'rfc',
    canonical: true,
    bytes: hex(
      'c802 004f 0000 0000 0000 0000', // Length 79, tunnel 0, session 0, Ns 0, Nr 0
      '8008 0000 0000 0001', //          Message Type SCCRQ
      '8008 0000 0002 0100', //          Protocol Version 1.0
      '800a 0000 0003 00000001', //      Framing Capabilities sync
      '000e 0000 0005 0102030405060708', // Tie Breaker (M=0), 8 bytes
      '8009 0000 0007 6c6163', //        Host Name "lac"
      '8008 0000 0009 1234', //          Assigned Tunnel ID 0x1234
      '800a 0000 000b 0a0b0c0d', //      Challenge (4 bytes)
    ),
    value: {
      tunnelId: tid(0),
      sessionId: sid(0),
      ns: 0,
      nr: 0,
      type: MessageType.SCCRQ,
      avps: {
        protocolVersion: { version: 1, revision: 0 },
        framingCapabilities: 1,
        tieBreaker: hex('0102030405060708'),
        hostName: 'lac',
        assignedTunnelId: tid(0x1234),
        challenge: hex('0a0b0c0d'),
      },
    },
  },
  {
    name: 'SCCRP',
    source: 'lab',
    canonical: true,
    bytes: hex(
      'c802 003b 0007 0000 0000 0001', // Length 59, tunnel 7, session 0, Ns 0, Nr 1
      '8008 0000 0000 0002', //          Message Type SCCRP
      '8008 0000 0002 0100', //          Protocol Version 1.0
      '800a 0000 0003 00000003', //      Framing Capabilities sync+async
      '800d 0000 0007 6c61622d6c6e73', // Host Name "lab-lns"
      '8008 0000 0009 0009', //          Assigned Tunnel ID 9
    ),
    value: {
      tunnelId: tid(7),
      sessionId: sid(0),
      ns: 0,
      nr: 1,
      type: MessageType.SCCRP,
      avps: { protocolVersion: { version: 1, revision: 0 }, framingCapabilities: 3, hostName: 'lab-lns', assignedTunnelId: tid(9) },
    },
  },
  {
    name: 'SCCCN',
    source: 'lab',
    canonical: true,
    bytes: hex(
      'c802 0014 0009 0000 0001 0001', // Length 20, tunnel 9, session 0, Ns 1, Nr 1
      '8008 0000 0000 0003', //          Message Type SCCCN
    ),
    value: { tunnelId: tid(9), sessionId: sid(0), ns: 1, nr: 1, type: MessageType.SCCCN, avps: {} },
  },
  {
    name: 'SCCCN with Challenge Response',
    source: 'rfc',
    canonical: true,
    bytes: hex(
      'c802 002a 0009 0000 0001 0001', // Length 42
      '8008 0000 0000 0003', //          Message Type SCCCN
      '8016 0000 000d 00112233445566778899aabbccddeeff', // Challenge Response (16 bytes)
    ),
    value: {
      tunnelId: tid(9),
      sessionId: sid(0),
      ns: 1,
      nr: 1,
      type: MessageType.SCCCN,
      avps: { challengeResponse: hex('00112233445566778899aabbccddeeff') },
    },
  },
  {
    name: 'StopCCN',
    source: 'rfc',
    canonical: true,
    bytes: hex(
      'c802 0026 0009 0000 0002 0001', // Length 38, tunnel 9, Ns 2, Nr 1
      '8008 0000 0000 0004', //          Message Type StopCCN
      '800a 0000 0001 0001 0000', //     Result Code 1 (general request to clear), error 0
      '8008 0000 0009 1092', //          Assigned Tunnel ID 4242
    ),
    value: {
      tunnelId: tid(9),
      sessionId: sid(0),
      ns: 2,
      nr: 1,
      type: MessageType.StopCCN,
      avps: { resultCode: { result: 1, error: 0 }, assignedTunnelId: tid(4242) },
    },
  },
  {
    name: 'StopCCN (lab order: Tunnel ID before Result Code, 2-byte result)',
    source: 'lab',
    canonical: false,
    bytes: hex(
      'c802 0024 0009 0000 0001 0001', // Length 36
      '8008 0000 0000 0004', //          Message Type StopCCN
      '8008 0000 0009 1092', //          Assigned Tunnel ID 4242
      '8008 0000 0001 0001', //          Result Code 1, no error code
    ),
    value: {
      tunnelId: tid(9),
      sessionId: sid(0),
      ns: 1,
      nr: 1,
      type: MessageType.StopCCN,
      avps: { resultCode: { result: 1 }, assignedTunnelId: tid(4242) },
    },
  },
  {
    name: 'HELLO',
    source: 'go-l2tp',
    canonical: true,
    bytes: hex(
      'c802 0014 0001 0000 0001 0001', // Length 20, tunnel 1, session 0, Ns 1, Nr 1
      '8008 0000 0000 0006', //          Message Type HELLO
    ),
    value: { tunnelId: tid(1), sessionId: sid(0), ns: 1, nr: 1, type: MessageType.HELLO, avps: {} },
  },
  {
    name: 'OCRQ',
    source: 'rfc',
    canonical: true,
    bytes: hex(
      'c802 0063 0009 0000 0003 0002', // Length 99, tunnel 9, session 0, Ns 3, Nr 2
      '8008 0000 0000 0007', //          Message Type OCRQ
      '8008 0000 000e 0021', //          Assigned Session ID 0x21
      '800a 0000 000f 00000005', //      Call Serial Number 5
      '800a 0000 0010 00002580', //      Minimum BPS 9600
      '800a 0000 0011 0001f400', //      Maximum BPS 128000
      '800a 0000 0012 00000001', //      Bearer Type digital
      '800a 0000 0013 00000001', //      Framing Type sync
      '800d 0000 0015 35353531323334', // Called Number "5551234"
      '8008 0000 0017 3132', //          Sub-Address "12"
    ),
    value: {
      tunnelId: tid(9),
      sessionId: sid(0),
      ns: 3,
      nr: 2,
      type: MessageType.OCRQ,
      avps: {
        assignedSessionId: sid(0x21),
        callSerialNumber: 5,
        minimumBps: 9600,
        maximumBps: 128000,
        bearerType: 1,
        framingType: 1,
        calledNumber: '5551234',
        subAddress: '12',
      },
    },
  },
  {
    name: 'OCRP',
    source: 'rfc',
    canonical: true,
    bytes: hex(
      'c802 0026 0009 0021 0002 0004', // Length 38, tunnel 9, session 0x21, Ns 2, Nr 4
      '8008 0000 0000 0008', //          Message Type OCRP
      '8008 0000 000e 0042', //          Assigned Session ID 0x42
      '000a 0000 0019 00000007', //      Physical Channel ID 7 (M=0)
    ),
    value: {
      tunnelId: tid(9),
      sessionId: sid(0x21),
      ns: 2,
      nr: 4,
      type: MessageType.OCRP,
      avps: { assignedSessionId: sid(0x42), physicalChannelId: 7 },
    },
  },
  {
    name: 'OCCN',
    source: 'rfc',
    canonical: true,
    bytes: hex(
      'c802 0038 0009 0021 0003 0004', // Length 56, tunnel 9, session 0x21, Ns 3, Nr 4
      '8008 0000 0000 0009', //          Message Type OCCN
      '800a 0000 0013 00000001', //      Framing Type sync
      '800a 0000 0018 0000fa00', //      (Tx) Connect Speed 64000
      '000a 0000 0026 0000fa00', //      Rx Connect Speed 64000 (M=0)
      '8006 0000 0027', //               Sequencing Required (no value)
    ),
    value: {
      tunnelId: tid(9),
      sessionId: sid(0x21),
      ns: 3,
      nr: 4,
      type: MessageType.OCCN,
      avps: { framingType: 1, txConnectSpeed: 64000, rxConnectSpeed: 64000, sequencingRequired: true },
    },
  },
  {
    name: 'ICRQ',
    source: 'lab',
    canonical: true,
    bytes: hex(
      'c802 0026 0009 0000 0002 0001', // Length 38, tunnel 9, session 0, Ns 2, Nr 1
      '8008 0000 0000 000a', //          Message Type ICRQ
      '8008 0000 000e 0003', //          Assigned Session ID 3
      '800a 0000 000f 00000001', //      Call Serial Number 1
    ),
    value: {
      tunnelId: tid(9),
      sessionId: sid(0),
      ns: 2,
      nr: 1,
      type: MessageType.ICRQ,
      avps: { assignedSessionId: sid(3), callSerialNumber: 1 },
    },
  },
  {
    name: 'ICRQ with call info',
    source: 'rfc',
    canonical: true,
    bytes: hex(
      'c802 004e 0009 0000 0002 0001', // Length 78
      '8008 0000 0000 000a', //          Message Type ICRQ
      '8008 0000 000e 0003', //          Assigned Session ID 3
      '800a 0000 000f 00000001', //      Call Serial Number 1
      '800a 0000 0012 00000002', //      Bearer Type analog
      '8009 0000 0015 313030', //        Called Number "100"
      '800b 0000 0016 3230303030', //    Calling Number "20000"
      '000a 0000 0019 00000003', //      Physical Channel ID 3 (M=0)
    ),
    value: {
      tunnelId: tid(9),
      sessionId: sid(0),
      ns: 2,
      nr: 1,
      type: MessageType.ICRQ,
      avps: {
        assignedSessionId: sid(3),
        callSerialNumber: 1,
        bearerType: 2,
        calledNumber: '100',
        callingNumber: '20000',
        physicalChannelId: 3,
      },
    },
  },
  {
    name: 'ICRP',
    source: 'rfc',
    canonical: true,
    bytes: hex(
      'c802 001c 0007 0003 0001 0003', // Length 28, tunnel 7, session 3, Ns 1, Nr 3
      '8008 0000 0000 000b', //          Message Type ICRP
      '8008 0000 000e 0005', //          Assigned Session ID 5
    ),
    value: { tunnelId: tid(7), sessionId: sid(3), ns: 1, nr: 3, type: MessageType.ICRP, avps: { assignedSessionId: sid(5) } },
  },
  {
    name: 'ICCN with proxy LCP and proxy authentication',
    source: 'rfc',
    canonical: true,
    bytes: hex(
      'c802 00bd 0009 0005 0003 0002', // Length 189, tunnel 9, session 5, Ns 3, Nr 2
      '8008 0000 0000 000c', //          Message Type ICCN
      '800a 0000 0013 00000001', //      Framing Type sync
      '800a 0000 0018 05f5e100', //      (Tx) Connect Speed 100000000
      '0010 0000 001a 010405dc050612345678', //     Initial Received LCP CONFREQ: MRU 1500, Magic
      '0015 0000 001b 010405dc0305c22305050687654321', // Last Sent LCP CONFREQ: MRU, Auth CHAP-MD5, Magic
      '0010 0000 001c 010405dc050612345678', //     Last Received LCP CONFREQ
      '0008 0000 001d 0002', //          Proxy Authen Type 2 (PPP CHAP)
      '000b 0000 001e 616c696365', //    Proxy Authen Name "alice"
      '0016 0000 001f 000102030405060708090a0b0c0d0e0f', // Proxy Authen Challenge (16 bytes)
      '0008 0000 0020 0001', //          Proxy Authen ID: reserved 0, id 1
      '0016 0000 0021 f0e1d2c3b4a5968778695a4b3c2d1e0f', // Proxy Authen Response (16 bytes)
      '0009 0000 0025 677270', //        Private Group ID "grp"
      '000a 0000 0026 05f5e100', //      Rx Connect Speed 100000000
      '8006 0000 0027', //               Sequencing Required
    ),
    value: {
      tunnelId: tid(9),
      sessionId: sid(5),
      ns: 3,
      nr: 2,
      type: MessageType.ICCN,
      avps: {
        framingType: 1,
        txConnectSpeed: 100000000,
        initialReceivedLcpConfReq: hex('010405dc050612345678'),
        lastSentLcpConfReq: hex('010405dc0305c22305050687654321'),
        lastReceivedLcpConfReq: hex('010405dc050612345678'),
        proxyAuthenType: 2,
        proxyAuthenName: 'alice',
        proxyAuthenChallenge: hex('000102030405060708090a0b0c0d0e0f'),
        proxyAuthenId: 1,
        proxyAuthenResponse: hex('f0e1d2c3b4a5968778695a4b3c2d1e0f'),
        privateGroupId: ascii('grp'),
        rxConnectSpeed: 100000000,
        sequencingRequired: true,
      },
    },
  },
  {
    name: 'CDN with Q.931 Cause Code and PPP Disconnect Cause Code',
    source: 'rfc',
    canonical: true,
    bytes: hex(
      'c802 0043 0009 0005 0004 0003', // Length 67, tunnel 9, session 5, Ns 4, Nr 3
      '8008 0000 0000 000e', //          Message Type CDN
      '800d 0000 0001 0003 0000 627965', // Result Code 3 (administrative), error 0, "bye"
      '800b 0000 000c 0010 45 6f6b', //  Q.931 Cause Code 16, msg 0x45, advisory "ok"
      '8008 0000 000e 0005', //          Assigned Session ID 5
      '000f 0000 002e 0003 c021 01 70656572', // RFC 3145 PPP Disconnect Cause: code 3, LCP, dir 1, "peer"
    ),
    value: {
      tunnelId: tid(9),
      sessionId: sid(5),
      ns: 4,
      nr: 3,
      type: MessageType.CDN,
      avps: {
        resultCode: { result: 3, error: 0, message: 'bye' },
        q931Cause: { cause: 16, msg: 0x45, advisory: 'ok' },
        assignedSessionId: sid(5),
        pppDisconnectCause: { code: 3, protocol: 0xc021, direction: 1, message: 'peer' },
      },
    },
  },
  {
    name: 'WEN',
    source: 'rfc',
    canonical: true,
    bytes: hex(
      'c802 0034 0009 0005 0005 0003', // Length 52, tunnel 9, session 5, Ns 5, Nr 3
      '8008 0000 0000 000f', //          Message Type WEN
      '8020 0000 0022 0000', //          Call Errors, reserved
      '00000001 00000002 00000003', //   CRC, framing, hardware overruns
      '00000004 00000005 00000006', //   buffer overruns, time-outs, alignment
    ),
    value: {
      tunnelId: tid(9),
      sessionId: sid(5),
      ns: 5,
      nr: 3,
      type: MessageType.WEN,
      avps: { callErrors: { crcErrors: 1, framingErrors: 2, hardwareOverruns: 3, bufferOverruns: 4, timeoutErrors: 5, alignmentErrors: 6 } },
    },
  },
  {
    name: 'SLI',
    source: 'rfc',
    canonical: true,
    bytes: hex(
      'c802 0024 0009 0005 0006 0003', // Length 36, tunnel 9, session 5, Ns 6, Nr 3
      '8008 0000 0000 0010', //          Message Type SLI
      '8010 0000 0023 0000 ffffffff 00000000', // ACCM: reserved, send 0xffffffff, recv 0
    ),
    value: {
      tunnelId: tid(9),
      sessionId: sid(5),
      ns: 6,
      nr: 3,
      type: MessageType.SLI,
      avps: { accm: { send: 0xffffffff, recv: 0 } },
    },
  },
  {
    name: 'ZLB',
    source: 'go-l2tp',
    canonical: true,
    bytes: hex('c802 000c 0001 0000 0001 0001'), // Length 12, tunnel 1, session 0, Ns 1, Nr 1, no AVPs
    value: { tunnelId: tid(1), sessionId: sid(0), ns: 1, nr: 1, type: undefined, avps: {} },
  },
];

/** Data message vectors. */
export const DATA_VECTORS: readonly DataVector[] = [
  {
    name: 'data with L (lab: PPP LCP Configure-Request)',
    source: 'lab',
    withLength: true,
    bytes: hex(
      '4002 001a 0009 0003', //          L ver2, Length 26, tunnel 9, session 3
      'ff03 c021 0101000e 0104058a 05060a0b0c0d', // PPP: ff03, LCP, ConfReq id 1 len 14, MRU 1418, Magic
    ),
    value: {
      tunnelId: tid(9),
      sessionId: sid(3),
      priority: false,
      payload: hex('ff03c0210101000e0104058a05060a0b0c0d'),
    },
  },
  {
    name: 'data with L, S, O, P',
    source: 'rfc',
    withLength: true,
    bytes: hex(
      '4b02 0016 0009 0003', //          L S O P ver2, Length 22, tunnel 9, session 3
      '0007 0000', //                    Ns 7, Nr 0
      '0002 0000', //                    Offset Size 2, 2 pad bytes
      'c021 0101 0004', //               PPP (address/control compressed) LCP ConfReq
    ),
    value: { tunnelId: tid(9), sessionId: sid(3), ns: 7, nr: 0, priority: true, payload: hex('c02101010004') },
  },
  {
    name: 'data, minimal header (no L, no S)',
    source: 'rfc',
    withLength: false,
    bytes: hex(
      '0002 0009 0003', //               ver2, tunnel 9, session 3
      'ff03 0021 4500', //               PPP IPv4 (first bytes)
    ),
    value: { tunnelId: tid(9), sessionId: sid(3), priority: false, payload: hex('ff0300214500') },
  },
];
