/**
 * `[[pppoe]] lac = "NAME"`: LAC switching in the daemon. One `LacSwitch` (src/access/lac-switch.ts)
 * on the engine of that `[[lac]]`'s socket, driven by one Pump: PPPoE sessions of the AC get LCP and
 * CHAP/PAP here, then their call (ICRQ/ICCN with proxy AVPs) goes into the LAC's tunnel and PPP is
 * relayed; the engine's events of that socket come in through `onL2tpEvent`.
 */
import type { RandomSource } from '../base/index.js';
import { LacSwitch, type LacSwitchEvent } from '../access/index.js';
import type { Transmit, L2tpEvent } from '../l2tp/index.js';
import { type Clock, Pump, type TimerDriver, type UdpEndpoint } from '../io/index.js';
import type { LacShell } from './lac-shell.js';
import type { Logger } from './logger.js';
import type { PppoeTarget } from './pppoe-shell.js';

/** Options of the switch of one `[[lac]]`. */
export interface LacSwitchShellOptions {
  readonly lac: LacShell;
  readonly log: Logger;
  readonly clock: Clock;
  readonly timers: TimerDriver;
  readonly random: RandomSource;
}

/** The switch into one LAC's tunnel. */
export class LacSwitchShell {
  private readonly sw: LacSwitch;
  private readonly pump: Pump<Transmit, LacSwitchEvent>;
  private readonly unfollow: () => void;
  private readonly ep: UdpEndpoint;

  constructor(private readonly opts: LacSwitchShellOptions) {
    const lac = opts.lac;
    this.ep = lac.endpoint;
    const ep = this.ep;
    // The call goes into the LAC's tunnel once it is up; before that a subscriber is refused.
    this.sw = ep.run((_now, engine) =>
      new LacSwitch(engine, {
        random: opts.random,
        route: () => (lac.info().state === 'established' ? lac.info().tunnel : undefined),
        // Subscriber data arrives from the PPPoE socket, outside this pump: straight onto the L2TP socket.
        transmit: (t) => {
          ep.send(t);
        },
      }),
    );
    this.pump = new Pump<Transmit, LacSwitchEvent>(this.sw, {
      clock: opts.clock,
      timers: opts.timers,
      transmit: (t) => {
        ep.send(t);
      },
      event: (e) => {
        this.logEvent(e);
      },
      onError: (e) => {
        opts.log.error({ err: e }, 'LAC switch failed');
      },
      // An ICRQ or CDN the switch queued in the engine comes with one of its events: drain the engine then.
      after: (_transmits, events) => {
        if (events > 0) ep.kick();
      },
    });
    this.unfollow = ep.follow(this.pump);
  }

  /** The sessions of an AC switched into this LAC's tunnel. */
  target(): PppoeTarget {
    return {
      what: `LAC ${this.opts.lac.config.name} call`,
      open: (lower, callingNumber, speed) => this.pump.run((now) => this.sw.open(now, lower, callingNumber, speed)),
      gone: (key) => {
        this.pump.run((now) => this.sw.lowerGone(now, key));
      },
      afterFrames: () => {
        this.pump.drain();
      },
    };
  }

  /** One engine event of the daemon (other endpoints are ignored). */
  onL2tpEvent(ep: UdpEndpoint, e: L2tpEvent): void {
    if (ep !== this.ep) return;
    this.pump.run((now) => {
      this.sw.handleL2tpEvent(now, e);
    });
  }

  /** Stop driving the switch. */
  close(): void {
    this.unfollow();
    this.pump.close();
  }

  private logEvent(e: LacSwitchEvent): void {
    const log = this.opts.log;
    const name = this.opts.lac.config.name;
    switch (e.type) {
      case 'auth-captured':
        log.info({ lac: name, key: e.key, user: e.username, auth: e.method }, `LAC ${name}: subscriber ${e.username} authenticated (${e.method}), placing the call`);
        break;
      case 'call-placed':
        log.info({ lac: name, tunnel: e.tunnel, session: e.session, user: e.username }, `LAC ${name}: ICRQ for ${e.username} on tunnel ${e.tunnel} (session ${e.session})`);
        break;
      case 'switched':
        log.info({ lac: name, tunnel: e.tunnel, session: e.session, user: e.username }, `LAC ${name}: ${e.username} switched into tunnel ${e.tunnel} session ${e.session}`);
        break;
      case 'ended':
        log.info({ lac: name, tunnel: e.tunnel, session: e.session, user: e.username, by: e.by, cause: e.cause }, `LAC ${name}: call of ${e.username ?? '-'} ended by ${e.by} (${e.cause})`);
        break;
    }
  }
}
