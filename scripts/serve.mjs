// Serves the demo page and the package files it loads on 127.0.0.1, with
// the COOP/COEP headers that make the page cross-origin isolated, which
// SharedArrayBuffer (and so a threaded WebAssembly build) requires.
//
//   node scripts/serve.mjs [--port N]      (or PORT=N; default 8080, 0 picks a free port)
//
// Only files under web/ and dist/ of the repository are served; "/" redirects
// to the demo page. Prints "attnkit demo: http://127.0.0.1:PORT/" once listening.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const HOST = '127.0.0.1';
const DEFAULT_PORT = 8080;
const SERVED_FOLDERS = ['web', 'dist'];
const DEMO_PATH = '/web/demo/';

const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.ts': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

// Sent with every response. COOP + COEP make the page cross-origin
// isolated; CORP lets the isolated page and its workers load these files.
const COMMON_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-cache',
};

/** Parses --port N, --port=N or PORT; returns an integer in [0, 65535]. */
export function parsePort(argv, env) {
  let text = env.PORT;
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--port') {
      if (i + 1 >= argv.length) throw new RangeError('serve: --port needs a value, for example --port 8080');
      text = argv[i + 1];
      i += 1;
    } else if (argv[i].startsWith('--port=')) {
      text = argv[i].slice('--port='.length);
    } else if (argv[i] === '--help' || argv[i] === '-h') {
      return null;
    } else {
      throw new RangeError(`serve: unknown argument '${argv[i]}'; expected --port N`);
    }
  }
  if (text === undefined || text === '') return DEFAULT_PORT;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new RangeError(`serve: port must be an integer from 0 to 65535, got '${text}'`);
  }
  return port;
}

function send(response, status, body, headers = {}) {
  response.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  response.end(body);
}

// Maps a URL path to a file inside one of SERVED_FOLDERS, or returns null.
// The decoded path must not contain "..", NUL or backslashes, and the file's
// real path (after symbolic links) must stay inside the served folder.
async function resolveFile(urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '..' || s === '.')) return null;
  if (segments.length === 0 || !SERVED_FOLDERS.includes(segments[0])) return null;

  const folder = await realpath(join(root, segments[0])).catch(() => null);
  if (!folder) return null;
  let file = join(root, ...segments);
  let info = await stat(file).catch(() => null);
  if (info?.isDirectory()) {
    file = join(file, 'index.html');
    info = await stat(file).catch(() => null);
  }
  if (!info?.isFile()) return null;
  const real = await realpath(file);
  if (real !== folder && !real.startsWith(folder + sep)) return null;
  return { file: real, size: info.size };
}

async function handle(request, response, log) {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    log(`serve: 405 ${request.method} ${request.url}`);
    send(response, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    return;
  }

  const url = new URL(request.url, `http://${HOST}`);
  if (url.pathname === '/') {
    send(response, 302, '', { Location: DEMO_PATH });
    return;
  }
  // A directory without a trailing slash would resolve the page's relative
  // URLs against its parent, so redirect to the slashed form.
  if (url.pathname === DEMO_PATH.slice(0, -1)) {
    send(response, 301, '', { Location: DEMO_PATH });
    return;
  }

  const found = await resolveFile(url.pathname);
  if (!found) {
    log(`serve: 404 ${request.method} ${request.url}`);
    send(response, 404, `not found: ${url.pathname}\n`);
    return;
  }

  const type = MIME_TYPES[extname(found.file).toLowerCase()] ?? 'application/octet-stream';
  response.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': type, 'Content-Length': found.size });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  const stream = createReadStream(found.file);
  stream.on('error', (error) => {
    log(`serve: reading ${found.file} failed: ${error.message}`);
    response.destroy(error);
  });
  stream.pipe(response);
}

/**
 * Starts the server; resolves to the http.Server once it listens. `log`
 * receives one line for each rejected request and each error.
 */
export function startServer(port = DEFAULT_PORT, { log = console.error } = {}) {
  const server = createServer((request, response) => {
    handle(request, response, log).catch((error) => {
      log(`serve: ${request.method} ${request.url} failed: ${error.stack ?? error}`);
      if (!response.headersSent) send(response, 500, 'internal server error\n');
      else response.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

async function main() {
  let port;
  try {
    port = parsePort(process.argv.slice(2), process.env);
  } catch (error) {
    console.error(error.message);
    process.exit(2);
  }
  if (port === null) {
    console.log('usage: node scripts/serve.mjs [--port N]   (or PORT=N; default 8080, 0 picks a free port)');
    return;
  }
  let server;
  try {
    server = await startServer(port);
  } catch (error) {
    const hint = error.code === 'EADDRINUSE' ? '; choose another with --port N or PORT=N' : '';
    console.error(`serve: cannot listen on ${HOST}:${port}: ${error.message}${hint}`);
    process.exit(1);
  }
  console.log(`attnkit demo: http://${HOST}:${server.address().port}/`);
  const stop = (signal) => {
    console.log(`serve: ${signal} received, stopping`);
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === (await realpath(process.argv[1]).catch(() => process.argv[1]))) {
  await main();
}
