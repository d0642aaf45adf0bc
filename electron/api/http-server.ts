import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, resolve, sep } from 'node:path';
import sharp from 'sharp';
import type { ProjectStore } from '../store/project-store.js';
import {
  HTTP_API_PREFIX,
  HTTP_EVENTS_PATH,
  TOKEN_HEADER,
  type ApiReply,
  type ClientEvent,
} from './contract.js';
import { dispatch, type ApiHandlers } from './service.js';
import { containedFile, decodePathPart } from './contained-file.js';

const MAX_BODY_BYTES = 1 << 20;
const TOKEN_COOKIE = 'vetbench_token';

const STATIC_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.ico': 'image/x-icon',
};

export interface ServeOptions {
  /** The shown project's store, or a function returning it (the project can be switched). */
  readonly store: ProjectStore | (() => ProjectStore);
  /** Built lazily, once the transport knows its token (file URLs carry it). */
  readonly handlers: (fileUrl: (path: string) => string) => ApiHandlers;
  readonly subscribe: (listener: (event: ClientEvent) => void) => () => void;
  /** The built renderer (vite output); a page explaining how to build it is served when absent. */
  readonly rendererDir: string;
  readonly port?: number;
  /** For tests; default: 32 random bytes. */
  readonly token?: string;
}

export interface RunningServer {
  readonly url: string;
  readonly origin: string;
  readonly token: string;
  readonly server: Server;
  close(): Promise<void>;
}

function tokenMatches(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === TOKEN_COOKIE) return v.join('=');
  }
  return undefined;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer', // the token is in the page URL
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
};

function sendJson(res: ServerResponse, status: number, reply: ApiReply): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json' });
  res.end(JSON.stringify(reply));
}

function refuse(res: ServerResponse, status: number, code: string, message: string, hint: string): void {
  sendJson(res, status, { ok: false, error: { code, message, hint } });
}

async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const NOT_BUILT_PAGE = `<!doctype html><meta charset="utf-8"><title>Vetbench</title>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Vetbench</h1><p>The API is running, but the user interface is not built.</p>
<p>Build it with <code>npm run build:renderer</code> (vite writes <code>dist/renderer/</code>), then reload this page.</p>
</body>`;

/**
 * Serve mode: the API over HTTP and server-sent events on 127.0.0.1 only. Every request needs the token
 * (header, `?token=`, or the same-site cookie set when the page is first opened with it); requests whose
 * Origin or Host is not this server are refused, so other web pages cannot drive it.
 */
export async function startHttpServer(options: ServeOptions): Promise<RunningServer> {
  const token = options.token ?? randomBytes(32).toString('base64url');
  let origin = '';
  let allowedHosts: string[] = [];
  const withToken = (path: string): string => `${path}${path.includes('?') ? '&' : '?'}token=${token}`;
  const handlers = options.handlers(withToken);
  const currentStore = (): ProjectStore =>
    typeof options.store === 'function' ? options.store() : options.store;

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent)
        refuse(res, 500, 'internal', 'the request failed unexpectedly', 'Retry; report it if it persists.');
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    // DNS rebinding: a foreign name resolving to 127.0.0.1 still sends its own Host.
    if (!allowedHosts.includes(req.headers.host ?? ''))
      return refuse(
        res,
        403,
        'forbidden-host',
        `requests for host '${req.headers.host}' are refused`,
        `Open ${origin}.`,
      );
    const requestOrigin = req.headers.origin;
    if (requestOrigin !== undefined && !allowedHosts.map((h) => `http://${h}`).includes(requestOrigin))
      return refuse(
        res,
        403,
        'forbidden-origin',
        `requests from ${requestOrigin} are refused`,
        `Open ${origin} itself.`,
      );
    const given =
      (req.headers[TOKEN_HEADER] as string | undefined) ?? url.searchParams.get('token') ?? cookieToken(req);
    if (!tokenMatches(given ?? undefined, token))
      return refuse(
        res,
        401,
        given ? 'wrong-token' : 'token-missing',
        given ? 'the token is wrong' : 'this request carries no token',
        'Open the URL that `vetbench serve` printed first (it carries the token).',
      );

    if (url.pathname === HTTP_EVENTS_PATH && req.method === 'GET') return events(req, res);
    if (url.pathname.startsWith(HTTP_API_PREFIX)) {
      if (req.method !== 'POST')
        return refuse(res, 405, 'method-not-allowed', 'API calls are POST requests', 'POST a JSON body.');
      if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
        return refuse(
          res,
          415,
          'bad-request',
          'the body must be JSON (content-type: application/json)',
          'Send JSON.',
        );
      const body = await readBody(req);
      if (body === null)
        return refuse(res, 413, 'bad-request', 'the request body is over 1 MiB', 'Send less.');
      let payload: unknown;
      try {
        payload = body.length ? JSON.parse(body) : {};
      } catch {
        return refuse(res, 400, 'bad-request', 'the body is not valid JSON', 'Send a JSON object.');
      }
      const { status, reply } = await dispatch(handlers, url.pathname.slice(HTTP_API_PREFIX.length), payload);
      return sendJson(res, status, reply);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return refuse(res, 405, 'method-not-allowed', `${req.method} is not served here`, 'Use GET.');
    const artifact = /^\/files\/artifact\/(\d+)$/.exec(url.pathname);
    if (artifact) return sendArtifact(res, Number(artifact[1]));
    const decodedPath = decodePathPart(url.pathname);
    if (decodedPath === null)
      return refuse(
        res,
        400,
        'bad-request',
        'the URL holds a malformed percent-escape',
        'Encode the path with encodeURIComponent.',
      );
    const image = /^\/files\/dataset\/(\d+)\/(.+)$/.exec(url.pathname);
    if (image) {
      const imageId = decodePathPart(image[2]!);
      if (imageId === null)
        return refuse(
          res,
          400,
          'bad-request',
          'the image id holds a malformed percent-escape',
          'Use an id from sampleImageIds.',
        );
      return sendDatasetImage(res, Number(image[1]), imageId);
    }
    return sendStatic(res, url, decodedPath, given === url.searchParams.get('token'));
  }

  function events(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream',
      connection: 'keep-alive',
    });
    res.write(': connected\n\n');
    const unsubscribe = options.subscribe((event) => res.write(`data: ${JSON.stringify(event)}\n\n`));
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    req.on('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
    });
  }

  function sendArtifact(res: ServerResponse, id: number): void {
    let file: { path: string; mediaType: string; bytes: number };
    try {
      file = currentStore().getArtifact(id);
    } catch {
      return refuse(
        res,
        404,
        'artifact-not-found',
        `there is no artifact ${id}`,
        'List the run artifacts first.',
      );
    }
    if (!existsSync(file.path))
      return refuse(res, 404, 'artifact-missing', `the file of artifact ${id} is gone`, 'Run the job again.');
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': file.mediaType, 'content-length': file.bytes });
    createReadStream(file.path).pipe(res);
  }

  async function sendDatasetImage(res: ServerResponse, datasetId: number, imageId: string): Promise<void> {
    let source: string;
    try {
      source = currentStore().getDataset(datasetId).root;
    } catch {
      return refuse(
        res,
        404,
        'dataset-not-found',
        `there is no dataset ${datasetId}`,
        'List datasets first.',
      );
    }
    const root = source.toLowerCase().endsWith('.csv') ? dirname(source) : source;
    // Real paths on both sides: a symlink out of the dataset is refused here as the import refused it.
    const path = containedFile(root, imageId);
    if (path === null)
      return refuse(
        res,
        404,
        'image-not-found',
        `no image '${imageId}' in dataset ${datasetId}`,
        'Use an id from sampleImageIds.',
      );
    try {
      const png = await sharp(path).png().toBuffer();
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'image/png', 'content-length': png.length });
      res.end(png);
    } catch {
      refuse(
        res,
        415,
        'image-unreadable',
        `'${imageId}' cannot be decoded`,
        'The file is not a supported image.',
      );
    }
  }

  function sendStatic(res: ServerResponse, url: URL, decodedPath: string, tokenInQuery: boolean): void {
    // The page is opened with ?token=: remember it in a same-site cookie for the page's own assets.
    const cookie = tokenInQuery
      ? { 'set-cookie': `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/` }
      : {};
    const dir = resolve(options.rendererDir);
    const index = join(dir, 'index.html');
    if (!existsSync(index)) {
      res.writeHead(200, { ...SECURITY_HEADERS, ...cookie, 'content-type': 'text/html; charset=utf-8' });
      res.end(NOT_BUILT_PAGE);
      return;
    }
    const lexical = resolve(dir, `.${decodedPath}`);
    if (lexical !== dir && !lexical.startsWith(dir + sep))
      return refuse(
        res,
        403,
        'path-not-allowed',
        'that path leaves the renderer folder',
        'Request files of the app only.',
      );
    // Client-side routes (and anything that is not a regular file inside the renderer folder) get the page.
    const path = containedFile(dir, `.${decodedPath}`) ?? index;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      ...cookie,
      'content-type': STATIC_TYPES[extname(path)] ?? 'application/octet-stream',
      ...(path === index
        ? {
            'content-security-policy':
              "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
          }
        : {}),
    });
    createReadStream(path).pipe(res);
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  allowedHosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  return {
    url: `${origin}/?token=${token}`,
    origin,
    token,
    server,
    close: () =>
      new Promise((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
