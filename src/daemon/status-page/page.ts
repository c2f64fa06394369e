/**
 * The status page's static files, embedded (no CDN, no build step): one HTML document, one
 * stylesheet, one script. The script polls GET /api/status every second, renders the rows with
 * `textContent` only (user names and host names come from peers: never parsed as HTML) and draws
 * the last minutes of packet and byte rates on a canvas.
 */

/** GET / */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>l2tpd status</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header><h1>l2tpd <span id="version"></span></h1><div id="summary">connecting…</div></header>
<main>
<section><h2>Traffic <small>(all sessions, up to the last 5 minutes)</small></h2>
<canvas id="chart" width="900" height="220" aria-label="packet and byte rates"></canvas>
<div id="rates"></div></section>
<section><h2>Sessions <small id="sessions-count"></small></h2>
<table id="sessions"><thead><tr><th>tunnel/session</th><th>user</th><th>address</th><th>state</th><th>uptime</th><th>rx pkts</th><th>rx bytes</th><th>tx pkts</th><th>tx bytes</th></tr></thead><tbody></tbody></table></section>
<section><h2>Tunnels <small id="tunnels-count"></small></h2>
<table id="tunnels"><thead><tr><th>id</th><th>role</th><th>peer</th><th>host name</th><th>state</th><th>uptime</th><th>sessions</th></tr></thead><tbody></tbody></table></section>
<section><h2>IPsec <small id="ipsec-count"></small></h2>
<table id="esp"><thead><tr><th>peer</th><th>SPI in/out</th><th>cipher</th><th>integrity</th><th>encap</th><th>bytes in</th><th>bytes out</th><th>lifetime left</th></tr></thead><tbody></tbody></table></section>
</main>
<footer>read-only · refreshed every second · <span id="updated"></span></footer>
</body>
</html>
`;

/** GET /app.css */
export const PAGE_CSS = `:root { color-scheme: light dark; --fg: #1b1f24; --bg: #f6f7f9; --card: #fff; --muted: #6a737d; --rx: #1f77b4; --tx: #d62728; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e6e6; --bg: #14171a; --card: #1d2125; --muted: #9aa4ad; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header, footer { padding: 12px 20px; }
header { display: flex; align-items: baseline; gap: 24px; flex-wrap: wrap; }
h1 { font-size: 20px; margin: 0; } h2 { font-size: 16px; margin: 0 0 8px; } small, footer, #summary { color: var(--muted); font-weight: normal; }
main { padding: 0 20px; display: grid; gap: 16px; }
section { background: var(--card); border-radius: 8px; padding: 12px 16px; overflow-x: auto; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 10px 4px 0; white-space: nowrap; border-bottom: 1px solid rgba(127,127,127,.2); }
td.num, th.num { text-align: right; }
canvas { width: 100%; max-width: 900px; height: 220px; display: block; }
#rates { display: flex; gap: 24px; margin-top: 6px; } .rx { color: var(--rx); } .tx { color: var(--tx); }
.empty { color: var(--muted); font-style: italic; }
`;

/** GET /app.js */
export const PAGE_JS = `'use strict';
const $ = (id) => document.getElementById(id);
const units = (n, u) => { const k = ['', 'k', 'M', 'G', 'T']; let i = 0; while (n >= 1000 && i < k.length - 1) { n /= 1000; i++; } return (i ? n.toFixed(1) : String(Math.round(n))) + ' ' + k[i] + u; };
const dur = (s) => s === undefined ? '' : s < 60 ? s + 's' : s < 3600 ? Math.floor(s / 60) + 'm' + (s % 60) + 's' : Math.floor(s / 3600) + 'h' + Math.floor((s % 3600) / 60) + 'm';
function rows(table, items, cells, empty) {
  const body = $(table).tBodies[0];
  const trs = items.map((it) => { const tr = document.createElement('tr'); for (const [text, num] of cells(it)) { const td = document.createElement('td'); td.textContent = text; if (num) td.className = 'num'; tr.appendChild(td); } return tr; });
  if (trs.length === 0) { const tr = document.createElement('tr'); const td = document.createElement('td'); td.colSpan = $(table).tHead.rows[0].cells.length; td.className = 'empty'; td.textContent = empty; tr.appendChild(td); trs.push(tr); }
  body.replaceChildren(...trs);
}
function rates(h) {
  // Rates over a window of up to 3 samples: counters move in bursts, one-second steps look ragged.
  const out = [];
  for (let i = 1; i < h.length; i++) {
    const a = h[Math.max(0, i - 3)], b = h[i], dt = (b.t - a.t) / 1000;
    if (dt <= 0) continue;
    const d = (k) => Math.max(0, b[k] - a[k]) / dt;
    out.push({ t: b.t, rxp: d('rxPackets'), txp: d('txPackets'), rxb: d('rxOctets') * 8, txb: d('txOctets') * 8 });
  }
  return out;
}
function chart(points) {
  const c = $('chart'); const g = c.getContext('2d'); const W = c.width, H = c.height, L = 64, B = 22, T = 8;
  g.clearRect(0, 0, W, H);
  const css = getComputedStyle(document.documentElement);
  const rx = css.getPropertyValue('--rx').trim(), tx = css.getPropertyValue('--tx').trim();
  g.strokeStyle = 'rgba(127,127,127,.35)'; g.fillStyle = css.getPropertyValue('--muted'); g.font = '11px system-ui'; g.lineWidth = 1;
  const max = Math.max(1, ...points.map((p) => Math.max(p.rxb, p.txb))) * 1.1;
  const y = (v) => T + (H - B - T) * (1 - v / max);
  for (let i = 0; i <= 4; i++) { const v = max * i / 4; g.beginPath(); g.moveTo(L, y(v)); g.lineTo(W, y(v)); g.stroke(); g.fillText(units(v, 'b/s'), 2, y(v) + 4); }
  // Time axis: the history shown, at least one minute, at most five.
  const now = points.length ? points[points.length - 1].t : 0;
  const span = Math.min(300000, Math.max(60000, points.length ? now - points[0].t : 0));
  const x = (t) => L + (W - L) * (1 - (now - t) / span);
  for (let s = 0; s <= span / 1000; s += span > 120000 ? 60 : 15) {
    g.textAlign = s === 0 ? 'right' : 'center';
    g.fillText(s === 0 ? 'now' : '-' + (s >= 60 ? s / 60 + 'm' : s + 's'), x(now - s * 1000), H - 6);
  }
  g.textAlign = 'left';
  if (points.length > 1) {
    // received: a filled area; sent: a line over it
    g.beginPath(); g.moveTo(x(points[0].t), y(0));
    for (const p of points) g.lineTo(x(p.t), y(p.rxb));
    g.lineTo(x(now), y(0)); g.closePath(); g.globalAlpha = 0.25; g.fillStyle = rx; g.fill(); g.globalAlpha = 1;
    for (const [k, color, w] of [['rxb', rx, 1.5], ['txb', tx, 2]]) {
      g.strokeStyle = color; g.lineWidth = w; g.beginPath();
      points.forEach((p, i) => { if (i === 0) g.moveTo(x(p.t), y(p[k])); else g.lineTo(x(p.t), y(p[k])); });
      g.stroke();
    }
  }
  c.dataset.points = String(points.length);
  const last = points[points.length - 1];
  $('rates').replaceChildren(...(last ? [['rx', 'in ' + units(last.rxb, 'b/s') + ', ' + units(last.rxp, 'pkt/s')], ['tx', 'out ' + units(last.txb, 'b/s') + ', ' + units(last.txp, 'pkt/s')]] : []).map(([cls, text]) => { const s = document.createElement('span'); s.className = cls; s.textContent = text; return s; }));
}
function render(v) {
  $('version').textContent = v.version;
  const pool = v.pool ? ', pool ' + v.pool.inUse + '/' + v.pool.capacity : '';
  $('summary').textContent = 'up ' + dur(v.uptimeSeconds) + ' · ' + v.totals.tunnels + ' tunnel(s), ' + v.totals.sessions + ' session(s), ' + v.totals.espSas + ' ESP SA(s)' + pool;
  const shown = (n, total) => n < total ? '(first ' + n + ' of ' + total + ')' : '(' + total + ')';
  $('sessions-count').textContent = shown(v.sessions.length, v.totals.sessions);
  $('tunnels-count').textContent = shown(v.tunnels.length, v.totals.tunnels);
  $('ipsec-count').textContent = shown(v.espSas.length, v.totals.espSas);
  rows('sessions', v.sessions, (s) => [[s.localTunnelId + '/' + s.localSessionId], [s.username || ''], [s.address || ''], [s.pppPhase || s.state], [dur(s.uptimeSeconds)], [String(s.rxPackets), 1], [units(s.rxOctets, 'B'), 1], [String(s.txPackets), 1], [units(s.txOctets, 'B'), 1]], 'no sessions');
  rows('tunnels', v.tunnels, (t) => [[String(t.localTunnelId)], [t.role + (t.lac ? ' ' + t.lac : '')], [t.remoteAddress + ':' + t.remotePort], [t.remoteHostName || ''], [t.state], [dur(t.uptimeSeconds)], [String(t.sessionCount), 1]], 'no tunnels');
  rows('esp', v.espSas, (e) => [[e.remoteAddress + (e.remotePort ? ':' + e.remotePort : '')], [e.spiIn + '/' + e.spiOut], [e.encryption], [e.integrity], [e.encapsulation], [units(e.bytesIn, 'B'), 1], [units(e.bytesOut, 'B'), 1], [dur(e.lifetimeLeftSeconds)]], 'no ESP SAs');
  chart(rates(v.history));
  $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  document.body.dataset.ready = '1';
}
async function poll() {
  try {
    const r = await fetch('/api/status', { credentials: 'same-origin', cache: 'no-store' });
    if (r.status === 401) { $('summary').textContent = 'not authorized: open the URL that l2tpctl status-page prints'; return; }
    render(await r.json());
  } catch (e) { $('summary').textContent = 'l2tpd does not answer (' + e + ')'; }
  finally { setTimeout(poll, 1000); }
}
poll();
`;
