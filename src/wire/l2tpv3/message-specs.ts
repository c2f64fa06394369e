/**
 * RFC 3931 §6 control message rules as data: per message type, the AVPs that MUST and MAY be present
 * (besides Message Type, Random Vector and Message Digest, which every message may carry), whether
 * the message belongs to a session (§5.2: an unknown M=1 AVP then clears only that session with a
 * CDN), and the section. RFC 2661 AVPs that v3 peers reuse are listed as optional where vendors send
 * them (Firmware Revision, Challenge / Challenge Response for "tunnel auth", numbers, Q.931 cause).
 */
import { V3MessageType, type V3AvpName } from './types.js';

/** One §6.x message rule. */
export interface V3MessageSpec {
  readonly type: V3MessageType;
  /** RFC abbreviation (SCCRQ, ICCN, ACK, ...). */
  readonly name: string;
  readonly required: readonly V3AvpName[];
  readonly optional: readonly V3AvpName[];
  /** The message is about one session (§5.2). */
  readonly sessionScoped: boolean;
  readonly section: string;
}

const spec = (
  type: V3MessageType,
  name: string,
  section: string,
  sessionScoped: boolean,
  required: readonly V3AvpName[],
  optional: readonly V3AvpName[],
): V3MessageSpec => ({ type, name, section, sessionScoped, required, optional });

const SCC_OPTIONAL: readonly V3AvpName[] = ['nonce', 'vendorName', 'receiveWindowSize', 'preferredLanguage', 'firmwareRevision', 'challenge'];
const SPEED: readonly V3AvpName[] = ['txConnectSpeed', 'rxConnectSpeed'];

/** RFC 3931 §6.1-§6.15. */
export const V3_MESSAGE_SPECS: Readonly<Record<V3MessageType, V3MessageSpec>> = {
  [V3MessageType.SCCRQ]: spec(V3MessageType.SCCRQ, 'SCCRQ', '6.1', false, ['hostName', 'routerId', 'assignedConnectionId', 'pwCapabilities'], [
    ...SCC_OPTIONAL,
    'tieBreaker',
  ]),
  [V3MessageType.SCCRP]: spec(V3MessageType.SCCRP, 'SCCRP', '6.2', false, ['hostName', 'routerId', 'assignedConnectionId', 'pwCapabilities'], [
    ...SCC_OPTIONAL,
    'challengeResponse',
  ]),
  [V3MessageType.SCCCN]: spec(V3MessageType.SCCCN, 'SCCCN', '6.3', false, [], ['challengeResponse']),
  // §6.4: Assigned Control Connection ID MUST be present once an SCCRQ/SCCRP was sent; checked by the
  // connection (it knows), so it is optional here.
  [V3MessageType.StopCCN]: spec(V3MessageType.StopCCN, 'StopCCN', '6.4', false, ['resultCode'], ['assignedConnectionId']),
  [V3MessageType.HELLO]: spec(V3MessageType.HELLO, 'HELLO', '6.5', false, [], []),
  [V3MessageType.ICRQ]: spec(V3MessageType.ICRQ, 'ICRQ', '6.6', true, ['localSessionId', 'remoteSessionId', 'serialNumber', 'pwType', 'remoteEndId', 'circuitStatus'], [
    'assignedCookie',
    'tieBreaker',
    'l2SpecificSublayer',
    'dataSequencing',
    ...SPEED,
    'physicalChannelId',
    'callingNumber',
    'calledNumber',
    'subAddress',
  ]),
  [V3MessageType.ICRP]: spec(V3MessageType.ICRP, 'ICRP', '6.7', true, ['localSessionId', 'remoteSessionId', 'circuitStatus'], [
    'assignedCookie',
    'l2SpecificSublayer',
    'dataSequencing',
    ...SPEED,
    'physicalChannelId',
  ]),
  [V3MessageType.ICCN]: spec(V3MessageType.ICCN, 'ICCN', '6.8', true, ['localSessionId', 'remoteSessionId'], [
    'l2SpecificSublayer',
    'dataSequencing',
    ...SPEED,
    'circuitStatus',
  ]),
  [V3MessageType.OCRQ]: spec(V3MessageType.OCRQ, 'OCRQ', '6.9', true, ['localSessionId', 'remoteSessionId', 'serialNumber', 'pwType', 'remoteEndId', 'circuitStatus'], [
    'assignedCookie',
    ...SPEED,
    'tieBreaker',
    'l2SpecificSublayer',
    'dataSequencing',
    'calledNumber',
    'subAddress',
  ]),
  [V3MessageType.OCRP]: spec(V3MessageType.OCRP, 'OCRP', '6.10', true, ['localSessionId', 'remoteSessionId', 'circuitStatus'], [
    'assignedCookie',
    'l2SpecificSublayer',
    ...SPEED,
    'dataSequencing',
    'physicalChannelId',
  ]),
  [V3MessageType.OCCN]: spec(V3MessageType.OCCN, 'OCCN', '6.11', true, ['localSessionId', 'remoteSessionId'], [
    'l2SpecificSublayer',
    ...SPEED,
    'dataSequencing',
    'circuitStatus',
  ]),
  [V3MessageType.CDN]: spec(V3MessageType.CDN, 'CDN', '6.12', true, ['resultCode', 'localSessionId', 'remoteSessionId'], ['q931Cause']),
  [V3MessageType.WEN]: spec(V3MessageType.WEN, 'WEN', '6.13', true, ['localSessionId', 'remoteSessionId', 'circuitErrors'], []),
  [V3MessageType.SLI]: spec(V3MessageType.SLI, 'SLI', '6.14', true, ['localSessionId', 'remoteSessionId'], ['circuitStatus']),
  [V3MessageType.ACK]: spec(V3MessageType.ACK, 'ACK', '6.15', false, [], []),
};

const BY_NUMBER: ReadonlyMap<number, V3MessageSpec> = new Map(Object.values(V3_MESSAGE_SPECS).map((s) => [s.type, s]));

/** The §6 spec of a message type number, or undefined for unknown / reserved types. */
export function v3MessageSpec(t: number): V3MessageSpec | undefined {
  return BY_NUMBER.get(t);
}

/** True for a known RFC 3931 message type number. */
export function isV3MessageType(t: number): t is V3MessageType {
  return BY_NUMBER.has(t);
}

/** RFC abbreviation of a message type, 'ZLB' for undefined, 'Unknown(n)' otherwise. */
export function v3MessageTypeName(t: number | undefined): string {
  if (t === undefined) return 'ZLB';
  return BY_NUMBER.get(t)?.name ?? `Unknown(${t})`;
}
