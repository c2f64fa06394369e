/**
 * The status page's HTTP shell (node:http, no framework): GET-only, every path behind the token
 * (token.ts), strict security headers (a CSP that allows only this origin, no referrer: the
 * token may sit in the first URL), and the JSON view computed at most once per 500 ms however
 * many browsers poll.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from './page.js';
import { authorized, cookieValue, presentedCredential, STATUS_COOKIE } from './token.js';
import { pageParams, type StatusPageView } from './views.js';

/** What the server shows. */
export interface StatusPageSource {
  /** The bounded view (views.ts statusPageView) for one page of rows. */
  view(offset: number, limit: number): StatusPageView | Promise<StatusPageView>;
}

/** Options of {@link startStatusPage}. */
export interface StatusPageOptions {
  readonly host: string;
  readonly port: number;
  readonly token: string;
  /** Rows per answer at most (`[status] max_rows`). */
  readonly maxRows: number;
  readonly source: StatusPageSource;
  /** Milliseconds clock for the answer cache (injected in tests). */
  readonly now?: () => number;
}

/** A running status page. */
export interface StatusPage {
  readonly server: Server;
  /** `http://host:port` as bound. */
  readonly url: string;
  close(): Promise<void>;
}

const HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
} as const;

const STATIC: Readonly<Record<string, { readonly type: string; readonly body: string }>> = {
  '/': { type: 'text/html; charset=utf-8', body: PAGE_HTML },
  '/app.js': { type: 'text/javascript; charset=utf-8', body: PAGE_JS },
  '/app.css': { type: 'text/css; charset=utf-8', body: PAGE_CSS },
};

/** Cache of the JSON answer per page. */
const CACHE_MS = 500;

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...HEADERS, 'content-type': type, ...extra }).end(body);
}

/** Answer one request (exported for tests that do not open a socket). */
export function handleStatusRequest(req: Pick<IncomingMessage, 'method' | 'url' | 'headers'>, res: ServerResponse, o: StatusPageOptions, cached: (offset: number, limit: number) => string | Promise<string>): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'text/plain; charset=utf-8', 'read-only: GET only\n', { allow: 'GET, HEAD' });
    return;
  }
  const url = new URL(req.url ?? '/', 'http://status.invalid');
  const cred = presentedCredential({ authorization: req.headers.authorization, cookie: req.headers.cookie }, url.searchParams);
  if (!authorized(cred, o.token)) {
    send(res, 401, 'text/plain; charset=utf-8', 'l2tpd status: a token is needed (open the URL that `l2tpctl status-page` prints, or send Authorization: Bearer TOKEN)\n', {
      'www-authenticate': 'Bearer realm="l2tpd status"',
    });
    return;
  }
  if (cred.kind === 'query') {
    // Trade the token in the URL for a cookie once, and drop it from the address bar and history.
    const rest = new URLSearchParams(url.searchParams);
    rest.delete('token');
    const q = rest.toString();
    send(res, 303, 'text/plain; charset=utf-8', 'see /\n', {
      location: `${url.pathname}${q === '' ? '' : `?${q}`}`,
      'set-cookie': `${STATUS_COOKIE}=${cookieValue(o.token)}; HttpOnly; SameSite=Strict; Path=/`,
    });
    return;
  }
  if (url.pathname === '/api/status') {
    const { offset, limit } = pageParams(url.searchParams, o.maxRows);
    const body = cached(offset, limit);
    if (typeof body === 'string') send(res, 200, 'application/json; charset=utf-8', body);
    else {
      body.then(
        (b) => send(res, 200, 'application/json; charset=utf-8', b),
        (e: unknown) => send(res, 500, 'text/plain; charset=utf-8', `internal error: ${e instanceof Error ? e.message : String(e)}\n`),
      );
    }
    return;
  }
  const file = Object.hasOwn(STATIC, url.pathname) ? STATIC[url.pathname] : undefined;
  if (file === undefined) {
    send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    return;
  }
  send(res, 200, file.type, file.body);
}

/** Listen on host:port and serve the page. */
export async function startStatusPage(o: StatusPageOptions): Promise<StatusPage> {
  const now = o.now ?? Date.now;
  // A view being built (asynchronously, at scale) is shared by whoever asks meanwhile.
  const cache = new Map<string, { at: number; body: string | Promise<string> }>();
  const cached = (offset: number, limit: number): string | Promise<string> => {
    const k = `${offset}/${limit}`;
    const hit = cache.get(k);
    const t = now();
    if (hit !== undefined && t - hit.at < CACHE_MS) return hit.body;
    if (cache.size > 64) cache.clear();
    const v = o.source.view(offset, limit);
    if (!(v instanceof Promise)) {
      const body = JSON.stringify(v);
      cache.set(k, { at: t, body });
      return body;
    }
    const body = v.then((x) => {
      const b = JSON.stringify(x);
      cache.set(k, { at: t, body: b });
      return b;
    });
    void body.catch(() => cache.delete(k));
    cache.set(k, { at: t, body });
    return body;
  };
  const server = createServer((req, res) => {
    try {
      handleStatusRequest(req, res, o, cached);
    } catch (e) {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 50;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address();
  const port = typeof a === 'object' && a !== null ? a.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
