/**
 * `[radius]` in the daemon: the RADIUS client core with its UDP shell and the durable accounting
 * spool (src/io), the Dynamic Authorization server (RFC 5176) bound to the LNS's session table, and
 * the glue to the access server: `auth-request` events are decided by the configured chain (RADIUS,
 * the users file, fallback rules) and answered with `authResult`; `accounting` events are queued as
 * RFC 2866 records; Accounting-On at start and Accounting-Off at stop (RFC 2866 §5.1). Logs never
 * carry a secret or a password.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type Instant, type RandomSource, since } from '../base/index.js';
import { type AccountingRecord, type DaeEvent, DaeServer, type DaeSessionTable, RadiusClient, type RadiusClientEvent, type RadiusServerConfig } from '../aaa/radius/index.js';
import { type Authorization, firstStep, localAnswer, nextStep, resultFromRadius, type AccessAaaConfig, type AccessAuthResult, type AccessEvent, type BackendAnswer, type ChainStep, type UserDirectory } from '../access/index.js';
import { DaeSocket, RadiusClientShell, RadiusSpool, type Clock, type TimerDriver } from '../io/index.js';
import type { AuthRequest } from '../ppp/index.js';
import type { RadiusSection, RadiusServerSection } from './config.js';
import type { Logger } from './logger.js';
import type { RadiusView } from './control-protocol.js';
import { radiusView } from './radius-view.js';
import { DEFAULT_RADIUS_SPOOL } from './config/schema-radius.js';

/** What the RADIUS shell needs from the LNS (the access shell implements it). */
export interface RadiusAccessPort {
  /** The users file, for `local` in auth_order. */
  readonly users: UserDirectory;
  /** Answer an `auth-request` (runs the access server's pump). */
  authResult(tunnel: number, session: number, r: AccessAuthResult): void;
  /** The RFC 5176 session table, each operation run on the access server's pump. */
  daeTable(): DaeSessionTable<number>;
}

/** Options of the RADIUS shell. */
export interface RadiusShellOptions {
  readonly config: RadiusSection;
  readonly log: Logger;
  readonly clock: Clock;
  readonly timers: TimerDriver;
  readonly random: RandomSource;
  /** Where the spool goes when `[radius] spool` is not given. */
  readonly stateDir: string;
  /** Our L2TP listener address (Tunnel-Server-Endpoint) and Host Name (Tunnel-Server-Auth-Id). */
  readonly tunnelServer: { readonly endpoint?: string; readonly hostName: string };
}

/** Wall-clock unix ms of a monotonic instant. */
const wallClockOf = (clock: Clock) => (now: number): number => Date.now() - (clock.now() - now);

/** The RadiusClient server configs of one role. */
function serverConfigs(servers: readonly RadiusServerSection[], role: 'auth' | 'acct'): RadiusServerConfig[] {
  return servers
    .filter((s) => s.role.includes(role))
    .map((s) => ({
      name: s.name,
      address: s.address,
      port: role === 'auth' ? s.authPort : s.acctPort,
      secret: s.secret,
      timeoutMs: s.timeout,
      retries: s.retries,
      priority: s.priority,
      weight: s.weight,
      deadTimeMs: s.deadTime,
      ...(s.sourceAddress !== undefined ? { sourceAddress: s.sourceAddress } : {}),
      requireMessageAuthenticator: s.requireMessageAuthenticator,
      statusServer: s.statusServer,
    }));
}

/** The RADIUS client, spool and DAE server of the daemon. */
export class RadiusShell {
  /** Settings for the access server's AAA part. */
  readonly accessConfig: AccessAaaConfig;
  private dae: { socket: DaeSocket<number>; core: DaeServer<number> } | undefined;
  private access: RadiusAccessPort | undefined;
  private readonly prefix: string;
  private offSeq: number | undefined;
  private offDelivered: (() => void) | undefined;
  private deferredLogged = false;

  private constructor(
    private readonly o: RadiusShellOptions,
    private readonly core: RadiusClient,
    private readonly shell: RadiusClientShell,
    private readonly spool: RadiusSpool | undefined,
    private readonly spoolPath: string | undefined,
    private readonly startedAt: Instant,
  ) {
    const c = o.config;
    // Acct-Session-Id prefix: the start second and 16 random bits, unique across restarts.
    const rnd = Buffer.from(o.random.bytes(2)).toString('hex');
    this.prefix = `${Math.floor(Date.now() / 1000).toString(16).padStart(8, '0')}${rnd}-`;
    this.accessConfig = {
      external: c.authOrder.includes('radius'),
      accounting: c.servers.some((s) => s.role.includes('acct')),
      sessionIdPrefix: this.prefix,
      wallClock: wallClockOf(o.clock),
      ...(c.interimInterval > 0 ? { interimInterval: c.interimInterval } : {}),
      interimMinimum: c.interimMinimum,
      tunnelServer: { ...(o.tunnelServer.endpoint !== undefined ? { endpoint: o.tunnelServer.endpoint } : {}), hostName: o.tunnelServer.hostName },
    };
  }

  /** Open the spool (and replay what an earlier run left, in order), create the client. */
  static async open(o: RadiusShellOptions): Promise<RadiusShell> {
    const c = o.config;
    let spool: RadiusSpool | undefined;
    let restored: Awaited<ReturnType<typeof RadiusSpool.open>>['records'] = [];
    const accounting = c.servers.some((s) => s.role.includes('acct'));
    const path = c.spool === null ? undefined : (c.spool ?? join(o.stateDir, DEFAULT_RADIUS_SPOOL));
    if (path !== undefined && accounting) {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const opened = await RadiusSpool.open({ path, maxBytes: c.spoolMaxMb * 1024 * 1024 });
      await chmod(path, 0o600);
      spool = opened.spool;
      restored = opened.records;
      if (opened.damaged > 0) o.log.warn({ spool: path, damaged: opened.damaged }, `RADIUS spool ${path}: ${opened.damaged} damaged line(s) skipped (a torn write at a crash)`);
    }
    const core = new RadiusClient({
      authServers: serverConfigs(c.servers, 'auth'),
      accountingServers: serverConfigs(c.servers, 'acct'),
      nas: c.nas,
      random: o.random,
      wallClock: wallClockOf(o.clock),
      accounting: { durable: spool !== undefined, retryIntervalMs: c.retryInterval },
    });
    const ref: { self?: RadiusShell } = {};
    const shell = new RadiusClientShell({
      core,
      clock: o.clock,
      timers: o.timers,
      ...(spool !== undefined ? { spool } : {}),
      onEvent: (e) => ref.self?.onClientEvent(e),
      onError: (e) => {
        o.log.error({ err: e.message }, `RADIUS: ${e.message}`);
      },
    });
    const self = new RadiusShell(o, core, shell, spool, path, o.clock.now());
    ref.self = self;
    if (restored.length > 0) {
      shell.run((now, cl) => cl.restoreAccounting(now, restored));
      o.log.info({ records: restored.length, spool: path }, `RADIUS: ${restored.length} accounting record(s) from the spool will be sent first, in their order`);
    }
    return self;
  }

  /** Bind the LNS: its users file, its answers, its DAE session table; open the DAE socket; send Accounting-On. */
  async attach(access: RadiusAccessPort): Promise<void> {
    this.access = access;
    const d = this.o.config.dae;
    if (d !== undefined) {
      const core = new DaeServer<number>({
        clients: d.clients.map((cl) => ({ name: cl.name, address: cl.address, secret: cl.secret, requireMessageAuthenticator: cl.requireMessageAuthenticator })),
        sessions: access.daeTable(),
        nas: this.o.config.nas,
        wallClock: wallClockOf(this.o.clock),
        eventTimestampWindowSec: d.eventTimestampWindow,
        requireEventTimestamp: d.requireEventTimestamp,
      });
      const socket = await DaeSocket.open({
        core,
        address: d.listen.host,
        port: d.listen.port,
        clock: this.o.clock,
        timers: this.o.timers,
        onEvent: (e) => {
          this.logDae(e);
        },
        onError: (e) => {
          this.o.log.warn({ err: e.message }, `RADIUS DAE socket: ${e.message}`);
        },
      });
      this.dae = { socket, core };
    }
    this.accountStatus('accounting-on');
  }

  /** The DAE socket's bound address, when configured. */
  get daeLocal(): { readonly address: string; readonly port: number } | undefined {
    return this.dae?.socket.local;
  }

  /** One event of the access server (after the access shell logged it). */
  onAccessEvent(e: AccessEvent): void {
    if (e.type === 'auth-request') void this.decide(e);
    else if (e.type === 'accounting') this.account(e.record);
    else if (e.type === 'authorized' && e.ignored.length > 0) {
      this.o.log.warn({ tunnel: e.tunnel, session: e.session, user: e.username, ignored: e.ignored }, `PPP[${e.tunnel}/${e.session}] ${e.username}: not honoured: ${e.ignored.join('; ')}`);
    }
  }

  /** `l2tpctl show radius`. */
  view(): RadiusView {
    return radiusView(this.o.clock.now(), this.core.snapshot(), {
      spool: this.spool,
      spoolPath: this.spoolPath,
      spoolErrors: this.shell.stats.spoolErrors,
      dae: this.dae === undefined ? undefined : { core: this.dae.core, listen: this.dae.socket.local, clients: this.o.config.dae?.clients ?? [] },
    });
  }

  /**
   * Stop: Accounting-Off after every record before it (a barrier in the core), then wait up to
   * `graceMs` for the servers to answer; what is not answered stays in the spool for the next start.
   */
  async close(graceMs: number): Promise<void> {
    const off = this.accountStatus('accounting-off');
    if (off !== undefined) {
      const delivered = new Promise<void>((r) => (this.offDelivered = r));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
      await Promise.race([delivered, timeout]);
      clearTimeout(timer);
      const left = this.core.snapshot().accountingQueued;
      if (left > 0) this.o.log.warn({ records: left }, `RADIUS: ${left} accounting record(s) unanswered at stop${this.spool !== undefined ? ' stay in the spool for the next start' : ' are lost (no spool)'}`);
    }
    await this.dae?.socket.close();
    await this.shell.flushSpool();
    await this.shell.close();
    await this.spool?.close();
  }

  /** Run the auth chain for one request and answer the access server. */
  private async decide(e: Extract<AccessEvent, { type: 'auth-request' }>): Promise<void> {
    const chain = { order: this.o.config.authOrder, fallbackOn: this.o.config.fallback };
    const access = this.access;
    if (access === undefined) return;
    let step: ChainStep = firstStep(chain);
    while ('next' in step) {
      const answer: BackendAnswer = step.next === 'local' ? localAnswer(e.request, access.users) : await this.askRadius(e);
      step = nextStep(chain, step.index, answer, step.tried);
    }
    const r = step.done;
    const id = `${e.tunnel}/${e.session}`;
    const user = e.request.username;
    if (!r.decision.ok) {
      const why = r.decision.message ?? 'rejected';
      this.o.log.warn(
        { tunnel: e.tunnel, session: e.session, user, auth: e.request.method, source: r.source, server: r.server, replyMessage: r.decision.message, tried: step.tried },
        `PPP[${id}] ${r.source === 'radius' ? `RADIUS${r.server !== undefined ? ` ${r.server}` : ''}` : 'users file'} rejected ${user}: "${why}"${step.tried.length > 0 ? ` (${step.tried.join('; ')})` : ''}`,
      );
    } else {
      this.o.log.info({ tunnel: e.tunnel, session: e.session, user, auth: e.request.method, source: r.source, server: r.server }, `PPP[${id}] ${user} accepted by ${r.source === 'radius' ? `RADIUS ${r.server ?? ''}`.trim() : 'the users file'}`);
    }
    access.authResult(e.tunnel, e.session, r);
  }

  private async askRadius(e: Extract<AccessEvent, { type: 'auth-request' }>): Promise<BackendAnswer> {
    const { username, ...credentials } = e.request;
    const a = await this.shell.authenticate({ username, credentials, ...(e.attributes !== undefined ? { session: e.attributes } : {}) });
    const r = resultFromRadius(a, e.request.method);
    if (r !== undefined) return { kind: 'decided', result: r };
    return { kind: 'no-answer', why: a.kind === 'timeout' ? `no answer from ${a.servers.join(', ') || 'any server'}` : `request not sent (${a.kind === 'error' ? a.error.kind : a.kind})` };
  }

  /**
   * LAC tunnel selection: an Access-Request with the subscriber's captured PAP/CHAP; the Accept's
   * RFC 2868 tunnel groups (Tunnel-Password decrypted), a reject, or no answer. Never logs secrets.
   */
  async authorizeLac(request: AuthRequest): Promise<Authorization> {
    const { username, ...credentials } = request;
    const a = await this.shell.authenticate({ username, credentials });
    if (a.kind === 'accept') {
      const tunnels = a.reply.tunnels.map(({ type, privateGroupId: _p, ...g }) => ({ ...g, ...(type !== undefined ? { tunnelType: type } : {}) }));
      this.o.log.info({ user: username, server: a.server, tunnels: tunnels.map((t) => ({ tag: t.tag, endpoint: t.serverEndpoint, preference: t.preference, assignmentId: t.assignmentId })) }, `LAC: RADIUS ${a.server} accepted ${username} (${tunnels.length} tunnel group(s))`);
      return { kind: 'accept', tunnels };
    }
    if (a.kind === 'reject') {
      this.o.log.warn({ user: username, server: a.server }, `LAC: RADIUS ${a.server} rejected ${username}`);
      return { kind: 'reject', ...(a.reply.replyMessages[0] !== undefined ? { message: a.reply.replyMessages[0] } : {}) };
    }
    this.o.log.warn({ user: username, answer: a.kind }, `LAC: no RADIUS answer for ${username} (${a.kind}); the domain map decides`);
    return { kind: 'no-answer' };
  }

  /** Queues one record (session or NAS status); logs it as queued, with its sequence number. */
  private account(record: AccountingRecord): number | undefined {
    const r = this.shell.account(record);
    if (!r.ok) {
      this.o.log.error({ acctSessionId: record.sessionId, status: record.status, err: r.error.kind }, `RADIUS accounting ${record.status} for ${record.sessionId} refused: ${r.error.kind}`);
      return undefined;
    }
    this.o.log.debug(
      { acct: record.status, acctSessionId: record.sessionId, seq: r.value, user: record.username, cause: record.terminateCause, ...record.counters },
      `RADIUS accounting ${record.status} queued for ${record.sessionId} (seq ${r.value})`,
    );
    return r.value;
  }

  /** Accounting-On / -Off (RFC 2866 §5.1); returns the record's sequence number. */
  private accountStatus(status: 'accounting-on' | 'accounting-off'): number | undefined {
    if (!this.accessConfig.accounting) return undefined;
    const seq = this.account({ status, sessionId: `${this.prefix}00000000`, timestamp: Date.now(), ...(status === 'accounting-off' ? { sessionTime: Math.floor(since(this.o.clock.now(), this.startedAt) / 1000) } : {}) });
    if (status === 'accounting-off' && seq !== undefined) this.offSeq = seq;
    return seq;
  }

  private onClientEvent(e: RadiusClientEvent): void {
    const log = this.o.log;
    switch (e.type) {
      case 'server-down':
        log.warn({ server: e.server, role: e.kind }, `RADIUS ${e.kind} server ${e.server} is dead (no answer); failing over`);
        break;
      case 'server-up':
        log.info({ server: e.server, role: e.kind, via: e.via }, `RADIUS ${e.kind} server ${e.server} is alive again (${e.via})`);
        break;
      case 'accounting-deferred':
        if (!this.deferredLogged) log.warn({ seq: e.seq }, 'RADIUS: no accounting server answers; records wait in the queue/spool and are retried');
        this.deferredLogged = true;
        break;
      case 'accounting-delivered':
        this.deferredLogged = false;
        log.debug({ acct: e.record.status, acctSessionId: e.record.sessionId, seq: e.seq, server: e.server }, `RADIUS accounting ${e.record.status} for ${e.record.sessionId} answered by ${e.server}`);
        if (e.seq === this.offSeq) this.offDelivered?.();
        break;
      case 'datagram-dropped':
        log.debug({ server: e.server, reason: e.reason }, `RADIUS: dropped a datagram (${e.reason})`);
        break;
      default:
        break;
    }
  }

  private logDae(e: DaeEvent): void {
    const log = this.o.log;
    if (e.type === 'dropped') log.warn({ client: e.client, from: e.from, reason: e.reason }, `RADIUS DAE: dropped a request from ${e.from} (${e.reason})`);
    else if (e.type === 'duplicate') log.info({ client: e.client, identifier: e.identifier }, `RADIUS DAE: duplicate request from ${e.client}, answered again`);
    else {
      log.info(
        { client: e.client, request: e.request, ack: e.ack, errorCause: e.errorCause, sessions: e.sessions, identity: e.identity, changes: e.changes },
        `RADIUS DAE ${e.request} from ${e.client}: ${e.ack ? 'ACK' : `NAK (Error-Cause ${e.errorCause ?? '?'})`}, ${e.sessions} session(s)`,
      );
    }
  }
}
