/**
 * The data plane of the access server's sessions (split from server.ts): a client's packet through the
 * ingress filter (BCP 38), Router Solicitation answers and MSS clamping to the TUN; a packet toward a
 * client through the MRU check (ICMP too-big or IPv4 fragments, src/dataplane/too-big.ts) to its
 * PPP link and lower layer; the periodic RA. Sans-I/O like the server: it writes to the `TunWriter`.
 */
import { addDuration, addressInPrefix64, type Duration, type Instant, prefix64Bytes } from '../base/index.js';
import { IcmpRateLimiter, clampMss, tooBig4, tooBig6 } from '../dataplane/index.js';
import { buildRouterAdvertisement, ipv4Source, ipv6Source64, isLinkLocal, isMulticast6, isRouterSolicitation } from '../wire/ip/index.js';
import { inExtras4, inExtras6 } from './extra-routes.js';
import type { TooBigCounters } from './server-types.js';
import type { Session } from './server-session.js';
import type { TunWriter } from './tun-writer.js';

/** What the data plane needs of the server's settings, resolved (defaults applied). */
export interface SessionDataOptions {
  readonly tun: TunWriter;
  /** Our IPv4 address (the source of ICMP too-big). */
  readonly local4: number;
  readonly mssClamp: boolean;
  /** The TUN MTU (caps the RA's MTU option). */
  readonly mtu: number | undefined;
  /** RDNSS for the RA. */
  readonly dns6: readonly Uint8Array[];
  readonly raInterval: Duration;
}

/** Per-packet work of every session; one per access server. */
export class SessionDataPlane {
  private readonly icmpLimit = new IcmpRateLimiter();
  private readonly tun: TunWriter;
  /** Oversized packets toward clients (see {@link TooBigCounters}). */
  readonly tooBig: TooBigCounters = { icmpSent: 0, fragmented: 0, rateLimited: 0, dropped: 0 };

  constructor(private readonly opts: SessionDataOptions) {
    this.tun = opts.tun;
  }

  /** A packet from the client: ingress filter (BCP 38), RS handling, MSS clamp, to the TUN. */
  fromClient(now: Instant, s: Session, version: 4 | 6, pkt: Uint8Array): void {
    if (version === 4) {
      if (pkt.length < 20 || s.ipv4 === undefined || (ipv4Source(pkt) !== s.ipv4 && !inExtras4(s.extras, ipv4Source(pkt)))) {
        s.counters.dropped++;
        return;
      }
    } else {
      if (pkt.length < 40) {
        s.counters.dropped++;
        return;
      }
      // Link-local traffic stays on the PPP link (RFC 4291 §2.5.6); answer Router Solicitations.
      if (isLinkLocal(pkt, 8) || isLinkLocal(pkt, 24) || isMulticast6(pkt, 24)) {
        if (isRouterSolicitation(pkt) && s.routed6) this.sendRa(now, s);
        return;
      }
      if (!s.routed6 || (ipv6Source64(pkt) !== s.prefix64 && !inExtras6(s.extras, ipv6Source64(pkt)))) {
        s.counters.dropped++;
        return;
      }
    }
    if (this.opts.mssClamp) clampMss(pkt, 0, pkt.length, version === 4 ? s.mss4 : s.mss6);
    s.counters.rxPackets++;
    s.counters.rxOctets += pkt.length;
    this.tun.writePacket(pkt);
  }

  toClient(now: Instant, s: Session, pkt: Uint8Array, version: 4 | 6): boolean {
    const mru = s.txMtu;
    if (pkt.length > mru) return this.oversized(now, s, pkt, version, mru);
    const frame = s.link.sendIp(pkt, version, s.lower.headroom);
    if (frame === undefined || !s.lower.send(now, frame, true)) {
      s.counters.dropped++;
      return false;
    }
    s.counters.txPackets++;
    s.counters.txOctets += pkt.length;
    return true;
  }

  /**
   * A packet above the client's MRU: no PMTU black hole. ICMP goes back into the TUN toward the
   * source (IPv4 from our local address, IPv6 from our address in the session's /64); IPv4 without
   * DF is fragmented to the MRU. See src/dataplane/too-big.ts.
   */
  private oversized(now: Instant, s: Session, pkt: Uint8Array, version: 4 | 6, mru: number): boolean {
    // IPv6: from our address in the session's /64 (prefix and our PPP interface identifier, RFC 5072).
    const from6 = version === 6 && s.prefix64 !== undefined && s.iids !== undefined ? addressInPrefix64(prefix64Bytes(s.prefix64), s.iids.local) : undefined;
    const r = version === 4 ? tooBig4(pkt, mru, this.opts.local4) : from6 !== undefined ? tooBig6(pkt, mru, from6) : undefined;
    if (r?.kind === 'fragments') {
      this.tooBig.fragmented++;
      let sent = true;
      for (const f of r.packets) sent = this.toClient(now, s, f, 4) && sent;
      return sent;
    }
    s.counters.dropped++;
    if (r?.kind !== 'icmp') {
      this.tooBig.dropped++;
      return false;
    }
    if (!this.icmpLimit.allow(now)) {
      this.tooBig.rateLimited++;
      return false;
    }
    this.tooBig.icmpSent++;
    this.tun.writePacket(r.packet);
    return false;
  }

  /** RFC 4861 §6.2.4: an RA with the session's /64 (A and L flags), MTU and RDNSS. */
  sendRa(now: Instant, s: Session): void {
    if (s.iids === undefined || s.prefix64 === undefined) return;
    const ra = buildRouterAdvertisement({
      localInterfaceId: s.iids.local,
      peerInterfaceId: s.iids.peer,
      prefix: prefix64Bytes(s.prefix64).subarray(0, 8),
      mtu: Math.min(s.txMtu, this.opts.mtu ?? Infinity),
      ...(this.opts.dns6.length > 0 ? { dns: [...this.opts.dns6] } : {}),
    });
    const frame = s.link.sendIp(ra, 6, s.lower.headroom);
    if (frame !== undefined) s.lower.send(now, frame, true);
    s.nextRaAt = addDuration(now, this.opts.raInterval);
  }
}
