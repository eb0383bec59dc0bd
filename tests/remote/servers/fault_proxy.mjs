// Fault-injecting HTTP proxy in front of the test nginx (no dependencies).
//
//   /fault/<mode>/<n>/<path>  forwards to upstream /<path> and misbehaves for
//                             the first <n> requests with the same key
//                             (mode, n, path, Range header value); later ones
//                             pass through, so a retrying client succeeds.
//                             <n> = "always" misbehaves on every request.
//   /<path>                   plain pass-through.
//   GET  /__stats             {"requests":N,"bytes":M}: proxied requests and
//                             body bytes sent to clients since start/reset.
//   POST /__reset             zeroes the stats and the per-key counters.
//
// Modes:
//   close      upstream status + headers (real Content-Length), half the
//              body, then the connection is dropped
//   status500  500 with a short body (upstream not contacted)
//   status503  503 with "Retry-After: 0" (upstream not contacted)
//   badrange   body unchanged, Content-Range moved by one byte (a+1)-(b+1)
//   corrupt    one bit flipped in the middle byte of the body, same length
//   slow       3000 ms delay before anything is sent, then normal
//   norange    Range (and If-Range) dropped: upstream answers 200, whole file
//
// Usage: node fault_proxy.mjs --upstream http://127.0.0.1:PORT
//                             --port-file FILE [--port 0] [--verbose 1]

import http from 'node:http';

import { listenOnLoopback, parseArgs } from './common.mjs';

const args = parseArgs(process.argv.slice(2), { port: '0', verbose: '0' }, ['upstream', 'portFile']);
const upstream = new URL(args.upstream);
const verbose = args.verbose !== '0';
const MODES = new Set(['close', 'status500', 'status503', 'badrange', 'corrupt', 'slow', 'norange']);
const SLOW_MS = 3000;
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization',
  'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
let stats = { requests: 0, bytes: 0 };
let hits = new Map();

function log(msg) {
  if (verbose) process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
}

function copyHeaders(headers) {
  const out = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

function sendText(req, res, status, text, extra = {}) {
  const body = Buffer.from(text);
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': body.length,
    ...extra,
  });
  if (req.method === 'HEAD') {
    res.end();
  } else {
    stats.bytes += body.length;
    res.end(body);
  }
}

function sendJson(res, status, value) {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
}

// fault: one of MODES or null for a plain pass-through.
function forward(req, res, path, fault) {
  const headers = copyHeaders(req.headers);
  headers.host = upstream.host;
  if (fault === 'norange') {
    delete headers.range;
    delete headers['if-range'];
  }
  const upReq = http.request({
    hostname: upstream.hostname,
    port: upstream.port,
    method: req.method,
    path,
    headers,
    agent,
  });
  res.on('close', () => {
    if (!res.writableFinished) upReq.destroy();
  });
  upReq.on('error', err => {
    if (!res.headersSent) {
      sendText(req, res, 502, `upstream error: ${err.message}\n`);
    } else {
      res.destroy();
    }
  });
  upReq.on('response', up => {
    const outHeaders = copyHeaders(up.headers);
    if (fault === 'badrange' && typeof outHeaders['content-range'] === 'string') {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(outHeaders['content-range']);
      if (m) outHeaders['content-range'] = `bytes ${Number(m[1]) + 1}-${Number(m[2]) + 1}/${m[3]}`;
    }
    if (fault !== 'close' && fault !== 'corrupt') {
      res.writeHead(up.statusCode, up.statusMessage, outHeaders);
      up.on('data', chunk => { stats.bytes += chunk.length; });
      up.pipe(res);
      return;
    }
    // close and corrupt need the whole body first; test files are small.
    const chunks = [];
    up.on('data', chunk => chunks.push(chunk));
    up.on('error', () => res.destroy());
    up.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method !== 'HEAD') outHeaders['content-length'] = body.length;
      if (fault === 'corrupt') {
        if (body.length > 0) body[body.length >> 1] ^= 0x10;
        res.writeHead(up.statusCode, up.statusMessage, outHeaders);
        stats.bytes += body.length;
        res.end(body);
        return;
      }
      const half = body.subarray(0, body.length >> 1);
      res.writeHead(up.statusCode, up.statusMessage, outHeaders);
      res.flushHeaders();
      stats.bytes += half.length;
      // Destroy only once the partial body has reached the socket.
      res.write(half, () => res.destroy());
      if (half.length === 0) setImmediate(() => res.destroy());
    });
  });
  req.pipe(upReq);
}

function handle(req, res) {
  let url = req.url;
  // Accept absolute-form targets too (client configured to use a proxy).
  if (/^https?:\/\//i.test(url)) {
    const u = new URL(url);
    url = u.pathname + u.search;
  }
  const pathOnly = url.split('?')[0];

  if (pathOnly === '/__stats') {
    if (req.method !== 'GET') return sendText(req, res, 405, 'use GET\n', { Allow: 'GET' });
    return sendJson(res, 200, stats);
  }
  if (pathOnly === '/__reset') {
    if (req.method !== 'POST') return sendText(req, res, 405, 'use POST\n', { Allow: 'POST' });
    stats = { requests: 0, bytes: 0 };
    hits = new Map();
    req.resume();
    return sendJson(res, 200, stats);
  }

  stats.requests += 1;
  const m = /^\/fault\/([^/]+)\/([^/]+)(\/.*)?$/.exec(url);
  if (!m) {
    log(`${req.method} ${url} pass`);
    return forward(req, res, url, null);
  }
  const [, mode, n, rest = '/'] = m;
  if (!MODES.has(mode)) return sendText(req, res, 400, `unknown fault mode: ${mode}\n`);
  if (n !== 'always' && !/^\d+$/.test(n)) {
    return sendText(req, res, 400, `fault count must be a number or "always": ${n}\n`);
  }
  const key = [mode, n, rest, req.headers.range ?? ''].join('\0');
  const seen = (hits.get(key) ?? 0) + 1;
  hits.set(key, seen);
  const misbehave = n === 'always' || seen <= Number(n);
  log(`${req.method} ${url} range=${req.headers.range ?? '-'} #${seen} ${misbehave ? mode : 'pass'}`);
  if (!misbehave) return forward(req, res, rest, null);

  switch (mode) {
    case 'status500':
      req.resume();
      return sendText(req, res, 500, 'injected fault: status500\n');
    case 'status503':
      req.resume();
      return sendText(req, res, 503, 'injected fault: status503\n', { 'Retry-After': '0' });
    case 'slow': {
      const timer = setTimeout(() => forward(req, res, rest, null), SLOW_MS);
      res.on('close', () => clearTimeout(timer));
      return undefined;
    }
    default:
      return forward(req, res, rest, mode);
  }
}

const server = http.createServer(handle);
listenOnLoopback(server, args.port, args.portFile);
