/**
 * Tunnel profiles and RADIUS tunnel attribute groups resolved into one ordered destination list:
 * every destination gets its level (the rank of its preference, lowest preference value = level 0),
 * its secret / host names from the destination, else the profile, and a key that identifies the LNS
 * across profiles (its dead state is shared).
 */
import { type Duration, err, ok, type Result, seconds } from '../../base/index.js';
import {
  TUNNEL_MEDIUM_IPV4,
  TUNNEL_TYPE_L2TP,
  type ChosenDestination,
  type LoadBalancing,
  type RadiusTunnelGroup,
  type TunnelDestination,
  type TunnelProfile,
} from './types.js';

/** Destinations per profile (Junos: 31). */
export const MAX_DESTINATIONS = 31;
/** Preference levels per profile (Junos: 8). */
export const MAX_LEVELS = 8;
/** RFC 2661 §8.1: the L2TP port. */
export const L2TP_PORT = 1701;
const DEFAULT_DEAD_TIME = seconds(300);

/** A destination with everything selection needs. */
export interface ResolvedDestination extends ChosenDestination {
  /** `address:port`: one LNS, whatever profile names it. */
  readonly key: string;
  /** Weight for weighted selection (maxSessions, else 1). */
  readonly weight: number;
  readonly maxSessions: number | undefined;
}

/** A profile (or an Access-Accept) ready for selection. */
export interface ResolvedPlan {
  /** Profile name, or `radius`. */
  readonly source: string;
  /** Sorted by level, then by position in the profile. */
  readonly destinations: readonly ResolvedDestination[];
  readonly loadBalancing: LoadBalancing;
  readonly failoverWithinPreference: boolean;
  readonly deadTime: Duration;
  readonly maxSessionsPerTunnel: number | undefined;
  /** Identifies the destination set, for the round-robin position. */
  readonly rotationKey: string;
}

/** A profile that cannot be used. */
export type ProfileError =
  | { readonly kind: 'no-destinations' }
  | { readonly kind: 'too-many-destinations'; readonly count: number }
  | { readonly kind: 'too-many-levels'; readonly count: number }
  | { readonly kind: 'bad-destination'; readonly index: number; readonly detail: string };

/** Ranks of the distinct preference values, lowest value = 0; values past the 8th share the last level. */
function levelsOf(prefs: readonly number[]): Map<number, number> {
  const distinct = [...new Set(prefs)].sort((a, b) => a - b);
  return new Map(distinct.map((p, i) => [p, Math.min(i, MAX_LEVELS - 1)]));
}

function checkDestination(d: TunnelDestination, index: number): ProfileError | undefined {
  if (d.address === '') return { kind: 'bad-destination', index, detail: 'empty address' };
  if (d.port !== undefined && (!Number.isInteger(d.port) || d.port < 1 || d.port > 65535)) return { kind: 'bad-destination', index, detail: `port ${d.port}` };
  if (d.maxSessions !== undefined && (!Number.isInteger(d.maxSessions) || d.maxSessions < 1)) return { kind: 'bad-destination', index, detail: `maxSessions ${d.maxSessions}` };
  if (d.preference !== undefined && (!Number.isInteger(d.preference) || d.preference < 0)) return { kind: 'bad-destination', index, detail: `preference ${d.preference}` };
  return undefined;
}

function build(source: string, dests: readonly TunnelDestination[], p: Omit<TunnelProfile, 'destinations'>): ResolvedPlan {
  const levels = levelsOf(dests.map((d) => d.preference ?? 0));
  const resolved = dests.map((d, i) => ({ d, i, level: levels.get(d.preference ?? 0) ?? 0 }));
  resolved.sort((a, b) => a.level - b.level || a.i - b.i);
  const destinations = resolved.map(({ d, level }): ResolvedDestination => {
    const port = d.port ?? L2TP_PORT;
    return {
      key: `${d.address}:${port}`,
      address: d.address,
      port,
      preference: d.preference ?? 0,
      level,
      secret: d.secret ?? p.secret,
      localHostname: d.localHostname ?? p.localHostname,
      remoteHostname: d.remoteHostname,
      localAddress: d.localAddress,
      assignmentId: d.assignmentId,
      weight: d.maxSessions ?? 1,
      maxSessions: d.maxSessions,
    };
  });
  return {
    source,
    destinations,
    loadBalancing: p.loadBalancing ?? 'round-robin',
    failoverWithinPreference: p.failoverWithinPreference ?? false,
    deadTime: p.deadTime ?? DEFAULT_DEAD_TIME,
    maxSessionsPerTunnel: p.maxSessionsPerTunnel,
    rotationKey: `${source}|${destinations.map((d) => `${d.key}/${d.assignmentId ?? ''}`).join(',')}`,
  };
}

/** Check a configured profile (≤ 31 destinations on ≤ 8 levels) and resolve it. */
export function resolveProfile(name: string, p: TunnelProfile): Result<ResolvedPlan, ProfileError> {
  if (p.destinations.length === 0) return err({ kind: 'no-destinations' });
  if (p.destinations.length > MAX_DESTINATIONS) return err({ kind: 'too-many-destinations', count: p.destinations.length });
  const levels = new Set(p.destinations.map((d) => d.preference ?? 0)).size;
  if (levels > MAX_LEVELS) return err({ kind: 'too-many-levels', count: levels });
  for (const [i, d] of p.destinations.entries()) {
    const e = checkDestination(d, i);
    if (e !== undefined) return err(e);
  }
  return ok(build(name, p.destinations, p));
}

/**
 * The Access-Accept's L2TP-over-IPv4 groups (RFC 2868: Tunnel-Type 3, Tunnel-Medium-Type 1, a
 * Server-Endpoint) as destinations in place of the profile's; the profile (or the RADIUS defaults)
 * still gives load balancing, failover, dead time, the per-tunnel limit, and the secret and host
 * name a group does not carry. A destination the profile also lists keeps its maxSessions.
 * Undefined when no group is usable. More than 31 groups: the first 31 by tag.
 */
export function resolveRadius(groups: readonly RadiusTunnelGroup[], base: TunnelProfile | Omit<TunnelProfile, 'destinations'> | undefined): ResolvedPlan | undefined {
  const usable = groups
    .filter((g) => (g.tunnelType ?? TUNNEL_TYPE_L2TP) === TUNNEL_TYPE_L2TP && (g.mediumType ?? TUNNEL_MEDIUM_IPV4) === TUNNEL_MEDIUM_IPV4)
    .filter((g) => g.serverEndpoint !== undefined && g.serverEndpoint !== '')
    .sort((a, b) => a.tag - b.tag)
    .slice(0, MAX_DESTINATIONS);
  if (usable.length === 0) return undefined;
  const known = base !== undefined && 'destinations' in base ? base.destinations : [];
  const dests = usable.map((g): TunnelDestination => {
    const same = known.find((d) => d.address === g.serverEndpoint);
    return {
      address: g.serverEndpoint ?? '',
      ...(g.preference !== undefined ? { preference: g.preference } : {}),
      ...(same?.maxSessions !== undefined ? { maxSessions: same.maxSessions } : {}),
      ...(g.password !== undefined ? { secret: g.password } : same?.secret !== undefined ? { secret: same.secret } : {}),
      ...(g.clientAuthId !== undefined ? { localHostname: g.clientAuthId } : {}),
      ...(g.serverAuthId !== undefined ? { remoteHostname: g.serverAuthId } : {}),
      ...(g.clientEndpoint !== undefined ? { localAddress: g.clientEndpoint } : {}),
      ...(g.assignmentId !== undefined ? { assignmentId: g.assignmentId } : {}),
    };
  });
  return build('radius', dests, base ?? {});
}
