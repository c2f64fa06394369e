/**
 * IPsec in the daemon: builds the IKE responder from `[ipsec]` and opens the L2TP/IPsec listener
 * (src/io/ipsec-transport.ts) in place of a plain UDP endpoint; builds the IKE initiator and its
 * sockets for a `[[lac]] ipsec = true`; maps IPsec events to log lines and gates to `show ipsec` views.
 */
import type { Logger } from './logger.js';
import { bytesToIp, type Instant, type RandomSource, seconds } from '../base/index.js';
import type { L2tpEngineApi, L2tpEvent } from '../l2tp/index.js';
import { type FailReason as IkeFailReason, type IkeIdentity, IkeInitiator, type IkePolicy, IkeResponder, policyFromSuites } from '../ipsec/index.js';
import type { IpsecGateEvent, IpsecL2tpGate } from '../gate/index.js';
import { type Clock, type IpsecL2tp, openIpsecL2tp, type TimerDriver, type UdpEndpoint } from '../io/index.js';
import type { IpsecSection, LacConfig, LacIpsecConfig, ListenConfig } from './config.js';
import type { EspSaView, IkeSaView, IpsecCountersView, IpsecView } from './control-protocol.js';

/** Open the L2TP/IPsec listener for `listen` with the `[ipsec]` settings. */
export async function openIpsecListener(o: {
  readonly ipsec: IpsecSection;
  readonly listen: ListenConfig;
  readonly engine: L2tpEngineApi;
  readonly log: Logger;
  readonly clock: Clock;
  readonly timers: TimerDriver;
  readonly random: RandomSource;
  readonly onL2tpEvent: (e: L2tpEvent, ep: UdpEndpoint) => void;
  /** `[dataplane] fast_path` + `fast_path_esp`: the addon's NAT-T and L2TP sockets, so the fast path can take ESP. */
  readonly nativeSockets?: boolean;
  /** The PSK for clients without a `[[ipsec.peer]]` key, read at every Main Mode (a generated key can be rotated); default `[ipsec] psk`. */
  readonly psk?: () => string | undefined;
}): Promise<IpsecL2tp> {
  const c = o.ipsec;
  const enc = new TextEncoder();
  const byPeer = new Map(c.peers.map((p) => [p.address, enc.encode(p.psk)]));
  const pskOf = o.psk ?? (() => c.psk);
  const fallback = (): Uint8Array | undefined => {
    const k = pskOf();
    return k === undefined ? undefined : enc.encode(k);
  };
  const limits = {
    ikeLifetimeSeconds: c.ikeLifetime,
    childLifetimeSeconds: c.childLifetime,
    ...(c.childLifetimeKb > 0 ? { childLifetimeKilobytes: c.childLifetimeKb } : {}),
  };
  const policy = policyFromSuites(c.ikeProposals, c.espProposals, { ...limits, ...(c.sha256_96 ? { sha256Truncation: 96 as const } : {}) });
  // Per-peer policies only where a [[ipsec.peer]] overrides sha256_96 (Android SHA-256/96 quirk).
  const peerPolicy = new Map<string, IkePolicy>();
  for (const p of c.peers) {
    if (p.sha256_96 === undefined || p.sha256_96 === c.sha256_96) continue;
    peerPolicy.set(p.address, policyFromSuites(c.ikeProposals, c.espProposals, { ...limits, sha256Truncation: p.sha256_96 ? 96 : 128 }));
  }
  // Raw ESP: asked for by the config, and open. Until the socket is known to be open, clients are
  // told (by the NAT-D answer) to use UDP encapsulation only when the config turned raw ESP off.
  let rawOpen = c.rawEsp;
  let rawFailure: string | undefined;
  const io = await openIpsecL2tp({
    engine: o.engine,
    ike: (l) =>
      new IkeResponder(
        {
          psk: (remote) => byPeer.get(remote.address) ?? fallback(),
          udpEncapsulationOnly: () => !rawOpen,
          nattPort: l.nattPort,
          policy,
          ...(peerPolicy.size > 0 ? { policyFor: (remote) => peerPolicy.get(remote.address) } : {}),
          ...(c.dpdInterval > 0 ? { dpd: { interval: c.dpdInterval, timeout: c.dpdTimeout } } : {}),
          natKeepalive: seconds(20),
        },
        o.random,
      ),
    address: o.listen.address,
    ...(c.localAddress !== undefined ? { localAddress: c.localAddress } : {}),
    ikePort: c.ikePort,
    nattPort: c.nattPort,
    l2tpPort: o.listen.port,
    rawEsp: c.rawEsp,
    requireIpsec: c.requireIpsec,
    ...(o.nativeSockets === true ? { nativeSockets: true } : {}),
    closeGrace: c.closeGrace,
    clock: o.clock,
    timers: o.timers,
    random: o.random,
    onL2tpEvent: o.onL2tpEvent,
    onIpsecEvent: (e) => logIpsecEvent(o.log, e),
    onError: (e) => {
      // The raw socket failing at open is a degraded mode: said once below, with what it means.
      if (rawFailure === undefined && /^raw ESP socket unavailable/.test(e.message)) rawFailure = e.message.replace(/^.*?: /, '');
      else o.log.warn({ err: e.message }, `ipsec: ${e.message}`);
    },
  });
  rawOpen = io.rawEsp;
  if (c.rawEsp && !io.rawEsp) {
    o.log.warn(
      { err: rawFailure },
      `ipsec: raw ESP (IP protocol 50) is unavailable (${rawFailure ?? 'unknown error'}${/EPERM|EACCES/.test(rawFailure ?? '') ? ': needs CAP_NET_RAW' : ''}): ` +
        'clients that are not behind a NAT are told to use ESP in UDP 4500 (NAT-D answer), clients without NAT-T are refused',
    );
  }
  o.log.info(
    { ike: io.local.ikePort, natt: io.local.nattPort, rawEsp: io.rawEsp, localAddress: io.local.address, requireIpsec: c.requireIpsec },
    `L2TP/IPsec on ${io.local.address} (IKE ${io.local.ikePort}, NAT-T ${io.local.nattPort}, raw ESP ${io.rawEsp ? 'on' : 'off: ESP in UDP only'}, L2TP ${c.requireIpsec ? 'only inside IPsec' : 'also in the clear'})`,
  );
  return io;
}

/**
 * What an IKE failure most likely means, for the operator. 'auth-failed' is Main Mode message 5
 * (6 for our initiator) failing to decrypt or authenticate: with PSK authentication the
 * encryption keys derive from the PSK (RFC 2409 §5.4), so a wrong key shows up exactly there.
 */
export const FAIL_HINTS: Readonly<Partial<Record<IkeFailReason, string>>> = {
  'auth-failed': ' (pre-shared key mismatch? Main Mode message 5/6 did not decrypt or authenticate with our key)',
  'no-psk': ' (no pre-shared key for this client address: set [ipsec] psk or add a [[ipsec.peer]])',
  'no-proposal': ' (no acceptable proposal: see [ipsec] ike_proposals / esp_proposals and the client\'s offer at --debug; without raw ESP also a client that insists on plain ESP)',
  'no-nat-t': ' (the client offers no NAT-T and raw ESP is unavailable here: give l2tpd CAP_NET_RAW)',
  timeout: ' (the peer stopped answering: UDP 500/4500 filtered, or it gave up)',
};

/**
 * An IKE event for the debug log with its key material left out: a `child-sa-up` carries both
 * directions' ESP keys (secrets never reach a log, at any level); SPIs and algorithms stay.
 */
export function withoutKeys(x: object): unknown {
  return JSON.parse(
    JSON.stringify(x, (k, v: unknown) => {
      if (/key$/i.test(k) && (v instanceof Uint8Array || (typeof v === 'object' && v !== null))) return '[not logged]';
      return typeof v === 'bigint' ? v.toString() : v;
    }),
  );
}

/** One log line per IPsec event (IKE debug details at debug level). */
export function logIpsecEvent(log: Logger, e: IpsecGateEvent, prefix = ''): void {
  const p = prefix;
  switch (e.type) {
    case 'flow-up':
      log.info({ via: e.via, remote: e.remote, encapsulation: e.encapsulation }, `${p}ipsec: ${e.via} up from ${e.remote.address}:${e.remote.port} (${e.encapsulation})`);
      return;
    case 'flow-down':
      log.info(
        { via: e.via, tunnels: e.tunnelsClosed },
        `${p}ipsec: ${e.via} down${e.tunnelsClosed.length > 0 ? `, closing L2TP tunnel(s) ${e.tunnelsClosed.join(', ')}` : ' (no L2TP tunnel in it)'}`,
      );
      return;
    case 'sa-switched':
      log.info({ via: e.via, spiIn: e.inboundSpi.toString(16), spiOut: e.outboundSpi.toString(16) }, `${p}ipsec: ${e.via} rekeyed`);
      return;
    case 'clear-l2tp-refused':
      log.warn({ peer: e.peer }, `${p}ipsec: L2TP from ${e.peer.address}:${e.peer.port} outside IPsec refused (require_ipsec)`);
      return;
    case 'sa-byte-lifetime':
      log.info(
        { via: e.via, spiIn: e.inboundSpi.toString(16), level: e.level, direction: e.direction },
        `${p}ipsec: ${e.via} SA ${e.inboundSpi.toString(16)} reached its ${e.level} kilobyte lifetime (${e.direction === 'in' ? 'inbound' : 'outbound'})`,
      );
      return;
    case 'l2tp-closed-deleting-sa':
      log.info({ via: e.via }, `${p}ipsec: ${e.via} L2TP closed, deleting SA`);
      return;
    case 'ike': {
      const x = e.event;
      if (x.type === 'ike-sa-up')
        log.info(
          { ikeSa: x.ikeSaId, remote: x.remote, alg: x.algorithms, natT: x.natT, ...(x.peerVendor !== undefined ? { peerVendor: x.peerVendor } : {}) },
          `${p}ipsec: IKE SA ${x.ikeSaId} up with ${x.remote.address}:${x.remote.port}${x.peerVendor === 'windows' ? ' (Windows)' : ''}`,
        );
      else if (x.type === 'exchange-failed') {
        log.warn({ ikeSa: x.ikeSaId, remote: x.remote, reason: x.reason, notify: x.notify }, `${p}ipsec: exchange with ${x.remote.address} failed: ${x.reason}${FAIL_HINTS[x.reason] ?? ''}`);
      }
      else if (x.type === 'children-adopted')
        log.info({ ikeSa: x.ikeSaId, from: x.fromIkeSaId, spis: x.inboundSpis.map((v) => v.toString(16)) }, `${p}ipsec: IKE SA ${x.ikeSaId} took over ${x.inboundSpis.length} ESP SA(s) of IKE SA ${x.fromIkeSaId} (re-authentication)`);
      else if (x.type === 'dpd-failed') log.warn({ ikeSa: x.ikeSaId, remote: x.remote }, `${p}ipsec: DPD: ${x.remote.address} is dead`);
      else log.debug({ ike: withoutKeys(x) }, `${p}ipsec: ${x.type}`);
      return;
    }
  }
}

/** A `[[lac]] ipsec = true`: the initiator, its sockets and gate, and the flow the tunnel runs in. */
export interface LacIpsec {
  readonly io: IpsecL2tp;
  readonly initiator: IkeInitiator;
}

/**
 * Open the sockets of a dial-out L2TP/IPsec client (IKE, NAT-T, raw ESP unless disabled, and an
 * ephemeral clear L2TP socket that only drives the engine) with an `IkeInitiator` towards the LNS.
 * Nothing is sent until the caller runs `initiator.connect`.
 */
export async function openLacIpsec(o: {
  readonly lac: LacConfig;
  readonly ipsec: LacIpsecConfig;
  readonly engine: L2tpEngineApi;
  readonly log: Logger;
  readonly clock: Clock;
  readonly timers: TimerDriver;
  readonly random: RandomSource;
  readonly onL2tpEvent: (e: L2tpEvent, ep: UdpEndpoint) => void;
  readonly onIpsecEvent: (e: IpsecGateEvent) => void;
}): Promise<LacIpsec> {
  const x = o.ipsec;
  let initiator: IkeInitiator | undefined;
  const io = await openIpsecL2tp({
    engine: o.engine,
    ike: (l) =>
      (initiator = new IkeInitiator(
        {
          psk: new TextEncoder().encode(x.psk),
          local: { address: l.address, port: l.ikePort },
          localNattPort: l.nattPort,
          remote: { address: o.lac.lns, port: x.lnsIkePort },
          remoteNattPort: x.lnsNattPort,
          // Inside ESP the LNS's L2TP port is the `port` of the [[lac]] (IDcr, RFC 3193 §4).
          remoteL2tpPort: o.lac.port,
          proposals: x.proposals,
          ...(x.pfsGroup !== undefined ? { pfsGroup: x.pfsGroup } : {}),
          forceEncapsulation: x.forceEncapsulation,
          ...(x.dpdInterval > 0 ? { dpd: { interval: x.dpdInterval, timeout: x.dpdTimeout } } : {}),
          ikeLifetimeSeconds: x.ikeLifetime,
          childLifetimeSeconds: x.childLifetime,
          natKeepalive: seconds(20),
        },
        o.random,
      )),
    address: o.lac.localAddress ?? '0.0.0.0',
    ...(o.lac.localAddress !== undefined ? { localAddress: o.lac.localAddress } : {}),
    ikePort: x.ikePort,
    nattPort: x.nattPort,
    l2tpPort: 0,
    rawEsp: x.rawEsp && !x.forceEncapsulation,
    requireIpsec: true,
    clock: o.clock,
    timers: o.timers,
    random: o.random,
    onL2tpEvent: o.onL2tpEvent,
    onIpsecEvent: (e) => {
      logIpsecEvent(o.log, e, `LAC ${o.lac.name} `);
      o.onIpsecEvent(e);
    },
    onError: (e) => o.log.warn({ lac: o.lac.name, err: e.message }, `LAC ${o.lac.name}: ipsec: ${e.message}`),
  });
  if (initiator === undefined) throw new Error('openIpsecL2tp did not build the IKE core');
  o.log.info(
    { lac: o.lac.name, ike: io.local.ikePort, natt: io.local.nattPort, rawEsp: io.rawEsp },
    `LAC ${o.lac.name}: L2TP/IPsec client from ${io.local.address} (IKE ${io.local.ikePort}, NAT-T ${io.local.nattPort}, raw ESP ${io.rawEsp ? 'on' : 'off'}${x.forceEncapsulation ? ', forced UDP encapsulation' : ''})`,
  );
  return { io, initiator };
}

const GROUP_NAMES: Readonly<Record<number, string>> = { 2: 'modp1024', 5: 'modp1536', 14: 'modp2048', 19: 'ecp256', 20: 'ecp384' };
const IKE_CIPHER_NAMES: Readonly<Record<string, string>> = { 'aes-128-cbc': 'aes128', 'aes-192-cbc': 'aes192', 'aes-256-cbc': 'aes256', 'des-ede3-cbc': '3des' };
const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

/** An IKE identity as text (RFC 2407 §4.6.2.1: 1 IPv4, 2 FQDN, 3 USER_FQDN, 5 IPv6; else hex). */
function formatId(id: IkeIdentity): string {
  if (id.idType === 1 || id.idType === 5) return bytesToIp(id.data);
  if (id.idType === 2 || id.idType === 3) return Buffer.from(id.data).toString('utf8');
  return `type ${id.idType} ${Buffer.from(id.data).toString('hex')}`;
}

/** The `show ipsec` rows of one gate (responder listener or LAC initiator) at `now`. */
export function ipsecView(gate: IpsecL2tpGate, now: Instant, who: { readonly role: 'responder' | 'initiator'; readonly lac?: string; readonly initiator?: IkeInitiator }): IpsecView {
  const tag = { role: who.role, ...(who.lac !== undefined ? { lac: who.lac } : {}) };
  const ikeSas: IkeSaView[] = gate.ikeSaInfo(now).map((s) => ({
    ...tag,
    ikeSaId: s.ikeSaId,
    state: 'established',
    localAddress: s.local.address,
    localPort: s.local.port,
    remoteAddress: s.remote.address,
    remotePort: s.remote.port,
    peerId: formatId(s.peerId),
    encryption: IKE_CIPHER_NAMES[s.algorithms.encryption] ?? s.algorithms.encryption,
    hash: s.algorithms.hash,
    group: GROUP_NAMES[s.algorithms.group] ?? `group${s.algorithms.group}`,
    lifetimeSeconds: s.algorithms.lifetimeSeconds,
    lifetimeLeftSeconds: Math.max(0, s.algorithms.lifetimeSeconds - s.ageSeconds),
    ageSeconds: s.ageSeconds,
    natT: s.natT.variant,
    natLocal: s.natT.localBehindNat,
    natRemote: s.natT.remoteBehindNat,
  }));
  const init = who.initiator;
  if (init !== undefined && init.state !== 'established' && init.state !== 'mm-idle' && !ikeSas.some((s) => s.ikeSaId === init.ikeSaId)) {
    const { local, remote } = init.endpoints;
    ikeSas.push({ ...tag, ikeSaId: init.ikeSaId, state: init.state, localAddress: local.address, localPort: local.port, remoteAddress: remote.address, remotePort: remote.port });
  }
  const espSas: EspSaView[] = gate.flowInfo(now).flatMap((f) =>
    f.sas.map((a) => {
      const udp = a.encapsulation === 'udp-transport';
      const encryption = a.encryption === '3des-cbc' ? '3des-cbc' : a.encryption === 'aes-gcm-16' ? `aes${a.keyBits}-gcm16` : `aes${a.keyBits}-cbc`;
      return {
        ...tag,
        flow: f.via,
        ikeSaId: a.ikeSaId,
        spiIn: hex8(a.inboundSpi),
        spiOut: hex8(a.outboundSpi),
        encryption,
        integrity: a.integrity,
        encapsulation: udp ? ('udp' as const) : ('raw' as const),
        localAddress: f.local.address,
        remoteAddress: f.remote.address,
        ...(udp ? { localPort: f.local.port, remotePort: f.remote.port } : {}),
        innerPort: f.innerPort,
        tunnels: f.tunnels,
        lifetimeSeconds: a.lifetimeSeconds,
        lifetimeLeftSeconds: Math.max(0, a.lifetimeSeconds - a.ageSeconds),
        bytesIn: a.inbound.bytesIn,
        bytesOut: a.outbound.bytesOut,
        packetsIn: a.inbound.packetsIn,
        packetsOut: a.outbound.packetsOut,
        replayDrops: a.inbound.replayDrops,
        authFailures: a.inbound.authFailures,
      };
    }),
  );
  const c = gate.counters;
  const counters: IpsecCountersView = {
    clearL2tpRefused: c.clearRefused,
    espUnknownSpi: c.espUnknownSpi,
    espDropped: c.espDropped,
    innerNotL2tp: c.innerNotL2tp,
    txNoFlow: c.txNoFlow,
    txEncryptFailed: c.txEncryptFailed,
  };
  return { ikeSas, espSas, counters };
}

/** Gate counters of several `show ipsec` parts, summed. */
export function sumIpsecCounters(parts: readonly IpsecView[]): IpsecCountersView {
  const sum = (k: keyof IpsecCountersView): number => parts.reduce((a, p) => a + p.counters[k], 0);
  return {
    clearL2tpRefused: sum('clearL2tpRefused'),
    espUnknownSpi: sum('espUnknownSpi'),
    espDropped: sum('espDropped'),
    innerNotL2tp: sum('innerNotL2tp'),
    txNoFlow: sum('txNoFlow'),
    txEncryptFailed: sum('txEncryptFailed'),
  };
}
