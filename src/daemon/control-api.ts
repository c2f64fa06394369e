/**
 * The daemon side of the control protocol: one request in, one response out (control-protocol.ts).
 * Reads go to the views; `clear` closes through the engine that holds the tunnel; `dial` / `hangup`
 * go to the LAC's dialer.
 */
import type { ResultCode } from '../wire/l2tp/index.js';
import type { ControlRequest, ControlResponse, IpsecView, RadiusView, SessionView, StatusView, TunnelView } from './control-protocol.js';
import type { LacShell } from './lac-shell.js';
import type { Logger } from './logger.js';
import type { TunnelAt } from './views.js';
import type { CredentialStore } from './setup/index.js';
import { handleOps, shownSessions, shownSessionsStream, shownTunnels, type OpsTarget } from './control-ops-api.js';
import { StreamedArray } from './control-socket.js';

/** StopCCN result for `l2tpctl clear tunnel`. */
export const CLEAR_TUNNEL_RESULT: ResultCode = { result: 1, message: 'administrative clear' };
/** CDN result for `l2tpctl clear session` (§4.4.2 CDN result 3: administrative reasons). */
export const CLEAR_SESSION_RESULT: ResultCode = { result: 3, message: 'administrative clear' };

/** What the control API reads and drives. */
export interface ControlTarget extends OpsTarget {
  readonly log: Logger;
  tunnels(): readonly TunnelAt[];
  tunnelViews(): TunnelView[];
  /** PPPoE sessions terminated here (BRAS); none without [[pppoe]]. */
  pppoeSessions?(): SessionView[];
  /** The same views built in chunks that yield to the event loop (many sessions). */
  tunnelViewsYielding?(): Promise<TunnelView[]>;
  status(): StatusView;
  /** The same status with its tunnel views built in chunks that yield to the event loop. */
  statusYielding?(): Promise<StatusView>;
  ipsecView(): IpsecView;
  readonly lacs: readonly LacShell[];
  /** `show radius` (undefined without [radius]). */
  radiusView?(): RadiusView | undefined;
  /** Generated credentials and the users file (`l2tpctl credentials`, `l2tpctl user add`). */
  readonly credentials: CredentialStore;
  /** `client-credentials` (client-credentials.ts): secrets, only for the socket's owner. */
  clientCredentials?(user: string | undefined): ControlResponse;
  /** `status-page`: the page's URL and token (status-page/). */
  statusPage?(): ControlResponse;
  /** `clear tunnel|session` of an L2TPv3 connection or session (undefined without [l2tpv3]). */
  clearL2tpv3?(kind: 'tunnel' | 'session', id: number): boolean;
}

/** Answer one control request (credential and user changes write files first: asynchronous). */
export function handleControl(t: ControlTarget, req: ControlRequest): ControlResponse | Promise<ControlResponse> {
  switch (req.cmd) {
    case 'ping':
      return { ok: true, result: 'pong' };
    case 'show-tunnels':
      return shownTunnels(t, req.filter).then((v) => ({ ok: true, result: v }));
    case 'show-sessions':
      // Streamed when the target can (written piece by piece: the 100k views are never all held).
      if (t.tunnelViewsStream !== undefined) return { ok: true, result: new StreamedArray(() => shownSessionsStream(t, req.filter)) };
      return shownSessions(t, req.filter).then((v) => ({ ok: true, result: v }));
    case 'show-destinations':
    case 'show-summary':
    case 'clear-destination':
    case 'clear-statistics':
      return handleOps(t, req);
    case 'status':
      return t.statusYielding !== undefined ? t.statusYielding().then((v) => ({ ok: true, result: v })) : { ok: true, result: t.status() };
    case 'show-ipsec':
      return { ok: true, result: t.ipsecView() };
    case 'clear-tunnel':
      return clearTunnel(t, req.tunnel);
    case 'clear-session':
      return clearSession(t, req.session, req.tunnel);
    case 'dial':
    case 'hangup':
      return dialOrHangup(t, req.cmd, req.lac);
    case 'show-radius': {
      const v = t.radiusView?.();
      return v === undefined ? { ok: false, error: 'RADIUS is not configured (no [radius] section)' } : { ok: true, result: v };
    }
    case 'credentials':
      return { ok: true, result: t.credentials.view() };
    case 'rotate-credentials':
      return rotate(t, req.what);
    case 'user-add':
      return userAdd(t, req.username, req.password);
    case 'client-credentials':
      return t.clientCredentials?.(req.user) ?? { ok: false, error: 'client credentials are not available' };
    case 'status-page':
      return t.statusPage?.() ?? { ok: false, error: 'the status page is off ([status] listen)' };
  }
}

async function rotate(t: ControlTarget, what: 'psk' | 'password' | 'all'): Promise<ControlResponse> {
  const r = await t.credentials.rotate(what);
  if (!r.ok) return { ok: false, error: r.error };
  // Which secret changed, never its value.
  t.log.info({ what }, `credentials rotated (${what}) (l2tpctl)`);
  return { ok: true, result: r.value };
}

async function userAdd(t: ControlTarget, username: string, password: string | undefined): Promise<ControlResponse> {
  const r = await t.credentials.addUser(username, password);
  if (!r.ok) return { ok: false, error: r.error };
  t.log.info({ user: username, usersFile: r.value.usersFile }, `user ${username} added to ${r.value.usersFile} (l2tpctl)`);
  return { ok: true, result: r.value };
}

function clearTunnel(t: ControlTarget, id: number): ControlResponse {
  const hits = t.tunnels().filter((x) => x.info.localTunnelId === id && x.info.state !== 'closed');
  if (hits.length > 1) return { ok: false, error: `tunnel id ${id} is ambiguous (${hits.length} listeners)` };
  const [hit] = hits;
  if (hit === undefined) return t.clearL2tpv3?.('tunnel', id) === true ? { ok: true, result: { cleared: `L2TPv3 tunnel ${id}` } } : { ok: false, error: `no such tunnel ${id}` };
  t.log.info({ tunnel: id }, `clear tunnel ${id} (l2tpctl)`);
  hit.endpoint.run((now, engine) => {
    engine.closeTunnel(now, hit.info.localTunnelId, CLEAR_TUNNEL_RESULT);
  });
  return { ok: true, result: { cleared: `tunnel ${id}` } };
}

function clearSession(t: ControlTarget, session: number, tunnel: number | undefined): ControlResponse {
  const hits = t.tunnels().flatMap((x) =>
    x.info.sessions
      .filter((s) => s.localSessionId === session && s.state !== 'closed')
      .filter(() => tunnel === undefined || x.info.localTunnelId === tunnel)
      .map((s) => ({ endpoint: x.endpoint, tunnel: x.info.localTunnelId, session: s.localSessionId })),
  );
  const name = tunnel === undefined ? `session ${session}` : `session ${tunnel}/${session}`;
  if (hits.length > 1) return { ok: false, error: `session id ${session} is not unique; use TUNNEL/SESSION` };
  const [hit] = hits;
  if (hit === undefined) {
    if (tunnel === undefined && t.clearL2tpv3?.('session', session) === true) return { ok: true, result: { cleared: `L2TPv3 session ${session}` } };
    return { ok: false, error: `no such ${name}` };
  }
  t.log.info({ tunnel: hit.tunnel, session: hit.session }, `clear session ${hit.tunnel}/${hit.session} (l2tpctl)`);
  hit.endpoint.run((now, engine) => {
    engine.closeSession(now, hit.tunnel, hit.session, CLEAR_SESSION_RESULT);
  });
  return { ok: true, result: { cleared: `session ${hit.tunnel}/${hit.session}` } };
}

function dialOrHangup(t: ControlTarget, cmd: 'dial' | 'hangup', name: string): ControlResponse {
  const lac = t.lacs.find((l) => l.config.name === name);
  if (lac === undefined) {
    const known = t.lacs.map((l) => l.config.name);
    return { ok: false, error: `no such LAC "${name}"${known.length > 0 ? ` (configured: ${known.join(', ')})` : ' (no [[lac]] configured)'}` };
  }
  const before = lac.info().state;
  t.log.info({ lac: name, state: before }, `${cmd} LAC ${name} (l2tpctl)`);
  if (cmd === 'dial') lac.dial();
  else lac.hangup();
  return { ok: true, result: { lac: name, was: before, state: lac.info().state } };
}
