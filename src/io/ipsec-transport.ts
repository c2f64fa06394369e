/**
 * The I/O shell of L2TP/IPsec: UDP sockets for IKE (500) and NAT-T (4500, RFC 3948 demux of IKE,
 * keepalives and ESP-in-UDP), a raw IP-protocol-50 socket for ESP from peers not behind a NAT, and
 * the clear L2TP socket (1701) — all around one sans-I/O `IpsecL2tpGate` (src/gate/l2tp-gate.ts),
 * driven by one `Pump` (pump.ts) like every core. Inbound ESP is decrypted and handed to the engine's
 * session sinks inside `handleUdp` / `handleRawEsp`; outbound data frames are sealed and sent at once
 * (`sealTransmit`). `openIpsecL2tp` wires everything; socket errors are reported, never thrown after open.
 */
import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import type { Duration, RandomSource } from '../base/index.js';
import type { L2tpEngineApi, L2tpEvent } from '../l2tp/index.js';
import { IpsecL2tpGate, type GateEvent, type GateTransmit, type IkeCore, type IpsecGateEvent, type OuterPacket } from '../gate/index.js';
import type { Clock } from './clock.js';
import { Pump } from './pump.js';
import type { TimerDriver } from './timer-driver.js';
import { UdpEndpoint, L2TP_PORT } from './udp-endpoint.js';
import { IPPROTO_ESP, RawIpSocket } from './raw-socket.js';
import { NativeUdpSocket } from './native-udp.js';
import { outerBytes } from '../gate/index.js';

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
  /**
   * The data fast path will attach (`[dataplane] fast_path`): the NAT-T and L2TP sockets are the
   * addon's (native-udp.ts) so ESP of offloaded SAs is opened and sealed natively (fast-path-esp.ts).
   * Without the addon they fall back to node:dgram, reported through `onError`.
   */
  readonly nativeSockets?: boolean;
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
  /** The NAT-T socket when it is the addon's (`nativeSockets`): the fast path attaches to it. */
  readonly nattNative: NativeUdpSocket | undefined;
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

/** The outer sockets (IKE, NAT-T, raw ESP) and how to send an outer packet on them. */
export interface OuterSockets {
  readonly ike: Socket;
  /** NAT-T: a node:dgram socket, or the addon's (`nativeNatt`); receive with `onNatt`. */
  readonly natt: Socket | undefined;
  readonly nattNative: NativeUdpSocket | undefined;
  onNatt(onMessage: (msg: Buffer, r: { address: string; port: number }) => void, onError: (e: Error) => void): void;
  readonly raw: RawIpSocket | undefined;
  readonly ikePort: number;
  readonly nattPort: number;
  readonly localAddress: string;
  send(p: OuterPacket): void;
  close(): Promise<void>;
}

/** What {@link openOuter} reads of the options (the L2TPv3/IPsec shell, v3-ipsec.ts, shares it). */
export type OuterOptions = Pick<IpsecL2tpOptions, 'address' | 'localAddress' | 'ikePort' | 'nattPort' | 'rawEsp' | 'onError'> & { readonly nativeNatt?: boolean };

/** The NAT-T socket: the addon's when asked and possible (a failure is reported, then node:dgram). */
async function bindNatt(o: OuterOptions, report: (e: unknown) => void): Promise<{ natt: Socket | undefined; nattNative: NativeUdpSocket | undefined }> {
  if (o.nativeNatt === true) {
    try {
      return { natt: undefined, nattNative: NativeUdpSocket.open(o.address, o.nattPort ?? 4500) };
    } catch (e) {
      report(new Error(`native NAT-T socket unavailable (ESP stays in JavaScript): ${e instanceof Error ? e.message : String(e)}`));
    }
  }
  return { natt: await bindUdp(o.address, o.nattPort ?? 4500), nattNative: undefined };
}

/** Bind IKE and NAT-T, open raw ESP when asked (a failure there is reported, not fatal). */
export async function openOuter(o: OuterOptions, stats: IpsecSocketStats, report: (e: unknown) => void): Promise<OuterSockets> {
  const ike = await bindUdp(o.address, o.ikePort ?? 500);
  let bound: Awaited<ReturnType<typeof bindNatt>>;
  try {
    bound = await bindNatt(o, report);
  } catch (e) {
    ike.close();
    throw e;
  }
  const { natt, nattNative } = bound;
  const ikePort = ike.address().port;
  const nattPort = natt?.address().port ?? nattNative?.local.port ?? 0;
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
  let closed = false;
  return {
    ike, natt, nattNative, raw, ikePort, nattPort, localAddress,
    onNatt(onMessage, onError) {
      if (natt !== undefined) {
        natt.on('message', onMessage);
        natt.on('error', onError);
      }
      nattNative?.onDatagram((data, address, port) => onMessage(data, { address, port }));
      nattNative?.onError(onError);
    },
    send(p) {
      if (closed) return;
      try {
        if (p.kind === 'udp' && p.local.port === nattPort && nattNative !== undefined) {
          stats.ikeTx++;
          nattNative.send(outerBytes(p.data), p.remote.port, p.remote.address, report);
        } else if (p.kind === 'udp') {
          const sock = p.local.port === nattPort && natt !== undefined ? natt : ike;
          stats.ikeTx++;
          // A segment list (ESP-in-UDP) goes out as one datagram gathered by libuv (sendmsg iovec).
          sock.send(p.data, p.remote.port, p.remote.address, (e) => {
            if (e) report(e);
          });
        } else if (raw) {
          stats.espRawTx++;
          // ESP comes as header | ciphertext | ICV segments: gathered by sendmsg(), never joined.
          raw.send(p.data, p.remote);
        }
      } catch (e) {
        report(e);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      raw?.close();
      await Promise.all([new Promise<void>((r) => ike.close(() => r())), natt !== undefined ? new Promise<void>((r) => natt.close(() => r())) : nattNative?.close()]);
    },
  };
}

/** Open IKE, NAT-T, raw ESP and clear L2TP sockets around one gate. Rejects if a UDP bind fails. */
export async function openIpsecL2tp(o: IpsecL2tpOptions): Promise<IpsecL2tp> {
  const stats: IpsecSocketStats = { ikeRx: 0, ikeTx: 0, espUdpRx: 0, espRawRx: 0, espRawTx: 0, sendErrors: 0 };
  const report = (e: unknown): void => {
    stats.sendErrors++;
    o.onError?.(e instanceof Error ? e : new Error(String(e)));
  };
  const outer = await openOuter({ ...o, nativeNatt: o.nativeSockets === true }, stats, report);
  const { ikePort, nattPort, localAddress } = outer;
  const ike = o.ike({ address: localAddress, ikePort, nattPort });
  const gate = new IpsecL2tpGate({
    engine: o.engine, ike, random: o.random, nattPort,
    ...(o.requireIpsec !== undefined ? { requireIpsec: o.requireIpsec } : {}),
    ...(o.closeGrace !== undefined ? { closeGrace: o.closeGrace } : {}),
  });
  const box: { endpoint?: UdpEndpoint } = {};
  const pump = new Pump<GateTransmit, GateEvent>(gate, {
    clock: o.clock,
    timers: o.timers,
    transmit: (p) => {
      if (p.kind === 'l2tp') box.endpoint?.send(p.transmit);
      else outer.send(p);
    },
    event: (e) => {
      if (e.type !== 'l2tp') o.onIpsecEvent?.(e);
      else if (box.endpoint !== undefined) o.onL2tpEvent(e.event, box.endpoint);
    },
    onError: report,
  });
  let endpoint: UdpEndpoint;
  try {
    endpoint = await UdpEndpoint.open({
      engine: gate,
      pump,
      address: o.address,
      port: o.l2tpPort ?? L2TP_PORT,
      ...(o.nativeSockets === true && outer.nattNative !== undefined ? { socket: 'native' as const } : {}),
      clock: o.clock,
      timers: o.timers,
      // The outbound data fast path: sealed and sent at once, never in the clear (one copy, no queue).
      route: (t) => {
        const p = gate.sealTransmit(t);
        if (p !== undefined) outer.send(p);
        return true;
      },
      onError: (e) => {
        o.onError?.(e);
      },
    });
  } catch (e) {
    pump.close();
    await outer.close();
    throw e;
  }
  box.endpoint = endpoint;
  let closed = false;
  listen(o, outer, gate, endpoint, stats, report, () => closed);
  return {
    gate,
    endpoint,
    local: { address: localAddress, ikePort, nattPort, l2tpPort: endpoint.local.port },
    rawEsp: outer.raw !== undefined,
    nattNative: outer.nattNative,
    stats,
    async close() {
      if (closed) return;
      endpoint.drain();
      closed = true;
      await Promise.all([outer.close(), endpoint.close()]);
    },
  };
}

/** Feed the outer sockets to the gate; after each datagram or raw batch, drain it (and what follows it). */
function listen(
  o: IpsecL2tpOptions,
  outer: OuterSockets,
  gate: IpsecL2tpGate,
  endpoint: UdpEndpoint,
  stats: IpsecSocketStats,
  report: (e: unknown) => void,
  isClosed: () => boolean,
): void {
  const { nattPort, localAddress } = outer;
  const onUdp = (localPort: number) => (msg: Buffer, r: { address: string; port: number }): void => {
    if (isClosed()) return;
    if (localPort === nattPort && !(msg.length >= 4 && msg.readUInt32BE(0) === 0) && msg.length !== 1) stats.espUdpRx++;
    else stats.ikeRx++;
    try {
      gate.handleUdp(o.clock.now(), { local: { address: localAddress, port: localPort }, remote: { address: r.address, port: r.port }, data: msg });
    } catch (e) {
      report(e);
    }
    endpoint.drain();
  };
  outer.ike.on('message', onUdp(outer.ikePort));
  outer.onNatt(onUdp(nattPort), report);
  outer.ike.on('error', report);
  const raw = outer.raw;
  if (raw) {
    raw.onError(report);
    raw.onPackets((b) => {
      if (isClosed()) return;
      const now = o.clock.now();
      for (let i = 0; i < b.count; i++) {
        stats.espRawRx++;
        // The batch buffer is reused: the gate decrypts into fresh buffers before returning.
        try {
          gate.handleRawEsp(now, b.sourceAddress(i), b.payload(i));
        } catch (e) {
          report(e);
        }
      }
      endpoint.drain();
    });
  }
}
