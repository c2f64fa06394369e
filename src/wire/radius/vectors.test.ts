/**
 * Codec vectors: RFC 2865 §7 example packets, and packets produced independently by FreeRADIUS
 * 3.2.1 (Debian 12) `radclient` / `radiusd`, captured with tcpdump on loopback in a namespace:
 *
 *   ip netns add rad-probe; ip -n rad-probe link set lo up
 *   freeradius -X -d RADDB   (clients.conf: 127.0.0.1 secret "testing123"; post-auth and
 *                             Post-Auth-Type REJECT: update reply { &Message-Authenticator := 0x00 })
 *   printf 'User-Name = "lab"\nUser-Password = "labpass"\nMessage-Authenticator = 0x00\n' |
 *     radclient -x 127.0.0.1 auth testing123          (and CHAP, MS-CHAPv2, acct, status, coa, disconnect)
 *   tshark -r cap.pcap -T fields -e udp.payload
 *
 * Users: `lab`/`labpass` (Framed-IP-Address, RFC 2868 tunnel attributes with tag 1, Tunnel-Password
 * "tunsecret", Reply-Message "hello") and `User`/`clientPass` (the RFC 2759 §9.2 user; Framed-Pool,
 * timeouts, Class, IPv6 prefixes, Framed-Route, MS DNS). Each vector lists its fields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACCT_STATUS_TYPE,
  MS_ATTR,
  RADIUS_ATTR,
  RADIUS_CODE,
  TERMINATE_CAUSE,
  TUNNEL_MEDIUM_TYPE,
  TUNNEL_TYPE,
  attributeValue,
  chapPassword,
  checkAuthenticators,
  decodeAttributes,
  encodeAttribute,
  encodeRadiusPacket,
  encodeSignedPacket,
  findAttributes,
  hideUserPassword,
  parseMsChap2Success,
  parseRadiusPacket,
  unhideUserPassword,
  type RadiusPacket,
} from './index.js';

/** Hex of a vector: on each line, the hex before the first run of 3+ spaces (the rest is the field comment). */
const h = (s: string): Uint8Array =>
  Uint8Array.from(
    Buffer.from(
      s
        .split('\n')
        .map((l) => (l.trim().split(/\s{3,}/)[0] ?? '').replace(/\s/g, ''))
        .filter((x) => /^[0-9a-f]*$/i.test(x))
        .join(''),
      'hex',
    ),
  );
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const parse = (b: Uint8Array): RadiusPacket => {
  const r = parseRadiusPacket(b);
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
};

// ---------------------------------------------------------------- RFC 2865 §7.1 (secret "xyzzy5461")
const RFC_SECRET = text('xyzzy5461');
const RFC71_REQUEST = h(`
  01 00 0038                                       Access-Request, id 0, length 56
  0f403f9473978057bd83d5cb98f4227a                 Request Authenticator
  01 06 6e656d6f                                   User-Name "nemo"
  02 12 0dbe708d93d413ce3196e43f782a0aee           User-Password "arctangent" hidden (§5.2)
  04 06 c0a80110                                   NAS-IP-Address 192.168.1.16
  05 06 00000003                                   NAS-Port 3`);
const RFC71_ACCEPT = h(`
  02 00 0026                                       Access-Accept, id 0, length 38
  86fe220e7624ba2a1005f6bf9b55e0b2                 Response Authenticator
  06 06 00000001                                   Service-Type Login
  0f 06 00000000                                   Login-Service Telnet
  0e 06 c0a80103                                   Login-IP-Host 192.168.1.3`);

test('RFC 2865 §7.1: PAP request parses, the password unhides, the Accept authenticator verifies', () => {
  const req = parse(RFC71_REQUEST);
  assert.equal(req.code, RADIUS_CODE.AccessRequest);
  const d = decodeAttributes(req, { secret: RFC_SECRET, requestAuthenticator: req.authenticator });
  assert.deepEqual(d.malformed, []);
  assert.equal(attributeValue(d.attributes, RADIUS_ATTR.UserName), 'nemo');
  assert.equal(attributeValue(d.attributes, RADIUS_ATTR.UserPassword), 'arctangent');
  assert.equal(attributeValue(d.attributes, RADIUS_ATTR.NasIpAddress), 0xc0a80110);
  assert.equal(attributeValue(d.attributes, RADIUS_ATTR.NasPort), 3);
  // Re-emitting the parsed packet gives the same octets; hiding the password again gives the same cipher.
  assert.equal(hex(encodeRadiusPacket(req)), hex(RFC71_REQUEST));
  const hidden = hideUserPassword(text('arctangent'), RFC_SECRET, req.authenticator);
  assert.ok(hidden.ok);
  assert.equal(hex(hidden.value), '0dbe708d93d413ce3196e43f782a0aee');
  const check = checkAuthenticators(RFC71_ACCEPT, RFC_SECRET, req.authenticator);
  assert.equal(check.authenticatorOk, true);
  assert.equal(check.messageAuthenticatorPresent, false);
  // The same Accept, re-signed by us from its attributes, is byte-identical.
  const accept = parse(RFC71_ACCEPT);
  const again = encodeSignedPacket({ code: accept.code, identifier: 0, attributes: accept.attributes }, RFC_SECRET, req.authenticator);
  assert.ok(again.ok);
  assert.equal(hex(again.value), hex(RFC71_ACCEPT));
  // A wrong secret or another Request Authenticator does not verify.
  assert.equal(checkAuthenticators(RFC71_ACCEPT, text('xyzzy5462'), req.authenticator).authenticatorOk, false);
  assert.equal(checkAuthenticators(RFC71_ACCEPT, RFC_SECRET, new Uint8Array(16)).authenticatorOk, false);
});

// ---------------------------------------------------------------- RFC 2865 §7.2 (CHAP)
const RFC72_REQUEST = h(`
  01 01 0047                                       Access-Request, id 1, length 71
  2aee86f08d0d55969ca5978e0d3367a2                 Request Authenticator (= the CHAP challenge, §5.3)
  01 08 666c6f707379                               User-Name "flopsy"
  03 13 16 e97557c316185895f293ff6344077275        CHAP-Password: CHAP Ident 0x16 + 16-octet response
  04 06 c0a80110                                   NAS-IP-Address 192.168.1.16
  05 06 00000014                                   NAS-Port 20
  06 06 00000002                                   Service-Type Framed
  07 06 00000001                                   Framed-Protocol PPP`);
// The Response Authenticator verifies with exactly these octets (Framed-Routing 2, Framed-MTU 0x05dc);
// transcriptions of the RFC's hex dump differ in those two values, the authenticator settles it.
const RFC72_ACCEPT = h(`
  02 01 0038                                       Access-Accept, id 1, length 56
  15efbc7dab26cfa3dc34d9c03c8601a4                 Response Authenticator
  06 06 00000002                                   Service-Type Framed
  07 06 00000001                                   Framed-Protocol PPP
  08 06 fffffffe                                   Framed-IP-Address 255.255.255.254 (NAS assigns)
  0a 06 00000002                                   Framed-Routing 2 (Listen)
  0d 06 00000001                                   Framed-Compression VJ TCP/IP
  0c 06 000005dc                                   Framed-MTU 1500`);

test('RFC 2865 §7.2: CHAP request and Accept decode with the right types', () => {
  const req = parse(RFC72_REQUEST);
  const d = decodeAttributes(req);
  assert.equal(attributeValue(d.attributes, RADIUS_ATTR.UserName), 'flopsy');
  const chap = attributeValue(d.attributes, RADIUS_ATTR.ChapPassword);
  assert.equal(chap?.[0], 0x16);
  assert.equal(attributeValue(d.attributes, RADIUS_ATTR.NasPort), 20);
  assert.equal(attributeValue(d.attributes, RADIUS_ATTR.ServiceType), 2);
  // CHAP (§5.3, RFC 1994): the response is MD5(Ident | "arctangent" | Request Authenticator).
  assert.equal(hex(chap ?? new Uint8Array()), hex(chapPassword(0x16, text('arctangent'), req.authenticator)));
  assert.equal(checkAuthenticators(RFC72_ACCEPT, RFC_SECRET, req.authenticator).authenticatorOk, true);
  const acc = decodeAttributes(parse(RFC72_ACCEPT));
  assert.equal(attributeValue(acc.attributes, RADIUS_ATTR.FramedIpAddress), 0xfffffffe);
  assert.equal(attributeValue(acc.attributes, RADIUS_ATTR.FramedMtu), 1500);
  assert.equal(attributeValue(acc.attributes, RADIUS_ATTR.FramedCompression), 1);
  assert.equal(hex(encodeRadiusPacket(parse(RFC72_ACCEPT))), hex(RFC72_ACCEPT));
});

test('RFC 2865 §7.3: User-Password "challenge" under Request Authenticator f3a47a1f...', () => {
  const ra = h('f3a47a1f6a6d76710b947ab93041a039');
  const hidden = hideUserPassword(text('challenge'), RFC_SECRET, ra);
  assert.ok(hidden.ok);
  assert.equal(hex(hidden.value), '33657573778289b570885e15084825c5');
  const back = unhideUserPassword(hidden.value, RFC_SECRET, ra);
  assert.ok(back.ok);
  assert.equal(new TextDecoder().decode(back.value), 'challenge');
});

// ---------------------------------------------------------------- FreeRADIUS 3.2.1 captures ("testing123")
const FR_SECRET = text('testing123');

const FR_PAP_REQUEST = h(`
  01 59 003d                                       Access-Request, id 89, length 61 (radclient)
  5086c19e398ec7001a774f9d8c28c1b6                 Request Authenticator (random)
  01 05 6c6162                                     User-Name "lab"
  02 12 7be8e652ab13fddd28ccdab5dbe9fb8a           User-Password "labpass" hidden
  50 12 c147236e614b1f5cc7e2fd43a4eba06f           Message-Authenticator (radclient puts it last)`);
const FR_PAP_ACCEPT = h(`
  02 59 006c                                       Access-Accept, id 89, length 108 (radiusd)
  4687fb2e50ca2a070231d879ff0753bf                 Response Authenticator
  06 06 00000002                                   Service-Type Framed-User
  07 06 00000001                                   Framed-Protocol PPP
  08 06 64400909                                   Framed-IP-Address 100.64.9.9
  40 06 01 000003                                  Tunnel-Type:1 L2TP (tag in the high octet, §3.1)
  41 06 01 000001                                  Tunnel-Medium-Type:1 IPv4
  43 0c 01 3139322e302e322e31                      Tunnel-Server-Endpoint:1 "192.0.2.1"
  45 15 01 86f9 5c1bc05cba6775e4d555182517395baf   Tunnel-Password:1 salt 0x86f9 + 16 octets (§3.5)
  12 07 68656c6c6f                                 Reply-Message "hello"
  50 12 8ab30bd04db776ebc3e26abcd0c89098           Message-Authenticator (added by unlang)`);
const FR_REJECT_REQUEST_AUTH = h('cedebce4757ddf6084ec9dd458280e4f');
const FR_REJECT = h(`
  03 6e 002d                                       Access-Reject, id 110, length 45
  cc107934e7c7c0a17b3633780e89bbac                 Response Authenticator
  12 07 68656c6c6f                                 Reply-Message "hello"
  50 12 b14f062177e92cda0003a5687769ea89           Message-Authenticator`);

test('FreeRADIUS PAP: request MA verifies, password unhides; the Accept has valid authenticators and tunnel attributes', () => {
  const req = parse(FR_PAP_REQUEST);
  const reqCheck = checkAuthenticators(FR_PAP_REQUEST, FR_SECRET);
  assert.deepEqual(reqCheck, { authenticatorOk: true, messageAuthenticatorPresent: true, messageAuthenticatorOk: true });
  const d = decodeAttributes(req, { secret: FR_SECRET, requestAuthenticator: req.authenticator });
  assert.equal(attributeValue(d.attributes, RADIUS_ATTR.UserPassword), 'labpass');

  assert.deepEqual(checkAuthenticators(FR_PAP_ACCEPT, FR_SECRET, req.authenticator), { authenticatorOk: true, messageAuthenticatorPresent: true, messageAuthenticatorOk: true });
  const acc = decodeAttributes(parse(FR_PAP_ACCEPT), { secret: FR_SECRET, requestAuthenticator: req.authenticator });
  assert.deepEqual(acc.malformed, []);
  assert.equal(attributeValue(acc.attributes, RADIUS_ATTR.FramedIpAddress), 0x64400909);
  const tt = findAttributes(acc.attributes, RADIUS_ATTR.TunnelType)[0];
  assert.deepEqual([tt?.tag, tt?.value], [1, TUNNEL_TYPE.L2tp]);
  const mt = findAttributes(acc.attributes, RADIUS_ATTR.TunnelMediumType)[0];
  assert.deepEqual([mt?.tag, mt?.value], [1, TUNNEL_MEDIUM_TYPE.Ipv4]);
  const se = findAttributes(acc.attributes, RADIUS_ATTR.TunnelServerEndpoint)[0];
  assert.deepEqual([se?.tag, se?.value], [1, '192.0.2.1']);
  const tp = findAttributes(acc.attributes, RADIUS_ATTR.TunnelPassword)[0];
  assert.deepEqual([tp?.tag, tp?.value], [1, 'tunsecret']);
  assert.equal(attributeValue(acc.attributes, RADIUS_ATTR.ReplyMessage), 'hello');

  // Re-encrypting "tunsecret" with FreeRADIUS's salt reproduces its ciphertext octet for octet.
  const again = encodeAttribute(RADIUS_ATTR.TunnelPassword, 'tunsecret', { tag: 1, crypto: { secret: FR_SECRET, requestAuthenticator: req.authenticator, salt: () => 0x86f9 } });
  assert.ok(again.ok);
  assert.equal(hex(again.value.value), '0186f95c1bc05cba6775e4d555182517395baf');

  // The Reject (request authenticator from its own capture) verifies too.
  assert.deepEqual(checkAuthenticators(FR_REJECT, FR_SECRET, FR_REJECT_REQUEST_AUTH), { authenticatorOk: true, messageAuthenticatorPresent: true, messageAuthenticatorOk: true });
  // One flipped octet breaks both.
  const bad = new Uint8Array(FR_PAP_ACCEPT);
  bad[30] = (bad[30] as number) ^ 1;
  const c = checkAuthenticators(bad, FR_SECRET, req.authenticator);
  assert.equal(c.authenticatorOk, false);
  assert.equal(c.messageAuthenticatorOk, false);
});

const FR_STATUS = h(`
  0c 6f 0026                                       Status-Server, id 111, length 38 (RFC 5997)
  90f04a3964ff839167ef73f8e605c5f8                 Request Authenticator (random)
  50 12 6781eb5faa5d255f5b94dae7721e0447           Message-Authenticator (required, RFC 5997 §3)`);
const FR_STATUS_ACCEPT = h(`
  02 6f 0014                                       Access-Accept, id 111, length 20, no attributes
  77f48ce86069a9f8885f98afe57a0d41                 Response Authenticator`);

test('FreeRADIUS Status-Server: our signing reproduces radclient\'s Message-Authenticator; the answer verifies', () => {
  const st = parse(FR_STATUS);
  const ours = encodeSignedPacket({ code: RADIUS_CODE.StatusServer, identifier: 111, attributes: [], messageAuthenticator: true }, FR_SECRET, st.authenticator);
  assert.ok(ours.ok);
  assert.equal(hex(ours.value), hex(FR_STATUS));
  assert.equal(checkAuthenticators(FR_STATUS_ACCEPT, FR_SECRET, st.authenticator).authenticatorOk, true);
});

const FR_MSCHAP2_REQUEST = h(`
  01 2b 0099                                       Access-Request, id 43, length 153
  4d464c075ca488840c95bcc062127df0                 Request Authenticator
  01 06 55736572                                   User-Name "User" (RFC 2759 §9.2)
  1a 18 00000137 0b 12 5b5d7c7d7b3f2f3e3c2c602132262628
                                                   VSA Microsoft: MS-CHAP-Challenge (authenticator challenge)
  1a 3a 00000137 19 34 01 00 21402324255e262a28295f2b3a337c7e 0000000000000000
        82309ecd8d708b5ea08faa3981cd83544233114a3d85d6df
                                                   VSA Microsoft: MS-CHAP2-Response ident 1, flags 0, peer challenge, reserved, NT-Response
  3d 06 00000005                                   NAS-Port-Type Virtual
  06 06 00000002                                   Service-Type Framed
  07 06 00000001                                   Framed-Protocol PPP
  20 09 6c3274706b6974                             NAS-Identifier "l2tpkit"
  50 12 85f90ece46c6f4021b6ca5480ca68315           Message-Authenticator`);
const FR_MSCHAP2_ACCEPT = h(`
  02 2b 0152                                       Access-Accept, id 43, length 338
  091b670dac296cf9a45f8795c302af98                 Response Authenticator
  06 06 00000002                                   Service-Type Framed
  07 06 00000001                                   Framed-Protocol PPP
  58 06 676f6c64                                   Framed-Pool "gold"
  1b 06 00000e10                                   Session-Timeout 3600
  1c 06 00000258                                   Idle-Timeout 600
  55 06 0000012c                                   Acct-Interim-Interval 300
  19 08 6c32746b6974                               Class "l2tkit"
  61 14 00 40 20010db8000100000000000000000000     Framed-IPv6-Prefix 2001:db8:1::/64 (16 prefix octets)
  7b 14 00 38 20010db8010000000000000000000000     Delegated-IPv6-Prefix 2001:db8:100::/56
  0c 06 00000578                                   Framed-MTU 1400
  16 1b 3139382e35312e3130302e302f323420302e302e302e302031
                                                   Framed-Route "198.51.100.0/24 0.0.0.0 1"
  1a 0c 00000137 1c 06 cb007135                    MS-Primary-DNS-Server 203.0.113.53
  1a 0c 00000137 1d 06 cb007136                    MS-Secondary-DNS-Server 203.0.113.54
  1a 33 00000137 1a 2d 01 533d34303741353538393131354644304436323039463531304645394330343536363933324344413536
                                                   MS-CHAP2-Success ident 1 "S=407A5589115FD0D6209F510FE9C04566932CDA56"
  1a 2a 00000137 11 24 8490 0d456b35c63eec7f784701a71b3d8d0fa2d3726b811f95d78800733c6b7decfd
                                                   MS-MPPE-Recv-Key: salt 0x8490 + 32 octets
  1a 2a 00000137 10 24 8d59 3fb36eef6e1aebb386f8a6159f503575493015bc69c07f84de56cd7e5f22e931
                                                   MS-MPPE-Send-Key: salt 0x8d59 + 32 octets
  1a 0c 00000137 07 06 00000001                    MS-MPPE-Encryption-Policy Allowed
  1a 0c 00000137 08 06 00000006                    MS-MPPE-Encryption-Types RC4 40 or 128
  50 12 60524e0bbb6c5f386d8c27d04939af0f           Message-Authenticator`);

test('FreeRADIUS MS-CHAPv2 (RFC 2759 §9.2 user): VSAs split, MS-CHAP2-Success carries the RFC authenticator response, MPPE keys decrypt', () => {
  const req = parse(FR_MSCHAP2_REQUEST);
  const d = decodeAttributes(req);
  assert.equal(hex(attributeValue(d.attributes, MS_ATTR.ChapChallenge) ?? new Uint8Array()), '5b5d7c7d7b3f2f3e3c2c602132262628');
  assert.equal(attributeValue(d.attributes, MS_ATTR.Chap2Response)?.length, 50);
  assert.equal(attributeValue(d.attributes, RADIUS_ATTR.NasIdentifier), 'l2tpkit');
  assert.deepEqual(checkAuthenticators(FR_MSCHAP2_REQUEST, FR_SECRET).messageAuthenticatorOk, true);

  assert.deepEqual(checkAuthenticators(FR_MSCHAP2_ACCEPT, FR_SECRET, req.authenticator), { authenticatorOk: true, messageAuthenticatorPresent: true, messageAuthenticatorOk: true });
  const acc = decodeAttributes(parse(FR_MSCHAP2_ACCEPT), { secret: FR_SECRET, requestAuthenticator: req.authenticator });
  assert.deepEqual(acc.malformed, []);
  assert.deepEqual(acc.unknown, []);
  const success = parseMsChap2Success(attributeValue(acc.attributes, MS_ATTR.Chap2Success) ?? new Uint8Array());
  assert.ok(success.ok);
  assert.equal(hex(success.value.authenticatorResponse).toUpperCase(), '407A5589115FD0D6209F510FE9C04566932CDA56');
  assert.equal(attributeValue(acc.attributes, RADIUS_ATTR.FramedPool), 'gold');
  assert.equal(attributeValue(acc.attributes, RADIUS_ATTR.SessionTimeout), 3600);
  assert.equal(attributeValue(acc.attributes, RADIUS_ATTR.FramedRoute), '198.51.100.0/24 0.0.0.0 1');
  const p6 = attributeValue(acc.attributes, RADIUS_ATTR.FramedIpv6Prefix);
  assert.equal(p6?.length, 64);
  assert.equal(hex(p6?.prefix ?? new Uint8Array()), '20010db8000100000000000000000000');
  assert.equal(attributeValue(acc.attributes, RADIUS_ATTR.DelegatedIpv6Prefix)?.length, 56);
  assert.equal(attributeValue(acc.attributes, MS_ATTR.PrimaryDnsServer), 0xcb007135);
  assert.equal(attributeValue(acc.attributes, MS_ATTR.SecondaryDnsServer), 0xcb007136);
  // RFC 2548 §2.4.2: the MPPE keys decrypt to a 16-octet key (Key-Length octet honoured).
  assert.equal(attributeValue(acc.attributes, MS_ATTR.MppeSendKey)?.length, 16);
  assert.equal(attributeValue(acc.attributes, MS_ATTR.MppeRecvKey)?.length, 16);
});

const FR_CHAP_REQUEST = h(`
  01 32 004a                                       Access-Request, id 50, length 74
  1ee1db6d561c5f8188002d46395405d0                 Request Authenticator (= CHAP challenge)
  01 05 6c6162                                     User-Name "lab"
  03 13 d7 101bb55504b4019f09da8a51137d5ceb        CHAP-Password ident 0xd7, MD5(ident|"labpass"|challenge)
  04 06 c000020a                                   NAS-IP-Address 192.0.2.10
  05 06 00000007                                   NAS-Port 7
  50 12 3ca0b3ce7d81e34dfce53dca69db7425           Message-Authenticator`);

test('FreeRADIUS CHAP: radclient\'s CHAP-Password is MD5(ident | password | Request Authenticator)', () => {
  const req = parse(FR_CHAP_REQUEST);
  const chap = attributeValue(decodeAttributes(req).attributes, RADIUS_ATTR.ChapPassword);
  assert.equal(hex(chap ?? new Uint8Array()), hex(chapPassword(0xd7, text('labpass'), req.authenticator)));
});

const FR_ACCT_START = h(`
  04 5a 004f                                       Accounting-Request, id 90, length 79
  1ee15705da4e6aa93dfeefad0aa4f044                 Request Authenticator = MD5(packet with zeros | secret) (RFC 2866 §3)
  01 05 6c6162                                     User-Name "lab"
  28 06 00000001                                   Acct-Status-Type Start
  2c 0a 3030303030303061                           Acct-Session-Id "0000000a"
  04 06 c000020a                                   NAS-IP-Address 192.0.2.10
  05 06 00000007                                   NAS-Port 7
  08 06 64400909                                   Framed-IP-Address 100.64.9.9
  37 06 6553f100                                   Event-Timestamp 1700000000
  29 06 00000000                                   Acct-Delay-Time 0
  19 08 6c32746b6974                               Class`);
const FR_ACCT_START_RESPONSE = h(`
  05 5a 0014                                       Accounting-Response, id 90, length 20
  f5fc9cdd92355642c85f7bd4ebe70a49                 Response Authenticator`);
const FR_ACCT_STOP = h(`
  04 51 006b                                       Accounting-Request, id 81, length 107
  60226b240305e2028afe879b6272e2a8                 Request Authenticator
  01 05 6c6162                                     User-Name "lab"
  28 06 00000002                                   Acct-Status-Type Stop
  2c 0a 3030303030303061                           Acct-Session-Id "0000000a"
  04 06 c000020a                                   NAS-IP-Address 192.0.2.10
  2a 06 0012d687                                   Acct-Input-Octets 1234567
  2b 06 00000059                                   Acct-Output-Octets 89
  34 06 00000001                                   Acct-Input-Gigawords 1 (RFC 2869 §5.1)
  35 06 00000000                                   Acct-Output-Gigawords 0
  2f 06 000003e8                                   Acct-Input-Packets 1000
  30 06 00000014                                   Acct-Output-Packets 20
  2e 06 00000e10                                   Acct-Session-Time 3600
  31 06 00000006                                   Acct-Terminate-Cause Admin-Reset
  37 06 6553ff10                                   Event-Timestamp 1700003600
  29 06 00000002                                   Acct-Delay-Time 2`);

test('FreeRADIUS accounting: our Request Authenticator equals radclient\'s; the Response verifies', () => {
  for (const v of [FR_ACCT_START, FR_ACCT_STOP]) {
    const p = parse(v);
    assert.equal(checkAuthenticators(v, FR_SECRET).authenticatorOk, true);
    const ours = encodeSignedPacket({ code: p.code, identifier: p.identifier, attributes: p.attributes }, FR_SECRET);
    assert.ok(ours.ok);
    assert.equal(hex(ours.value), hex(v));
  }
  const start = parse(FR_ACCT_START);
  assert.equal(checkAuthenticators(FR_ACCT_START_RESPONSE, FR_SECRET, start.authenticator).authenticatorOk, true);
  const stop = decodeAttributes(parse(FR_ACCT_STOP));
  assert.equal(attributeValue(stop.attributes, RADIUS_ATTR.AcctStatusType), ACCT_STATUS_TYPE.Stop);
  assert.equal(attributeValue(stop.attributes, RADIUS_ATTR.AcctTerminateCause), TERMINATE_CAUSE.AdminReset);
  assert.equal(attributeValue(stop.attributes, RADIUS_ATTR.AcctInputGigawords), 1);
  assert.equal(attributeValue(stop.attributes, RADIUS_ATTR.EventTimestamp), 1_700_003_600);
});

// radclient against port 3799 (secret "daesecret"): RFC 5176 requests.
const DAE_SECRET = text('daesecret');
const FR_COA = h(`
  2b 04 002f                                       CoA-Request, id 4, length 47 (RFC 5176 §2.3)
  2958dcad5e6be09723f50ad944ccb7a7                 Request Authenticator (RFC 5176 §3.5, as accounting)
  2c 0a 3030303030303061                           Acct-Session-Id "0000000a"
  01 05 6c6162                                     User-Name "lab"
  1b 06 00000078                                   Session-Timeout 120
  37 06 6553f100                                   Event-Timestamp 1700000000`);
const FR_DISCONNECT = h(`
  28 87 003c                                       Disconnect-Request, id 135, length 60 (RFC 5176 §2.1)
  8016cb271bd459c473a8f8742c1255d5                 Request Authenticator
  2c 0a 3030303030303061                           Acct-Session-Id "0000000a"
  08 06 64400909                                   Framed-IP-Address 100.64.9.9
  05 06 00000007                                   NAS-Port 7
  50 12 49a567ff0a6c6dcc9ceb9f7ef9261886           Message-Authenticator (over a zero authenticator, RFC 5176 §3.5)`);

test('radclient CoA-/Disconnect-Request: Request Authenticator and Message-Authenticator verify; ours are identical', () => {
  assert.deepEqual(checkAuthenticators(FR_COA, DAE_SECRET), { authenticatorOk: true, messageAuthenticatorPresent: false, messageAuthenticatorOk: false });
  assert.deepEqual(checkAuthenticators(FR_DISCONNECT, DAE_SECRET), { authenticatorOk: true, messageAuthenticatorPresent: true, messageAuthenticatorOk: true });
  assert.equal(checkAuthenticators(FR_DISCONNECT, FR_SECRET).authenticatorOk, false);
  const dis = parse(FR_DISCONNECT);
  // radclient put the Message-Authenticator last; sign it in place the same way.
  const ours = encodeSignedPacket({ code: dis.code, identifier: dis.identifier, attributes: dis.attributes }, DAE_SECRET);
  assert.ok(ours.ok);
  assert.equal(hex(ours.value), hex(FR_DISCONNECT));
  const coa = decodeAttributes(parse(FR_COA));
  assert.equal(attributeValue(coa.attributes, RADIUS_ATTR.SessionTimeout), 120);
});

test('RFC 5176 §3.5: a Disconnect-NAK with Error-Cause 503 signed by us verifies against the request', () => {
  const dis = parse(FR_DISCONNECT);
  const cause = encodeAttribute(RADIUS_ATTR.ErrorCause, 503);
  assert.ok(cause.ok);
  assert.equal(hex(cause.value.value), '000001f7');
  const nak = encodeSignedPacket({ code: RADIUS_CODE.DisconnectNak, identifier: dis.identifier, attributes: [cause.value], messageAuthenticator: true }, DAE_SECRET, dis.authenticator);
  assert.ok(nak.ok);
  // Error-Cause on the wire: Type 101, Length 6, 0x000001f7.
  assert.equal(hex(nak.value.subarray(38)), '6506000001f7');
  assert.deepEqual(checkAuthenticators(nak.value, DAE_SECRET, dis.authenticator), { authenticatorOk: true, messageAuthenticatorPresent: true, messageAuthenticatorOk: true });
});
