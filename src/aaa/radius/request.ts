/**
 * Request attributes from typed inputs: Access-Request (RFC 2865 §4.1; PAP §5.2, CHAP §5.3/§5.40,
 * MS-CHAPv2 RFC 2548 §2.3.2) and Accounting-Request (RFC 2866 §4.1, §5; Gigawords RFC 2869 §5.1-2).
 * Pure functions returning encoded attributes or the first error; nothing is truncated silently.
 */
import { err, ok, parseIpv4, type Result } from '../../base/index.js';
import {
  ACCT_STATUS_TYPE,
  FRAMED_PROTOCOL,
  MS_ATTR,
  NAS_PORT_TYPE,
  RADIUS_ATTR,
  SERVICE_TYPE,
  encodeAttribute,
  encodeMsChap2Response,
  type AttributeCrypto,
  type AttributeDef,
  type RadiusAttribute,
  type RadiusWireError,
} from '../../wire/radius/index.js';
import type { AccountingRecord, AcctStatus, NasIdentity, RadiusAuthRequest, SessionAttributes, TunnelAttributes } from './types.js';

/** Collects encoded attributes; the first error sticks. */
export class AttributeList {
  readonly attributes: RadiusAttribute[] = [];
  private error: RadiusWireError | undefined;

  constructor(private readonly crypto?: AttributeCrypto) {}

  /** Add `value` for `def` unless it is undefined. */
  add<T>(def: AttributeDef<T>, value: T | undefined, tag = 0): this {
    if (value === undefined || this.error !== undefined) return this;
    const a = encodeAttribute(def, value, { tag, ...(this.crypto !== undefined ? { crypto: this.crypto } : {}) });
    if (a.ok) this.attributes.push(a.value);
    else this.error = a.error;
    return this;
  }

  /** Add an IPv4 address given as text. */
  addIpv4(def: AttributeDef<number>, text: string | undefined): this {
    if (text === undefined || this.error !== undefined) return this;
    const n = parseIpv4(text);
    if (n === undefined) this.error = { kind: 'bad-value', attribute: def.name, detail: `not an IPv4 address: ${JSON.stringify(text)}` };
    return this.add(def, n);
  }

  /** Add raw, already encoded attributes. */
  addRaw(raw: readonly RadiusAttribute[] | undefined): this {
    if (raw !== undefined) this.attributes.push(...raw);
    return this;
  }

  /** Record an error found by the caller. */
  fail(e: RadiusWireError): this {
    this.error ??= e;
    return this;
  }

  /** The attributes, or the first error. */
  result(): Result<RadiusAttribute[], RadiusWireError> {
    return this.error !== undefined ? err(this.error) : ok(this.attributes);
  }
}

/** RFC 2865 §5.4 / §5.32 / RFC 3162 §2.1: the NAS identity ("at least one of NAS-IP-Address or NAS-Identifier"). */
function addNas(l: AttributeList, nas: NasIdentity): void {
  l.addIpv4(RADIUS_ATTR.NasIpAddress, nas.ipAddress).add(RADIUS_ATTR.NasIpv6Address, nas.ipv6Address).add(RADIUS_ATTR.NasIdentifier, nas.identifier);
}

/** RFC 2868 §3 / RFC 2867 §4.1: the incoming tunnel, each group under its tag. */
function addTunnels(l: AttributeList, tunnels: readonly TunnelAttributes[] | undefined): void {
  for (const t of tunnels ?? []) {
    const tag = t.tag ?? 0;
    l.add(RADIUS_ATTR.TunnelType, t.type, tag)
      .add(RADIUS_ATTR.TunnelMediumType, t.mediumType, tag)
      .add(RADIUS_ATTR.TunnelClientEndpoint, t.clientEndpoint, tag)
      .add(RADIUS_ATTR.TunnelServerEndpoint, t.serverEndpoint, tag)
      .add(RADIUS_ATTR.AcctTunnelConnection, t.connectionId)
      .add(RADIUS_ATTR.TunnelAssignmentId, t.assignmentId, tag)
      .add(RADIUS_ATTR.TunnelPreference, t.preference, tag)
      .add(RADIUS_ATTR.TunnelPrivateGroupId, t.privateGroupId, tag)
      .add(RADIUS_ATTR.TunnelClientAuthId, t.clientAuthId, tag)
      .add(RADIUS_ATTR.TunnelServerAuthId, t.serverAuthId, tag);
  }
}

/** The session's port and station attributes (RFC 2865 §5.5-7, §5.30-31, §5.41; RFC 2869 §5.17). */
function addSession(l: AttributeList, s: SessionAttributes | undefined): void {
  l.add(RADIUS_ATTR.NasPort, s?.nasPort)
    .add(RADIUS_ATTR.NasPortId, s?.nasPortId)
    .add(RADIUS_ATTR.NasPortType, s?.nasPortType ?? NAS_PORT_TYPE.Virtual)
    .add(RADIUS_ATTR.ServiceType, s?.serviceType ?? SERVICE_TYPE.Framed)
    .add(RADIUS_ATTR.FramedProtocol, s?.framedProtocol ?? FRAMED_PROTOCOL.Ppp)
    .add(RADIUS_ATTR.CalledStationId, s?.calledStationId)
    .add(RADIUS_ATTR.CallingStationId, s?.callingStationId);
  addTunnels(l, s?.tunnel);
}

/**
 * Access-Request attributes (without Message-Authenticator, which the signer adds first).
 * `crypto.requestAuthenticator` is this packet's random Request Authenticator (User-Password, §5.2).
 */
export function accessRequestAttributes(req: RadiusAuthRequest, nas: NasIdentity, crypto: AttributeCrypto): Result<RadiusAttribute[], RadiusWireError> {
  const l = new AttributeList(crypto);
  l.add(RADIUS_ATTR.UserName, req.username);
  const c = req.credentials;
  switch (c.method) {
    case 'pap':
      l.add(RADIUS_ATTR.UserPassword, c.password);
      break;
    case 'chap-md5': {
      // §5.3: CHAP Ident + 16-octet response; §5.40: the challenge goes in CHAP-Challenge.
      if (c.response.length !== 16) l.fail({ kind: 'bad-value', attribute: 'CHAP-Password', detail: 'a CHAP-MD5 response has 16 octets' });
      const v = new Uint8Array(17);
      v[0] = c.identifier & 0xff;
      v.set(c.response.subarray(0, 16), 1);
      l.add(RADIUS_ATTR.ChapPassword, v).add(RADIUS_ATTR.ChapChallenge, c.challenge);
      break;
    }
    case 'mschapv2': {
      // RFC 2548 §2.3.2: MS-CHAP-Challenge (the authenticator challenge) + MS-CHAP2-Response.
      const r = encodeMsChap2Response({ ident: c.identifier, flags: c.flags ?? 0, peerChallenge: c.peerChallenge, ntResponse: c.ntResponse });
      if (!r.ok) l.fail({ kind: 'bad-value', attribute: 'MS-CHAP2-Response', detail: r.error });
      else l.add(MS_ATTR.ChapChallenge, c.authenticatorChallenge).add(MS_ATTR.Chap2Response, r.value);
      break;
    }
  }
  addNas(l, nas);
  addSession(l, req.session);
  l.add(RADIUS_ATTR.AcctSessionId, req.session?.acctSessionId).add(RADIUS_ATTR.State, req.state).addRaw(req.extra);
  return l.result();
}

/** RFC 2866 §5.1 numbers of our status names. */
export const ACCT_STATUS_NUMBER: Readonly<Record<AcctStatus, number>> = {
  start: ACCT_STATUS_TYPE.Start,
  'interim-update': ACCT_STATUS_TYPE.InterimUpdate,
  stop: ACCT_STATUS_TYPE.Stop,
  'accounting-on': ACCT_STATUS_TYPE.AccountingOn,
  'accounting-off': ACCT_STATUS_TYPE.AccountingOff,
};

const TWO32 = 2 ** 32;

/** RFC 2869 §5.1-2: a 64-bit counter as (low 32 bits, Gigawords). */
export function splitGigawords(n: number): { readonly low: number; readonly giga: number } {
  const v = Math.max(0, Math.floor(n));
  return { low: v % TWO32, giga: Math.floor(v / TWO32) };
}

/**
 * Accounting-Request attributes of a record sent `delaySeconds` after its event (RFC 2866 §5.2
 * Acct-Delay-Time: a retry with a new delay is a new packet, so it needs a new Identifier).
 */
export function accountingRequestAttributes(r: AccountingRecord, nas: NasIdentity, delaySeconds: number): Result<RadiusAttribute[], RadiusWireError> {
  const l = new AttributeList();
  l.add(RADIUS_ATTR.AcctStatusType, ACCT_STATUS_NUMBER[r.status]).add(RADIUS_ATTR.AcctSessionId, r.sessionId).add(RADIUS_ATTR.UserName, r.username);
  addNas(l, nas);
  const perSession = r.status !== 'accounting-on' && r.status !== 'accounting-off';
  if (perSession) addSession(l, r.session);
  l.add(RADIUS_ATTR.AcctMultiSessionId, r.multiSessionId)
    .addIpv4(RADIUS_ATTR.FramedIpAddress, r.framedIpAddress)
    .add(RADIUS_ATTR.FramedIpv6Prefix, r.framedIpv6Prefix)
    .add(RADIUS_ATTR.DelegatedIpv6Prefix, r.delegatedIpv6Prefix)
    .add(RADIUS_ATTR.AcctAuthentic, r.authentic);
  for (const c of r.classes ?? []) l.add(RADIUS_ATTR.Class, c);
  if (r.counters !== undefined) {
    const i = splitGigawords(r.counters.inputOctets);
    const o = splitGigawords(r.counters.outputOctets);
    l.add(RADIUS_ATTR.AcctInputOctets, i.low)
      .add(RADIUS_ATTR.AcctOutputOctets, o.low)
      .add(RADIUS_ATTR.AcctInputGigawords, i.giga)
      .add(RADIUS_ATTR.AcctOutputGigawords, o.giga)
      .add(RADIUS_ATTR.AcctInputPackets, r.counters.inputPackets % TWO32)
      .add(RADIUS_ATTR.AcctOutputPackets, r.counters.outputPackets % TWO32);
  }
  l.add(RADIUS_ATTR.AcctSessionTime, r.sessionTime === undefined ? undefined : Math.max(0, Math.floor(r.sessionTime)));
  if (r.status === 'stop') l.add(RADIUS_ATTR.AcctTerminateCause, r.terminateCause);
  l.add(RADIUS_ATTR.EventTimestamp, Math.floor(r.timestamp / 1000)).add(RADIUS_ATTR.AcctDelayTime, Math.max(0, Math.floor(delaySeconds)));
  return l.result();
}
