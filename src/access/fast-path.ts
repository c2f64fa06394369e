/**
 * The access server's side of the native data fast path (issue 16 item 1), sans-I/O. When a
 * session's IPCP is up the server installs it in a `FastPathTable` (the shell's: src/io/fast-path.ts
 * over the addon) with what the data plane needs — our tunnel/session ids, the peer's address and
 * port, the client's IPv4 address, the MTU toward it, the MSS clamp and the prebuilt L2TP + PPP
 * header; from then on that session's plain IPv4 data never reaches the server. The server keeps
 * full authority: it removes the session at ip-down or teardown, and folds the table's counters into
 * its own on every read (show commands, RADIUS Interim / Idle-Timeout, the logout record). Anything
 * the table does not take (control, LCP/NCP/auth, IPv6, sequenced data, spoofed sources, packets
 * above the MTU) still arrives here unchanged, so the JavaScript data path stays the reference.
 */
import { parseIpv4 } from '../base/index.js';
import type { LcpKeepalive, PppLink } from '../ppp/index.js';
import type { Instant } from '../base/index.js';
import type { SessionId, TunnelId } from '../wire/l2tp/index.js';
import type { AccessCounters } from './server-types.js';

/** One session as the native table holds it. */
export interface FastPathSession {
  readonly tunnel: TunnelId;
  readonly session: SessionId;
  /** The peer's IPv4 address (host order) and UDP port: data from elsewhere goes to JS. */
  readonly peerAddress: number;
  readonly peerPort: number;
  /** The client's IPv4 address (host order): the source it must use, the destination we route on. */
  readonly ipv4: number;
  /** Largest IP packet toward the client; larger ones go to JS (ICMP / fragments). */
  readonly mtu: number;
  /** TCP MSS clamp on SYNs both ways, 0 = off. */
  readonly mss: number;
  /** RFC 2661 §3.1 data header (no L, no S, no offset; the peer's ids) + the PPP header for IPv4. */
  readonly header: Uint8Array;
  /** The session's routed /64 (upper 64 bits) once IPV6CP is up: its IPv6 data is offloaded too (RFC 5072). */
  readonly prefix64?: bigint;
  /** TCP MSS clamp for IPv6, 0 = off. */
  readonly mss6?: number;
  /** Inside IPsec: the gate's flow (the table binds the session to it, or refuses it when the flow is not offloaded). */
  readonly via?: string;
}

/** IP counters the table kept since the last read. */
export interface FastPathCounters {
  readonly rxPackets: number;
  readonly rxOctets: number;
  readonly txPackets: number;
  readonly txOctets: number;
}

/** The shell's data-plane table. Synchronous; never throws for a well-formed entry. */
export interface FastPathTable {
  /** Install (or replace) a session; false when the table cannot take it. */
  install(entry: FastPathSession): boolean;
  /** Remove a session: its counters since the last read, undefined if it was not installed. */
  remove(tunnel: TunnelId, session: SessionId): FastPathCounters | undefined;
  /** The counters since the last read (then zeroed), undefined if not installed. */
  take(tunnel: TunnelId, session: SessionId): FastPathCounters | undefined;
  /**
   * LCP keepalive offload (issue 15): run an installed session's Echo in the data plane from where
   * `k` stands; false when it cannot (off, no data threads): the link's own keepalive goes on. The
   * table reports a session whose echoes went unanswered `failure` times (see the shell's listener);
   * removing the session ends its keepalive there.
   */
  keepalive?(tunnel: TunnelId, session: SessionId, k: LcpKeepalive): boolean;
  /** Unanswered Echo-Requests in a row now of an offloaded keepalive, undefined if not offloaded. */
  keepaliveMisses?(tunnel: TunnelId, session: SessionId): number | undefined;
  /** Over every offloaded keepalive: misses since start and sessions with an unanswered request now. */
  keepaliveTotals?(): { readonly misses: number; readonly missing: number };
}

/** What of a session the keepalive offload reads and sets. */
export interface KeepaliveHolder {
  readonly tunnel: TunnelId;
  readonly session: SessionId;
  readonly link: Pick<PppLink, 'offloadEcho' | 'resumeEcho' | 'offloadedEcho'>;
  echoOffloaded: boolean;
}

/** Installed in `table`: hand the link's keepalive over (its timer stops); if the table refuses, it resumes at once. */
export function offloadKeepalive(table: FastPathTable | undefined, s: KeepaliveHolder, now: Instant): void {
  if (s.echoOffloaded || table?.keepalive === undefined) return;
  const k = s.link.offloadEcho(now);
  if (k === undefined) return;
  s.echoOffloaded = table.keepalive(s.tunnel, s.session, k);
  if (!s.echoOffloaded) s.link.resumeEcho(now);
}

/** An offloaded keepalive's misses now, shown where the link's own are (`show` of the session). */
export function showKeepaliveMisses(table: FastPathTable | undefined, s: KeepaliveHolder): void {
  if (s.echoOffloaded) s.link.offloadedEcho(table?.keepaliveMisses?.(s.tunnel, s.session) ?? 0);
}

/** The session left the table (its keepalive with it): the link's own runs again if the link is up. */
export function withdrawKeepalive(s: KeepaliveHolder, now: Instant): void {
  if (!s.echoOffloaded) return;
  s.echoOffloaded = false;
  s.link.resumeEcho(now);
}

/** Numbers per row of a bulk take (the addon's `takeAll`: tunnel, session, rx/tx packets/octets since the last take). */
export const TAKEN_ROW = 6;

/**
 * Fold the rows of one bulk take into the sessions `sessionOf` finds (offloaded
 * ones; a row of a session that is gone is dropped, as `take` of it would be): one pass over the
 * typed array, one lookup per session that moved. Returns the rows folded.
 */
export function foldTakenRows<S extends { readonly offloaded: boolean; readonly counters: AccessCounters; fastCounters: AccessCounters | undefined }>(rows: Float64Array, sessionOf: (tunnel: number, session: number) => S | undefined): number {
  let folded = 0;
  for (let r = 0; r + TAKEN_ROW <= rows.length; r += TAKEN_ROW) {
    const s = sessionOf(rows[r] ?? 0, rows[r + 1] ?? 0);
    if (s === undefined || !s.offloaded) continue;
    addFastCounters(s, { rxPackets: rows[r + 2] ?? 0, rxOctets: rows[r + 3] ?? 0, txPackets: rows[r + 4] ?? 0, txOctets: rows[r + 5] ?? 0 });
    folded++;
  }
  return folded;
}

/** What of an access session the entry is built from. */
export interface FastPathSource {
  readonly tunnel: TunnelId;
  readonly session: SessionId;
  readonly remoteTunnel: TunnelId | undefined;
  readonly remoteSession: SessionId;
  /** The address/port the peer's control messages came from; `via` = inside IPsec (the flow's outer address, inner port). */
  readonly peer: { readonly address: string; readonly port: number; readonly family: 4 | 6; readonly via?: string } | undefined;
  readonly ipv4: number;
  readonly txMtu: number;
  readonly mss4: number;
  /** The routed /64 (offloaded only when `routed6`). */
  readonly prefix64?: bigint | undefined;
  readonly routed6?: boolean;
  readonly mss6?: number;
  readonly link: Pick<PppLink, 'sendIp'>;
}

/** The PPP header `link` puts in front of an IPv4 packet (ACFC/PFC as negotiated), or undefined. */
export function pppHeader4(link: Pick<PppLink, 'sendIp'>): Uint8Array | undefined {
  const probe = new Uint8Array(20);
  probe[0] = 0x45;
  const f = link.sendIp(probe, 4, 0);
  return f === undefined || f.length <= probe.length ? undefined : f.slice(0, f.length - probe.length);
}

/**
 * The table entry of a session whose IPCP is up, or undefined when the fast path cannot carry it:
 * an IPv6 peer, an unknown remote tunnel id, no IPv4 framing. An IPsec peer's entry names its flow
 * (`via`); the table takes it only when that flow's SAs are in the data plane too. With IPV6CP up and
 * the /64 routed, the entry carries the /64 (re-installing updates the entry in place).
 */
export function fastPathEntry(s: FastPathSource, mssClamp: boolean): FastPathSession | undefined {
  const p = s.peer;
  if (p === undefined || p.family !== 4 || s.remoteTunnel === undefined) return undefined;
  const peerAddress = parseIpv4(p.address);
  const ppp = pppHeader4(s.link);
  if (peerAddress === undefined || ppp === undefined) return undefined;
  const header = new Uint8Array(6 + ppp.length);
  // §3.1: flags 0x0002 (T=0, L=0, S=0, O=0, Ver=2), then the peer's Tunnel ID and Session ID.
  header[1] = 0x02;
  header[2] = s.remoteTunnel >> 8;
  header[3] = s.remoteTunnel & 0xff;
  header[4] = s.remoteSession >> 8;
  header[5] = s.remoteSession & 0xff;
  header.set(ppp, 6);
  const v6 = s.routed6 === true && s.prefix64 !== undefined ? { prefix64: s.prefix64, mss6: mssClamp ? (s.mss6 ?? 0) : 0 } : {};
  const via = p.via !== undefined ? { via: p.via } : {};
  return { tunnel: s.tunnel, session: s.session, peerAddress, peerPort: p.port, ipv4: s.ipv4, mtu: s.txMtu, mss: mssClamp ? s.mss4 : 0, header, ...v6, ...via };
}

/** Add what the table counted to the session's counters and to its fast-path share. */
export function addFastCounters(s: { readonly counters: AccessCounters; fastCounters: AccessCounters | undefined }, c: FastPathCounters | undefined): void {
  if (c === undefined || c.rxPackets + c.txPackets === 0) return;
  const f = (s.fastCounters ??= { rxPackets: 0, rxOctets: 0, txPackets: 0, txOctets: 0, dropped: 0 });
  for (const into of [s.counters, f]) {
    into.rxPackets += c.rxPackets;
    into.rxOctets += c.rxOctets;
    into.txPackets += c.txPackets;
    into.txOctets += c.txOctets;
  }
}
