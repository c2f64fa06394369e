/**
 * RADIUS answers -> what the LNS does: the PPP decision (RFC 2865 §5.18 Reply-Message as the
 * PAP/CHAP failure text, RFC 2548 §2.3.3 MS-CHAP2-Success to the client, §2.1.5 MS-CHAP-Error's
 * E= code) and the session's authorization (the reply attributes of RFC 2865 §5, RFC 2869, RFC 3162,
 * RFC 4818, RFC 2548), each checked; what cannot be honoured is named in `ignored`. Pure.
 */
import { formatIpv6, type Ipv4Prefix, parseIpv4, parseIpv4Prefix, prefix64Of, seconds } from '../../base/index.js';
import type { RadiusAuthAnswer, RadiusReply } from '../../aaa/radius/index.js';
import type { AuthDecision } from '../../ppp/index.js';
import type { AccessAuthResult, Ipv6Route, SessionAuthorization } from './types.js';

/** The PPP method an answer is for (decides how MS-CHAPv2 success is carried). */
type Method = 'pap' | 'chap-md5' | 'mschapv2';

/** Smallest MTU we accept from Framed-MTU (RFC 2865 §5.12 allows 64..65535; IPv4 needs 576). */
const MIN_MTU = 576;

/**
 * RFC 2865 §5.22 Framed-Route: "<destination> [<gateway> [<metric> ...]]"; the destination is
 * "a.b.c.d/len" or a bare address (a host route). Only gateway 0.0.0.0 (or none, or the user's
 * own address) is meaningful on a point-to-point link; anything else is ignored with a reason.
 */
export function parseFramedRoute(text: string, framed?: number): { ok: true; prefix: Ipv4Prefix } | { ok: false; why: string } {
  const [dest, gateway] = text.trim().split(/\s+/);
  if (dest === undefined || dest === '') return { ok: false, why: `Framed-Route "${text}": empty` };
  const p = parseIpv4Prefix(dest.includes('/') ? dest : `${dest}/32`);
  if (!p.ok) return { ok: false, why: `Framed-Route "${text}": ${p.error}` };
  if (gateway !== undefined && gateway !== '0.0.0.0') {
    const g = parseIpv4(gateway);
    if (g === undefined || framed === undefined || g !== framed) return { ok: false, why: `Framed-Route "${text}": gateway ${gateway} is not the session (use 0.0.0.0)` };
  }
  return { ok: true, prefix: p.value };
}

/** The upper 64 bits of a RADIUS IPv6 prefix, or why it cannot be routed (longer than /64). */
function route6(p: { readonly length: number; readonly prefix: Uint8Array }, what: string): { ok: true; route: Ipv6Route } | { ok: false; why: string } {
  if (p.length > 64) return { ok: false, why: `${what} ${formatIpv6(p.prefix)}/${p.length}: longer than /64` };
  return { ok: true, route: { network64: prefix64Of(p.prefix), length: p.length } };
}

/** The session's authorization from an Access-Accept's typed reply. */
export function authorizationFromReply(r: RadiusReply): SessionAuthorization {
  const ignored: string[] = [];
  const out: { -readonly [K in keyof SessionAuthorization]: SessionAuthorization[K] } = { routes: [], classes: r.classes, dns: r.dnsServers.slice(0, 2), nbns: r.nbnsServers.slice(0, 2), ignored };
  const framed = r.framedIpAddress !== undefined ? parseIpv4(r.framedIpAddress) : undefined;
  if (framed !== undefined) out.framedAddress = framed;
  // 255.255.255.254 (NAS selects) and 255.255.255.255 (user selects): both end in the pool here.
  if (r.framedIpAddressRule === 'user-selects') ignored.push('Framed-IP-Address 255.255.255.255: the address comes from the pool');
  if (r.framedPool !== undefined) out.framedPool = r.framedPool;
  const mask = r.framedIpNetmask !== undefined ? parseIpv4(r.framedIpNetmask) : undefined;
  if (mask !== undefined) out.framedNetmask = mask;
  const routes: Ipv4Prefix[] = [];
  for (const text of r.framedRoutes) {
    const p = parseFramedRoute(text, framed);
    if (p.ok) routes.push(p.prefix);
    else ignored.push(p.why);
  }
  out.routes = routes;
  const [v6] = r.framedIpv6Prefixes;
  if (v6 !== undefined) {
    if (v6.length === 64) out.ipv6Prefix64 = prefix64Of(v6.prefix);
    else ignored.push(`Framed-IPv6-Prefix ${formatIpv6(v6.prefix)}/${v6.length}: only a /64 can be announced for SLAAC`);
  }
  if (r.delegatedIpv6Prefix !== undefined) {
    const d = route6(r.delegatedIpv6Prefix, 'Delegated-IPv6-Prefix');
    if (d.ok) out.delegatedPrefix = d.route;
    else ignored.push(d.why);
  }
  if (r.framedMtu !== undefined) {
    if (r.framedMtu >= MIN_MTU) out.mtu = r.framedMtu;
    else ignored.push(`Framed-MTU ${r.framedMtu}: below ${MIN_MTU}`);
  }
  // RFC 2865 §5.27/§5.28: 0 = no limit.
  if (r.sessionTimeout !== undefined && r.sessionTimeout > 0) out.sessionTimeout = seconds(r.sessionTimeout);
  if (r.idleTimeout !== undefined && r.idleTimeout > 0) out.idleTimeout = seconds(r.idleTimeout);
  if (r.acctInterimInterval !== undefined && r.acctInterimInterval > 0) out.interimInterval = seconds(r.acctInterimInterval);
  for (const f of r.filterIds) ignored.push(`Filter-Id "${f}": filters are not supported`);
  return out;
}

/** The "M=<text>" part of an MS-CHAP2-Success or MS-CHAP-Error (RFC 2759 §5, §6). */
const msMessage = (text: string | undefined): string | undefined => (text === undefined ? undefined : /(?:^|\s)M=(.*)$/s.exec(text)?.[1]);

/** The failure text for a reject: the first Reply-Message (RFC 2865 §5.18), else MS-CHAP-Error's M= text. */
function failureMessage(r: RadiusReply): string | undefined {
  return r.replyMessages[0] ?? msMessage(r.msChapError?.message);
}

/**
 * A RADIUS answer as the result for the PPP link, or `undefined` when nobody answered
 * (`timeout`, `error`): the caller then falls back or fails. A challenge is a reject (PPP has no
 * way to carry RFC 2865 §4.4 challenges for PAP/CHAP).
 */
export function resultFromRadius(a: RadiusAuthAnswer, method: Method): AccessAuthResult | undefined {
  if (a.kind === 'timeout' || a.kind === 'error') return undefined;
  if (a.kind === 'accept') {
    const authorization = authorizationFromReply(a.reply);
    const s = a.reply.msChap2Success;
    const message = a.reply.replyMessages[0];
    let decision: AuthDecision = { ok: true, ...(message !== undefined ? { message } : {}), ...(authorization.dns.length > 0 ? { dns: authorization.dns } : {}), ...(authorization.nbns.length > 0 ? { nbns: authorization.nbns } : {}) };
    // RFC 2548 §2.3.3: the server's authenticator response goes back to the peer in the CHAP Success.
    if (method === 'mschapv2') {
      const m = message ?? msMessage(s?.message);
      decision = s === undefined ? { ok: false, message: 'no MS-CHAP2-Success from the RADIUS server' } : { ...decision, authenticatorResponse: s.authenticatorResponse, ...(m !== undefined ? { message: m } : {}) };
    }
    return { decision, source: 'radius', server: a.server, authorization };
  }
  const message = failureMessage(a.reply) ?? (a.kind === 'challenge' ? 'Access-Challenge is not supported for PPP' : undefined);
  const error = a.reply.msChapError?.code;
  return { decision: { ok: false, ...(message !== undefined ? { message } : {}), ...(error !== undefined ? { error } : {}) }, source: 'radius', server: a.server };
}
