/**
 * Self-check of the guest harness: builds the image if needed, boots the guest on a private
 * segment and runs guest/modules.sh (kernel L2TP/PPP/ESP modules, /dev/ppp, the userspace peers,
 * a ping to the bridge). Needs root: without it the test FAILS (it never skips).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ensureImage, kernelCmdline, parseResultLines, runGuest, startGuest, vmCacheDir } from './guest.js';
import { createSegment } from './segment.js';

describe('vm harness: pure parts', () => {
  it('parses RESULT lines (last one wins for the status)', () => {
    const text = 'boot\nRESULT: FAIL inner x:y\r\nnoise RESULT: PASS not-at-start\nRESULT: PASS modules kernel=6.1 eth0=198.18.0.10/24\n';
    const r = parseResultLines(text);
    assert.deepEqual(r, [
      { status: 'FAIL', name: 'inner', detail: 'x:y' },
      { status: 'PASS', name: 'modules', detail: 'kernel=6.1 eth0=198.18.0.10/24' },
    ]);
    assert.deepEqual(parseResultLines('RESULT: PASS bare'), [{ status: 'PASS', name: 'bare', detail: '' }]);
    assert.deepEqual(parseResultLines('RESULT: MAYBE x\nRESULT: PASS'), []);
  });

  it('builds the kernel command line and refuses what it cannot carry', () => {
    const c = kernelCmdline({ test: 'l2tp-client', guestTimeoutSec: 90, ip: '198.18.0.10/24', env: { SERVER: '198.18.0.1', AUTH: 'chap,pap' } });
    assert.match(c, /init=\/sbin\/l2k-boot/);
    assert.match(c, / l2k\.run=l2tp-client l2k\.tmo=90 l2k\.ip=198\.18\.0\.10\/24 l2k\.env\.SERVER=198\.18\.0\.1 l2k\.env\.AUTH=chap,pap$/);
    assert.throws(() => kernelCmdline({ test: 'x', guestTimeoutSec: 9, env: { PASS: 'two words' } }), TypeError);
    assert.throws(() => kernelCmdline({ test: 'x', guestTimeoutSec: 9, env: { PASS: 'q"uote' } }), TypeError);
    assert.throws(() => kernelCmdline({ test: 'x', guestTimeoutSec: 9, env: { 'BAD-NAME': 'v' } }), TypeError);
    assert.throws(() => kernelCmdline({ test: '../etc/x', guestTimeoutSec: 9 }), TypeError);
    assert.throws(() => kernelCmdline({ test: 'x', guestTimeoutSec: 9, env: { BIG: 'v'.repeat(2100) } }), TypeError);
  });
});

describe('vm harness: real guest', () => {
  it('runs as root (needed for netns, taps, debootstrap)', () => {
    assert.equal(process.getuid?.(), 0, 'the VM interop tests must run as root (sudo npm run test:interop)');
  });

  it('boots the guest and runs modules.sh: PASS', { timeout: 2_400_000 }, async (t) => {
    assert.equal(process.getuid?.(), 0, 'must run as root');
    const img = await ensureImage({ onLine: (l) => t.diagnostic(l) });
    t.diagnostic(`image ${img.built ? `built in ${img.seconds.toFixed(0)} s` : 'current'} in ${vmCacheDir()}`);

    const seg = createSegment({ bridgeIp: '198.18.0.1/24' });
    try {
      const run = await runGuest({
        test: 'modules',
        env: { PING: '198.18.0.1' },
        network: { netns: seg.netns, ip: '198.18.0.10/24' },
        timeoutSec: 180,
      });
      t.diagnostic(`boot-to-test ${String(run.bootSec)} s, wall ${run.wallSec.toFixed(1)} s, out ${run.outDir}`);
      const detail = run.results.map((r) => `${r.status} ${r.name} ${r.detail}`).join('\n');
      assert.equal(run.timedOut, false, `guest timed out\n${run.console.slice(-3000)}`);
      assert.equal(run.status, 'PASS', `modules.sh: ${detail || 'no RESULT line'}\n${run.log.slice(-3000)}`);
      assert.equal(run.results.at(-1)?.name, 'modules');
      assert.match(run.results.at(-1)?.detail ?? '', /eth0=198\.18\.0\.10\/24/);
      assert.ok(run.bootSec !== undefined && run.bootSec > 0, 'boot time measured');
      // the tap is gone once the guest has exited
      const links = spawnSync('ip', ['-n', seg.netns, '-o', 'link'], { encoding: 'utf8' }).stdout;
      assert.doesNotMatch(links, /l2kt[0-9a-f]{8}/);
    } finally {
      seg.destroy();
    }
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(left, new RegExp(`^${seg.netns}\\b`, 'm'));
  });

  it('kills qemu on timeout and removes its tap', { timeout: 120_000 }, async () => {
    assert.equal(process.getuid?.(), 0, 'must run as root');
    await ensureImage();
    const seg = createSegment();
    try {
      const h = startGuest({ test: 'modules', network: { netns: seg.netns, ip: '198.18.0.10/24' }, timeoutSec: 3 });
      const pid = h.pid;
      assert.ok(pid !== undefined);
      const tapBefore = spawnSync('ip', ['-n', seg.netns, '-o', 'link'], { encoding: 'utf8' }).stdout;
      assert.match(tapBefore, /l2kt[0-9a-f]{8}/, 'tap attached while the guest runs');
      const run = await h.done;
      assert.equal(run.timedOut, true);
      assert.equal(run.ok, false);
      assert.equal(run.status, 'NONE');
      assert.throws(() => process.kill(pid, 0), 'qemu is gone');
      const links = spawnSync('ip', ['-n', seg.netns, '-o', 'link'], { encoding: 'utf8' }).stdout;
      assert.doesNotMatch(links, /l2kt[0-9a-f]{8}/);
      rmSync(run.outDir, { recursive: true, force: true }); // kept by the harness (not a PASS)
    } finally {
      seg.destroy();
    }
  });
});
