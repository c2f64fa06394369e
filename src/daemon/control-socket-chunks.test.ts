import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlRequest } from './control-socket.js';

test('controlRequest: an answer of many chunks (10 MB, 4 KiB writes) is joined once and parsed; bytes after the newline are ignored', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'l2k-ctl-chunks-'));
  const path = join(dir, 'ctl.sock');
  const result = Array.from({ length: 50_000 }, (_, i) => ({ localSessionId: i, username: `user${i}`, pad: 'x'.repeat(150) }));
  const text = `${JSON.stringify({ ok: true, result })}\n{"ok":false}\n`;
  const server = createServer((c) => {
    c.once('data', () => {
      for (let i = 0; i < text.length; i += 4096) c.write(text.slice(i, i + 4096));
      c.end();
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  try {
    const r = await controlRequest(path, { cmd: 'show-sessions' }, 30_000);
    assert.ok(r.ok, JSON.stringify(r));
    assert.ok(r.value.ok);
    assert.deepEqual(r.value.result, result);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  }
});
