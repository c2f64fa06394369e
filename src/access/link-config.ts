// The PPP link settings an access server shares between its sessions (one frozen object per MRU and
// Address/Control framing; the pool and proxy LCP go to each link apart as `PppLinkOwn`).
import type { Duration, SlotPacer } from '../base/index.js';
import type { AuthProtocol, PppLinkConfig } from '../ppp/index.js';
import type { AccessServerConfig } from './server-types.js';

/** What differs between the shared link configurations of one server. */
export interface LinkShape {
  readonly mru: number;
  readonly addressControl: boolean;
  readonly ipcp: NonNullable<Exclude<PppLinkConfig['ipcp'], false>>;
  readonly ipv6: boolean;
  readonly echoPacer: SlotPacer | undefined;
}

/** The server's defaults the link settings fall back to. */
export interface LinkDefaults {
  readonly auth: readonly AuthProtocol[];
  readonly echoInterval: Duration;
  readonly echoFailure: number;
}

/** One frozen link configuration for sessions of `shape` under the server configuration `c`. */
export function buildLinkConfig(c: AccessServerConfig, shape: LinkShape, d: LinkDefaults): PppLinkConfig {
  return Object.freeze({
    role: 'authenticator',
    random: c.random,
    // AAA on: no verifier, so every decision leaves as an `auth-request` event.
    ...(c.aaa?.external === true ? {} : { verifier: c.users }),
    ipcp: shape.ipcp,
    ipv6cp: shape.ipv6 ? {} : false,
    auth: c.auth ?? d.auth,
    mru: shape.mru,
    addressControl: shape.addressControl,
    echoInterval: c.echoInterval ?? d.echoInterval,
    echoFailure: c.echoFailure ?? d.echoFailure,
    ...(shape.echoPacer !== undefined ? { echoPacer: shape.echoPacer } : {}),
    ...(c.name !== undefined ? { name: c.name } : {}),
    ...(c.fsm !== undefined ? { fsm: c.fsm } : {}),
  });
}
