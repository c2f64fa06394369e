/**
 * RFC 2516 §5 discovery packet rules as data: per CODE, where it is sent, what SESSION_ID it
 * carries and which tags MUST / MAY appear. `checkDiscoverySpec` applies a row to a typed packet;
 * the access concentrator only ever sees packets that passed it.
 */
import { err, ok, type Result } from '../../base/index.js';
import type { PppoeWireError } from './errors.js';
import { TagType, type DiscoveryTags } from './tags.js';

/** CODE values (RFC 2516 §5: discovery; §6: 0x00 in the session stage). */
export const PppoeCode = {
  session: 0x00,
  PADO: 0x07,
  PADI: 0x09,
  PADR: 0x19,
  PADS: 0x65,
  PADT: 0xa7,
} as const;

/** A discovery CODE. */
export type DiscoveryCode = (typeof PppoeCode)['PADI' | 'PADO' | 'PADR' | 'PADS' | 'PADT'];

/** Name of a discovery CODE. */
export type DiscoveryName = 'PADI' | 'PADO' | 'PADR' | 'PADS' | 'PADT';

/** One §5.x rule. */
export interface DiscoverySpec {
  readonly code: DiscoveryCode;
  readonly name: DiscoveryName;
  readonly section: string;
  /** PADI goes to the broadcast address, every other packet is unicast. */
  readonly destination: 'broadcast' | 'unicast';
  /** SESSION_ID: 0x0000 until PADS assigns one. */
  readonly sessionId: 'zero' | 'assigned';
  /** Tags that MUST appear exactly once. */
  readonly exactlyOne: readonly number[];
  /** Tags that MUST appear at least once. */
  readonly atLeastOne: readonly number[];
  /** Tags the RFC names as MAY (others are still accepted and ignored, Appendix A). */
  readonly may: readonly number[];
  /**
   * PADS only: with one of these tags the packet refuses the request and Service-Name need not
   * appear; with Service-Name-Error the SESSION_ID MUST be 0x0000 (§5.4), with the others
   * (Appendix A: "MAY be included in PADS packets") it is not checked.
   */
  readonly errorTags: readonly number[];
  /** Largest packet including the PPPoE header (§5.1: a PADI leaves room for a relay's tag). */
  readonly maxLength: number | undefined;
}

const RELAY_AND_ECHO = [TagType.hostUniq, TagType.relaySessionId, TagType.vendorSpecific, TagType.pppMaxPayload];
const ERRORS = [TagType.serviceNameError, TagType.acSystemError, TagType.genericError];

/** RFC 2516 §5.1-§5.5 (+ RFC 4638 §4 for PPP-Max-Payload in PADI/PADO/PADR/PADS). */
export const DISCOVERY_SPECS: Readonly<Record<DiscoveryCode, DiscoverySpec>> = {
  [PppoeCode.PADI]: {
    code: PppoeCode.PADI,
    name: 'PADI',
    section: '5.1',
    destination: 'broadcast',
    sessionId: 'zero',
    exactlyOne: [TagType.serviceName],
    atLeastOne: [],
    may: RELAY_AND_ECHO,
    errorTags: [],
    maxLength: 1484,
  },
  [PppoeCode.PADO]: {
    code: PppoeCode.PADO,
    name: 'PADO',
    section: '5.2',
    destination: 'unicast',
    sessionId: 'zero',
    exactlyOne: [TagType.acName],
    atLeastOne: [TagType.serviceName],
    may: [...RELAY_AND_ECHO, TagType.acCookie, ...ERRORS],
    errorTags: [],
    maxLength: undefined,
  },
  [PppoeCode.PADR]: {
    code: PppoeCode.PADR,
    name: 'PADR',
    section: '5.3',
    destination: 'unicast',
    sessionId: 'zero',
    exactlyOne: [TagType.serviceName],
    atLeastOne: [],
    may: [...RELAY_AND_ECHO, TagType.acCookie],
    errorTags: [],
    maxLength: undefined,
  },
  [PppoeCode.PADS]: {
    code: PppoeCode.PADS,
    name: 'PADS',
    section: '5.4',
    destination: 'unicast',
    sessionId: 'assigned',
    exactlyOne: [TagType.serviceName],
    atLeastOne: [],
    may: [...RELAY_AND_ECHO, TagType.acCookie, ...ERRORS],
    errorTags: ERRORS,
    maxLength: undefined,
  },
  [PppoeCode.PADT]: {
    code: PppoeCode.PADT,
    name: 'PADT',
    section: '5.5',
    destination: 'unicast',
    sessionId: 'assigned',
    exactlyOne: [],
    atLeastOne: [],
    may: [TagType.hostUniq, TagType.relaySessionId, TagType.acCookie, TagType.vendorSpecific, ...ERRORS],
    errorTags: [],
    maxLength: undefined,
  },
};

/** True for the five discovery CODEs. */
export const isDiscoveryCode = (c: number): c is DiscoveryCode => c in DISCOVERY_SPECS;

/** How many times a registry tag appears in typed tags. */
function tagCount(t: DiscoveryTags, type: number): number {
  switch (type) {
    case TagType.serviceName:
      return t.serviceNames?.length ?? 0;
    case TagType.acName:
      return t.acName === undefined ? 0 : 1;
    case TagType.serviceNameError:
      return t.serviceNameError === undefined ? 0 : 1;
    case TagType.acSystemError:
      return t.acSystemError === undefined ? 0 : 1;
    case TagType.genericError:
      return t.genericError === undefined ? 0 : 1;
    default:
      return 0;
  }
}

/** Apply the §5 rule of `code` to a packet's SESSION_ID, tags and length. */
export function checkDiscoverySpec(code: DiscoveryCode, sessionId: number, tags: DiscoveryTags, length: number): Result<void, PppoeWireError> {
  const spec = DISCOVERY_SPECS[code];
  if (spec.maxLength !== undefined && length > spec.maxLength) return err({ kind: 'too-long', code, length, max: spec.maxLength });
  const refused = spec.errorTags.some((t) => tagCount(tags, t) > 0);
  // §5.4: a PADS with Service-Name-Error carries SESSION_ID 0; §4: 0xffff is reserved, 0 = no session.
  const sessionRule = refused ? (tagCount(tags, TagType.serviceNameError) > 0 ? 'zero' : 'any') : spec.sessionId;
  const badSession = sessionRule === 'zero' ? sessionId !== 0 : sessionRule === 'assigned' && (sessionId === 0 || sessionId === 0xffff);
  if (badSession) return err({ kind: 'bad-session-id', code, sessionId });
  for (const t of spec.exactlyOne) {
    const n = tagCount(tags, t);
    if (n === 0 && !(refused && t === TagType.serviceName)) return err({ kind: 'missing-tag', code, tag: t });
    if (n > 1) return err({ kind: 'duplicate-tag', tag: t });
  }
  for (const t of spec.atLeastOne) if (tagCount(tags, t) === 0) return err({ kind: 'missing-tag', code, tag: t });
  return ok(undefined);
}
