/**
 * Peer profiles for L2TPv3 pseudowires (issue 12 item 5): the defaults that differ between peer
 * families, as data instead of compile-time quirks. A profile names them; every field can be
 * overridden (`resolveV3Profile`). Sources: Linux `ip l2tp` defaults (l2spec_type default, no
 * cookie, UDP or IP); Cisco IOS `pseudowire-class` with `encapsulation l2tpv3` (IP, no sublayer for
 * Ethernet, 4-byte cookie, Message Digest); Yamaha RTX `tunnel encapsulation l2tpv3` (UDP 1701 only,
 * no cookie, Ethernet only, `l2tp tunnel auth` = Challenge tunnel auth, `l2tp keepalive use on 60 3`).
 */
import type { Duration } from '../base/index.js';
import type { V3PseudowireParams } from './v3-api.js';

/** A peer family's defaults. */
export interface V3PeerProfile {
  readonly name: string;
  /** Encapsulations the family speaks; the first is the default. */
  readonly encapsulations: readonly ('udp' | 'ip')[];
  /** UDP port when over UDP (both ends). */
  readonly udpPort: number;
  /** Our side's pseudowire parameters (cookie we assign, sublayer we propose, sequencing). */
  readonly pseudowire: V3PseudowireParams;
  /** PW types offered in the Pseudowire Capabilities List (§5.4.3). */
  readonly pwTypes: readonly (4 | 5)[];
  /** Tunnel authentication the family uses when a secret is set. */
  readonly challenge: boolean;
  readonly messageDigest?: 'md5' | 'sha1';
  /** HELLO interval and the misses that end the connection. */
  readonly helloInterval: Duration;
  readonly helloMissCount: number;
}

/** Overrides: any field of a profile. */
export type V3ProfileOverrides = Partial<Omit<V3PeerProfile, 'name' | 'pseudowire'>> & { readonly pseudowire?: Partial<V3PseudowireParams> };

/** The known families. */
export const V3_PEER_PROFILES = {
  linux: {
    name: 'linux',
    encapsulations: ['udp', 'ip'],
    udpPort: 1701,
    pseudowire: { pwType: 5, cookieLength: 0, sublayer: 'default', sequencing: false },
    pwTypes: [5, 4],
    challenge: false,
    messageDigest: 'md5',
    helloInterval: 60_000 as Duration,
    helloMissCount: 3,
  },
  cisco: {
    name: 'cisco',
    encapsulations: ['ip', 'udp'],
    udpPort: 1701,
    pseudowire: { pwType: 5, cookieLength: 4, sublayer: 'none', sequencing: false },
    pwTypes: [5, 4],
    challenge: false,
    messageDigest: 'md5',
    helloInterval: 60_000 as Duration,
    helloMissCount: 3,
  },
  yamaha: {
    name: 'yamaha',
    encapsulations: ['udp'],
    udpPort: 1701,
    pseudowire: { pwType: 5, cookieLength: 0, sublayer: 'none', sequencing: false },
    pwTypes: [5],
    challenge: true,
    helloInterval: 60_000 as Duration,
    helloMissCount: 3,
  },
} as const satisfies Record<string, V3PeerProfile>;

/** A profile name. */
export type V3ProfileName = keyof typeof V3_PEER_PROFILES;

/** True for a known profile name. */
export const isV3ProfileName = (s: string): s is V3ProfileName => Object.hasOwn(V3_PEER_PROFILES, s);

/** A profile with overrides applied; refuses combinations that cannot work. */
export function resolveV3Profile(name: V3ProfileName, o: V3ProfileOverrides = {}): { ok: true; value: V3PeerProfile } | { ok: false; error: string } {
  const base: V3PeerProfile = V3_PEER_PROFILES[name];
  const pw: V3PseudowireParams = { ...base.pseudowire, ...o.pseudowire };
  const { pseudowire: _ignored, ...rest } = o;
  void _ignored;
  const p: V3PeerProfile = { ...base, ...rest, pseudowire: pw };
  if (pw.sequencing && pw.sublayer === 'none') return { ok: false, error: 'sequencing needs the default L2-Specific Sublayer' };
  if (!p.pwTypes.includes(pw.pwType)) return { ok: false, error: `PW type ${pw.pwType} is not among the profile's PW types ${p.pwTypes.join(',')}` };
  if (p.encapsulations.length === 0) return { ok: false, error: 'no encapsulation' };
  return { ok: true, value: p };
}
