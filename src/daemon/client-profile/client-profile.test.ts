import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  clientProfile, keyfileEscape, mobileconfigPlist, NM_L2TP_SERVICE, psQuote, stableIds, uuidV5, type ClientProfileInput,
} from './index.js';
import { parseIkeProposal, parseEspProposal, DEFAULT_POLICY } from '../../ipsec/index.js';

const INPUT: ClientProfileInput = {
  name: 'l2tpkit vpn.example.net',
  server: 'vpn.example.net',
  psk: 'k3y with "quotes" & <tags> \'single\'',
  username: 'alice',
  password: "pa$$ `word' \u2019 & <x>",
  auth: ['mschapv2', 'chap'],
  mru: 1400,
  fullTunnel: true,
};

// ---------------------------------------------------------------------------------------------
// A small plist 1.0 XML reader, written for this test (Apple's DTD: dict/key, array, string,
// data, integer, real, true, false, date). It checks the prolog, that every element is closed, and
// that a dict alternates key and value.

type Plist = string | number | boolean | Buffer | Plist[] | { [k: string]: Plist };

function xmlUnescape(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_m, e: string) => {
    if (e === 'amp') return '&';
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    return String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

function parsePlist(xml: string): Plist {
  const head = /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<!DOCTYPE plist PUBLIC "-\/\/Apple\/\/DTD PLIST 1\.0\/\/EN" "http:\/\/www\.apple\.com\/DTDs\/PropertyList-1\.0\.dtd">\n<plist version="1\.0">/;
  assert.match(xml, head, 'plist prolog, DOCTYPE and <plist version="1.0">');
  assert.ok(!xml.includes('&') || !/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(xml), 'every & is an entity');
  const tokens = [...xml.replace(head, '').matchAll(/<(\/?)([a-z]+)(\/?)>|([^<]+)/g)];
  let i = 0;
  const next = (): RegExpMatchArray => {
    const t = tokens[i++];
    assert.ok(t !== undefined, 'truncated plist');
    return t;
  };
  const skipWs = (): void => {
    while (tokens[i]?.[4] !== undefined && tokens[i]?.[4]?.trim() === '') i++;
  };
  const text = (tag: string): string => {
    let s = '';
    for (;;) {
      const t = next();
      if (t[4] !== undefined) s += t[4];
      else {
        assert.equal(`${t[1] ?? ''}${t[2] ?? ''}`, `/${tag}`, `</${tag}> expected`);
        return xmlUnescape(s);
      }
    }
  };
  const value = (): Plist => {
    skipWs();
    const t = next();
    const [, close, tag, empty] = t;
    assert.equal(close, '', `unexpected ${t[0]}`);
    assert.ok(tag !== undefined, `element expected, got text ${JSON.stringify(t[0])}`);
    if (empty === '/') {
      assert.ok(tag === 'true' || tag === 'false', `<${tag}/>`);
      return tag === 'true';
    }
    switch (tag) {
      case 'string':
        return text('string');
      case 'integer': {
        const s = text('integer');
        assert.match(s, /^-?\d+$/, 'integer');
        return Number(s);
      }
      case 'data': {
        const s = text('data').replace(/\s+/g, '');
        assert.match(s, /^[A-Za-z0-9+/]*={0,2}$/, 'base64 data');
        return Buffer.from(s, 'base64');
      }
      case 'array': {
        const out: Plist[] = [];
        for (;;) {
          skipWs();
          if (tokens[i]?.[1] === '/' && tokens[i]?.[2] === 'array') {
            i++;
            return out;
          }
          out.push(value());
        }
      }
      case 'dict': {
        const out: { [k: string]: Plist } = {};
        for (;;) {
          skipWs();
          const t2 = next();
          if (t2[1] === '/' && t2[2] === 'dict') return out;
          assert.equal(t2[2], 'key', `<key> expected in <dict>, got ${t2[0]}`);
          const k = text('key');
          assert.ok(!(k in out), `duplicate key ${k}`);
          out[k] = value();
        }
      }
      default:
        assert.fail(`unknown plist element <${tag}>`);
    }
  };
  const root = value();
  skipWs();
  const end = next();
  assert.equal(end[0], '</plist>');
  skipWs();
  assert.equal(i, tokens.length, 'nothing after </plist>');
  return root;
}

const isDict = (v: Plist | undefined): v is { [k: string]: Plist } => typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
const UUID_RE = /^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/;

function expectString(d: { [k: string]: Plist }, k: string): string {
  const v = d[k];
  assert.equal(typeof v, 'string', `${k} is a <string>`);
  return v as string;
}

test('mobileconfig: plist 1.0 with one com.apple.vpn.managed L2TP payload, every required key with its type', () => {
  const r = clientProfile('mobileconfig', INPUT);
  assert.ok(r.ok);
  assert.equal(r.value.mode, 0o600);
  assert.match(r.value.fileName, /\.mobileconfig$/);
  const root = parsePlist(r.value.text);
  assert.ok(isDict(root));
  assert.equal(root['PayloadType'], 'Configuration');
  assert.equal(root['PayloadVersion'], 1);
  assert.match(expectString(root, 'PayloadUUID'), UUID_RE);
  assert.match(expectString(root, 'PayloadIdentifier'), /^[a-z0-9-]+(\.[a-z0-9-]+)+$/);
  assert.equal(expectString(root, 'PayloadDisplayName'), INPUT.name);
  assert.equal(root['PayloadRemovalDisallowed'], false);
  const content = root['PayloadContent'];
  assert.ok(Array.isArray(content) && content.length === 1);
  const vpn = content[0];
  assert.ok(isDict(vpn));
  assert.equal(vpn['PayloadType'], 'com.apple.vpn.managed');
  assert.equal(vpn['PayloadVersion'], 1);
  assert.match(expectString(vpn, 'PayloadUUID'), UUID_RE);
  assert.notEqual(vpn['PayloadUUID'], root['PayloadUUID'], 'each payload has its own UUID');
  assert.ok(expectString(vpn, 'PayloadIdentifier').startsWith(`${expectString(root, 'PayloadIdentifier')}.`), 'payload identifier below the profile identifier');
  assert.equal(vpn['VPNType'], 'L2TP');
  assert.equal(expectString(vpn, 'UserDefinedName'), INPUT.name);
  const ppp = vpn['PPP'];
  assert.ok(isDict(ppp));
  assert.equal(ppp['CommRemoteAddress'], INPUT.server);
  assert.equal(ppp['AuthName'], INPUT.username);
  assert.equal(ppp['AuthPassword'], INPUT.password, 'password survives XML escaping');
  const ipsec = vpn['IPSec'];
  assert.ok(isDict(ipsec));
  assert.equal(ipsec['AuthenticationMethod'], 'SharedSecret');
  assert.equal(ipsec['LocalIdentifierType'], 'KeyID');
  const secret = ipsec['SharedSecret'];
  assert.ok(Buffer.isBuffer(secret), 'SharedSecret is <data>');
  assert.equal(secret.toString('utf8'), INPUT.psk);
  const v4 = vpn['IPv4'];
  assert.ok(isDict(v4));
  assert.equal(v4['OverridePrimary'], 1);
});

test('mobileconfig: no password = the device asks; split tunnel = OverridePrimary 0', () => {
  const { password: _p, ...rest } = INPUT;
  const plist = mobileconfigPlist({ ...rest, fullTunnel: false }, stableIds(INPUT.server, INPUT.username));
  const vpn = (plist['PayloadContent'] as readonly { readonly [k: string]: unknown }[])[0];
  assert.ok(vpn !== undefined);
  assert.ok(!('AuthPassword' in (vpn['PPP'] as object)));
  assert.deepEqual(vpn['IPv4'], { OverridePrimary: 0 });
});

test('mobileconfig: random names, users, passwords and keys always give a parseable plist that returns them', () => {
  const printable = fc.string({ unit: fc.constantFrom(...'ab Z9<>&"\'\u00e9\u2019/\\$`;'.split('')), minLength: 1, maxLength: 30 });
  fc.assert(
    fc.property(printable, printable, printable, printable, (name, username, password, psk) => {
      if (name.trim() === '') return;
      const r = clientProfile('mobileconfig', { ...INPUT, name, username, password, psk });
      assert.ok(r.ok, r.ok ? '' : r.error);
      const root = parsePlist(r.value.text);
      assert.ok(isDict(root));
      const vpn = (root['PayloadContent'] as Plist[])[0];
      assert.ok(isDict(vpn) && isDict(vpn['PPP']) && isDict(vpn['IPSec']));
      assert.equal(vpn['UserDefinedName'], name);
      assert.equal(vpn['PPP']['AuthName'], username);
      assert.equal(vpn['PPP']['AuthPassword'], password);
      assert.equal((vpn['IPSec']['SharedSecret'] as Buffer).toString('utf8'), psk);
      assert.match(root['PayloadIdentifier'] as string, /^[a-z0-9-]+(\.[a-z0-9-]+)+$/);
    }),
    { numRuns: 300 },
  );
});

test('UUIDs: RFC 4122 version 5, stable for the same server and user, different otherwise', () => {
  // RFC 4122 Appendix B's namespace (DNS) with "www.example.com" -> 2ed6657d-e927-568b-95e1-2665a8aea6a2 (widely published vector).
  assert.equal(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com'), '2ED6657D-E927-568B-95E1-2665A8AEA6A2');
  const a = stableIds('vpn.example.net', 'alice');
  assert.equal(a.uuid('vpn'), stableIds('VPN.example.net', 'alice').uuid('vpn'));
  assert.notEqual(a.uuid('vpn'), stableIds('vpn.example.net', 'bob').uuid('vpn'));
  assert.notEqual(a.uuid('vpn'), a.uuid('profile'));
});

// ---------------------------------------------------------------------------------------------
// PowerShell: the parameters handed to Add-VpnConnection, read back from the script.

/** Read a PowerShell single-quoted literal starting at s[0] === "'"; returns the value and the rest. */
function readPsLiteral(s: string): { value: string; rest: string } {
  assert.ok(/^['\u2018\u2019\u201a\u201b]/.test(s), `a single-quoted literal: ${s.slice(0, 20)}`);
  let out = '';
  for (let i = 1; i < s.length; i++) {
    const c = s[i] ?? '';
    if (/['\u2018\u2019\u201a\u201b]/.test(c)) {
      if (/['\u2018\u2019\u201a\u201b]/.test(s[i + 1] ?? '')) {
        out += c;
        i++;
        continue;
      }
      return { value: out, rest: s.slice(i + 1) };
    }
    out += c;
  }
  assert.fail('unterminated literal');
}

/** `$Name = '...'` assignments and the `$Vpn = @{ ... }` splat of the script. */
function readScript(text: string): { vars: Map<string, string | null>; splat: Map<string, string> } {
  const vars = new Map<string, string | null>();
  for (const line of text.split('\r\n')) {
    const m = /^\$(Name|Server|Psk|User|Password) = (.*)$/.exec(line);
    if (m === null) continue;
    const [, k = '', v = ''] = m;
    if (v === '$null') vars.set(k, null);
    else {
      const lit = readPsLiteral(v);
      assert.equal(lit.rest, '', `nothing after the literal on ${k}`);
      vars.set(k, lit.value);
    }
  }
  const body = /\r\n\$Vpn = @\{\r\n([\s\S]*?)\r\n\}\r\n/.exec(text)?.[1];
  assert.ok(body !== undefined, 'the Add-VpnConnection splat');
  const splat = new Map<string, string>();
  for (const line of body.split('\r\n')) {
    const m = /^ {4}([A-Za-z0-9]+) += (.*)$/.exec(line);
    assert.ok(m !== null, `splat line: ${line}`);
    splat.set(m[1] ?? '', m[2] ?? '');
  }
  return { vars, splat };
}

/** Add-VpnConnection's parameters (Microsoft VpnClient module reference). */
const ADD_VPN_PARAMS = new Set([
  'Name', 'ServerAddress', 'TunnelType', 'EncryptionLevel', 'AuthenticationMethod', 'SplitTunneling', 'AllUserConnection', 'L2tpPsk',
  'RememberCredential', 'UseWinlogonCredential', 'EapConfigXmlStream', 'Force', 'PassThru', 'ServerList', 'DnsSuffix', 'IdleDisconnectSeconds',
]);

test('PowerShell: Add-VpnConnection L2TP with the PSK, the server\'s PPP methods, EncryptionLevel Required; literals round-trip', () => {
  const r = clientProfile('powershell', INPUT, { natRule: 2 });
  assert.ok(r.ok);
  assert.equal(r.value.mode, 0o600);
  const { vars, splat } = readScript(r.value.text);
  assert.equal(vars.get('Name'), INPUT.name);
  assert.equal(vars.get('Server'), INPUT.server);
  assert.equal(vars.get('Psk'), INPUT.psk);
  assert.equal(vars.get('User'), INPUT.username);
  assert.equal(vars.get('Password'), INPUT.password);
  for (const k of splat.keys()) assert.ok(ADD_VPN_PARAMS.has(k), `Add-VpnConnection has no -${k}`);
  assert.equal(splat.get('TunnelType'), "'L2tp'");
  assert.equal(splat.get('L2tpPsk'), '$Psk');
  assert.equal(splat.get('ServerAddress'), '$Server');
  assert.equal(splat.get('EncryptionLevel'), "'Required'");
  assert.equal(splat.get('AuthenticationMethod'), "@('MSChapv2', 'Chap')");
  assert.equal(splat.get('SplitTunneling'), '$false');
  assert.ok(r.value.text.includes('Add-VpnConnection @Vpn'));
  assert.match(r.value.text, /\[ValidateSet\(-1, 0, 1, 2\)\]\[int\]\$NatRule = 2,/);
  assert.ok(r.value.text.includes("New-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\PolicyAgent' -Name 'AssumeUDPEncapsulationContextOnSendRule' -PropertyType DWord"));
  // No double-quoted string interpolates a secret ($ and backtick are live there).
  for (const m of r.value.text.matchAll(/"([^"\r\n]*)"/g)) assert.ok(!/\$(Psk|Password)/.test(m[1] ?? ''), `secret in a double-quoted string: ${m[0]}`);
});

test('PowerShell: default leaves the registry alone; no password = rasdial asks', () => {
  const { password: _p, ...rest } = INPUT;
  const r = clientProfile('powershell', { ...rest, auth: ['pap'], fullTunnel: false });
  assert.ok(r.ok);
  const { vars, splat } = readScript(r.value.text);
  assert.equal(vars.get('Password'), null);
  assert.equal(splat.get('AuthenticationMethod'), "@('Pap')");
  assert.equal(splat.get('SplitTunneling'), '$true');
  assert.match(r.value.text, /\$NatRule = -1,/);
});

test('psQuote: any text (quotes, typographic quotes, $, backtick, newline) reads back unchanged', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...'a\'\u2018\u2019\u201a\u201b$`"\n x'.split('')), maxLength: 40 }), (s) => {
      const lit = readPsLiteral(psQuote(s));
      assert.equal(lit.value, s);
      assert.equal(lit.rest, '');
    }),
  );
});

// ---------------------------------------------------------------------------------------------
// NetworkManager keyfile: parsed as a GLib key file, keys checked against NetworkManager-l2tp's
// valid_properties / valid_secrets (src/nm-l2tp-service.c) with their types.

function keyfileUnescape(v: string): string {
  return v.replace(/\\(.)/g, (_m, c: string) => ({ s: ' ', n: '\n', t: '\t', r: '\r', '\\': '\\' })[c] ?? assert.fail(`bad escape \\${c}`));
}

function parseKeyfile(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let cur: Map<string, string> | undefined;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sec = /^\[([^\]]+)\]$/.exec(line);
    if (sec !== null) {
      assert.ok(!out.has(sec[1] ?? ''), `duplicate section ${line}`);
      cur = new Map();
      out.set(sec[1] ?? '', cur);
      continue;
    }
    const kv = /^([A-Za-z0-9_.-]+)=(.*)$/.exec(line);
    assert.ok(kv !== null && cur !== undefined, `key=value inside a section: ${JSON.stringify(line)}`);
    assert.ok(!cur.has(kv[1] ?? ''), `duplicate key ${kv[1] ?? ''}`);
    cur.set(kv[1] ?? '', keyfileUnescape(kv[2] ?? ''));
  }
  return out;
}

type NmType = 'string' | 'uint' | 'bool';
/** NetworkManager-l2tp 1.20+ valid_properties (the subset with their GType) and valid_secrets. */
const NM_L2TP_DATA: Readonly<Record<string, NmType>> = {
  gateway: 'string', 'user-auth-type': 'string', user: 'string', domain: 'string', 'ephemeral-port': 'bool', mtu: 'uint', mru: 'uint', mrru: 'uint',
  'refuse-eap': 'bool', 'refuse-pap': 'bool', 'refuse-chap': 'bool', 'refuse-mschap': 'bool', 'refuse-mschapv2': 'bool', 'require-mppe': 'bool',
  'lcp-echo-failure': 'uint', 'lcp-echo-interval': 'uint', 'machine-auth-type': 'string', 'ipsec-enabled': 'bool', 'ipsec-remote-id': 'string',
  'ipsec-psk': 'string', 'ipsec-ike': 'string', 'ipsec-esp': 'string', 'ipsec-ikelifetime': 'uint', 'ipsec-salifetime': 'uint', 'ipsec-forceencaps': 'bool',
  'ipsec-pfs': 'bool', 'password-flags': 'uint', 'ipsec-psk-flags': 'uint',
};
const NM_L2TP_SECRETS = new Set(['password', 'user-certpass', 'ipsec-psk', 'machine-certpass', 'no-secret']);

test('nmconnection: a GLib key file with the keys NetworkManager-l2tp expects, typed as it validates them', () => {
  const r = clientProfile('nmconnection', INPUT);
  assert.ok(r.ok);
  assert.equal(r.value.mode, 0o600);
  assert.match(r.value.fileName, /\.nmconnection$/);
  const kf = parseKeyfile(r.value.text);
  const conn = kf.get('connection');
  assert.ok(conn);
  assert.equal(conn.get('id'), INPUT.name);
  assert.equal(conn.get('type'), 'vpn');
  assert.match(conn.get('uuid') ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const vpn = kf.get('vpn');
  assert.ok(vpn);
  assert.equal(vpn.get('service-type'), NM_L2TP_SERVICE);
  for (const [k, v] of vpn) {
    if (k === 'service-type') continue;
    const t = NM_L2TP_DATA[k];
    assert.ok(t !== undefined, `NetworkManager-l2tp rejects unknown data key ${k}`);
    if (t === 'bool') assert.ok(v === 'yes' || v === 'no', `${k}=${v} must be yes|no`);
    if (t === 'uint') assert.match(v, /^\d+$/, `${k}=${v} must be an integer`);
  }
  // Required by the plugin: gateway; and what makes it L2TP/IPsec with a PSK.
  assert.equal(vpn.get('gateway'), INPUT.server);
  assert.equal(vpn.get('user'), INPUT.username);
  assert.equal(vpn.get('ipsec-enabled'), 'yes');
  assert.equal(vpn.get('machine-auth-type'), 'psk');
  assert.equal(vpn.get('password-flags'), '0');
  assert.equal(vpn.get('refuse-pap'), 'yes');
  assert.equal(vpn.get('refuse-chap'), 'no');
  assert.equal(vpn.get('refuse-mschapv2'), 'no');
  assert.equal(vpn.get('mru'), '1400');
  const secrets = kf.get('vpn-secrets');
  assert.ok(secrets);
  for (const k of secrets.keys()) assert.ok(NM_L2TP_SECRETS.has(k), `unknown secret ${k}`);
  assert.equal(secrets.get('ipsec-psk'), INPUT.psk);
  assert.equal(secrets.get('password'), INPUT.password);
  assert.equal(kf.get('ipv4')?.get('method'), 'auto');
  assert.equal(kf.get('ipv4')?.get('never-default'), 'false');
});

test('nmconnection: the offered IKE/ESP suites all parse and fit our default responder policy', () => {
  const r = clientProfile('nmconnection', INPUT);
  assert.ok(r.ok);
  const vpn = parseKeyfile(r.value.text).get('vpn');
  const norm = (s: string): string => s.replaceAll('sha2_256', 'sha256');
  for (const name of (vpn?.get('ipsec-ike') ?? '').split(',')) {
    const s = parseIkeProposal(norm(name));
    assert.ok(s.ok, name);
    for (const e of s.value.encryption) assert.ok(DEFAULT_POLICY.phase1.encryption.includes(e), `${name}: ${e}`);
    for (const h of s.value.hash) assert.ok(DEFAULT_POLICY.phase1.hash.includes(h), `${name}: ${h}`);
    for (const g of s.value.groups) assert.ok(DEFAULT_POLICY.phase1.groups.includes(g), `${name}: group ${g}`);
  }
  for (const name of (vpn?.get('ipsec-esp') ?? '').split(',')) {
    const s = parseEspProposal(norm(name));
    assert.ok(s.ok, name);
    for (const e of s.value.encryption) assert.ok(DEFAULT_POLICY.phase2.encryption.includes(e), `${name}: ${e}`);
    for (const i of s.value.integrity) assert.ok(DEFAULT_POLICY.phase2.integrity.includes(i), `${name}: ${i}`);
  }
});

test('nmconnection: no password = password-flags 2 (asked), and values with blanks and backslashes survive', () => {
  const { password: _p, ...rest } = INPUT;
  const r = clientProfile('nmconnection', { ...rest, name: '  two  spaces \\ tab', psk: ' lead\\trail ' });
  assert.ok(r.ok);
  const kf = parseKeyfile(r.value.text);
  assert.equal(kf.get('vpn')?.get('password-flags'), '2');
  assert.equal(kf.get('vpn-secrets')?.get('password'), undefined);
  assert.equal(kf.get('vpn-secrets')?.get('ipsec-psk'), ' lead\\trail ');
  assert.equal(kf.get('connection')?.get('id'), '  two  spaces \\ tab');
  assert.equal(keyfileEscape(' a\\b'), '\\sa\\\\b');
});

test('bad inputs are refused with a reason, never turned into a broken profile', () => {
  const bad: [Partial<ClientProfileInput>, RegExp][] = [
    [{ server: '0.0.0.0' }, /not an address clients can reach/],
    [{ server: 'a b' }, /host name or an IPv4/],
    [{ server: '2001:db8::1' }, /host name or an IPv4/],
    [{ psk: '' }, /pre-shared key is empty/],
    [{ password: 'x\ny' }, /control character/],
    [{ username: '' }, /user name is empty/],
    [{ auth: [] }, /no PPP authentication/],
  ];
  for (const [patch, re] of bad) {
    for (const f of ['mobileconfig', 'powershell', 'nmconnection'] as const) {
      const r = clientProfile(f, { ...INPUT, ...patch });
      assert.ok(!r.ok, `${f} ${JSON.stringify(patch)}`);
      assert.match(r.error, re);
    }
  }
});
