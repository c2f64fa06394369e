/**
 * The I/O shell of L2TP/IPsec: UDP sockets for IKE (500) and NAT-T (4500, RFC 3948 demux of IKE,
 * keepalives and ESP-in-UDP), a raw IP-protocol-50 socket for ESP from peers not behind a NAT, and
 * the clear L2TP socket (1701) — all around one sans-I/O `IpsecL2tpGate` (src/ipsec/l2tp-gate.ts).
 * `openIpsecL2tp` wires everything; socket errors are reported, never thrown after open.
 */
import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import type { RandomSource } from '../base/random.js';
import type { Duration } from '../base/time.js';
import type { L2tpEngineApi, L2tpEvent } from '../l2tp/api.js';
import { IpsecL2tpGate, type IkeCore, type IpsecGateEvent, type OuterPacket } from '../ipsec/l2tp-gate.js';
import type { Clock } from './clock.js';
import type { TimerDriver } from './timer-driver.js';
import { UdpEndpoint, L2TP_PORT } from './udp-endpoint.js';
import { IPPROTO_ESP, RawIpSocket } from './raw-socket.js';

/** Options of {@link openIpsecL2tp}. */
export interface IpsecL2tpOptions {
  readonly engine: L2tpEngineApi;
  /** Build the IKE core once the local address (for NAT-D / IDs) and ports are known. */
  readonly ike: (local: { readonly address: string; readonly ikePort: number; readonly nattPort: number }) => IkeCore;
  /** IPv4 address to bind (0.0.0.0 = all). */
  readonly address: string;
  /** Our address as peers see it when bound to 0.0.0.0 (NAT-D, IDs); guessed from the interfaces if absent. */
  readonly localAddress?: string;
  /** Ports (defaults 500, 4500, 1701; 0 = any free port, for tests). */
  readonly ikePort?: number;
  readonly nattPort?: number;
  readonly l2tpPort?: number;
  /** Open the raw ESP socket (default true). Without it only UDP-encapsulated ESP works. */
  readonly rawEsp?: boolean;
  readonly requireIpsec?: boolean;
  readonly closeGrace?: Duration;
  readonly clock: Clock;
  readonly timers: TimerDriver;
  readonly random: RandomSource;
  readonly onL2tpEvent: (event: L2tpEvent, endpoint: UdpEndpoint) => void;
  readonly onIpsecEvent?: (event: IpsecGateEvent) => void;
  readonly onError?: (error: Error) => void;
}

/** Packet counters of the IPsec sockets. */
export interface IpsecSocketStats {
  ikeRx: number;
  ikeTx: number;
  espUdpRx: number;
  espRawRx: number;
  espRawTx: number;
  sendErrors: number;
}

/** The running L2TP/IPsec listener. */
export interface IpsecL2tp {
  readonly gate: IpsecL2tpGate;
  /** The clear L2TP socket (its engine is the gate). */
  readonly endpoint: UdpEndpoint;
  /** Bound ports and the local address used for NAT-D. */
  readonly local: { readonly address: string; readonly ikePort: number; readonly nattPort: number; readonly l2tpPort: number };
  /** Whether the raw ESP socket is open. */
  readonly rawEsp: boolean;
  readonly stats: IpsecSocketStats;
  close(): Promise<void>;
}

/** The single non-internal IPv4 address of this host, if there is exactly one. */
export function guessLocalIpv4(): string | undefined {
  const all = Object.values(networkInterfaces()).flatMap((l) => l ?? []).filter((i) => i.family === 'IPv4' && !i.internal);
  return all.length === 1 ? all[0]?.address : undefined;
}

async function bindUdp(address: string, port: number): Promise<Socket> {
  const s = createSocket({ type: 'udp4' });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => {
      s.close();
      reject(e);
    };
    s.once('error', onError);
    s.bind(port, address, () => {
      s.off('error', onError);
      resolve();
    });
  });
  return s;
}

/** The outer sockets of one listener: IKE and NAT-T UDP, the raw ESP socket when it opened. */
interface OuterSockets {
  readonly ikeSock: Socket;
  readonly nattSock: Socket;
  readonly raw: RawIpSocket | undefined;
  /** Our address for NAT-D and IDs. */
  readonly localAddress: string;
}

/** Bind IKE and NAT-T (rejects if either bind fails) and try the raw ESP socket (reported, not fatal). */
async function openOuterSockets(o: IpsecL2tpOptions, report: (e: unknown) => void): Promise<OuterSockets> {
  const ikeSock = await bindUdp(o.address, o.ikePort ?? 500);
  let nattSock: Socket;
  try {
    nattSock = await bindUdp(o.address, o.nattPort ?? 4500);
  } catch (e) {
    ikeSock.close();
    throw e;
  }
  const any = o.address === '0.0.0.0';
  const localAddress = o.localAddress ?? (any ? guessLocalIpv4() : o.address) ?? o.address;
  if (any && o.localAddress === undefined && localAddress === o.address) {
    o.onError?.(new Error('bound to 0.0.0.0 and no single local IPv4 address: set local_address, or NAT-D will see a NAT'));
  }
  let raw: RawIpSocket | undefined;
  if (o.rawEsp !== false) {
    try {
      raw = RawIpSocket.open({ protocol: IPPROTO_ESP, ...(any ? {} : { bindAddress: o.address }) });
    } catch (e) {
      report(new Error(`raw ESP socket unavailable (only UDP-encapsulated ESP will work): ${e instanceof Error ? e.message : String(e)}`));
    }
  }
  return { ikeSock, nattSock, raw, localAddress };
}

/** Send an outer packet: UDP from the IKE or NAT-T socket (by its local port), ESP on the raw socket. */
function outerSender(s: OuterSockets, nattPort: number, stats: IpsecSocketStats, report: (e: unknown) => void): (p: OuterPacket) => void {
  return (p) => {
    try {
      if (p.kind === 'udp') {
        const sock = p.local.port === nattPort ? s.nattSock : s.ikeSock;
        stats.ikeTx++;
        // A segment list (ESP-in-UDP) goes out as one datagram gathered by libuv (sendmsg iovec).
        sock.send(p.data, p.remote.port, p.remote.address, (e) => {
          if (e) report(e);
        });
      } else if (s.raw) {
        stats.espRawTx++;
        // ESP comes as header | ciphertext | ICV segments: gathered by sendmsg(), never joined.
        s.raw.send(p.data, p.remote);
      }
    } catch (e) {
      report(e);
    }
  };
}

/** Open IKE, NAT-T, raw ESP and clear L2TP sockets around one gate. Rejects if a UDP bind fails. */
export async function openIpsecL2tp(o: IpsecL2tpOptions): Promise<IpsecL2tp> {
  const stats: IpsecSocketStats = { ikeRx: 0, ikeTx: 0, espUdpRx: 0, espRawRx: 0, espRawTx: 0, sendErrors: 0 };
  const report = (e: unknown): void => {
    stats.sendErrors++;
    o.onError?.(e instanceof Error ? e : new Error(String(e)));
  };
  const { ikeSock, nattSock, raw, localAddress } = await openOuterSockets(o, report);
  const ikePort = ikeSock.address().port;
  const nattPort = nattSock.address().port;
  let closed = false;
  const send = outerSender({ ikeSock, nattSock, raw, localAddress }, nattPort, stats, report);
  const sink = (p: OuterPacket): void => {
    if (!closed) send(p);
  };
  const ike = o.ike({ address: localAddress, ikePort, nattPort });
  const gate = new IpsecL2tpGate({
    engine: o.engine, ike, random: o.random, sink, nattPort,
    onEvent: (e) => o.onIpsecEvent?.(e),
    ...(o.requireIpsec !== undefined ? { requireIpsec: o.requireIpsec } : {}),
    ...(o.closeGrace !== undefined ? { closeGrace: o.closeGrace } : {}),
  });
  let endpoint: UdpEndpoint;
  try {
    endpoint = await UdpEndpoint.open({
      engine: gate,
      address: o.address,
      port: o.l2tpPort ?? L2TP_PORT,
      clock: o.clock,
      timers: o.timers,
      route: (t) => gate.sendVia(t),
      onEvent: (e, ep) => {
        o.onL2tpEvent(e, ep);
      },
      onError: (e) => {
        o.onError?.(e);
      },
    });
  } catch (e) {
    ikeSock.close();
    nattSock.close();
    raw?.close();
    throw e;
  }
  const after = (): void => {
    endpoint.drain();
  };
  const onUdp = (localPort: number) => (msg: Buffer, r: { address: string; port: number }): void => {
    if (closed) return;
    if (localPort === nattPort && !(msg.length >= 4 && msg.readUInt32BE(0) === 0) && msg.length !== 1) stats.espUdpRx++;
    else stats.ikeRx++;
    try {
      gate.handleUdp(o.clock.now(), { local: { address: localAddress, port: localPort }, remote: { address: r.address, port: r.port }, data: msg });
    } catch (e) {
      report(e);
    }
    after();
  };
  ikeSock.on('message', onUdp(ikePort));
  nattSock.on('message', onUdp(nattPort));
  ikeSock.on('error', report);
  nattSock.on('error', report);
  if (raw) {
    raw.onError(report);
    raw.onPackets((b) => {
      if (closed) return;
      const now = o.clock.now();
      for (let i = 0; i < b.count; i++) {
        stats.espRawRx++;
        // The batch buffer is reused: the gate decrypts into fresh buffers before returning.
        gate.handleRawEsp(now, b.sourceAddress(i), b.payload(i));
      }
      after();
    });
  }
  return {
    gate,
    endpoint,
    local: { address: localAddress, ikePort, nattPort, l2tpPort: endpoint.local.port },
    rawEsp: raw !== undefined,
    stats,
    async close() {
      if (closed) return;
      endpoint.drain();
      closed = true;
      raw?.close();
      await Promise.all([
        new Promise<void>((r) => ikeSock.close(() => r())),
        new Promise<void>((r) => nattSock.close(() => r())),
        endpoint.close(),
      ]);
    },
  };
}
