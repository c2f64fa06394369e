/**
 * Checks the guest-side Linux L2TP client (guest/l2tp-client.sh) end to end inside one guest:
 * guest/l2tp-loopback.sh runs an xl2tpd + pppd LNS and dials it from a guest namespace with
 * CHAP, PAP and MS-CHAPv2 and a tunnel secret (address from the pool, DNS from IPCP, ping, clean
 * disconnect); then the same through a strongSwan IKEv1 PSK transport-mode responder with
 * guest/l2tp-ipsec-client.sh (ESP forced into UDP 4500). Needs root: without it the tests FAIL.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ensureImage, runGuest } from './guest.js';

it('guest l2tp-client.sh passes against an in-guest xl2tpd LNS (chap, pap, mschapv2, tunnel secret)', { timeout: 2_400_000 }, async (t) => {
  assert.equal(process.getuid?.(), 0, 'the VM interop tests must run as root');
  await ensureImage({ onLine: (l) => t.diagnostic(l) });
  const run = await runGuest({
    test: 'l2tp-loopback',
    env: { AUTH: 'chap,pap,mschapv2', SECRET: 'l2kit-tunnel' },
    timeoutSec: 400,
  });
  t.diagnostic(`boot-to-test ${String(run.bootSec)} s, wall ${run.wallSec.toFixed(1)} s, out ${run.outDir}`);
  assert.equal(run.status, 'PASS', `${run.results.at(-1)?.detail ?? 'no RESULT'}\n${run.log.slice(-4000)}`);
  assert.match(run.results.at(-1)?.detail ?? '', /secret=yes cycles=3\/3/);
});

it('guest l2tp-ipsec-client.sh passes against an in-guest strongSwan + xl2tpd server (FORCEENCAPS)', { timeout: 2_400_000 }, async (t) => {
  assert.equal(process.getuid?.(), 0, 'the VM interop tests must run as root');
  await ensureImage({ onLine: (l) => t.diagnostic(l) });
  const run = await runGuest({
    test: 'l2tp-loopback',
    env: { IPSEC: 'yes', FORCEENCAPS: 'yes', AUTH: 'mschapv2', IKE: 'aes128-sha1-modp2048', ESP: 'aes256-sha1' },
    timeoutSec: 400,
  });
  t.diagnostic(`boot-to-test ${String(run.bootSec)} s, wall ${run.wallSec.toFixed(1)} s, out ${run.outDir}`);
  const detail = run.results.at(-1)?.detail ?? '';
  assert.equal(run.status, 'PASS', `${detail || 'no RESULT'}\n${run.log.slice(-4000)}`);
  assert.match(detail, /ike=AES_CBC_128\/HMAC_SHA1_96\/PRF_HMAC_SHA1\/MODP_2048 esp=AES_CBC_256\/HMAC_SHA1_96/);
  assert.match(detail, /encap=udp4500/);
  assert.match(detail, /cycles=1\/1/);
});
