// The native loader: typed errors for a missing or foreign addon; the real one loads (CI builds it).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNativeFrom, NativeUnavailableError, nativeCandidatePaths, toNativeIoError, tryLoadNative } from './native.js';

describe('native loader', () => {
  it('a missing file is NativeUnavailableError with the path and how to build', () => {
    const r = loadNativeFrom('/nonexistent/l2tpkit_native.node');
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.ok(r.error instanceof NativeUnavailableError);
    assert.equal(r.error.kind, 'native-unavailable');
    assert.equal(r.error.path, '/nonexistent/l2tpkit_native.node');
    assert.match(r.error.reason, /file not found; build it with `npm ci` or `npx node-gyp rebuild`/);
    assert.match(r.error.message, /^l2tpkit native addon unavailable at \/nonexistent\/l2tpkit_native\.node: file not found/);
  });

  it('a file that is not a shared object is NativeUnavailableError "cannot load"', () => {
    const dir = mkdtempSync(join(tmpdir(), 'l2k-native-'));
    try {
      const p = join(dir, 'bogus.node');
      writeFileSync(p, 'not an ELF file');
      const r = loadNativeFrom(p);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error.reason, /^cannot load: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the built addon loads (run `npm ci` or `npx node-gyp rebuild` first)', () => {
    const r = tryLoadNative();
    if (!r.ok) assert.fail(`${r.error.message} (candidates: ${nativeCandidatePaths().join(', ')})`);
    assert.equal(typeof r.value.openTun, 'function');
    assert.equal(r.value.errnoName(13), 'EACCES (Permission denied)');
  });

  it('maps thrown native errors to NativeIoError', () => {
    const e = Object.assign(new Error('cannot open /dev/net/tun: EACCES'), { code: 'EACCES', errno: 13, syscall: 'open' });
    const n = toNativeIoError(e);
    assert.equal(n.code, 'EACCES');
    assert.equal(n.errno, 13);
    assert.equal(n.syscall, 'open');
    assert.equal(toNativeIoError(new TypeError('x')).code, 'EINVAL');
    assert.equal(toNativeIoError('str').message, 'str');
  });
});
