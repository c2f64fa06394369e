/**
 * xl2tpd (Debian package) as a real L2TPv2 peer, LAC or LNS, in a network namespace.
 *
 * Each instance gets its own directory (xl2tpd.conf, pppd options file, l2tp-secrets, control pipe,
 * pid file, log) and runs in the foreground (`-D`, log on stderr) with the debug switches on.
 * The host has no /dev/ppp: a real pppd would die at once and xl2tpd would send a CDN ~10 ms after the
 * ICCN. So xl2tpd runs in a private mount namespace (`unshare -m` inside `ip netns exec`) in which a
 * stand-in pppd script is bind-mounted over /usr/sbin/pppd; it sleeps until xl2tpd hangs the call up
 * (SIGTERM) or exits, so sessions stay up. Control pipe commands (xl2tpd.c control handlers):
 * `c NAME` dial the LAC section NAME (SCCRQ..ICCN), `h CID` hang up the call with local id CID (its
 * pppd is sent SIGTERM, then xl2tpd sends CDN), `d NAME` disconnect the LAC's tunnel (StopCCN).
 */
import { chmodSync, constants, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnIn, type ManagedProcess } from './process.js';
import { tail, waitUntil } from './host.js';

/** `[lns default]` settings. */
export interface Xl2tpdLnsSection {
  readonly hostname: string;
  /** `challenge = yes`: send a Challenge AVP and require the peer's answer (needs a secret). */
  readonly challenge?: boolean;
  /** `hidden bit = yes`. xl2tpd 1.3.18 then only adds a Random Vector AVP (it never hides AVPs itself). */
  readonly hiddenBit?: boolean;
}

/** One `[lac NAME]` section. */
export interface Xl2tpdLacSection {
  readonly name: string;
  /** LNS address. */
  readonly lns: string;
  readonly port?: number;
  readonly hostname: string;
  readonly challenge?: boolean;
  readonly hiddenBit?: boolean;
}

/** Options for {@link startXl2tpd}. */
export interface Xl2tpdOptions {
  readonly ns: string;
  /** Directory for this instance's files (created). */
  readonly dir: string;
  readonly listenAddress: string;
  readonly port?: number;
  readonly lns?: Xl2tpdLnsSection;
  readonly lacs?: readonly Xl2tpdLacSection[];
  /** Tunnel secret for every peer (`* * SECRET` in l2tp-secrets); undefined = no secret at all. */
  readonly secret?: string;
  /** Hard lifetime bound (default 120 s). */
  readonly lifetimeMs?: number;
  /** `access control = yes` with `lac = ...` in `[lns default]`: only these peers may open a tunnel (others get a StopCCN). */
  readonly allowedLacs?: readonly string[];
}

/** A running xl2tpd. */
export interface Xl2tpd {
  readonly proc: ManagedProcess;
  readonly dir: string;
  readonly controlFile: string;
  /** Writes one command line to the control pipe. */
  control(command: string): Promise<void>;
  /** `c NAME`: dial the LAC section (tunnel + one incoming call). */
  dial(lac: string): Promise<void>;
  /** `h CID`: hang up the call whose local call id is CID (CDN). */
  hangup(localCallId: number): Promise<void>;
  /** `d NAME`: disconnect the LAC section's tunnel (StopCCN). */
  disconnect(lac: string): Promise<void>;
  /** The log parsed so far. */
  events(): Xl2tpdEvent[];
  /** Waits until `pick` finds an event in the log (looking only at events after index `from`). */
  waitEvent<T extends Xl2tpdEvent>(what: string, pick: (e: Xl2tpdEvent) => e is T, timeoutMs: number, from?: number): Promise<T>;
  /** Last lines of the log, for failure messages. */
  logTail(n?: number): string;
  stop(): Promise<void>;
}

/** What xl2tpd logged, one typed event per interesting line (xl2tpd 1.3.18 wording). */
export type Xl2tpdEvent =
  | { readonly type: 'listening'; readonly address: string; readonly port: number }
  | { readonly type: 'tunnel-established'; readonly peer: string; readonly localTunnel: number; readonly remoteTunnel: number }
  | { readonly type: 'call-established'; readonly peer: string; readonly localCall: number; readonly remoteCall: number; readonly serial: number }
  /** A control message arrived (`message_type_avp`), with the header's tunnel/call from the recv line. */
  | { readonly type: 'received'; readonly messageType: number; readonly name: string; readonly tunnel: number; readonly call: number; resultCode?: number; errorCode?: number; errorMessage?: string }
  | { readonly type: 'peer-hostname'; readonly hostname: string }
  | { readonly type: 'challenge-found' }
  | { readonly type: 'challenge-reply-found' }
  /** A call ended on the peer's CDN (control_finish: Connection closed to A, serial S (msg)). */
  | { readonly type: 'call-closed-by-peer'; readonly peer: string; readonly serial: number; readonly message: string }
  /** The tunnel ended on the peer's StopCCN. */
  | { readonly type: 'tunnel-closed-by-peer'; readonly peer: string; readonly localTunnel: number; readonly remoteTunnel: number; readonly message: string }
  /** We (xl2tpd) sent StopCCN (`Connection N closed to ...`). */
  | { readonly type: 'tunnel-closed-locally'; readonly peer: string; readonly remoteTunnel: number; readonly message: string }
  /** We (xl2tpd) hung up a call (`call_close: Call N to A disconnected`). */
  | { readonly type: 'call-closed-locally'; readonly localCall: number }
  | { readonly type: 'tunnel-destroyed'; readonly localTunnel: number }
  | { readonly type: 'auth-failed'; readonly line: string }
  | { readonly type: 'hidden-avp-error'; readonly line: string };

/**
 * Parses xl2tpd debug output (debug tunnel/avp/state/network = yes). Pure; tested on recorded logs.
 * Result codes are attached to the `received` event of the message that carried them.
 */
export function parseXl2tpdLog(text: string): Xl2tpdEvent[] {
  const ev: Xl2tpdEvent[] = [];
  let hdr = { tunnel: 0, call: 0 };
  let lastRx: Extract<Xl2tpdEvent, { type: 'received' }> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^xl2tpd\[\d+\]:\s*/, '');
    let m: RegExpExecArray | null;
    if (/Invalid (challenge )?authentication|No secret (key )?(for|on)|Denied connection to unauthorized peer/.test(line)) {
      // Checked first: the same line may also report the tunnel being closed.
      ev.push({ type: 'auth-failed', line: line.trim() });
    }
    if ((m = /^Listening on IP address (\S+), port (\d+)/.exec(line))) {
      ev.push({ type: 'listening', address: m[1] ?? '', port: Number(m[2]) });
    } else if ((m = /recv packet from (\S+), size = \d+, tunnel = (\d+), call = (\d+)/.exec(line))) {
      hdr = { tunnel: Number(m[2]), call: Number(m[3]) };
    } else if ((m = /message_type_avp: message type (\d+) \(([^)]*)\)/.exec(line))) {
      lastRx = { type: 'received', messageType: Number(m[1]), name: m[2] ?? '', tunnel: hdr.tunnel, call: hdr.call };
      ev.push(lastRx);
    } else if ((m = /result_code_avp: peer closing for reason (\d+) \([^)]*\), error = (\d+) \((.*)\)\s*$/.exec(line))) {
      if (lastRx) {
        lastRx.resultCode = Number(m[1]);
        lastRx.errorCode = Number(m[2]);
        lastRx.errorMessage = m[3] ?? '';
      }
    } else if ((m = /hostname_avp: peer reports hostname '([^']*)'/.exec(line))) {
      ev.push({ type: 'peer-hostname', hostname: m[1] ?? '' });
    } else if (/challenge_avp: challenge avp found/.test(line)) {
      ev.push({ type: 'challenge-found' });
    } else if (/chalresp_avp: Challenge reply found/.test(line)) {
      ev.push({ type: 'challenge-reply-found' });
    } else if ((m = /^Connection established to (\S+), \d+\.\s+Local: (\d+), Remote: (\d+)/.exec(line))) {
      ev.push({ type: 'tunnel-established', peer: m[1] ?? '', localTunnel: Number(m[2]), remoteTunnel: Number(m[3]) });
    } else if ((m = /^Call established with (\S+), (?:PID: \d+, )?Local: (\d+), Remote: (\d+), Serial: (\d+)/.exec(line))) {
      ev.push({ type: 'call-established', peer: m[1] ?? '', localCall: Number(m[2]), remoteCall: Number(m[3]), serial: Number(m[4]) });
    } else if ((m = /control_finish: Connection closed to (\S+), serial (\d+) \((.*)\)\s*$/.exec(line))) {
      ev.push({ type: 'call-closed-by-peer', peer: m[1] ?? '', serial: Number(m[2]), message: m[3] ?? '' });
    } else if ((m = /control_finish: Connection closed to (\S+), port \d+ \((.*)\), Local: (\d+), Remote: (\d+)/.exec(line))) {
      ev.push({ type: 'tunnel-closed-by-peer', peer: m[1] ?? '', message: m[2] ?? '', localTunnel: Number(m[3]), remoteTunnel: Number(m[4]) });
    } else if ((m = /^Connection (\d+) closed to (\S+), port \d+ \((.*)\)/.exec(line))) {
      ev.push({ type: 'tunnel-closed-locally', remoteTunnel: Number(m[1]), peer: m[2] ?? '', message: m[3] ?? '' });
    } else if ((m = /call_close: Call (\d+) to \S+ disconnected/.exec(line))) {
      ev.push({ type: 'call-closed-locally', localCall: Number(m[1]) });
    } else if ((m = /build_fdset: closing down tunnel (\d+)/.exec(line))) {
      ev.push({ type: 'tunnel-destroyed', localTunnel: Number(m[1]) });
    } else if (/Unable to handle hidden|Invalid Hidden AVP/.test(line)) {
      ev.push({ type: 'hidden-avp-error', line: line.trim() });
    }
  }
  return ev;
}

/** The stand-in pppd: exits on SIGTERM (hang-up) or as soon as its parent xl2tpd is gone; at most 1 h. */
const STUB_PPPD = `#!/bin/sh
# l2tpkit interop: stand-in for pppd (the host has no /dev/ppp). Keeps the call up until
# xl2tpd hangs it up (SIGTERM) or exits.
trap 'exit 0' TERM INT HUP
p=$PPID
n=0
while [ $n -lt 3600 ] && kill -0 "$p" 2>/dev/null; do sleep 1 & wait $!; n=$((n+1)); done
`;

const yn = (b: boolean | undefined): string => (b ? 'yes' : 'no');

/** Renders xl2tpd.conf for the options (exported for tests). */
export function renderXl2tpdConf(o: Xl2tpdOptions): string {
  const d = o.dir;
  const g = [
    '[global]',
    `listen-addr = ${o.listenAddress}`,
    `port = ${o.port ?? 1701}`,
    `access control = ${yn(o.allowedLacs !== undefined)}`,
    `auth file = ${join(d, 'l2tp-secrets')}`,
    'debug avp = yes',
    'debug network = yes',
    'debug state = yes',
    'debug tunnel = yes',
    'max retries = 5',
    '',
  ];
  if (o.lns) {
    g.push(
      '[lns default]',
      'ip range = 100.64.20.10-100.64.20.50',
      'local ip = 100.64.20.1',
      `hostname = ${o.lns.hostname}`,
      ...(o.allowedLacs !== undefined ? [`lac = ${o.allowedLacs.join(', ')}`] : []),
      'require authentication = no',
      `pppoptfile = ${join(d, 'options.ppp')}`,
      'length bit = yes',
      `challenge = ${yn(o.lns.challenge)}`,
      `hidden bit = ${yn(o.lns.hiddenBit)}`,
      '',
    );
  }
  for (const l of o.lacs ?? []) {
    g.push(
      `[lac ${l.name}]`,
      `lns = ${l.lns}`,
      ...(l.port !== undefined ? [`port = ${l.port}`] : []),
      `hostname = ${l.hostname}`,
      'require authentication = no',
      `pppoptfile = ${join(d, 'options.ppp')}`,
      'length bit = yes',
      'redial = no',
      'autodial = no',
      `challenge = ${yn(l.challenge)}`,
      `hidden bit = ${yn(l.hiddenBit)}`,
      '',
    );
  }
  return g.join('\n');
}

/** Writes the instance directory and starts xl2tpd; resolves when it listens and its control pipe exists. */
export async function startXl2tpd(o: Xl2tpdOptions): Promise<Xl2tpd> {
  mkdirSync(o.dir, { recursive: true });
  const conf = join(o.dir, 'xl2tpd.conf');
  const controlFile = join(o.dir, 'l2tp-control');
  const stub = join(o.dir, 'pppd-stand-in');
  writeFileSync(conf, renderXl2tpdConf(o));
  writeFileSync(join(o.dir, 'options.ppp'), 'noauth\nnodefaultroute\n');
  writeFileSync(join(o.dir, 'l2tp-secrets'), o.secret !== undefined ? `# them us secret\n* * ${o.secret}\n` : '# no secrets\n', { mode: 0o600 });
  chmodSync(join(o.dir, 'l2tp-secrets'), 0o600);
  writeFileSync(stub, STUB_PPPD, { mode: 0o755 });
  chmodSync(stub, 0o755);
  const script = `mount --bind "$1" /usr/sbin/pppd && exec xl2tpd -D -c "$2" -s "$3" -p "$4" -C "$5"`;
  const proc = spawnIn(
    o.ns,
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', script, 'xl2tpd-wrapper', stub, conf, join(o.dir, 'l2tp-secrets'), join(o.dir, 'xl2tpd.pid'), controlFile],
    { name: `xl2tpd@${o.ns}`, lifetimeMs: o.lifetimeMs ?? 120_000, logFile: join(o.dir, 'xl2tpd.log') },
  );
  await proc.waitForOutput(/Listening on IP address/, 10_000);
  // The control FIFO is created right before that line; wait until it exists for writers.
  await waitUntil('xl2tpd control pipe', () => (existsSync(controlFile) && statSync(controlFile).isFIFO() ? true : undefined), 5000);

  const control = async (command: string): Promise<void> => {
    // O_WRONLY|O_NONBLOCK fails with ENXIO instead of hanging when nobody reads the FIFO.
    const fh = await open(controlFile, constants.O_WRONLY | constants.O_NONBLOCK);
    try {
      await fh.write(`${command}\n`);
    } finally {
      await fh.close();
    }
  };
  const events = (): Xl2tpdEvent[] => parseXl2tpdLog(proc.output());
  return {
    proc,
    dir: o.dir,
    controlFile,
    control,
    dial: (lac) => control(`c ${lac}`),
    hangup: (cid) => control(`h ${cid}`),
    disconnect: (lac) => control(`d ${lac}`),
    events,
    async waitEvent<T extends Xl2tpdEvent>(what: string, pick: (e: Xl2tpdEvent) => e is T, timeoutMs: number, from = 0): Promise<T> {
      return waitUntil(
        `xl2tpd: ${what}`,
        () => events().slice(from).find(pick),
        timeoutMs,
        () => `xl2tpd log:\n${tail(proc.output(), 40)}`,
      );
    },
    logTail: (n = 40) => tail(proc.output(), n),
    async stop(): Promise<void> {
      await proc.stop(3000);
    },
  };
}

/** Type guard factory: `is('call-established')` narrows an event. */
export function is<K extends Xl2tpdEvent['type']>(type: K): (e: Xl2tpdEvent) => e is Extract<Xl2tpdEvent, { type: K }> {
  return (e: Xl2tpdEvent): e is Extract<Xl2tpdEvent, { type: K }> => e.type === type;
}
