/**
 * Typed reply attributes of an Access-Accept / -Reject / -Challenge: what the access server honours
 * (RFC 2865 §5, RFC 2869 §5.16/§5.18, RFC 3162, RFC 4818, RFC 6911, RFC 2548 DNS/NBNS/MS-CHAP) and
 * the RFC 2868 tunnel attributes grouped by tag for a LAC.
 */
import { formatIpv4 } from '../../base/index.js';
import {
  MS_ATTR,
  RADIUS_ATTR,
  attributeValue,
  decodeAttributes,
  findAttributes,
  parseMsChap2Success,
  parseMsChapError,
  type AttributeCrypto,
  type AttributeDef,
  type DecodedAttribute,
  type RadiusDictionary,
  type RadiusPacket,
} from '../../wire/radius/index.js';
import type { RadiusReply, TunnelGroup } from './types.js';

/** RFC 2865 §5.8 special values of Framed-IP-Address. */
const USER_SELECTS = 0xffffffff;
const NAS_SELECTS = 0xfffffffe;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** RFC 2868 §3: "attributes with the same tag describe one tunnel". */
function tunnelGroups(list: readonly DecodedAttribute[]): TunnelGroup[] {
  const groups = new Map<number, Mutable<TunnelGroup>>();
  const group = (tag: number): Mutable<TunnelGroup> => {
    let g = groups.get(tag);
    if (g === undefined) {
      g = { tag };
      groups.set(tag, g);
    }
    return g;
  };
  const each = <T>(def: AttributeDef<T>, set: (g: Mutable<TunnelGroup>, v: T) => void): void => {
    for (const a of findAttributes(list, def)) set(group(a.tag), a.value);
  };
  each(RADIUS_ATTR.TunnelType, (g, v) => (g.type = v));
  each(RADIUS_ATTR.TunnelMediumType, (g, v) => (g.mediumType = v));
  each(RADIUS_ATTR.TunnelClientEndpoint, (g, v) => (g.clientEndpoint = v));
  each(RADIUS_ATTR.TunnelServerEndpoint, (g, v) => (g.serverEndpoint = v));
  each(RADIUS_ATTR.TunnelPassword, (g, v) => (g.password = v));
  each(RADIUS_ATTR.TunnelPrivateGroupId, (g, v) => (g.privateGroupId = v));
  each(RADIUS_ATTR.TunnelAssignmentId, (g, v) => (g.assignmentId = v));
  each(RADIUS_ATTR.TunnelPreference, (g, v) => (g.preference = v));
  each(RADIUS_ATTR.TunnelClientAuthId, (g, v) => (g.clientAuthId = v));
  each(RADIUS_ATTR.TunnelServerAuthId, (g, v) => (g.serverAuthId = v));
  return [...groups.values()].sort((a, b) => a.tag - b.tag);
}

/** The typed reply of a response packet and whether any known attribute was malformed. */
export function decodeReply(p: RadiusPacket, crypto: AttributeCrypto, dictionary?: RadiusDictionary): { readonly reply: RadiusReply; readonly malformed: number } {
  const d = decodeAttributes(p, crypto, dictionary);
  const a = d.attributes;
  const values = <T>(def: AttributeDef<T>): T[] => findAttributes(a, def).map((x) => x.value);
  const reply: Mutable<RadiusReply> = {
    framedRoutes: values(RADIUS_ATTR.FramedRoute),
    framedIpv6Prefixes: values(RADIUS_ATTR.FramedIpv6Prefix),
    framedIpv6Routes: values(RADIUS_ATTR.FramedIpv6Route),
    classes: values(RADIUS_ATTR.Class),
    dnsServers: [...values(MS_ATTR.PrimaryDnsServer), ...values(MS_ATTR.SecondaryDnsServer)].map(formatIpv4),
    nbnsServers: [...values(MS_ATTR.PrimaryNbnsServer), ...values(MS_ATTR.SecondaryNbnsServer)].map(formatIpv4),
    ipv6DnsServers: values(RADIUS_ATTR.DnsServerIpv6Address),
    filterIds: values(RADIUS_ATTR.FilterId),
    replyMessages: values(RADIUS_ATTR.ReplyMessage),
    tunnels: tunnelGroups(a),
    attributes: a,
    unknown: d.unknown,
  };
  const set = <K extends keyof RadiusReply>(k: K, v: RadiusReply[K] | undefined): void => {
    if (v !== undefined) reply[k] = v;
  };
  set('serviceType', attributeValue(a, RADIUS_ATTR.ServiceType));
  set('framedProtocol', attributeValue(a, RADIUS_ATTR.FramedProtocol));
  const ip = attributeValue(a, RADIUS_ATTR.FramedIpAddress);
  if (ip === USER_SELECTS) reply.framedIpAddressRule = 'user-selects';
  else if (ip === NAS_SELECTS) reply.framedIpAddressRule = 'nas-selects';
  else if (ip !== undefined) reply.framedIpAddress = formatIpv4(ip);
  const mask = attributeValue(a, RADIUS_ATTR.FramedIpNetmask);
  set('framedIpNetmask', mask === undefined ? undefined : formatIpv4(mask));
  set('framedPool', attributeValue(a, RADIUS_ATTR.FramedPool));
  set('framedIpv6Pool', attributeValue(a, RADIUS_ATTR.FramedIpv6Pool));
  set('framedInterfaceId', attributeValue(a, RADIUS_ATTR.FramedInterfaceId));
  set('delegatedIpv6Prefix', attributeValue(a, RADIUS_ATTR.DelegatedIpv6Prefix));
  set('framedMtu', attributeValue(a, RADIUS_ATTR.FramedMtu));
  set('sessionTimeout', attributeValue(a, RADIUS_ATTR.SessionTimeout));
  set('idleTimeout', attributeValue(a, RADIUS_ATTR.IdleTimeout));
  set('acctInterimInterval', attributeValue(a, RADIUS_ATTR.AcctInterimInterval));
  set('state', attributeValue(a, RADIUS_ATTR.State));
  const success = attributeValue(a, MS_ATTR.Chap2Success);
  const parsedSuccess = success === undefined ? undefined : parseMsChap2Success(success);
  set('msChap2Success', parsedSuccess?.ok === true ? parsedSuccess.value : undefined);
  const error = attributeValue(a, MS_ATTR.ChapError);
  const parsedError = error === undefined ? undefined : parseMsChapError(error);
  set('msChapError', parsedError?.ok === true ? parsedError.value : undefined);
  const send = attributeValue(a, MS_ATTR.MppeSendKey);
  const recv = attributeValue(a, MS_ATTR.MppeRecvKey);
  if (send !== undefined || recv !== undefined) reply.mppeKeys = { ...(send !== undefined ? { send } : {}), ...(recv !== undefined ? { recv } : {}) };
  return { reply, malformed: d.malformed.length + (parsedSuccess?.ok === false ? 1 : 0) };
}
