// ESLint flat config: typescript-eslint recommended-type-checked, plus the layering of
// docs/ARCHITECTURE.md (imports flow base <- wire <- l2tp|ppp|ipsec|aaa|dataplane <- access|gate <- io
// <- daemon) and "no I/O, no clock, no timers" in the sans-I/O cores (STYLE §1).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { existsSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';

/**
 * The protocol cores on one floor. They never import one another: what joins them is a composition one
 * floor up (access, gate). docs/ARCHITECTURE.md ("Rooms and doors") names any exception on purpose, and
 * it is listed here: none today.
 */
const SIBLING_CORES = ['l2tp', 'ppp', 'ipsec', 'aaa', 'dataplane'];
/** `core: [sibling, ...]` imports allowed on purpose (each one named in docs/ARCHITECTURE.md). */
const SIBLING_EXCEPTIONS = {};
const siblingsBanned = (core) => SIBLING_CORES.filter((c) => c !== core && !(SIBLING_EXCEPTIONS[core] ?? []).includes(c));

/** Folders under src/ and the folders each may NOT import. */
const LAYERS = {
  base: ['wire', 'l2tp', 'ppp', 'ipsec', 'aaa', 'dataplane', 'access', 'gate', 'io', 'daemon'],
  wire: ['l2tp', 'ppp', 'ipsec', 'aaa', 'dataplane', 'access', 'gate', 'io', 'daemon'],
  l2tp: [...siblingsBanned('l2tp'), 'access', 'gate', 'io', 'daemon'],
  ppp: [...siblingsBanned('ppp'), 'access', 'gate', 'io', 'daemon'],
  ipsec: [...siblingsBanned('ipsec'), 'access', 'gate', 'io', 'daemon'],
  aaa: [...siblingsBanned('aaa'), 'access', 'gate', 'io', 'daemon'],
  dataplane: [...siblingsBanned('dataplane'), 'access', 'gate', 'io', 'daemon'],
  // Two compositions side by side: access (l2tp + ppp + aaa + dataplane), gate (ipsec + l2tp).
  access: ['gate', 'io', 'daemon'],
  gate: ['access', 'ppp', 'aaa', 'dataplane', 'io', 'daemon'],
  io: ['daemon'],
  daemon: [],
};
const TESTS = ['**/*.test.ts'];
const CORES = ['base', 'wire', 'l2tp', 'ppp', 'ipsec', 'aaa', 'dataplane', 'access', 'gate'];

/** Node modules that do I/O or read time: never in a core. */
const IO_MODULES = ['dgram', 'net', 'fs', 'fs/promises', 'child_process', 'timers', 'timers/promises', 'perf_hooks', 'http', 'https', 'http2', 'tls', 'worker_threads', 'cluster'];
const ioPaths = IO_MODULES.flatMap((m) => [m, `node:${m}`]).map((name) => ({
  name,
  message: 'Cores are sans-I/O (STYLE §1): sockets, files, processes, timers and clocks live in src/io.',
}));

/**
 * no-restricted-imports matches the import specifier, so the layer patterns depend on how deep the
 * importing file sits: from src/wire/l2tp/x.ts the io folder is `../../io/`. One config per depth.
 */
function layerConfigs() {
  const out = [];
  for (const [layer, banned] of Object.entries(LAYERS)) {
    const isCore = CORES.includes(layer);
    if (banned.length === 0 && !isCore) continue;
    for (let depth = 1; depth <= 4; depth++) {
      const files = [`src/${layer}/${'*/'.repeat(depth - 1)}*.ts`];
      const up = '../'.repeat(depth);
      const patterns = banned.length === 0 ? [] : [{
        group: banned.flatMap((b) => [`${up}${b}`, `${up}${b}/**`]),
        message: `src/${layer} must not import ${banned.map((b) => `src/${b}`).join(', ')} (docs/ARCHITECTURE.md layering).`,
      }];
      out.push({ files, ignores: TESTS, rules: { 'no-restricted-imports': ['error', { paths: isCore ? ioPaths : [], patterns }] } });
      // Tests keep the layering but may read fixtures/docs (node:fs), e.g. the FSM-table-vs-doc tests.
      out.push({ files: files.map((f) => f.replace(/\*\.ts$/, '*.test.ts')), rules: { 'no-restricted-imports': ['error', { patterns }] } });
    }
  }
  return out;
}

/**
 * A room is a folder of src/ (not src/ itself) with an index.ts. An import that enters a room from
 * outside it names the room's index.ts; inside a room (and from a room into its parent) files import
 * one another directly. Tests may reach into a room's files.
 */
const SRC = resolve(import.meta.dirname, 'src');
const roomCache = new Map();
function roomOf(file) {
  for (let d = dirname(file); d.startsWith(SRC) && d !== SRC; d = dirname(d)) {
    let has = roomCache.get(d);
    if (has === undefined) roomCache.set(d, (has = existsSync(join(d, 'index.ts'))));
    if (has) return d;
  }
  return undefined;
}
const importThroughIndex = {
  meta: { type: 'problem', docs: { description: 'cross-room imports go through the room index.ts' }, schema: [] },
  create(context) {
    const from = context.filename;
    const check = (node) => {
      const spec = node.source?.value;
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = resolve(dirname(from), spec.replace(/\.js$/, '.ts'));
      if (!target.startsWith(SRC + sep)) return;
      const room = roomOf(target);
      if (room === undefined || target === join(room, 'index.ts') || from.startsWith(room + sep)) return;
      const name = room.slice(SRC.length + 1);
      context.report({ node: node.source, message: `import src/${name} through its index.ts, not ${spec} (docs/ARCHITECTURE.md, rooms and doors).` });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check };
  },
};

const coreTimeMessage = 'Cores get time as `now: Instant` and never arm timers (STYLE §1-2); use src/io.';
const coreGlobals = ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate', 'Date', 'performance'].map((name) => ({
  name,
  message: coreTimeMessage,
}));
const coreProperties = [
  ...['setTimeout', 'setInterval', 'setImmediate', 'Date', 'performance'].flatMap((property) => [
    { object: 'globalThis', property, message: coreTimeMessage },
    { object: 'global', property, message: coreTimeMessage },
  ]),
  { object: 'Date', property: 'now', message: coreTimeMessage },
  { object: 'performance', property: 'now', message: coreTimeMessage },
  { object: 'process', property: 'hrtime', message: coreTimeMessage },
];

const nodeGlobals = {
  process: 'readonly',
  console: 'readonly',
  Buffer: 'readonly',
  URL: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
  setImmediate: 'readonly',
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'native/build/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // node:test's test()/describe() return promises the runner awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: nodeGlobals, sourceType: 'module' },
  },
  ...layerConfigs(),
  {
    files: ['src/**/*.ts'],
    ignores: TESTS,
    plugins: { l2tpkit: { rules: { 'import-through-index': importThroughIndex } } },
    rules: { 'l2tpkit/import-through-index': 'error' },
  },
  {
    files: CORES.map((c) => `src/${c}/**/*.ts`),
    // Tests may time themselves (performance.now) and use real timers where they must.
    ignores: TESTS,
    rules: {
      'no-restricted-globals': ['error', ...coreGlobals],
      'no-restricted-properties': ['error', ...coreProperties],
    },
  },
);
