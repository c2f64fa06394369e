/**
 * Engine events -> log lines (STYLE §10: cores emit typed events, the daemon words them).
 * At info the wording follows the Yamaha RTX L2TP syslog (seed 001); at debug every control
 * message is logged AVP by AVP like Yamaha `l2tp syslog on`.
 */
import type { L2tpEvent, PeerAddress } from '../l2tp/index.js';
import { formatAvps, messageTypeName, wireErrorText, type ControlAvps, type MessageType } from '../wire/l2tp/index.js';
import type { Logger } from './logger.js';
import { formatHostPort } from '../io/index.js';

const addr = (p: PeerAddress): string => formatHostPort(p.address, p.port);

/** Log one engine event. `listener` names the local socket (`127.0.0.1:1701`). */
export function logEvent(log: Logger, e: L2tpEvent, listener: string): void {
  // Every line below is info or debug: at warn and above nothing is formatted (several events per set-up).
  if (!log.isLevelEnabled('info')) return;
  switch (e.type) {
    case 'tunnel-connecting':
      if (e.originator) log.info({ tunnel: e.tunnel, peer: addr(e.peer), listener }, `TUNNEL[${e.tunnel}] connecting to ${e.peer.address}`);
      else log.info({ tunnel: e.tunnel, peer: addr(e.peer), listener }, `TUNNEL[${e.tunnel}] connected from ${e.peer.address}`);
      return;
    case 'tunnel-established':
      log.info(
        { tunnel: e.tunnel, remoteTunnel: e.remoteTunnel, peer: addr(e.peer), remoteHostName: e.remoteHostName },
        `tunnel ${e.tunnel} established`,
      );
      return;
    case 'tunnel-closing':
      log.info({ tunnel: e.tunnel, ...reasonFields(e.reason) }, `disconnecting tunnel ${e.tunnel}`);
      return;
    case 'tunnel-closed':
      log.info({ tunnel: e.tunnel, ...reasonFields(e.reason) }, `disconnect tunnel ${e.tunnel} complete`);
      return;
    case 'tunnel-auth-failed':
      log.info({ tunnel: e.tunnel, peer: addr(e.peer), detail: e.detail }, `authentication error tunnel ${e.tunnel}`);
      return;
    case 'tunnel-rejected':
      // An admission refusal comes once per SCCRQ of a flood: debug only (counted in the metrics).
      if (e.limit !== undefined) log.debug({ peer: addr(e.peer), detail: e.detail, limit: e.limit, listener }, `tunnel rejected from ${e.peer.address}: ${e.detail}`);
      else log.info({ peer: addr(e.peer), detail: e.detail, listener }, `tunnel rejected from ${e.peer.address}: ${e.detail}`);
      return;
    case 'state-timer-expired':
      log.info({ tunnel: e.tunnel }, `state timer expired tunnel ${e.tunnel} (state ${e.state}, retries ${e.retries})`);
      return;
    case 'keepalive-countdown':
      log.info({ tunnel: e.tunnel }, `keepalive countdown tunnel ${e.tunnel}: ${e.remaining} left`);
      return;
    case 'keepalive-expired':
      log.info({ tunnel: e.tunnel }, `keepalive timer expired tunnel ${e.tunnel}`);
      return;
    case 'session-connecting':
      log.debug({ tunnel: e.tunnel, session: e.session, direction: e.direction }, `session ${e.session} connecting`);
      return;
    case 'session-established':
      log.info({ tunnel: e.tunnel, session: e.session, remoteSession: e.remoteSession }, `session ${e.session} established`);
      return;
    case 'session-closed':
      log.info({ tunnel: e.tunnel, session: e.session, ...reasonFields(e.reason) }, `disconnect session ${e.session} complete`);
      return;
    case 'retransmit':
      log.debug({ tunnel: e.tunnel, ns: e.ns, attempt: e.attempt, nextInMs: e.nextIn }, `TUNNEL[${e.tunnel}] retransmit Ns=${e.ns} (attempt ${e.attempt})`);
      return;
    case 'control-rx':
    case 'control-tx': {
      if (!log.isLevelEnabled('debug')) return;
      const name = messageTypeName(e.messageType);
      const dir = e.type === 'control-rx' ? `RECV ${name} from` : `SEND ${name} to`;
      const refused = e.type === 'control-rx' ? e.refused : undefined;
      if (refused !== undefined) {
        // The refused message with every AVP the codec could read, then the ones it could not.
        const lines = avpLines(e.avps, e.messageType);
        for (const u of refused.unreadable) lines.push(`AVP ${u.attribute}${u.mandatory ? ' M' : ''}${u.hidden ? ' H' : ''}: unreadable (${wireErrorText(u.error)})`);
        if (!refused.complete) lines.push('(AVP framing broken: the rest of the message was not read)');
        log.debug(
          { tunnel: e.tunnel, peer: addr(e.peer), ns: e.ns, nr: e.nr, avps: lines, refused: wireErrorText(refused.error) },
          `TUNNEL[${e.tunnel}] ${dir} ${e.peer.address} Ns=${e.ns} Nr=${e.nr} refused: ${wireErrorText(refused.error)}`,
        );
        return;
      }
      log.debug(
        { tunnel: e.tunnel, peer: addr(e.peer), ns: e.ns, nr: e.nr, avps: avpLines(e.avps, e.messageType) },
        `TUNNEL[${e.tunnel}] ${dir} ${e.peer.address} Ns=${e.ns} Nr=${e.nr}`,
      );
      return;
    }
    case 'bad-datagram':
      log.debug({ peer: addr(e.peer), detail: e.detail, listener }, `bad datagram from ${e.peer.address}: ${e.detail}`);
      return;
    case 'unknown-avp-ignored':
      log.debug({ tunnel: e.tunnel, attribute: e.attribute, vendorId: e.vendorId }, `TUNNEL[${e.tunnel}] ignored unknown AVP ${e.vendorId}:${e.attribute}`);
      return;
    case 'wen':
    case 'sli':
      log.debug({ tunnel: e.tunnel, session: e.session, avps: formatAvps(e.avps) }, `session ${e.session} ${e.type.toUpperCase()}`);
      return;
  }
}

/**
 * The AVP lines of a control message for the debug log, secrets left out: a Proxy Authen Response
 * (RFC 2661 §4.4.5, AVP 33) is the PAP password itself when the LAC proxies PAP.
 */
export function avpLines(avps: ControlAvps, type: MessageType | undefined): string[] {
  const { proxyAuthenResponse: r, ...rest } = avps;
  if (r === undefined) return formatAvps(avps, type);
  return [...formatAvps(rest, type), `Proxy Authen Response: (${r.length} bytes, not logged)`];
}

function reasonFields(r: { readonly by: string; readonly cause: string; readonly result: { readonly result: number; readonly error?: number; readonly message?: string } }): Record<string, unknown> {
  return { by: r.by, cause: r.cause, result: r.result.result, error: r.result.error, resultMessage: r.result.message };
}
