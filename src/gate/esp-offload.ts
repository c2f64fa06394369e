/**
 * ESP offload as the L2TP/IPsec gate sees it (issue 16 item 3): a data plane — the addon's fast path
 * (src/io/fast-path-esp.ts) — may take the SA pair of a child SA when it comes up. From then on the
 * data plane holds the only sequence counter and replay window of those SAs: `install` returns the
 * objects the gate uses instead of its own `EspSa`s (they seal and open through the data plane), so
 * the gate's own ESP on that SA (control messages, LCP, whatever the data plane hands over) never
 * forks the state. The gate tells the data plane what it decides about a flow (newest outbound SA,
 * NAT rebinding, inner port) and when SAs and flows go. Sans-I/O: an interface only.
 */
import type { Endpoint, EspEncapsulation, EspSa, EspSaParams } from '../ipsec/index.js';

/** What the gate uses of one SA direction: a JS `EspSa`, or the data plane's once offloaded. */
export type EspSaLike = Pick<EspSa, 'spi' | 'encryption' | 'integrity' | 'counters' | 'encryptv' | 'decrypt' | 'takeLifetimeEvent'>;

/** A flow as the data plane needs it. */
export interface EspOffloadFlow {
  readonly via: string;
  readonly remote: Endpoint;
  readonly encapsulation: EspEncapsulation;
  /** The client's L2TP port inside ESP, and ours. */
  readonly innerPort: number;
  readonly l2tpPort: number;
  /** The SPI of the newest outbound SA (what data toward the client is sealed with), undefined = none. */
  readonly outboundSpi: number | undefined;
}

/** The data plane's ESP table. Synchronous; never throws for well-formed input. */
export interface EspOffload {
  /**
   * Take the pair of a child SA that just came up in `flow` (`flow.outboundSpi` is already the new
   * one): the SA objects that are now the pair's only state, or undefined when it stays in JS (an
   * algorithm, encapsulation or byte lifetime the data plane does not run).
   */
  install(flow: EspOffloadFlow, inbound: EspSaParams, outbound: EspSaParams): { readonly inbound: EspSaLike; readonly outbound: EspSaLike } | undefined;
  /** The flow's newest outbound SA, outer endpoint or inner port changed. */
  updateFlow(flow: EspOffloadFlow): void;
  /** A pair is gone (deleted, expired, replaced). */
  remove(inboundSpi: number, outboundSpi: number): void;
  /** A flow is gone: its sessions' data must not move natively any more. */
  removeFlow(via: string): void;
}
