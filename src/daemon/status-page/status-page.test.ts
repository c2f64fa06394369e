import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from './page.js';
import type { SessionInfo, TunnelInfo } from '../../l2tp/index.js';
import type { TunnelView } from '../control-protocol.js';
import { parseConfig } from '../config.js';
import { Daemon } from '../daemon.js';
import { createL2tpEngine } from '../engine-factory.js';
import { createLogger } from '../logger.js';
import { runL2tpctl } from '../l2tpctl-cli.js';
import {
  authorized, cookieValue, generateStatusToken, pageParams, pageTunnels, presentedCredential, sameSecret, startStatusPage, statusPageView,
  trafficTotals, TrafficHistory, STATUS_COOKIE, type StatusPageView,
} from './index.js';

// ---------------------------------------------------------------------------------------------
// Bounded views

function fakeTunnel(id: number, sessions: number): { info: TunnelInfo } {
  const ss = Array.from({ length: sessions }, (_, j) => ({ localSessionId: j + 1, rxPackets: 1, rxOctets: 100, txPackets: 2, txOctets: 200 }));
  return { info: { localTunnelId: id, sessions: ss as unknown as SessionInfo[] } as unknown as TunnelInfo };
}

function fakeView(x: { info: TunnelInfo }): TunnelView {
  return {
    localTunnelId: x.info.localTunnelId,
    sessions: x.info.sessions.map((s) => ({ localTunnelId: x.info.localTunnelId, localSessionId: s.localSessionId })),
  } as unknown as TunnelView;
}

test('status view: 100k sessions in 1,000 tunnels answer with at most limit rows and complete totals', () => {
  const infos = Array.from({ length: 1000 }, (_, i) => fakeTunnel(i + 1, 100));
  let built = 0;
  const toView = (x: { info: TunnelInfo }): TunnelView => {
    built++;
    return fakeView(x);
  };
  const v = statusPageView({ version: 't', uptimeSeconds: 5, infos, toView, ipsec: undefined, lacs: [], history: [] }, 0, 200);
  assert.equal(v.totals.tunnels, 1000);
  assert.equal(v.totals.sessions, 100_000);
  assert.equal(v.tunnels.length, 200);
  assert.equal(v.sessions.length, 200);
  assert.ok(built <= 200, `full views built only for rows shown (${built})`);
  assert.ok(JSON.stringify(v).length < 60_000, 'the answer stays small');
  assert.deepEqual(trafficTotals(infos, 7), { t: 7, rxPackets: 100_000, rxOctets: 10_000_000, txPackets: 200_000, txOctets: 20_000_000 });
});

test('status view: paging walks sessions across tunnel boundaries without gaps or repeats', () => {
  const infos = [fakeTunnel(1, 3), fakeTunnel(2, 0), fakeTunnel(3, 4), fakeTunnel(4, 2)];
  const all: string[] = [];
  for (let off = 0; off < 9; off += 2) {
    const p = pageTunnels(infos, fakeView, off, 2);
    assert.equal(p.totalSessions, 9);
    all.push(...p.sessions.map((s) => `${s.localTunnelId}/${s.localSessionId}`));
  }
  assert.deepEqual(all, ['1/1', '1/2', '1/3', '3/1', '3/2', '3/3', '3/4', '4/1', '4/2']);
  assert.deepEqual(pageTunnels(infos, fakeView, 2, 5).tunnels.map((t) => [t.localTunnelId, t.sessionCount]), [[3, 4], [4, 2]]);
  assert.deepEqual(pageParams(new URLSearchParams('offset=5&limit=99999'), 200), { offset: 5, limit: 200 });
  assert.deepEqual(pageParams(new URLSearchParams('offset=-1&limit=abc'), 200), { offset: 0, limit: 200 });
  assert.deepEqual(pageParams(new URLSearchParams('limit=0'), 200), { offset: 0, limit: 1 });
});

test('traffic history keeps the newest samples only', () => {
  const h = new TrafficHistory(3);
  for (let t = 0; t < 5; t++) h.push({ t, rxPackets: t, rxOctets: 0, txPackets: 0, txOctets: 0 });
  assert.deepEqual(h.all().map((s) => s.t), [2, 3, 4]);
  assert.equal(h.last?.t, 4);
});

// ---------------------------------------------------------------------------------------------
// Token

test('token: bearer, one-time query and cookie accepted; missing, wrong, empty and the raw token as cookie refused', () => {
  const token = generateStatusToken();
  assert.match(token, /^[A-Za-z0-9_-]{32}$/);
  assert.notEqual(generateStatusToken(), token);
  const q = (s: string): URLSearchParams => new URLSearchParams(s);
  assert.ok(authorized(presentedCredential({ authorization: `Bearer ${token}` }, q('')), token));
  assert.ok(authorized(presentedCredential({ authorization: `bearer  ${token} ` }, q('')), token));
  assert.ok(authorized(presentedCredential({}, q(`token=${encodeURIComponent(token)}`)), token));
  assert.ok(authorized(presentedCredential({ cookie: `a=b; ${STATUS_COOKIE}=${cookieValue(token)}` }, q('')), token));
  assert.ok(!authorized(presentedCredential({}, q('')), token));
  assert.ok(!authorized(presentedCredential({ authorization: 'Bearer wrong' }, q('')), token));
  assert.ok(!authorized(presentedCredential({ authorization: 'Basic eDp5' }, q(`token=${token}`)), token), 'a bad header is not saved by a good query');
  assert.ok(!authorized(presentedCredential({}, q('token=')), token));
  assert.ok(!authorized(presentedCredential({ cookie: `${STATUS_COOKIE}=${token}` }, q('')), token), 'the cookie holds an HMAC, not the token');
  assert.ok(!authorized(presentedCredential({ authorization: `Bearer ${token}x` }, q('')), token));
  assert.ok(sameSecret('abc', 'abc') && !sameSecret('abc', 'abd') && !sameSecret('', 'abc') && !sameSecret('abc'.repeat(100), 'abc'));
});

test('page: the script compiles, every element it looks up exists in the HTML, nothing loads from elsewhere', () => {
  assert.doesNotThrow(() => new Script(PAGE_JS, { filename: 'app.js' }));
  for (const m of PAGE_JS.matchAll(/\$\('([a-z-]+)'\)|rows\('([a-z-]+)'/g)) {
    const id = m[1] ?? m[2] ?? '';
    assert.ok(PAGE_HTML.includes(`id="${id}"`), `#${id} is in the page`);
  }
  assert.ok(!PAGE_JS.includes('innerHTML') && !PAGE_JS.includes('eval('), 'values go in as text');
  for (const text of [PAGE_HTML, PAGE_CSS, PAGE_JS]) assert.ok(!/(https?:)?\/\/[a-z]/i.test(text.replace('http://127', '')), 'no external URL');
});

// ---------------------------------------------------------------------------------------------
// HTTP shell on loopback

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const EMPTY: StatusPageView = {
  version: 'v', uptimeSeconds: 1, totals: { tunnels: 0, sessions: 0, ikeSas: 0, espSas: 0 }, offset: 0, limit: 1, tunnels: [], sessions: [], ikeSas: [], espSas: [], lacs: [], history: [],
};

test('HTTP: 401 without or with a wrong token; ?token= gives a cookie and a redirect without it; bearer and cookie open page and JSON; GET only; strict headers', async () => {
  const token = 'correct-horse-battery-staple';
  let calls = 0;
  let clock = 0;
  const page = await startStatusPage({
    host: '127.0.0.1', port: 0, token, maxRows: 50, now: () => clock,
    source: { view: (offset, limit) => { calls++; return { ...EMPTY, offset, limit }; } },
  });
  try {
    const none = await get(`${page.url}/`);
    assert.equal(none.status, 401);
    assert.match(String(none.headers['www-authenticate']), /^Bearer /);
    assert.ok(!none.body.includes('<script'), 'no page without the token');
    assert.equal((await get(`${page.url}/api/status`)).status, 401);
    assert.equal((await get(`${page.url}/?token=wrong-token-wrong-token`)).status, 401);
    assert.equal((await get(`${page.url}/api/status`, { authorization: 'Bearer nope' })).status, 401);

    const once = await get(`${page.url}/?token=${token}&x=1`);
    assert.equal(once.status, 303);
    assert.equal(once.headers['location'], '/?x=1', 'the token leaves the URL');
    const cookie = String(once.headers['set-cookie']);
    assert.match(cookie, new RegExp(`^${STATUS_COOKIE}=[A-Za-z0-9_-]+; HttpOnly; SameSite=Strict; Path=/$`));
    assert.ok(!cookie.includes(token));
    const html = await get(`${page.url}/`, { cookie: cookie.split(';')[0] ?? '' });
    assert.equal(html.status, 200);
    assert.match(html.body, /<canvas id="chart"/);
    assert.match(String(html.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
    assert.equal(html.headers['referrer-policy'], 'no-referrer');
    assert.equal(html.headers['x-content-type-options'], 'nosniff');
    for (const f of ['/app.js', '/app.css']) assert.equal((await get(`${page.url}${f}`, { cookie: cookie.split(';')[0] ?? '' })).status, 200, f);

    const j = await get(`${page.url}/api/status?limit=9999&offset=3`, { authorization: `Bearer ${token}` });
    assert.equal(j.status, 200);
    assert.match(String(j.headers['content-type']), /^application\/json/);
    const v = JSON.parse(j.body) as StatusPageView;
    assert.equal(v.limit, 50, 'limit clamped to max_rows');
    assert.equal(v.offset, 3);
    // Cached for 500 ms whoever asks; then computed again.
    await get(`${page.url}/api/status?limit=9999&offset=3`, { authorization: `Bearer ${token}` });
    assert.equal(calls, 1);
    clock += 600;
    await get(`${page.url}/api/status?limit=9999&offset=3`, { authorization: `Bearer ${token}` });
    assert.equal(calls, 2);

    assert.equal((await get(`${page.url}/api/status`, { authorization: `Bearer ${token}` }, 'POST')).status, 405);
    assert.equal((await get(`${page.url}/nope`, { authorization: `Bearer ${token}` })).status, 404);
  } finally {
    await page.close();
  }
});

// ---------------------------------------------------------------------------------------------
// In the daemon: a plain L2TP LNS (IPsec and PPP off explicitly) with [status], a LAC daemon dialing it (real engines on loopback)

test('daemon: [status] serves a live tunnel and session with counters; l2tpctl status-page prints the URL with the token', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'l2k-status-'));
  const probe = createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
  const port = (probe.address()).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const log = createLogger({ level: 'error', format: 'json' });
  const mk = (src: string): ReturnType<typeof parseConfig> => parseConfig(src);
  const lnsCfg = mk(`[daemon]\ncontrol_socket = "${join(dir, 'lns.sock')}"\n[[listen]]\naddress = "127.0.0.1"\nport = ${port}\n[ipsec]\nenabled = false\n[ppp]\nenabled = false\n[status]\nlisten = "127.0.0.1:0"\nmax_rows = 10\n`);
  const lacCfg = mk(`listen = []\n[daemon]\ncontrol_socket = "${join(dir, 'lac.sock')}"\n[[lac]]\nname = "t"\nlns = "127.0.0.1"\nport = ${port}\nredial = false\n`);
  assert.ok(lnsCfg.ok, JSON.stringify(lnsCfg));
  assert.ok(lacCfg.ok, JSON.stringify(lacCfg));
  const lns = await Daemon.start({ config: lnsCfg.value, log, createEngine: createL2tpEngine });
  const lac = await Daemon.start({ config: lacCfg.value, log, createEngine: createL2tpEngine });
  try {
    let out = '';
    const code = await runL2tpctl(['--socket', join(dir, 'lns.sock'), 'status-page'], { out: (t) => (out += t), err: () => undefined });
    assert.equal(code, 0);
    const m = /^(http:\/\/127\.0\.0\.1:\d+)\/\?token=([A-Za-z0-9_-]{32})$/.exec(out);
    assert.ok(m !== null, out);
    const [, base = '', token = ''] = m;
    assert.equal(base, lns.statusPageUrl);
    let v: StatusPageView | undefined;
    for (let i = 0; i < 100; i++) {
      const a = await get(`${base}/api/status`, { authorization: `Bearer ${token}` });
      assert.equal(a.status, 200);
      v = JSON.parse(a.body) as StatusPageView;
      if (v.sessions.some((s) => s.state === 'established')) break;
      await new Promise((r) => setTimeout(r, 600));
    }
    assert.ok(v !== undefined);
    assert.equal(v.totals.tunnels, 1, JSON.stringify(v));
    assert.equal(v.totals.sessions, 1);
    assert.equal(v.tunnels[0]?.state, 'established');
    assert.equal(v.tunnels[0]?.remoteHostName, 'l2tpkit');
    assert.equal(v.sessions[0]?.state, 'established');
    assert.equal(typeof v.sessions[0]?.rxPackets, 'number');
    assert.ok(v.history.length >= 1, 'the chart has samples');
    assert.equal((await get(`${base}/api/status`)).status, 401);
  } finally {
    await lac.shutdown(500);
    await lns.shutdown(500);
    await rm(dir, { recursive: true, force: true });
  }
});
