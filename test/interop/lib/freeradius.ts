/**
 * FreeRADIUS 3.2 (Debian package "freeradius") as a real RADIUS server in a network namespace.
 *
 * Each instance runs from a private copy of the Debian configuration (/etc/freeradius/3.0 is only
 * read, never edited) with its own clients.conf and users file, its run/log directories inside the
 * instance directory and the `security { user/group }` lines removed (it stays root inside its
 * namespace, so the copy can live in a root-only temp dir). It runs in the foreground in debug mode
 * (`freeradius -X -d DIR`, single-threaded, log on stdout), which prints one block per request; the
 * block is parsed into {@link RadiusRequest}s (user, packet type, result) for assertions.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, tail, waitUntil } from './host.js';
import { spawnIn, type ManagedProcess } from './process.js';

/** The system configuration the private copy is made from (Debian's layout). */
export const FREERADIUS_SYSTEM_DIR = '/etc/freeradius/3.0';

/** One entry of the users file (mods-config/files/authorize). */
export interface FreeRadiusUser {
  readonly name: string;
  /** Cleartext-Password (so PAP, CHAP and MS-CHAP all work). */
  readonly password: string;
  /** Framed-IP-Address in the Access-Accept (a static address for the NAS to hand out). */
  readonly framedIpAddress?: string;
  /** Further reply items, verbatim (`Attribute = value`). */
  readonly replyItems?: readonly string[];
}

/** One RADIUS client (NAS) allowed to talk to the server. */
export interface FreeRadiusClient {
  /** `ipaddr`: an address or a CIDR prefix. */
  readonly address: string;
  readonly secret: string;
}

/** Options for {@link startFreeRadius}. */
export interface FreeRadiusOptions {
  /** Namespace to run in (it listens on every address of that namespace, UDP 1812/1813). */
  readonly ns: string;
  /** Instance directory (created; the config copy goes to `DIR/raddb`). */
  readonly dir: string;
  /** NAS entries; 127.0.0.1 with the first client's secret is always added (for radtest). */
  readonly clients: readonly FreeRadiusClient[];
  /** Users; default {@link LAB_USERS}. */
  readonly users?: readonly FreeRadiusUser[];
  /** Hard lifetime bound (default 300 s). */
  readonly lifetimeMs?: number;
  /**
   * Debug mode (`-X`, default true): one detailed block per request, single-threaded. false: normal
   * multi-threaded server (`-f -l stdout`, for load); then only the auth log lines ("Login OK" /
   * "Login incorrect") are parsed, so requests carry user and reply but not the attributes.
   */
  readonly debug?: boolean;
  /** How long to wait for "Ready to process requests" (default 30 s). */
  readonly readyTimeoutMs?: number;
  /**
   * Put a Message-Authenticator into every Access-Accept / -Reject (unlang in post-auth), what the
   * Blast-RADIUS advisory tells FreeRADIUS < 3.2.5 to do; 3.2.1 sends none by itself.
   */
  readonly messageAuthenticatorInReplies?: boolean;
  /** A Reply-Message added to every Access-Reject (Post-Auth-Type REJECT). */
  readonly rejectReplyMessage?: string;
  /** Last edits of the private copy (DIR/raddb) before the check and the start, e.g. enabling sql + sqlippool. */
  readonly prepare?: (raddb: string) => void;
}

/** One record of the `detail` module's accounting files (attribute values as printed, quotes removed). */
export interface DetailRecord {
  /** The file it came from (one per NAS address and day). */
  readonly file: string;
  /** Attribute name -> values in order (repeated attributes keep every value). */
  readonly attributes: ReadonlyMap<string, readonly string[]>;
  /** The first value of `name`. */
  get(name: string): string | undefined;
}

/** The lab's users: `lab`/`labpass` (address from the NAS pool) and `labfix`/`labpass` (100.64.9.9). */
export const LAB_USERS: readonly FreeRadiusUser[] = [
  { name: 'lab', password: 'labpass' },
  { name: 'labfix', password: 'labpass', framedIpAddress: '100.64.9.9' },
];

/** What the server did with one request, from the `-X` output. */
export interface RadiusRequest {
  /** FreeRADIUS's request number (`(N)` prefix). */
  readonly number: number;
  /** `Access-Request`, `Accounting-Request`, ... */
  readonly type: string;
  /** NAS address the request came from ('' without debug). */
  readonly from: string;
  /** `User-Name` attribute, when present. */
  readonly user: string | undefined;
  /** `CHAP-Password` present (CHAP) / `User-Password` present (PAP); without debug only known for rejects. */
  readonly chap: boolean;
  readonly pap: boolean;
  /** The reply sent (`Access-Accept`, `Access-Reject`, `Accounting-Response`, ...), undefined while pending. */
  readonly reply: string | undefined;
  /** Attributes of the reply (`Framed-IP-Address = 100.64.9.9`, ...), as printed (debug mode only). */
  readonly replyAttributes: readonly string[];
}

/** A running FreeRADIUS. */
export interface FreeRadius {
  readonly proc: ManagedProcess;
  readonly dir: string;
  readonly raddb: string;
  /** Parsed requests so far. */
  requests(): RadiusRequest[];
  /** Waits until a request for `user` got a reply of `reply` (`Access-Accept`...), after request number `after`. */
  waitReply(user: string, reply: string, timeoutMs: number, after?: number): Promise<RadiusRequest>;
  /** Highest request number seen so far (-1 when none): pass it to `waitReply` to only look at later ones. */
  mark(): number;
  logTail(n?: number): string;
  /** Every accounting record in the detail files so far, in file order. */
  detail(): DetailRecord[];
  /** SIGTERM, SIGKILL after a grace period; idempotent. */
  stop(): Promise<void>;
}

const quote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Renders clients.conf (exported for tests). */
export function renderClientsConf(clients: readonly FreeRadiusClient[]): string {
  const first = clients[0];
  const out: string[] = ['# written by the l2tpkit interop harness'];
  if (first !== undefined) {
    out.push('client localhost {', '\tipaddr = 127.0.0.1', `\tsecret = ${quote(first.secret)}`, '}');
  }
  clients.forEach((c, i) => {
    out.push(`client nas${i} {`, `\tipaddr = ${c.address}`, `\tsecret = ${quote(c.secret)}`, '\trequire_message_authenticator = no', '}');
  });
  return `${out.join('\n')}\n`;
}

/** Renders the users file (mods-config/files/authorize) (exported for tests). */
export function renderUsersFile(users: readonly FreeRadiusUser[]): string {
  const out: string[] = ['# written by the l2tpkit interop harness'];
  for (const u of users) {
    const reply = ['Service-Type = Framed-User', 'Framed-Protocol = PPP'];
    if (u.framedIpAddress !== undefined) reply.push(`Framed-IP-Address = ${u.framedIpAddress}`);
    reply.push(...(u.replyItems ?? []));
    out.push(`${u.name}\tCleartext-Password := ${quote(u.password)}`, reply.map((r) => `\t${r}`).join(',\n'));
  }
  return `${out.join('\n')}\n`;
}

/**
 * Adapts radiusd.conf of the private copy: config/log/run/db directories inside the instance, and no
 * `user`/`group` switch (the copy is in a root-only directory). Exported for tests.
 */
export function adaptRadiusdConf(text: string, raddb: string, varDir: string): string {
  return text
    .replace(/^raddbdir = .*$/m, `raddbdir = ${raddb}`)
    .replace(/^logdir = .*$/m, `logdir = ${join(varDir, 'log')}`)
    .replace(/^run_dir = .*$/m, `run_dir = ${join(varDir, 'run')}`)
    .replace(/^db_dir = .*$/m, `db_dir = ${join(varDir, 'db')}`)
    .replace(/^(\s*)(user|group) = \S+\s*$/gm, '$1# $2 removed by the l2tpkit interop harness')
    // log { auth = yes }: one "Login OK" / "Login incorrect" line per authentication, also without -X.
    .replace(/^(\s*)auth = no\s*$/m, '$1auth = yes');
}

/** Parses `freeradius -X` output into requests (pure; tested on recorded output). */
export function parseFreeRadiusLog(text: string): RadiusRequest[] {
  interface Mut {
    number: number;
    type: string;
    from: string;
    user: string | undefined;
    chap: boolean;
    pap: boolean;
    reply: string | undefined;
    replyAttributes: string[];
    inReply: boolean;
  }
  const byNo = new Map<number, Mut>();
  const order: Mut[] = [];
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    // Auth log line (log { auth = yes }), the only trace without -X:
    // "... : Auth: (3) Login OK: [lab/<via Auth-Type = CHAP>] (from client nas0 port 2 cli 198.18.46.3)"
    // "... : Auth: (2) Login incorrect (chap: Password comparison failed: password is incorrect): [lab] (from client nas0 port 0)"
    if ((m = /Auth: \((\d+)\) Login (OK|incorrect)(?: \((.*)\))?: \[([^\]]*?)(?:\/<[^\]]*>)?\] \(from client \S+/.exec(line))) {
      const n = Number(m[1]);
      if (!byNo.has(n)) {
        const why = m[3] ?? '';
        const r: Mut = { number: n, type: 'Access-Request', from: '', user: m[4], chap: /^chap:/i.test(why) || /Auth-Type = CHAP>/.test(line), pap: /^pap:/i.test(why) || /Auth-Type = PAP>/.test(line), reply: m[2] === 'OK' ? 'Access-Accept' : 'Access-Reject', replyAttributes: [], inReply: false };
        byNo.set(n, r);
        order.push(r);
      }
      continue;
    }
    if ((m = /^\((\d+)\) Received (\S+) Id \d+ from (\S+?):\d+ to /.exec(line))) {
      const r: Mut = { number: Number(m[1]), type: m[2] ?? '', from: m[3] ?? '', user: undefined, chap: false, pap: false, reply: undefined, replyAttributes: [], inReply: false };
      byNo.set(r.number, r);
      order.push(r);
      continue;
    }
    const p = /^\((\d+)\)\s+(.*)$/.exec(line);
    if (!p) continue;
    const r = byNo.get(Number(p[1]));
    if (r === undefined) continue;
    const body = p[2] ?? '';
    if ((m = /^Sent (\S+) Id \d+ from /.exec(body))) {
      r.reply = m[1];
      r.inReply = true;
      continue;
    }
    if (r.reply === undefined) {
      if ((m = /^User-Name = "(.*)"$/.exec(body))) r.user ??= m[1];
      else if (/^CHAP-Password = /.test(body)) r.chap = true;
      else if (/^User-Password = /.test(body)) r.pap = true;
    } else if (r.inReply) {
      if (/^[A-Za-z][\w-]* = /.test(body)) r.replyAttributes.push(body.trim());
      else r.inReply = false;
    }
  }
  return order.map(({ inReply: _ignored, ...r }) => r);
}

/**
 * Adds unlang to the default virtual server (exported for tests): a Message-Authenticator in every
 * Access-Accept / -Reject, and a Reply-Message in every Access-Reject.
 */
export function adaptDefaultSite(text: string, o: { readonly messageAuthenticatorInReplies?: boolean; readonly rejectReplyMessage?: string }): string {
  let out = text;
  const ma = o.messageAuthenticatorInReplies === true ? ['\t\t&Message-Authenticator := 0x00'] : [];
  if (ma.length > 0) out = out.replace(/^post-auth \{\n/m, `post-auth {\n\tupdate reply {\n${ma.join('\n')}\n\t}\n`);
  const rej = [...ma, ...(o.rejectReplyMessage !== undefined ? [`\t\t&Reply-Message := ${quote(o.rejectReplyMessage)}`] : [])];
  if (rej.length > 0) out = out.replace(/^([ \t]*)Post-Auth-Type REJECT \{\n/m, `$1Post-Auth-Type REJECT {\n$1\tupdate reply {\n${rej.map((l) => `$1${l}`).join('\n')}\n$1\t}\n`);
  return out;
}

/** Parses the `detail` module's text: blocks separated by blank lines, a date line, `\tName = value` lines. */
export function parseDetailFile(text: string, file = 'detail'): DetailRecord[] {
  const out: DetailRecord[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const attributes = new Map<string, string[]>();
    for (const line of block.split('\n')) {
      const m = /^\t([A-Za-z][\w:-]*) = (.*)$/.exec(line);
      if (m === null) continue;
      const raw = m[2] ?? '';
      const v = raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1).replace(/\\"/g, '"').replace(/\\\\/g, '\\') : raw;
      attributes.set(m[1] ?? '', [...(attributes.get(m[1] ?? '') ?? []), v]);
    }
    if (attributes.size > 0) out.push({ file, attributes, get: (n) => attributes.get(n)?.[0] });
  }
  return out;
}

/** Every detail record under `dir/var/log/radacct` (one directory per NAS, one file per day). */
function readDetail(dir: string): DetailRecord[] {
  const base = join(dir, 'var', 'log', 'radacct');
  if (!existsSync(base)) return [];
  const out: DetailRecord[] = [];
  for (const nas of readdirSync(base).sort()) {
    const d = join(base, nas);
    for (const f of readdirSync(d).sort()) out.push(...parseDetailFile(readFileSync(join(d, f), 'utf8'), join(nas, f)));
  }
  return out;
}

/** Copies and adapts the Debian configuration into `dir/raddb`; returns the raddb path. */
function prepareConfig(o: FreeRadiusOptions): string {
  if (!existsSync(join(FREERADIUS_SYSTEM_DIR, 'radiusd.conf'))) {
    throw new Error(`FreeRADIUS configuration ${FREERADIUS_SYSTEM_DIR}/radiusd.conf not found (Debian package freeradius)`);
  }
  mkdirSync(o.dir, { recursive: true });
  const raddb = join(o.dir, 'raddb');
  const varDir = join(o.dir, 'var');
  rmSync(raddb, { recursive: true, force: true });
  // verbatimSymlinks: the mods-enabled/sites-enabled links are relative and keep pointing into the copy.
  cpSync(FREERADIUS_SYSTEM_DIR, raddb, { recursive: true, verbatimSymlinks: true });
  for (const d of ['log', 'log/radacct', 'run', 'db']) mkdirSync(join(varDir, d), { recursive: true });
  const conf = join(raddb, 'radiusd.conf');
  writeFileSync(conf, adaptRadiusdConf(readFileSync(conf, 'utf8'), raddb, varDir));
  writeFileSync(join(raddb, 'clients.conf'), renderClientsConf(o.clients));
  writeFileSync(join(raddb, 'mods-config', 'files', 'authorize'), renderUsersFile(o.users ?? LAB_USERS));
  if (o.messageAuthenticatorInReplies === true || o.rejectReplyMessage !== undefined) {
    const site = join(raddb, 'sites-available', 'default');
    writeFileSync(site, adaptDefaultSite(readFileSync(site, 'utf8'), o));
  }
  o.prepare?.(raddb);
  return raddb;
}

/**
 * Writes a private configuration, checks it (`freeradius -C`) and starts `freeradius -X -d DIR` in the
 * namespace; resolves when it printed "Ready to process requests".
 */
export async function startFreeRadius(o: FreeRadiusOptions): Promise<FreeRadius> {
  if (o.clients.length === 0) throw new Error('startFreeRadius: at least one client is needed');
  const raddb = prepareConfig(o);
  const check = await run('ip', ['netns', 'exec', o.ns, 'freeradius', '-C', '-d', raddb], { check: false, timeoutMs: 30_000 });
  if (check.code !== 0) {
    const detail = await run('ip', ['netns', 'exec', o.ns, 'freeradius', '-XC', '-d', raddb], { check: false, timeoutMs: 30_000 });
    throw new Error(`freeradius -C rejected the configuration in ${raddb}:\n${tail(detail.stdout + detail.stderr, 30)}`);
  }
  const proc = spawnIn(o.ns, 'freeradius', o.debug === false ? ['-f', '-l', 'stdout', '-d', raddb] : ['-X', '-d', raddb], {
    name: `freeradius@${o.ns}`,
    lifetimeMs: o.lifetimeMs ?? 300_000,
    logFile: join(o.dir, 'radiusd.log'),
  });
  await proc.waitForOutput(/Ready to process requests/, o.readyTimeoutMs ?? 30_000);
  const requests = (): RadiusRequest[] => parseFreeRadiusLog(proc.output());
  return {
    proc,
    dir: o.dir,
    raddb,
    requests,
    mark: () => requests().reduce((m, r) => Math.max(m, r.number), -1),
    waitReply: (user, reply, timeoutMs, after = -1) =>
      waitUntil(
        `FreeRADIUS: ${reply} for ${user}`,
        () => requests().find((r) => r.number > after && r.user === user && r.reply === reply),
        timeoutMs,
        () => `FreeRADIUS log:\n${tail(proc.output(), 40)}`,
      ),
    logTail: (n = 40) => tail(proc.output(), n),
    detail: () => readDetail(o.dir),
    async stop(): Promise<void> {
      await proc.stop(3000);
    },
  };
}
