/**
 * The lint rules of docs/ARCHITECTURE.md "Rooms and doors", run on small sources: an import that
 * enters a room from outside must name its index.ts; inside a room files import one another; the
 * protocol cores never import a sibling core.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Linter } from 'eslint';
import { repoRoot } from './repo.js';

interface FlatConfig {
  readonly files?: readonly string[];
  readonly ignores?: readonly string[];
  readonly plugins?: Record<string, unknown> | undefined;
  readonly rules?: Record<string, unknown> | undefined;
}

async function configs(): Promise<readonly FlatConfig[]> {
  const mod = (await import(pathToFileURL(join(repoRoot(), 'eslint.config.js')).href)) as { default: readonly FlatConfig[] };
  return mod.default;
}

async function roomsRule(): Promise<FlatConfig> {
  const c = (await configs()).find((x) => x.plugins !== undefined && 'l2tpkit' in x.plugins);
  assert.ok(c, 'eslint.config.js registers the l2tpkit plugin');
  return { files: ['**/*.ts'], plugins: c.plugins, rules: c.rules };
}

const verify = (cfg: readonly FlatConfig[], code: string, file: string): string[] =>
  new Linter({ configType: 'flat' })
    .verify(code, cfg as Linter.Config[], join(repoRoot(), file))
    .map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);

test('rooms: an import entering another room names its index.ts', async () => {
  const cfg = [await roomsRule()];
  const bad = verify(cfg, "import { parseControlMessage } from '../wire/l2tp/control.js';\n", 'src/l2tp/x.ts');
  assert.equal(bad.length, 1, bad.join('\n'));
  assert.match(bad[0] ?? '', /import src\/wire\/l2tp through its index\.ts/);
  assert.deepEqual(verify(cfg, "import { parseControlMessage } from '../wire/l2tp/index.js';\n", 'src/l2tp/x.ts'), []);
  // Inside a room, and from a sub-room into its parent: direct imports.
  assert.deepEqual(verify(cfg, "import { Tunnel } from './tunnel.js';\n", 'src/l2tp/x.ts'), []);
  assert.deepEqual(verify(cfg, "import { AccessServer } from '../server.js';\n", 'src/access/aaa/x.ts'), []);
  // Re-exports count too.
  assert.equal(verify(cfg, "export { u16 } from '../../base/bytes.js';\n", 'src/wire/ppp/x.ts').length, 1);
});

test('rooms: a protocol core importing a sibling core is refused by the layer table', async () => {
  const all = (await configs()).filter((c) => c.rules !== undefined && 'no-restricted-imports' in c.rules && c.files?.includes('src/aaa/*/*.ts') === true && c.ignores !== undefined);
  assert.ok(all.length > 0, 'a layer config for src/aaa/*/*.ts');
  const cfg = all.map((c) => ({ files: ['**/*.ts'], rules: c.rules }));
  const bad = verify(cfg, "import { PppLink } from '../../ppp/index.js';\nexport const x = PppLink;\n", 'src/aaa/radius/x.ts');
  assert.equal(bad.length, 1, bad.join('\n'));
  assert.match(bad[0] ?? '', /src\/aaa must not import .*src\/ppp/);
  assert.deepEqual(verify(cfg, "import { ok } from '../../base/index.js';\nexport const y = ok;\n", 'src/aaa/radius/x.ts'), []);
});
