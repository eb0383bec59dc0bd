// Loopback S3 emulator for the remote-read tests.
//
// s3rver stores objects and speaks the S3 REST API, but 3.7.1 does not check
// Signature V4 at all (any well-formed header with a known key id passes) and
// mishandles some Range forms. This launcher therefore puts a front in front
// of s3rver's request handler that:
//   * rejects anonymous requests (403 AccessDenied), like a private bucket;
//   * verifies AWS SigV4 (Authorization header or presigned query) against the
//     credentials below and answers SignatureDoesNotMatch with the canonical
//     request and string-to-sign in the error body, as S3 does;
//   * fixes Range handling: suffix ranges (bytes=-N), bytes=0-0, invalid or
//     multi-range headers (ignored -> 200, as S3 does) and ranges on empty
//     objects (416).
// Request payload hashes are not checked against the body, except that a
// body-less request must carry the hash of the empty string (or
// UNSIGNED-PAYLOAD).
//
// Usage: node s3.mjs --modules DIR --dir STORAGE_DIR --bucket NAME
//                    --port-file FILE [--region us-east-1] [--port 0]
// DIR is the folder whose node_modules holds s3rver. The bound port is
// written to --port-file (atomically) once the server accepts connections.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';

import { listenOnLoopback, parseArgs } from './common.mjs';

const args = parseArgs(process.argv.slice(2), { region: 'us-east-1', port: '0' }, ['modules', 'dir', 'bucket', 'portFile']);
const require = createRequire(path.join(path.resolve(args.modules), 'package.json'));
const S3rver = require('s3rver');

// s3rver's built-in account; keep in sync with TFCKPT_TEST_S3_KEY_ID/SECRET.
const CREDENTIALS = new Map([['S3RVER', 'S3RVER']]);
const REGION = args.region;
const SERVICE = 's3';
const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
const MAX_SKEW_MS = 15 * 60 * 1000;

class S3Failure extends Error {
  constructor(status, code, message, extra = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

function xmlEscape(s) {
  return String(s).replace(/[<>&"']/g, c => `&#${c.charCodeAt(0)};`);
}

function sendError(req, res, err) {
  const fields = { Code: err.code, Message: err.message, ...err.extra };
  let xml = '<?xml version="1.0" encoding="UTF-8"?>\n<Error>';
  for (const [k, v] of Object.entries(fields)) xml += `<${k}>${xmlEscape(v)}</${k}>`;
  xml += '</Error>\n';
  const body = Buffer.from(xml);
  res.writeHead(err.status, {
    'Content-Type': 'application/xml',
    'Content-Length': body.length,
    // The request body (if any) is not wanted; do not keep reading it.
    Connection: 'close',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

// RFC 3986 encoding as SigV4 requires: everything but A-Z a-z 0-9 - _ . ~
function uriEncode(s) {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    c => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

function decode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Failure(400, 'InvalidURI', "Couldn't parse the specified URI.");
  }
}

function splitUrl(rawUrl) {
  const q = rawUrl.indexOf('?');
  return q < 0 ? [rawUrl, ''] : [rawUrl.slice(0, q), rawUrl.slice(q + 1)];
}

function queryPairs(rawQuery) {
  if (!rawQuery) return [];
  return rawQuery
    .split('&')
    .filter(p => p.length > 0)
    .map(p => {
      const eq = p.indexOf('=');
      return eq < 0 ? [decode(p), ''] : [decode(p.slice(0, eq)), decode(p.slice(eq + 1))];
    });
}

// S3 does not normalise the path: each segment is decoded and re-encoded once.
function canonicalUri(rawPath) {
  return rawPath.split('/').map(seg => uriEncode(decode(seg))).join('/');
}

function canonicalQuery(pairs) {
  return pairs
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function headerValue(req, name) {
  const v = req.headers[name];
  if (v === undefined) return '';
  return (Array.isArray(v) ? v.join(',') : String(v)).trim().replace(/\s+/g, ' ');
}

function hmac(key, data) {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function parseAmzDate(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || '');
  if (!m) return NaN;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

function parseCredential(credential) {
  const parts = credential.split('/');
  if (parts.length !== 5) {
    throw new S3Failure(400, 'AuthorizationHeaderMalformed',
      `The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  }
  const [keyId, date, region, service, terminator] = parts;
  return { keyId, date, region, service, terminator };
}

function checkScope(cred, amzDate) {
  if (!CREDENTIALS.has(cred.keyId)) {
    throw new S3Failure(403, 'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
      { AWSAccessKeyId: cred.keyId });
  }
  if (cred.date !== amzDate.slice(0, 8)) {
    throw new S3Failure(400, 'AuthorizationHeaderMalformed',
      `The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date.`);
  }
  if (cred.region !== REGION) {
    throw new S3Failure(400, 'AuthorizationHeaderMalformed',
      `The authorization header is malformed; the region '${cred.region}' is wrong; expecting '${REGION}'`,
      { Region: REGION });
  }
  if (cred.service !== SERVICE || cred.terminator !== 'aws4_request') {
    throw new S3Failure(400, 'AuthorizationHeaderMalformed',
      'The authorization header is malformed; incorrect service or terminator in the credential scope.');
  }
}

function parseAuthorizationHeader(value) {
  const m = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(value);
  if (!m) return null;
  const fields = new Map();
  for (const part of m[1].split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  for (const name of ['Credential', 'SignedHeaders', 'Signature']) {
    if (!fields.get(name)) {
      throw new S3Failure(400, 'AuthorizationHeaderMalformed',
        `The authorization header is malformed; missing ${name}.`);
    }
  }
  return fields;
}

// Returns normally when the request may proceed to s3rver; throws S3Failure otherwise.
function verify(req) {
  const [rawPath, rawQuery] = splitUrl(req.url);
  const pairs = queryPairs(rawQuery);
  const query = new Map(pairs);
  const auth = req.headers.authorization;

  // Signature V2 is left to s3rver, which does verify it.
  if ((auth && /^AWS\s/.test(auth)) || (!auth && query.has('Signature'))) return;

  let cred, signedHeaders, signature, amzDate, payloadHash, queryForSigning;
  if (auth) {
    if (query.has('X-Amz-Algorithm')) {
      throw new S3Failure(400, 'InvalidArgument', 'Only one auth mechanism allowed');
    }
    const fields = parseAuthorizationHeader(auth);
    if (!fields) {
      throw new S3Failure(400, 'InvalidArgument', 'Unsupported Authorization Type',
        { ArgumentName: 'Authorization', ArgumentValue: auth });
    }
    cred = parseCredential(fields.get('Credential'));
    signedHeaders = fields.get('SignedHeaders');
    signature = fields.get('Signature');
    amzDate = headerValue(req, 'x-amz-date');
    if (Number.isNaN(parseAmzDate(amzDate))) {
      throw new S3Failure(403, 'AccessDenied',
        'AWS authentication requires a valid Date or x-amz-date header');
    }
    if (Math.abs(Date.now() - parseAmzDate(amzDate)) > MAX_SKEW_MS) {
      throw new S3Failure(403, 'RequestTimeTooSkewed',
        'The difference between the request time and the current time is too large.',
        { RequestTime: amzDate });
    }
    payloadHash = headerValue(req, 'x-amz-content-sha256');
    if (!payloadHash) {
      throw new S3Failure(400, 'InvalidRequest',
        'Missing required header for this request: x-amz-content-sha256');
    }
    queryForSigning = pairs;
  } else if (query.has('X-Amz-Algorithm')) {
    if (query.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') {
      throw new S3Failure(400, 'AuthorizationQueryParametersError',
        'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
    }
    for (const name of ['X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature']) {
      if (!query.has(name)) {
        throw new S3Failure(400, 'AuthorizationQueryParametersError',
          `Query-string authentication version 4 requires ${name}.`);
      }
    }
    cred = parseCredential(query.get('X-Amz-Credential'));
    signedHeaders = query.get('X-Amz-SignedHeaders');
    signature = query.get('X-Amz-Signature');
    amzDate = query.get('X-Amz-Date');
    const t = parseAmzDate(amzDate);
    const expires = Number(query.get('X-Amz-Expires'));
    if (Number.isNaN(t) || !Number.isInteger(expires) || expires < 0 || expires > 604800) {
      throw new S3Failure(400, 'AuthorizationQueryParametersError',
        'X-Amz-Date or X-Amz-Expires is invalid.');
    }
    if (Date.now() > t + expires * 1000) {
      throw new S3Failure(403, 'AccessDenied', 'Request has expired');
    }
    payloadHash = headerValue(req, 'x-amz-content-sha256') || 'UNSIGNED-PAYLOAD';
    queryForSigning = pairs.filter(([k]) => k !== 'X-Amz-Signature');
  } else {
    throw new S3Failure(403, 'AccessDenied', 'Access Denied');
  }

  checkScope(cred, amzDate);

  const signedList = signedHeaders.split(';');
  if (!signedList.includes('host')) {
    throw new S3Failure(400, 'AuthorizationHeaderMalformed',
      'The authorization header is malformed; SignedHeaders must include host.');
  }
  const unsigned = Object.keys(req.headers).filter(
    h => h.startsWith('x-amz-') && !signedList.includes(h));
  if (unsigned.length > 0) {
    throw new S3Failure(403, 'AccessDenied',
      'There were headers present in the request which were not signed',
      { HeadersNotSigned: unsigned.join(', ') });
  }

  if (!/^(UNSIGNED-PAYLOAD|STREAMING-[A-Z0-9-]+|[0-9a-f]{64})$/.test(payloadHash)) {
    throw new S3Failure(400, 'InvalidArgument',
      'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.',
      { ArgumentName: 'x-amz-content-sha256', ArgumentValue: payloadHash });
  }
  const hasBody = Number(req.headers['content-length'] || 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody && /^[0-9a-f]{64}$/.test(payloadHash) && payloadHash !== EMPTY_SHA256) {
    throw new S3Failure(400, 'XAmzContentSHA256Mismatch',
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
      { ClientComputedContentSHA256: payloadHash, S3ComputedContentSHA256: EMPTY_SHA256 });
  }

  const canonicalRequest = [
    req.method,
    canonicalUri(rawPath),
    canonicalQuery(queryForSigning),
    signedList.map(h => `${h}:${headerValue(req, h)}\n`).join(''),
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${cred.date}/${cred.region}/${cred.service}/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest, 'utf8').digest('hex'),
  ].join('\n');
  let key = hmac('AWS4' + CREDENTIALS.get(cred.keyId), cred.date);
  key = hmac(key, cred.region);
  key = hmac(key, cred.service);
  key = hmac(key, 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  const given = Buffer.from(signature.toLowerCase());
  if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) {
    throw new S3Failure(403, 'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      { AWSAccessKeyId: cred.keyId, StringToSign: stringToSign, SignatureProvided: signature, CanonicalRequest: canonicalRequest });
  }
}

const app = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory: path.resolve(args.dir),
  silent: true,
  configureBuckets: [{ name: args.bucket }],
});
const store = app.store;

// s3rver reads "bytes=0-0" as "from 0 to the end" and serves ranges of empty
// objects; apply the byte range here with RFC 7233 semantics instead.
const originalGetObject = store.getObject.bind(store);
store.getObject = async (bucket, key, options) => {
  if (!options || (options.start === undefined && options.end === undefined)) {
    return originalGetObject(bucket, key, options);
  }
  const object = await originalGetObject(bucket, key);
  if (!object) return object;
  if (object.content) object.content.destroy();
  const size = object.size;
  const start = options.start || 0;
  const end = options.end === undefined ? size - 1 : Math.min(options.end, size - 1);
  object.range = { start, end: Math.max(end, start) };
  object.content = start < size && start <= end
    ? fs.createReadStream(store.getResourcePath(bucket, key, 'object'), { start, end })
    : null;
  return object;
};

// Normalises the Range header before s3rver's own (incomplete) parser sees it.
async function fixRange(req) {
  const range = req.headers.range;
  if (range === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) return;
  const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!m || (m[1] === '' && m[2] === '') ||
      (m[1] !== '' && m[2] !== '' && Number(m[2]) < Number(m[1]))) {
    delete req.headers.range; // S3 ignores ranges it cannot use
    return;
  }
  if (m[1] !== '') return;
  const [rawPath] = splitUrl(req.url);
  const segments = rawPath.split('/').slice(1).map(decode);
  if (segments.length < 2) return;
  let size;
  try {
    size = Number((await store.getMetadata(segments[0], segments.slice(1).join('/')))['content-length']);
  } catch {
    return; // no such object: let s3rver answer
  }
  const suffix = Number(m[2]);
  // "bytes=-0" is unsatisfiable; start at size so s3rver answers 416.
  req.headers.range = suffix === 0 ? `bytes=${size}-` : `bytes=${Math.max(0, size - suffix)}-`;
}

await app.configureBuckets();
const s3Handler = app.callback();

async function handle(req, res, expectsContinue) {
  try {
    verify(req);
    await fixRange(req);
  } catch (err) {
    if (!(err instanceof S3Failure)) throw err;
    process.stderr.write(`${new Date().toISOString()} ${req.method} ${req.url} -> ${err.status} ${err.code}: ${err.message}\n`);
    if (err.extra.CanonicalRequest) {
      process.stderr.write(`  canonical request:\n${err.extra.CanonicalRequest}\n  string to sign:\n${err.extra.StringToSign}\n`);
    }
    sendError(req, res, err);
    return;
  }
  if (expectsContinue) res.writeContinue();
  s3Handler(req, res);
}

const server = http.createServer();
server.on('request', (req, res) => {
  handle(req, res, false).catch(err => {
    process.stderr.write(`internal error: ${err.stack}\n`);
    if (!res.headersSent) sendError(req, res, new S3Failure(500, 'InternalError', String(err)));
  });
});
// Decide on "Expect: 100-continue" only after the signature is checked.
server.on('checkContinue', (req, res) => {
  handle(req, res, true).catch(err => {
    process.stderr.write(`internal error: ${err.stack}\n`);
    if (!res.headersSent) sendError(req, res, new S3Failure(500, 'InternalError', String(err)));
  });
});

listenOnLoopback(server, args.port, args.portFile);
