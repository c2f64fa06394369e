/**
 * The RADIUS client core (sans-I/O): authentication (RFC 2865) and accounting (RFC 2866) against
 * several servers with retransmission, failover, dead-time and Status-Server probes (RFC 5997).
 * Driven like every core: `handleDatagram(now, data, from)`, `handleTimeout(now)`, `pollAt()`,
 * `pollTransmit()`, `pollEvent()`; plus `pollSpool()` / `spoolCommitted()` for the accounting spool.
 *
 * Matching (RFC 2865 §3, RFC 5080 §2.2): a response counts only when it comes from the server's
 * address and port, its Identifier is pending there, its Response Authenticator verifies against
 * that request's authenticator and — for Access-* answers, unless the server's knob is off — its
 * Message-Authenticator is present and valid (Blast-RADIUS, CVE-2024-3596). Anything else is
 * dropped and counted; a pending request is never completed by a forged answer.
 *
 * Retransmission: an Access-Request is resent unchanged (same Identifier and authenticator, RFC
 * 5080 §2.2.1) every `timeoutMs`, `retries` times; an Accounting-Request is rebuilt with the new
 * Acct-Delay-Time (RFC 2866 §5.2), which changes its Request Authenticator and takes a new
 * Identifier — the old ones stay reserved so a late answer to any of them still completes it.
 */
import { addDuration, DeadlineHeap, err, Fifo, type Instant, millis, ok, type RandomSource, type Result } from '../../base/index.js';
import {
  RADIUS_CODE,
  checkAuthenticators,
  encodeSignedPacket,
  parseRadiusPacket,
  radiusLengthOf,
  type RadiusDictionary,
  type RadiusPacket,
  type RadiusWireError,
} from '../../wire/radius/index.js';
import { AccountingQueue, type AcctEntry } from './accounting-queue.js';
import { decodeReply } from './reply.js';
import { accessRequestAttributes, accountingRequestAttributes } from './request.js';
import { RadiusServer, selectServer } from './servers.js';
import type {
  AccountingRecord,
  AccountingSeq,
  NasIdentity,
  RadiusAuthAnswer,
  RadiusAuthRequest,
  RadiusClientEvent,
  RadiusClientSnapshot,
  RadiusDropReason,
  RadiusRequestId,
  RadiusServerConfig,
  RadiusTransmit,
  SpooledRecord,
  SpoolWork,
} from './types.js';

/** Options of a RadiusClient. */
export interface RadiusClientOptions {
  readonly authServers?: readonly RadiusServerConfig[];
  readonly accountingServers?: readonly RadiusServerConfig[];
  /** NAS-IP-Address / NAS-IPv6-Address / NAS-Identifier of every request (RFC 2865 §4.1 needs one). */
  readonly nas: NasIdentity;
  readonly random: RandomSource;
  /** Wall-clock unix milliseconds at monotonic `now` (Event-Timestamp, Acct-Delay-Time). */
  readonly wallClock: (now: Instant) => number;
  /** Extra dictionary rows for decoding replies (default: the built-in rows). */
  readonly dictionary?: RadiusDictionary;
  readonly accounting?: {
    /** Records in flight at once over all accounting servers (default 32). */
    readonly maxInFlight?: number;
    /** Records kept queued at most; beyond it `account` refuses (default 100000). */
    readonly maxQueued?: number;
    /** Send a record only after `spoolCommitted` covered it (default false). */
    readonly durable?: boolean;
    /** Wait after every server failed a record before the next round (ms, default 5000). */
    readonly retryIntervalMs?: number;
  };
}

type Server = RadiusServer<Tx>;

interface AuthJob {
  readonly id: RadiusRequestId;
  readonly request: RadiusAuthRequest;
  readonly tried: Set<Server>;
  tx: Tx | undefined;
}

/** One packet in flight to one server (what an Identifier belongs to). */
interface Tx {
  readonly key: number;
  readonly kind: 'auth' | 'acct' | 'probe';
  readonly server: Server;
  readonly ids: number[];
  data: Uint8Array;
  /** Authenticator of the last packet sent (for auth, the only one). */
  authenticator: Uint8Array;
  sends: number;
  lastSentAt: Instant;
  deadline: Instant;
  readonly auth: AuthJob | undefined;
  readonly acct: AcctEntry<Server> | undefined;
}

/** The client core. */
export class RadiusClient {
  private readonly auth: Server[];
  private readonly acct: Server[];
  private readonly bySource = new Map<string, Server[]>();
  private readonly txs = new Map<number, Tx>();
  private readonly timers = new DeadlineHeap();
  private readonly jobs = new Map<RadiusRequestId, AuthJob>();
  private readonly authWaiting = new Fifo<AuthJob>();
  private readonly queue: AccountingQueue<Server>;
  private readonly transmits = new Fifo<RadiusTransmit>();
  private readonly events = new Fifo<RadiusClientEvent>();
  private readonly probes = new Map<Server, Tx>();
  private nextKey = 1;
  private nextRequest = 1;
  private nextAcctRetry: Instant | undefined = undefined;
  private unknownSource = 0;
  private readonly maxInFlight: number;
  private readonly retryIntervalMs: number;

  constructor(private readonly o: RadiusClientOptions) {
    this.auth = (o.authServers ?? []).map((c) => new RadiusServer<Tx>('auth', c, o.random));
    this.acct = (o.accountingServers ?? []).map((c) => new RadiusServer<Tx>('acct', c, o.random));
    for (const s of [...this.auth, ...this.acct]) {
      const k = `${s.address}|${s.port}`;
      this.bySource.set(k, [...(this.bySource.get(k) ?? []), s]);
    }
    this.queue = new AccountingQueue<Server>(o.accounting?.durable ?? false, o.accounting?.maxQueued ?? 100_000);
    this.maxInFlight = Math.max(1, o.accounting?.maxInFlight ?? 32);
    this.retryIntervalMs = Math.max(1, o.accounting?.retryIntervalMs ?? 5000);
  }

  // ------------------------------------------------------------------ public drive interface

  /** Start an authentication; its `auth-answer` event carries the returned id. */
  authenticate(now: Instant, request: RadiusAuthRequest): RadiusRequestId {
    const id = this.nextRequest++ as RadiusRequestId;
    const job: AuthJob = { id, request, tried: new Set(), tx: undefined };
    this.jobs.set(id, job);
    this.dispatchAuth(job, now);
    return id;
  }

  /** Forget an authentication nobody waits for any more (the session went away); no answer follows. */
  cancel(id: RadiusRequestId): void {
    const job = this.jobs.get(id);
    if (job === undefined) return;
    this.jobs.delete(id);
    if (job.tx !== undefined) this.finishTx(job.tx);
  }

  /**
   * Queue an accounting record (sequence number returned). Refused when it cannot be encoded
   * (checked now, so a record that is queued can always be sent) or the queue is at its bound.
   */
  account(now: Instant, record: AccountingRecord): Result<AccountingSeq, RadiusWireError | { readonly kind: 'queue-full'; readonly depth: number }> {
    const check = accountingRequestAttributes(record, this.o.nas, 0);
    if (!check.ok) return check;
    const e = this.queue.append(record);
    if (e === undefined) return err({ kind: 'queue-full', depth: this.queue.depth });
    this.pumpAccounting(now);
    return ok(e.seq);
  }

  /** Records of an earlier run, from the spool (call before the first `account`). */
  restoreAccounting(now: Instant, records: readonly SpooledRecord[]): number {
    const n = this.queue.restore(records);
    this.pumpAccounting(now);
    return n;
  }

  /** The spool wrote every record up to `seq` (durable mode sends them from now on). */
  spoolCommitted(now: Instant, seq: AccountingSeq): void {
    this.queue.committed(seq);
    this.pumpAccounting(now);
  }

  /** A datagram from `from` on one of the shell's sockets. */
  handleDatagram(now: Instant, data: Uint8Array, from: { readonly address: string; readonly port: number }): void {
    const servers = this.bySource.get(`${from.address}|${from.port}`);
    if (servers === undefined) {
      this.unknownSource++;
      this.drop(undefined, 'unknown-source');
      return;
    }
    const len = radiusLengthOf(data);
    const server0 = servers[0] as Server;
    if (!len.ok) {
      server0.stats.malformed++;
      this.drop(server0, 'malformed');
      return;
    }
    const id = data[1] as number;
    // Auth and accounting on the same address:port are distinct servers; the Identifier tells which.
    const server = servers.find((s) => s.slot(id) !== undefined) ?? server0;
    const slot = server.slot(id);
    if (slot === undefined) {
      server.stats.unmatched++;
      this.drop(server, 'no-pending-request');
      return;
    }
    this.handleResponse(now, server, slot.owner, slot.authenticator, data);
  }

  /** Run due timers: retransmissions, failovers, dead-time ends, probes, deferred records. */
  handleTimeout(now: Instant): void {
    for (;;) {
      const at = this.timers.peekAt();
      if (at === undefined || at > now) break;
      const key = this.timers.peekKey() as number;
      this.timers.pop();
      const tx = this.txs.get(key);
      if (tx !== undefined && tx.deadline === at) this.onTxTimeout(tx, now);
    }
    for (const s of [...this.auth, ...this.acct]) {
      if (s.state !== 'dead' || s.deadUntil === undefined || s.deadUntil > now) continue;
      if (s.statusServer) {
        if (!this.probes.has(s)) this.sendProbe(s, now);
      } else if (s.markAlive()) {
        this.events.push({ type: 'server-up', server: s.name, kind: s.kind, via: 'dead-time-over' });
      }
    }
    this.pumpAuthWaiting(now);
    this.pumpAccounting(now);
  }

  /** The next instant `handleTimeout` has work, or undefined. */
  pollAt(): Instant | undefined {
    let at: Instant | undefined;
    for (;;) {
      const t = this.timers.peekAt();
      if (t === undefined) break;
      const tx = this.txs.get(this.timers.peekKey() as number);
      if (tx !== undefined && tx.deadline === t) {
        at = t as Instant;
        break;
      }
      this.timers.pop();
    }
    const consider = (t: Instant | undefined): void => {
      if (t !== undefined && (at === undefined || t < at)) at = t;
    };
    for (const s of [...this.auth, ...this.acct]) if (s.state === 'dead' && !this.probes.has(s)) consider(s.deadUntil);
    consider(this.nextAcctRetry);
    return at;
  }

  /** Next datagram to send. */
  pollTransmit(): RadiusTransmit | undefined {
    return this.transmits.shift();
  }

  /** Next event. */
  pollEvent(): RadiusClientEvent | undefined {
    return this.events.shift();
  }

  /** Next piece of spool work (append records / acknowledge delivered ones), in order. */
  pollSpool(): SpoolWork | undefined {
    return this.queue.pollSpool();
  }

  /** State and counters for `show radius`. */
  snapshot(): RadiusClientSnapshot {
    return {
      servers: [...this.auth, ...this.acct].map((s) => s.snapshot()),
      pendingAuth: this.jobs.size,
      accountingQueued: this.queue.depth,
      accountingInFlight: this.queue.sending,
      spoolUncommitted: this.queue.uncommitted,
      unknownSource: this.unknownSource,
    };
  }

  // ------------------------------------------------------------------ authentication

  private dispatchAuth(job: AuthJob, now: Instant): void {
    const server = selectServer(this.auth, job.tried, now, this.o.random);
    if (server === undefined) {
      this.answer(job, { kind: 'timeout', servers: [...job.tried].map((s) => s.name) });
      return;
    }
    const ra = this.o.random.bytes(16);
    const attrs = accessRequestAttributes(job.request, this.o.nas, { secret: server.secret, requestAuthenticator: ra });
    if (!attrs.ok) {
      this.answer(job, { kind: 'error', error: attrs.error });
      return;
    }
    const tx = this.newTx('auth', server, now, job, undefined);
    const id = server.allocateId(tx, ra);
    if (id === undefined) {
      this.authWaiting.push(job);
      return;
    }
    const data = encodeSignedPacket({ code: RADIUS_CODE.AccessRequest, identifier: id, attributes: attrs.value, messageAuthenticator: true }, server.secret, ra);
    if (!data.ok) {
      server.releaseId(id, tx);
      this.answer(job, { kind: 'error', error: data.error });
      return;
    }
    tx.ids.push(id);
    tx.data = data.value;
    tx.authenticator = ra;
    job.tx = tx;
    this.send(tx, now);
  }

  private pumpAuthWaiting(now: Instant): void {
    for (let n = this.authWaiting.length; n > 0; n--) {
      const job = this.authWaiting.shift() as AuthJob;
      if (this.jobs.has(job.id)) this.dispatchAuth(job, now);
    }
  }

  private answer(job: AuthJob, answer: RadiusAuthAnswer): void {
    if (!this.jobs.delete(job.id)) return;
    this.events.push({ type: 'auth-answer', request: job.id, answer });
  }

  // ------------------------------------------------------------------ accounting

  private pumpAccounting(now: Instant): void {
    if (this.acct.length === 0) return;
    const room = this.maxInFlight - this.queue.sending;
    const { entries, nextRetryAt } = this.queue.sendable(now, Math.max(0, room));
    this.nextAcctRetry = nextRetryAt;
    for (const e of entries) {
      if (!this.dispatchAcct(e, now)) break;
    }
  }

  /** Send a record to the next server; false when no Identifier is free there (try again later). */
  private dispatchAcct(e: AcctEntry<Server>, now: Instant): boolean {
    const server = selectServer(this.acct, e.tried, now, this.o.random);
    if (server === undefined) {
      e.tried.clear();
      const retryAt = addDuration(now, millis(this.retryIntervalMs));
      this.queue.markWaiting(e, retryAt);
      this.events.push({ type: 'accounting-deferred', seq: e.seq, retryAt });
      if (this.nextAcctRetry === undefined || retryAt < this.nextAcctRetry) this.nextAcctRetry = retryAt;
      return true;
    }
    const tx = this.newTx('acct', server, now, undefined, e);
    if (!this.buildAcct(tx, now)) return false;
    this.queue.markInFlight(e);
    this.send(tx, now);
    return true;
  }

  /** (Re)build an Accounting-Request with the current Acct-Delay-Time under a new Identifier. */
  private buildAcct(tx: Tx, now: Instant): boolean {
    const e = tx.acct as AcctEntry<Server>;
    const delay = Math.max(0, Math.floor((this.o.wallClock(now) - e.record.timestamp) / 1000));
    const attrs = accountingRequestAttributes(e.record, this.o.nas, delay);
    if (!attrs.ok) return false; // cannot happen: `account` checked the record
    const id = tx.server.allocateId(tx, new Uint8Array(16));
    if (id === undefined) return false;
    const data = encodeSignedPacket({ code: RADIUS_CODE.AccountingRequest, identifier: id, attributes: attrs.value }, tx.server.secret);
    if (!data.ok) {
      tx.server.releaseId(id, tx);
      return false;
    }
    tx.ids.push(id);
    tx.data = data.value;
    tx.authenticator = data.value.slice(4, 20);
    tx.server.setAuthenticator(id, tx, tx.authenticator);
    return true;
  }

  // ------------------------------------------------------------------ Status-Server (RFC 5997)

  private sendProbe(server: Server, now: Instant): void {
    const ra = this.o.random.bytes(16);
    const tx = this.newTx('probe', server, now, undefined, undefined);
    const id = server.allocateId(tx, ra);
    if (id === undefined) return;
    // RFC 5997 §3: Status-Server carries a Message-Authenticator; Access-Request rules otherwise.
    const data = encodeSignedPacket({ code: RADIUS_CODE.StatusServer, identifier: id, attributes: [], messageAuthenticator: true }, server.secret, ra);
    if (!data.ok) {
      server.releaseId(id, tx);
      return;
    }
    tx.ids.push(id);
    tx.data = data.value;
    tx.authenticator = ra;
    this.probes.set(server, tx);
    server.stats.statusProbes++;
    this.send(tx, now);
  }

  // ------------------------------------------------------------------ transactions

  private newTx(kind: Tx['kind'], server: Server, now: Instant, auth: AuthJob | undefined, acct: AcctEntry<Server> | undefined): Tx {
    return { key: this.nextKey++, kind, server, ids: [], data: new Uint8Array(0), authenticator: new Uint8Array(16), sends: 0, lastSentAt: now, deadline: now, auth, acct };
  }

  private send(tx: Tx, now: Instant): void {
    if (tx.sends === 0) {
      if (tx.kind !== 'probe') tx.server.stats.requests++;
      this.txs.set(tx.key, tx);
    } else tx.server.stats.retransmissions++;
    tx.sends++;
    tx.lastSentAt = now;
    tx.deadline = addDuration(now, millis(tx.server.timeoutMs));
    this.timers.push(tx.deadline, tx.key);
    this.transmits.push({ server: tx.server.name, to: { address: tx.server.address, port: tx.server.port }, from: tx.server.sourceAddress, data: tx.data });
  }

  private finishTx(tx: Tx): void {
    this.txs.delete(tx.key);
    for (const id of tx.ids) tx.server.releaseId(id, tx);
    if (tx.kind === 'probe' && this.probes.get(tx.server) === tx) this.probes.delete(tx.server);
  }

  private onTxTimeout(tx: Tx, now: Instant): void {
    const s = tx.server;
    if (tx.sends <= s.retries) {
      // Access-Request / Status-Server: resent as is; Accounting-Request: new Acct-Delay-Time and Identifier.
      if (tx.kind === 'acct') this.buildAcct(tx, now);
      this.send(tx, now);
      return;
    }
    this.finishTx(tx);
    if (tx.kind === 'probe') {
      s.markDead(now);
      return;
    }
    s.stats.timeouts++;
    if (s.state === 'alive' && s.markDead(now)) this.events.push({ type: 'server-down', server: s.name, kind: s.kind, until: s.deadUntil });
    if (tx.auth !== undefined) {
      tx.auth.tried.add(s);
      tx.auth.tx = undefined;
      if (this.jobs.has(tx.auth.id)) this.dispatchAuth(tx.auth, now);
    } else if (tx.acct !== undefined) {
      tx.acct.tried.add(s);
      this.queue.markWaiting(tx.acct, undefined);
      this.pumpAccounting(now);
    }
    this.pumpAuthWaiting(now);
  }

  // ------------------------------------------------------------------ responses

  private drop(server: Server | undefined, reason: RadiusDropReason): void {
    this.events.push({ type: 'datagram-dropped', server: server?.name, reason });
  }

  /** RFC 2865 §4 / RFC 2866 §4 / RFC 5997 §3: which answer codes fit which request. */
  private fits(tx: Tx, code: number): boolean {
    if (tx.kind === 'acct') return code === RADIUS_CODE.AccountingResponse;
    if (tx.kind === 'probe') return tx.server.kind === 'acct' ? code === RADIUS_CODE.AccountingResponse : code === RADIUS_CODE.AccessAccept || code === RADIUS_CODE.AccessReject;
    return code === RADIUS_CODE.AccessAccept || code === RADIUS_CODE.AccessReject || code === RADIUS_CODE.AccessChallenge;
  }

  private handleResponse(now: Instant, s: Server, tx: Tx, authenticator: Uint8Array, data: Uint8Array): void {
    const code = data[0] as number;
    const check = checkAuthenticators(data, s.secret, authenticator);
    if (!check.authenticatorOk) {
      s.stats.badAuthenticators++;
      return this.drop(s, 'bad-authenticator');
    }
    if (!this.fits(tx, code)) {
      s.stats.unexpectedCodes++;
      return this.drop(s, 'unexpected-code');
    }
    if (check.messageAuthenticatorPresent && !check.messageAuthenticatorOk) {
      s.stats.badMessageAuthenticators++;
      return this.drop(s, 'bad-message-authenticator');
    }
    if (!check.messageAuthenticatorPresent && tx.kind === 'auth' && s.requireMessageAuthenticator) {
      s.stats.missingMessageAuthenticators++;
      return this.drop(s, 'missing-message-authenticator');
    }
    const packet = parseRadiusPacket(data);
    if (!packet.ok) {
      s.stats.malformed++;
      return this.drop(s, 'malformed');
    }
    if (tx.sends === 1) s.recordRtt(now - tx.lastSentAt);
    this.finishTx(tx);
    if (s.markAlive()) this.events.push({ type: 'server-up', server: s.name, kind: s.kind, via: tx.kind === 'probe' ? 'status-server' : 'response' });
    if (tx.kind === 'acct' && tx.acct !== undefined) {
      s.stats.accountingResponses++;
      this.queue.complete(tx.acct);
      this.events.push({ type: 'accounting-delivered', seq: tx.acct.seq, record: tx.acct.record, server: s.name });
    } else if (tx.kind === 'auth' && tx.auth !== undefined) {
      this.answerAuth(s, tx.auth, code, packet.value, authenticator);
    }
    this.pumpAuthWaiting(now);
    this.pumpAccounting(now);
  }

  private answerAuth(s: Server, job: AuthJob, code: number, packet: RadiusPacket, authenticator: Uint8Array): void {
    const { reply, malformed } = decodeReply(packet, { secret: s.secret, requestAuthenticator: authenticator }, this.o.dictionary);
    if (code === RADIUS_CODE.AccessChallenge) {
      s.stats.challenges++;
      return this.answer(job, { kind: 'challenge', server: s.name, reply });
    }
    if (code === RADIUS_CODE.AccessReject) {
      s.stats.rejects++;
      return this.answer(job, { kind: 'reject', server: s.name, reply, reason: 'rejected' });
    }
    s.stats.accepts++;
    // RFC 6929 §2.8: an Accept with an attribute we cannot parse is not honoured.
    if (malformed > 0) return this.answer(job, { kind: 'reject', server: s.name, reply, reason: 'malformed-accept' });
    if (job.request.credentials.method === 'mschapv2' && reply.msChap2Success === undefined) {
      return this.answer(job, { kind: 'reject', server: s.name, reply, reason: 'no-ms-chap2-success' });
    }
    this.answer(job, { kind: 'accept', server: s.name, reply });
  }
}
