/**
 * The shell of one `[[lac]]`: its socket (the first listener's or its own), the optional IPsec
 * initiator and PPP client, and the sans-I/O `Dialer` (src/access/dialer.ts) that decides when to
 * dial. The shell only feeds the dialer time and events and carries out what it asks for; the
 * requests run from the timer driver, after the call that produced the input has returned.
 */
import type { Duration, Instant, RandomSource } from '../base/index.js';
import { Dialer, type DialerEvent, type DialerInfo, type RedialBackoff } from '../access/index.js';
import type { IpsecGateEvent } from '../gate/index.js';
import type { L2tpEngineApi, L2tpEvent, TunnelSettings } from '../l2tp/index.js';
import type { ResultCode, TunnelId } from '../wire/l2tp/index.js';
import { type Clock, type TimerDriver, ipFamily, type UdpEndpoint } from '../io/index.js';
import type { LacConfig } from './config.js';
import type { Logger } from './logger.js';
import { openLacIpsec, type LacIpsec } from './ipsec-shell.js';
import { LacPppClient } from './access-shell.js';

/** StopCCN result for `l2tpctl hangup` (§4.4.2 result 1: general request to clear). */
export const HANGUP_RESULT: ResultCode = { result: 1, message: 'administrative hangup' };

/** What a LAC needs from the daemon to open. */
export interface LacShellOptions {
  readonly config: LacConfig;
  readonly settings: TunnelSettings;
  readonly log: Logger;
  readonly clock: Clock;
  readonly timers: TimerDriver;
  readonly random: RandomSource;
  readonly backoff: RedialBackoff;
  /** The first listener, shared when the family and local address fit. */
  readonly shared: { readonly endpoint: UdpEndpoint; readonly address: string } | undefined;
  readonly createEngine: () => L2tpEngineApi;
  /** Open a plain UDP endpoint for `engine` (the daemon wires its events). */
  readonly openEndpoint: (engine: L2tpEngineApi, address: string, port: number) => Promise<UdpEndpoint>;
  /** Where this LAC's L2TP and IPsec events go (the daemon's event queue). */
  readonly onL2tpEvent: (e: L2tpEvent, ep: UdpEndpoint) => void;
  readonly onIpsecEvent: (lac: LacShell, e: IpsecGateEvent) => void;
}

/** One `[[lac]]` at run time. */
export class LacShell {
  /** The dial/redial automaton. */
  readonly dialer: Dialer;
  private removeTimer: (() => void) | undefined;

  private constructor(
    private readonly opts: LacShellOptions,
    /** The socket the tunnel runs on. */
    readonly endpoint: UdpEndpoint,
    /** True when `endpoint` is this LAC's own socket (not the first listener's). */
    readonly ownsEndpoint: boolean,
    /** `ipsec = true`: the IKE initiator, its sockets and gate. */
    readonly ipsec: LacIpsec | undefined,
    /** `ppp = true`: the PPP client and its TUN. */
    readonly ppp: LacPppClient | undefined,
  ) {
    const c = opts.config;
    this.dialer = new Dialer({ redial: c.redial, ipsec: ipsec !== undefined, sessions: c.sessions, backoff: opts.backoff });
    this.removeTimer = opts.timers.add(this.dialer, (now) => {
      this.carryOut(now);
    });
  }

  /** Open the LAC's sockets (and TUN); nothing is sent until `dial`. */
  static async open(o: LacShellOptions): Promise<LacShell> {
    const lc = o.config;
    const holder: { lac?: LacShell } = {};
    let endpoint: UdpEndpoint;
    let owns = true;
    let ipsec: LacIpsec | undefined;
    const family = ipFamily(lc.lns);
    if (lc.ipsec !== undefined) {
      // RFC 3193: IKE + ESP to the LNS first; L2TP only inside the ESP SA (own sockets and engine).
      ipsec = await openLacIpsec({
        lac: lc, ipsec: lc.ipsec, engine: o.createEngine(), log: o.log, clock: o.clock, timers: o.timers, random: o.random,
        onL2tpEvent: o.onL2tpEvent,
        onIpsecEvent: (e) => {
          if (holder.lac !== undefined) o.onIpsecEvent(holder.lac, e);
        },
      });
      endpoint = ipsec.io.endpoint;
    } else if (o.shared !== undefined && o.shared.endpoint.family === family && (lc.localAddress === undefined || lc.localAddress === o.shared.address)) {
      endpoint = o.shared.endpoint;
      owns = false;
    } else {
      endpoint = await o.openEndpoint(o.createEngine(), lc.localAddress ?? (family === 6 ? '::' : '0.0.0.0'), 0);
    }
    const ppp =
      lc.ppp === undefined
        ? undefined
        : await LacPppClient.open({ name: lc.name, config: lc.ppp, log: o.log, clock: o.clock, random: o.random, timers: o.timers });
    const lac = new LacShell(o, endpoint, owns, ipsec, ppp);
    holder.lac = lac;
    return lac;
  }

  /** The `[[lac]]` section. */
  get config(): LacConfig {
    return this.opts.config;
  }

  /** Dialer state, tunnel and next redial. */
  info(): DialerInfo {
    return this.dialer.info();
  }

  /** True for the tunnel this LAC opened on `ep`. */
  owns(ep: UdpEndpoint, tunnel: TunnelId): boolean {
    return ep === this.endpoint && this.dialer.tunnel === tunnel;
  }

  /** Administrative dial (start-up, `l2tpctl dial`). */
  dial(): void {
    this.feed({ type: 'dial' });
  }

  /** Administrative hang-up (`l2tpctl hangup`). */
  hangup(): void {
    this.feed({ type: 'hangup' });
  }

  /** One engine event of the daemon (any endpoint; other endpoints are ignored). */
  onL2tpEvent(ep: UdpEndpoint, e: L2tpEvent): void {
    if (ep !== this.endpoint) return;
    this.ppp?.onL2tpEvent(ep, e);
    if (e.type === 'tunnel-established') this.feed({ type: 'tunnel-up', tunnel: e.tunnel });
    else if (e.type === 'tunnel-closed') this.feed({ type: 'tunnel-down', tunnel: e.tunnel });
  }

  /**
   * Linked state of an `ipsec = true` LAC: flow up -> open the tunnel; flow down (ESP SA deleted,
   * expired, DPD, IKE SA gone) -> the gate closed the tunnel and we redial at once instead of after
   * the StopCCN linger; IKE failing before a flow exists -> redial with backoff.
   */
  onIpsecEvent(e: IpsecGateEvent): void {
    if (e.type === 'flow-up') this.feed({ type: 'flow-up', via: e.via });
    else if (e.type === 'flow-down') this.feed({ type: 'flow-down', via: e.via });
    else if (e.type === 'ike' && e.event.type === 'sa-deleted' && e.event.kind === 'ike') this.feed({ type: 'ike-down' });
    else if (e.type === 'ike' && e.event.type === 'exchange-failed' && this.ipsec?.initiator.state === 'established') this.feed({ type: 'ike-refused' });
  }

  /** Stop dialing for good (daemon shutdown). */
  halt(): void {
    this.dialer.handle(this.opts.clock.now(), { type: 'shutdown' });
  }

  /** Delete the LAC's SAs (D(ESP), D(ISAKMP)), e.g. at shutdown before the sockets close. */
  deleteSas(): void {
    const x = this.ipsec;
    if (x === undefined) return;
    this.endpoint.run((t) => {
      x.initiator.close(t);
      x.io.gate.flushIke(t);
    });
  }

  /** Close the LAC's own sockets and TUN. */
  async close(): Promise<void> {
    this.removeTimer?.();
    this.removeTimer = undefined;
    await this.ipsec?.io.close();
    this.ppp?.close();
  }

  private feed(input: Parameters<Dialer['handle']>[1]): void {
    this.dialer.handle(this.opts.clock.now(), input);
    this.opts.timers.touch(this.dialer);
  }

  /** Carry out the dialer's requests (the timer driver's after-hook). */
  private carryOut(now: Instant): void {
    for (let e = this.dialer.pollEvent(); e !== undefined; e = this.dialer.pollEvent()) this.carry(now, e);
  }

  private carry(now: Instant, e: DialerEvent): void {
    const name = this.opts.config.name;
    switch (e.type) {
      case 'request-flow': {
        const x = this.ipsec;
        if (x === undefined) return;
        this.endpoint.run((t) => {
          if (x.initiator.state === 'established') x.initiator.startChild(t);
          else x.initiator.connect(t);
          x.io.gate.flushIke(t);
        });
        return;
      }
      case 'open-tunnel': {
        const peer = e.via !== undefined ? this.ipsec?.io.gate.peerFor(e.via, this.opts.config.port) : { address: this.opts.config.lns, port: this.opts.config.port, family: ipFamily(this.opts.config.lns) ?? 4 };
        if (peer === undefined) return; // the flow is gone; its flow-down redials
        const tunnel = this.endpoint.run((t, engine) => engine.openTunnel(t, peer, this.opts.settings));
        this.dialer.handle(now, { type: 'tunnel-opened', tunnel });
        return;
      }
      case 'open-sessions':
        this.endpoint.run((t, engine) => {
          for (let i = 0; i < e.count; i++) {
            const session = engine.openSession(t, e.tunnel, { direction: 'incoming' });
            if (session !== undefined) this.ppp?.attach(this.endpoint, e.tunnel, session);
          }
        });
        return;
      case 'close-tunnel':
        this.opts.log.info({ lac: name, tunnel: e.tunnel }, `LAC ${name}: hang up tunnel ${e.tunnel}`);
        this.endpoint.run((t, engine) => {
          engine.closeTunnel(t, e.tunnel, HANGUP_RESULT);
        });
        return;
      case 'close-ike':
        this.deleteSas();
        return;
      case 'redial-scheduled':
        this.opts.log.info({ lac: name, inMs: e.after, attempt: e.attempt }, `LAC ${name}: redial in ${seconds1(e.after)} s`);
        return;
      case 'state':
        this.opts.log.debug({ lac: name, from: e.from, to: e.to }, `LAC ${name}: ${e.from} -> ${e.to}`);
        return;
    }
  }
}

/** A duration in seconds with one decimal. */
const seconds1 = (d: Duration): number => Math.round(d / 100) / 10;
