/**
 * RFC 2661 §6 control message rules as data: per message type, the AVPs that MUST and MAY be present
 * (besides the Message Type AVP itself), whether the message belongs to a session, and the section.
 */
import { MessageType, type AssignedIdName, type AvpName } from './types.js';

/** One §6.x message rule. */
export interface MessageSpec {
  /** Message Type AVP value. */
  readonly type: MessageType;
  /** RFC abbreviation (SCCRQ, ICCN, ...). */
  readonly name: string;
  /** AVPs that MUST be present. */
  readonly required: readonly AvpName[];
  /** AVPs that MAY be present. */
  readonly optional: readonly AvpName[];
  /**
   * Assigned ID AVPs that MUST be non-zero here (§4.4.3 Assigned Tunnel ID, §4.4.4 Assigned Session
   * ID: "non-zero"). StopCCN and CDN may carry 0 (a sender clearing before it assigned an id).
   */
  readonly nonZero?: readonly AssignedIdName[];
  /** The message is about one session (an unknown M=1 AVP clears only that session, §4.1). */
  readonly sessionScoped: boolean;
  /** RFC section. */
  readonly section: string;
}

/** RFC 2661 §6.1–§6.14 (+ RFC 3145 for the PPP Disconnect Cause Code in CDN). */
export const MESSAGE_SPECS: Readonly<Record<MessageType, MessageSpec>> = {
  [MessageType.SCCRQ]: {
    type: MessageType.SCCRQ,
    name: 'SCCRQ',
    required: ['protocolVersion', 'hostName', 'framingCapabilities', 'assignedTunnelId'],
    optional: ['bearerCapabilities', 'receiveWindowSize', 'challenge', 'tieBreaker', 'firmwareRevision', 'vendorName'],
    nonZero: ['assignedTunnelId'],
    sessionScoped: false,
    section: '6.1',
  },
  [MessageType.SCCRP]: {
    type: MessageType.SCCRP,
    name: 'SCCRP',
    required: ['protocolVersion', 'framingCapabilities', 'hostName', 'assignedTunnelId'],
    optional: ['bearerCapabilities', 'firmwareRevision', 'vendorName', 'receiveWindowSize', 'challenge', 'challengeResponse'],
    nonZero: ['assignedTunnelId'],
    sessionScoped: false,
    section: '6.2',
  },
  [MessageType.SCCCN]: {
    type: MessageType.SCCCN,
    name: 'SCCCN',
    required: [],
    optional: ['challengeResponse'],
    sessionScoped: false,
    section: '6.3',
  },
  [MessageType.StopCCN]: {
    type: MessageType.StopCCN,
    name: 'StopCCN',
    required: ['assignedTunnelId', 'resultCode'],
    optional: [],
    sessionScoped: false,
    section: '6.4',
  },
  [MessageType.HELLO]: {
    type: MessageType.HELLO,
    name: 'HELLO',
    required: [],
    optional: [],
    sessionScoped: false,
    section: '6.5',
  },
  [MessageType.OCRQ]: {
    type: MessageType.OCRQ,
    name: 'OCRQ',
    required: ['assignedSessionId', 'callSerialNumber', 'minimumBps', 'maximumBps', 'bearerType', 'framingType', 'calledNumber'],
    optional: ['subAddress'],
    nonZero: ['assignedSessionId'],
    sessionScoped: true,
    section: '6.9',
  },
  [MessageType.OCRP]: {
    type: MessageType.OCRP,
    name: 'OCRP',
    required: ['assignedSessionId'],
    optional: ['physicalChannelId'],
    nonZero: ['assignedSessionId'],
    sessionScoped: true,
    section: '6.10',
  },
  [MessageType.OCCN]: {
    type: MessageType.OCCN,
    name: 'OCCN',
    required: ['txConnectSpeed', 'framingType'],
    optional: ['rxConnectSpeed', 'sequencingRequired'],
    sessionScoped: true,
    section: '6.11',
  },
  [MessageType.ICRQ]: {
    type: MessageType.ICRQ,
    name: 'ICRQ',
    required: ['assignedSessionId', 'callSerialNumber'],
    optional: ['bearerType', 'physicalChannelId', 'callingNumber', 'calledNumber', 'subAddress'],
    nonZero: ['assignedSessionId'],
    sessionScoped: true,
    section: '6.6',
  },
  [MessageType.ICRP]: {
    type: MessageType.ICRP,
    name: 'ICRP',
    required: ['assignedSessionId'],
    optional: [],
    nonZero: ['assignedSessionId'],
    sessionScoped: true,
    section: '6.7',
  },
  [MessageType.ICCN]: {
    type: MessageType.ICCN,
    name: 'ICCN',
    required: ['txConnectSpeed', 'framingType'],
    optional: [
      'initialReceivedLcpConfReq',
      'lastSentLcpConfReq',
      'lastReceivedLcpConfReq',
      'proxyAuthenType',
      'proxyAuthenName',
      'proxyAuthenChallenge',
      'proxyAuthenId',
      'proxyAuthenResponse',
      'privateGroupId',
      'rxConnectSpeed',
      'sequencingRequired',
    ],
    sessionScoped: true,
    section: '6.8',
  },
  [MessageType.CDN]: {
    type: MessageType.CDN,
    name: 'CDN',
    required: ['resultCode', 'assignedSessionId'],
    optional: ['q931Cause', 'pppDisconnectCause'],
    sessionScoped: true,
    section: '6.12',
  },
  [MessageType.WEN]: {
    type: MessageType.WEN,
    name: 'WEN',
    required: ['callErrors'],
    optional: [],
    sessionScoped: true,
    section: '6.13',
  },
  [MessageType.SLI]: {
    type: MessageType.SLI,
    name: 'SLI',
    required: ['accm'],
    optional: [],
    sessionScoped: true,
    section: '6.14',
  },
};

const SPEC_BY_NUMBER: ReadonlyMap<number, MessageSpec> = new Map(Object.values(MESSAGE_SPECS).map((s) => [s.type, s]));

/** The §6 spec for a message type number, or undefined for unknown / reserved types. */
export function messageSpec(t: number): MessageSpec | undefined {
  return SPEC_BY_NUMBER.get(t);
}

/** True for a known RFC 2661 message type number. */
export function isMessageType(t: number): t is MessageType {
  return SPEC_BY_NUMBER.has(t);
}

/** RFC abbreviation of a message type ('SCCRQ', ...), 'ZLB' for undefined, 'Unknown(n)' otherwise. */
export function messageTypeName(t: number | undefined): string {
  if (t === undefined) return 'ZLB';
  return SPEC_BY_NUMBER.get(t)?.name ?? `Unknown(${t})`;
}
