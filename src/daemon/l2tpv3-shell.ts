/**
 * `[l2tpv3]` in the daemon: the validated section turned into the engine's configuration (our
 * identity, tunnel auth, keepalive, the pseudowires we accept and the always-on dials, grouped by
 * peer), the running `DynamicPseudowires` shell (src/io), its events as Yamaha-style log lines
 * (`[L2TP] TUNNEL[..] ...`), the `show status` view with the fields of Yamaha's `show status l2tp`,
 * and counters for the metrics. With `ipsec = true` (L2TPv3 over IPsec) it builds the IKE core — the
 * initiator towards the one dialed peer, else the responder — for the shell's IPsec sockets.
 */
import { parseIpv4, seconds, type Instant } from '../base/index.js';
import { cryptoRandom, DynamicPseudowires, type DynamicPseudowireStatus, type V3IpsecSettings } from '../io/index.js';
import type { IpsecGateEvent, V3FlowInfo, V3IpsecCounters } from '../gate/index.js';
import { IkeInitiator, IkeResponder } from '../ipsec/index.js';
import { logIpsecEvent } from './ipsec-shell.js';
import { defaultTuning, type L2tpV3Event, type V3ConnectionSettings, type V3DialSpec, type V3EngineConfig } from '../l2tp/index.js';
import { formatV3Avps, v3MessageTypeName } from '../wire/l2tpv3/index.js';
import type { L2tpv3Section } from './config/types.js';
import type { Logger } from './logger.js';

/** One session in `show status` (Yamaha `show status l2tp` fields). */
export interface L2tpv3SessionView {
  readonly name: string;
  readonly remoteEndId: string;
  readonly tap?: string;
  readonly localSessionId: number;
  readonly remoteSessionId: number;
  readonly state: string;
  readonly circuitLocal: string;
  readonly circuitRemote: string;
  /** Incoming (ICRQ) or outgoing (OCRQ) call. */
  readonly call: string;
  /** Set-Link-Info received / sent, WAN-Error-Notify received (RFC 3931 §6.13, §6.14). */
  readonly sliRx: number;
  readonly sliTx: number;
  readonly wenRx: number;
  /** The last WEN's Circuit Errors (hardware overruns, buffer overruns, timeouts, alignment). */
  readonly circuitErrors?: string;
  readonly uptimeSeconds: number;
  readonly rxPackets: number;
  readonly rxOctets: number;
  readonly txPackets: number;
  readonly txOctets: number;
  readonly drops: number;
}

/** One control connection in `show status`. */
export interface L2tpv3ConnectionView {
  readonly state: string;
  readonly version: 'L2TPv3';
  readonly role: 'initiator' | 'responder';
  readonly localTunnelId: number;
  readonly remoteTunnelId: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly remoteVendorName?: string;
  readonly remoteHostName?: string;
  readonly remoteRouterId?: string;
  readonly ns: number;
  readonly nr: number;
  readonly uptimeSeconds: number;
  readonly counters: { readonly controlRx: number; readonly controlTx: number; readonly retransmits: number; readonly authFailures: number; readonly peerMoves: number; readonly foreignSource: number };
  readonly sessions: readonly L2tpv3SessionView[];
}

/** `show status`: the L2TPv3 part. */
export interface L2tpv3View {
  readonly listen: string;
  readonly profile: string;
  readonly auth: string;
  readonly connections: readonly L2tpv3ConnectionView[];
  /** Data messages that reached no pseudowire and other drops since start. */
  readonly drops: L2tpv3Drops;
  /** `ipsec = true`: ESP flows (one per peer) and the gate's counters (clear v3 refused, ESP drops). */
  readonly ipsec?: { readonly counters: V3IpsecCounters; readonly flows: readonly V3FlowInfo[] };
}

/** Every class of bad input `[l2tpv3]` drops, counted since start (show status, metrics). */
export interface L2tpv3Drops {
  /** Data: Session ID we do not have (§4.5). */
  readonly unknownSession: number;
  /** Data: too short for a session header, wrong Ver or flags. */
  readonly badHeader: number;
  /** Data: from an address other than the session's peer. */
  readonly foreignData: number;
  /** Data: cookie absent or different (§4.5). */
  readonly wrongCookie: number;
  /** Data: shorter than session header + cookie + sublayer + Ethernet header. */
  readonly tooShort: number;
  /** Data: sequencing required and missing or late (§4.6). */
  readonly unsequenced: number;
  readonly outOfOrder: number;
  /** Not L2TPv3 (L2TPv2 on the port). */
  readonly notV3: number;
  /** Control: the header did not parse (bad length, version, flags). */
  readonly controlBadHeader: number;
  /** Control: a Control Connection ID we do not have. */
  readonly controlUnknownConnection: number;
  /** Control: connection 0 without a usable SCCRQ. */
  readonly controlBadSccrq: number;
  /** Control: digest missing or wrong (SCCRQ or an existing connection, §4.3). */
  readonly controlAuthFailures: number;
  /** Control: refused by the codec after the digest verified (§5.2, §7.1). */
  readonly controlMalformed: number;
  /** Control: a session message for a Session ID we do not have. */
  readonly controlUnknownSession: number;
  /** Control: unauthenticated or replayed messages from another address. */
  readonly controlForeignSource: number;
}

/** Counters for Prometheus (monotonic since start). */
export interface L2tpv3Counters {
  connectionsEstablished: number;
  connectionsClosed: number;
  sessionsEstablished: number;
  sessionsClosed: number;
  authFailures: number;
  keepaliveExpired: number;
  redials: number;
  peerMoves: number;
  /** SLI received with a Circuit Status (the peer's circuit went up or down). */
  circuitChanges: number;
  /** WEN received. */
  wanErrors: number;
}

const ipv4Text = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join('.');

/** The engine's configuration for a section (exported for the config tests). */
export function l2tpv3EngineOptions(c: L2tpv3Section): { engine: V3EngineConfig; dials: V3DialSpec[] } {
  const settings: V3ConnectionSettings = {
    hostName: c.hostName,
    routerId: parseIpv4(c.routerId) ?? 0,
    vendorName: 'l2tpkit',
    ...(c.secret !== undefined ? { secret: new TextEncoder().encode(c.secret) } : {}),
    ...(c.messageDigest !== undefined ? { messageDigest: c.messageDigest } : {}),
    challenge: c.challenge,
    allowedPeers: c.pseudowires
      .filter((p) => p.peer === undefined && (p.peerHostName !== undefined || p.peerRouterId !== undefined))
      .map((p) => ({ ...(p.peerHostName !== undefined ? { hostName: p.peerHostName } : {}), ...(p.peerRouterId !== undefined ? { routerId: parseIpv4(p.peerRouterId) ?? 0 } : {}) })),
    pwCapabilities: c.pwTypes,
    tuning: { ...defaultTuning(), helloInterval: c.keepaliveInterval, helloMissCount: c.keepaliveCount },
    ...(c.disconnectTime !== undefined ? { idleDisconnect: c.disconnectTime } : {}),
  };
  const accepted = c.pseudowires.filter((p) => p.peer === undefined);
  const byRemoteEndId: Record<string, { cookieLength: 0 | 4 | 8; sequencing: boolean }> = {};
  for (const p of accepted) byRemoteEndId[p.remoteEndId] = { cookieLength: p.pseudowire.cookieLength, sequencing: p.pseudowire.sequencing };
  const engine: V3EngineConfig = {
    encapsulation: c.encapsulation,
    acceptConnections: accepted.length > 0,
    accept: settings,
    acceptPseudowires: { remoteEndIds: accepted.map((p) => p.remoteEndId), cookieLength: 0, pwTypes: c.pwTypes, sequencing: false, byRemoteEndId },
  };
  // One always-on connection per peer, carrying every pseudowire to it.
  const dials = new Map<string, V3DialSpec>();
  for (const p of c.pseudowires) {
    if (p.peer === undefined) continue;
    const k = `${p.peer.host}:${p.peer.port}`;
    const d = dials.get(k);
    const session = { remoteEndId: p.remoteEndId, pseudowire: p.pseudowire, call: p.call };
    if (d !== undefined) dials.set(k, { ...d, sessions: [...d.sessions, session] });
    else dials.set(k, { peer: { address: p.peer.host, port: c.encapsulation === 'ip' ? 0 : p.peer.port, family: 4 }, settings, sessions: [session], backoffInitial: c.redialInitial, backoffMax: c.redialMax });
  }
  return { engine, dials: [...dials.values()] };
}

/** The drop counters of a status snapshot (zeros before the shell runs). */
function l2tpv3Drops(st: DynamicPseudowireStatus | undefined): L2tpv3Drops {
  const sd = st?.sessionDrops;
  const k = st?.control;
  return {
    unknownSession: st?.demux.unknownSession ?? 0,
    badHeader: st?.demux.badHeader ?? 0,
    foreignData: st?.transport.foreignData ?? 0,
    wrongCookie: sd?.wrongCookie ?? 0,
    tooShort: sd?.tooShort ?? 0,
    unsequenced: sd?.unsequenced ?? 0,
    outOfOrder: sd?.outOfOrder ?? 0,
    notV3: st?.demux.notV3 ?? 0,
    controlBadHeader: k?.badHeader ?? 0,
    controlUnknownConnection: k?.unknownConnection ?? 0,
    controlBadSccrq: k?.badSccrq ?? 0,
    controlAuthFailures: (k?.authFailures ?? 0) + (k?.connectionAuthFailures ?? 0),
    controlMalformed: k?.malformed ?? 0,
    controlUnknownSession: k?.unknownSession ?? 0,
    controlForeignSource: k?.foreignSource ?? 0,
  };
}

/** How often a failed or lost IKE SA of the initiator is tried again. */
const IKE_RETRY_MS = 5000;

/**
 * `ipsec = true`: the IPsec settings of the shell. The initiator (a dialed peer) protects UDP to
 * the peer's port or IP protocol 115 (Quick Mode IDs, RFC 3931 §4.1); the responder accepts both.
 * `retry` is set to a function that reconnects an initiator whose IKE SA is down.
 */
export function v3IpsecSettings(c: L2tpv3Section, onEvent: (e: IpsecGateEvent) => void, rawOpen: () => boolean, box: { retry?: (now: Instant) => void }): V3IpsecSettings | undefined {
  const g = c.ipsec;
  if (g === undefined) return undefined;
  const psk = new TextEncoder().encode(g.psk);
  const peer = c.pseudowires.find((p) => p.peer !== undefined)?.peer;
  const base = { ikePort: g.ikePort, nattPort: g.nattPort, rawEsp: g.rawEsp && !g.forceEncapsulation, requireIpsec: g.requireIpsec, onEvent };
  const localAddress = c.listen.host !== '0.0.0.0' ? { localAddress: c.listen.host } : {};
  if (peer === undefined) {
    return {
      ...base, ...localAddress,
      ike: (l) => new IkeResponder({ psk: () => psk, nattPort: l.nattPort, l2tpPort: c.listen.port, l2tpIp: c.encapsulation === 'ip', udpEncapsulationOnly: () => !rawOpen(), natKeepalive: seconds(20) }, cryptoRandom),
    };
  }
  let initiator: IkeInitiator | undefined;
  box.retry = (now) => {
    if (initiator !== undefined && (initiator.state === 'deleted' || initiator.state === 'mm-idle')) initiator.connect(now);
  };
  return {
    ...base, ...localAddress,
    ike: (l) =>
      (initiator = new IkeInitiator(
        {
          psk,
          local: { address: l.address, port: l.ikePort },
          localNattPort: l.nattPort,
          remote: { address: peer.host, port: g.peerIkePort },
          remoteNattPort: g.peerNattPort,
          l2tpPort: c.listen.port,
          remoteL2tpPort: c.encapsulation === 'ip' ? 0 : peer.port,
          selectorProtocol: c.encapsulation === 'ip' ? 115 : 17,
          forceEncapsulation: g.forceEncapsulation,
          natKeepalive: seconds(20),
        },
        cryptoRandom,
      )),
    start: (now) => initiator?.connect(now),
  };
}

/** The running `[l2tpv3]`. */
export class L2tpv3Shell {
  readonly counters: L2tpv3Counters = { connectionsEstablished: 0, connectionsClosed: 0, sessionsEstablished: 0, sessionsClosed: 0, authFailures: 0, keepaliveExpired: 0, redials: 0, peerMoves: 0, circuitChanges: 0, wanErrors: 0 };
  private retryTimer: ReturnType<typeof setInterval> | undefined;

  private constructor(
    readonly config: L2tpv3Section,
    private readonly log: Logger,
    private readonly now: () => Instant,
    private shell: DynamicPseudowires | undefined,
  ) {}

  /** Open the TAPs and the socket and dial. Throws when the system refuses them. */
  static async open(config: L2tpv3Section, log: Logger, now: () => Instant, fastPath = false): Promise<L2tpv3Shell> {
    const s = new L2tpv3Shell(config, log, now, undefined);
    const o = l2tpv3EngineOptions(config);
    const box: { retry?: (now: Instant) => void } = {};
    const ipsec = v3IpsecSettings(config, (e) => logIpsecEvent(log, e, '[L2TPv3] '), () => s.shell?.ipsec?.rawEsp ?? config.ipsec?.rawEsp ?? true, box);
    s.shell = await DynamicPseudowires.open({
      ...(ipsec !== undefined ? { ipsec } : {}),
      fastPath,
      engine: o.engine,
      dials: o.dials,
      local: config.listen.host,
      port: config.listen.port,
      now,
      taps: config.pseudowires.map((p) => ({
        remoteEndId: p.remoteEndId,
        mtu: p.mtu,
        ...(p.tap !== undefined ? { name: p.tap } : {}),
        ...(p.bridge !== undefined ? { bridge: p.bridge } : {}),
        ...(p.mssClamp !== undefined ? { mssClamp: p.mssClamp } : {}),
      })),
      onEvent: (e) => s.onEvent(e),
      onError: (e) => log.warn({ err: e.message }, `[L2TPv3] ${e.message}`),
    });
    log.info({ listen: `${config.listen.host}:${config.listen.port}`, profile: config.profile, pseudowires: config.pseudowires.length }, `[L2TPv3] listening on ${config.listen.host}:${config.listen.port} (profile ${config.profile})`);
    const sec = s.shell.ipsec;
    if (sec !== undefined) {
      log.info(
        { ike: sec.local.ikePort, natt: sec.local.nattPort, rawEsp: sec.rawEsp, requireIpsec: sec.requireIpsec },
        `[L2TPv3] IPsec on ${sec.local.address} (IKE ${sec.local.ikePort}, NAT-T ${sec.local.nattPort}, raw ESP ${sec.rawEsp ? 'on' : 'off'}, ${box.retry !== undefined ? 'initiator' : 'responder'}, L2TPv3 ${sec.requireIpsec ? 'only inside IPsec' : 'also in the clear'})`,
      );
      const retry = box.retry;
      if (retry !== undefined) {
        // The initiator's IKE SA failed or went away: Main Mode again (the engine redials inside it).
        s.retryTimer = setInterval(() => {
          retry(now());
          sec.kick(now());
        }, IKE_RETRY_MS);
        s.retryTimer.unref();
      }
    }
    return s;
  }

  /** Engine events -> log lines and counters (cores never log). */
  private onEvent(e: L2tpV3Event): void {
    const c = this.counters;
    const l = this.log;
    switch (e.type) {
      case 'v3-established':
        c.connectionsEstablished++;
        l.info({ tunnel: e.connection, peer: e.peer }, `[L2TP] TUNNEL[${e.connection}] connected to ${e.peer.address}:${e.peer.port} (L2TPv3, host ${e.remoteHostName ?? '-'})`);
        return;
      case 'v3-closed':
        c.connectionsClosed++;
        l.info({ tunnel: e.connection, reason: e.reason }, `[L2TP] TUNNEL[${e.connection}] disconnected (${e.reason.cause}, result ${e.reason.result.result})`);
        return;
      case 'v3-session-established':
        c.sessionsEstablished++;
        l.info({ tunnel: e.connection, session: e.session, remoteEndId: e.remoteEndId }, `[L2TP] TUNNEL[${e.connection}] session ${e.session} (${e.remoteEndId}) established`);
        return;
      case 'v3-session-closed':
        c.sessionsClosed++;
        l.info({ tunnel: e.connection, session: e.session, reason: e.reason }, `[L2TP] TUNNEL[${e.connection}] session ${e.session} closed (${e.reason.cause})`);
        return;
      case 'v3-auth-failed':
        c.authFailures++;
        l.warn({ peer: e.peer, detail: e.detail }, `[L2TP] authentication failed from ${e.peer.address}:${e.peer.port} (${e.detail})`);
        return;
      case 'v3-keepalive-expired':
        c.keepaliveExpired++;
        l.info({ tunnel: e.connection }, `[L2TP] TUNNEL[${e.connection}] keepalive timed out`);
        return;
      case 'v3-redial':
        c.redials++;
        l.info({ attempt: e.attempt }, `[L2TP] always-on: redial attempt ${e.attempt}`);
        return;
      case 'v3-peer-moved':
        c.peerMoves++;
        l.info({ tunnel: e.connection, from: e.from, to: e.to }, `[L2TP] TUNNEL[${e.connection}] peer moved to ${e.to.address}:${e.to.port} (authenticated)`);
        return;
      case 'v3-circuit-status':
        c.circuitChanges++;
        l.info({ tunnel: e.connection, session: e.session, remoteEndId: e.remoteEndId, status: e.status }, `[L2TP] TUNNEL[${e.connection}] session ${e.session} (${e.remoteEndId}) remote circuit ${e.status.active ? 'up' : 'down'} (SLI)`);
        return;
      case 'v3-wan-error': {
        c.wanErrors++;
        const x = e.errors;
        l.warn({ tunnel: e.connection, session: e.session, remoteEndId: e.remoteEndId, errors: x }, `[L2TP] TUNNEL[${e.connection}] session ${e.session} (${e.remoteEndId}) WAN error notify: hardware overruns ${x.hardwareOverruns}, buffer overruns ${x.bufferOverruns}, timeouts ${x.timeoutErrors}, alignment ${x.alignmentErrors}`);
        return;
      }
      case 'v3-control':
        // The AVP debug log (Yamaha `syslog debug on`): one line per message with its AVPs.
        if (l.isLevelEnabled('debug')) {
          const name = v3MessageTypeName(e.messageType);
          l.debug({ tunnel: e.connection, dir: e.direction, ns: e.ns, nr: e.nr, type: name, avps: formatV3Avps(e.avps, e.messageType) }, `[L2TP] TUNNEL[${e.connection}] ${e.direction === 'rx' ? 'recv' : 'send'} ${name} Ns ${e.ns} Nr ${e.nr}`);
        }
        return;
      default:
        l.debug({ event: e.type }, `[L2TPv3] ${e.type}`);
    }
  }

  /** The raw status of the shell. */
  status(): DynamicPseudowireStatus | undefined {
    return this.shell?.status();
  }

  /** `show status`. */
  view(): L2tpv3View {
    const st = this.shell?.status();
    const now = this.now();
    const c = this.config;
    const up = (at: Instant | undefined): number => (at === undefined ? 0 : Math.max(0, Math.floor((now - at) / 1000)));
    const circuit = (s: { active: boolean; new: boolean } | undefined): string => (s === undefined ? '-' : `${s.active ? 'up' : 'down'}${s.new ? ' (new)' : ''}`);
    const names = new Map(c.pseudowires.map((p) => [p.remoteEndId, p.name]));
    const connections = (st?.connections ?? []).map((k): L2tpv3ConnectionView => ({
      state: k.state,
      version: 'L2TPv3',
      role: k.originator ? 'initiator' : 'responder',
      localTunnelId: k.localId,
      remoteTunnelId: k.remoteId,
      localAddress: c.listen.host,
      localPort: c.listen.port,
      remoteAddress: k.peer.address,
      remotePort: k.peer.port,
      ...(k.remoteVendorName !== undefined ? { remoteVendorName: k.remoteVendorName } : {}),
      ...(k.remoteHostName !== undefined ? { remoteHostName: k.remoteHostName } : {}),
      ...(k.remoteRouterId !== undefined ? { remoteRouterId: ipv4Text(k.remoteRouterId) } : {}),
      ns: k.ns,
      nr: k.nr,
      uptimeSeconds: up(k.establishedAt),
      counters: { controlRx: k.counters.controlRx, controlTx: k.counters.controlTx, retransmits: k.counters.retransmits, authFailures: k.counters.authFailures, peerMoves: k.counters.peerMoves, foreignSource: k.counters.foreignSource },
      sessions: k.sessions.map((s) => {
        const d = st?.sessions.find((x) => x.localSessionId === s.localSessionId);
        const dr = d?.counters.drops;
        return {
          name: names.get(s.remoteEndId) ?? s.remoteEndId,
          remoteEndId: s.remoteEndId,
          ...(d !== undefined ? { tap: d.tap } : {}),
          localSessionId: s.localSessionId,
          remoteSessionId: s.remoteSessionId,
          state: s.state,
          circuitLocal: circuit(s.circuitLocal),
          circuitRemote: circuit(s.circuitRemote),
          call: s.call,
          sliRx: s.sliRx,
          sliTx: s.sliTx,
          wenRx: s.wenRx,
          ...(s.circuitErrors !== undefined ? { circuitErrors: `hw ${s.circuitErrors.hardwareOverruns}, buffer ${s.circuitErrors.bufferOverruns}, timeout ${s.circuitErrors.timeoutErrors}, alignment ${s.circuitErrors.alignmentErrors}` } : {}),
          uptimeSeconds: up(s.establishedAt),
          rxPackets: d?.counters.rxPackets ?? 0,
          rxOctets: d?.counters.rxOctets ?? 0,
          txPackets: d?.counters.txPackets ?? 0,
          txOctets: d?.counters.txOctets ?? 0,
          drops: dr === undefined ? 0 : dr.wrongCookie + dr.tooShort + dr.unsequenced + dr.outOfOrder,
        };
      }),
    }));
    const auth = c.secret === undefined ? 'none' : [c.messageDigest !== undefined ? `Message Digest ${c.messageDigest.toUpperCase()}` : '', c.challenge ? 'Challenge' : ''].filter((x) => x !== '').join(' + ') || 'secret (hidden AVPs only)';
    return {
      listen: `${c.listen.host}:${c.listen.port}`,
      profile: c.profile,
      auth,
      connections,
      drops: l2tpv3Drops(st),
      ...(st?.ipsec !== undefined ? { ipsec: st.ipsec } : {}),
    };
  }

  /**
   * `l2tpctl clear tunnel|session ID` for v3: StopCCN result 1 / CDN result 3. An always-on
   * connection redials afterwards. False when no live connection or session has the id.
   */
  clear(kind: 'tunnel' | 'session', id: number): boolean {
    const sh = this.shell;
    if (sh === undefined) return false;
    const now = this.now();
    for (const c of sh.engine.connections()) {
      if (c.state === 'closed' || c.state === 'closing') continue;
      if (kind === 'tunnel' && c.localId === id) {
        this.log.info({ tunnel: id }, `clear tunnel ${id} (l2tpctl, L2TPv3)`);
        sh.engine.closeConnection(now, c.localId, { result: 1, message: 'administrative clear' });
        sh.flushNow();
        return true;
      }
      const s = c.sessions.find((x) => x.localSessionId === id && x.state !== 'closed');
      if (kind === 'session' && s !== undefined) {
        this.log.info({ tunnel: c.localId, session: id }, `clear session ${c.localId}/${id} (l2tpctl, L2TPv3)`);
        sh.engine.closeSession(now, c.localId, s.localSessionId, { result: 3, message: 'administrative clear' });
        sh.flushNow();
        return true;
      }
    }
    return false;
  }

  /** Close every connection (StopCCN) and the socket and TAPs. */
  async close(): Promise<void> {
    if (this.retryTimer !== undefined) clearInterval(this.retryTimer);
    await this.shell?.close();
    this.shell = undefined;
  }
}
