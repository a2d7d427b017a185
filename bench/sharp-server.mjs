// sharp-server.mjs — a plain Node.js HTTP server that resizes with sharp, the
// comparison a team would write in an afternoon: POST a multipart upload
// (field `file`, fields `width`, `quality`, `format`=jpeg) to any path and get
// the resized JPEG back in the answer. No queue, no job store, no files.
//   node bench/sharp-server.mjs PORT [HOST]
// Prints "listening HOST:PORT" once it accepts connections. sharp's cache
// is off (like the service's libvips cache); its concurrency (libvips
// threads per image) and the libuv pool size (how many images run at once)
// are sharp's and Node's defaults; GET / answers them as JSON.
import http from 'node:http';
import os from 'node:os';
import sharp from 'sharp';

const port = Number.parseInt(process.argv[2] ?? '', 10);
const host = process.argv[3] ?? '127.0.0.1';
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node sharp-server.mjs PORT [HOST]');
  process.exit(2);
}
sharp.cache(false);
const MAX_BODY = 64 * 1024 * 1024;

// The parts of a multipart/form-data body: [{name, data: Buffer}].
function parseMultipart(body, contentType) {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  if (!m) throw new Error('not multipart/form-data');
  const delimiter = Buffer.from(`\r\n--${m[1] ?? m[2]}`);
  const parts = [];
  // The body starts with the delimiter without its leading CRLF.
  let at = body.indexOf(delimiter.subarray(2));
  if (at !== 0) throw new Error('no first boundary');
  at += delimiter.length - 2;
  for (;;) {
    if (body.subarray(at, at + 2).toString() === '--') break; // closing boundary
    if (body.subarray(at, at + 2).toString() !== '\r\n') throw new Error('bad boundary line');
    const headerEnd = body.indexOf('\r\n\r\n', at + 2);
    if (headerEnd < 0) throw new Error('part without a header end');
    const headers = body.subarray(at + 2, headerEnd).toString('latin1');
    const next = body.indexOf(delimiter, headerEnd + 4);
    if (next < 0) throw new Error('part without a closing boundary');
    const name = /name="([^"]*)"/i.exec(headers)?.[1];
    parts.push({ name, data: body.subarray(headerEnd + 4, next) });
    at = next + delimiter.length;
  }
  return parts;
}

function answer(res, status, type, data) {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': data.length });
  res.end(data);
}

function fail(res, status, message) {
  answer(res, status, 'application/json', Buffer.from(JSON.stringify({ error: message })));
}

async function resize(req, res) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) return fail(res, 413, 'body too large');
    chunks.push(chunk);
  }
  let parts;
  try {
    parts = parseMultipart(Buffer.concat(chunks, size), req.headers['content-type']);
  } catch (e) {
    return fail(res, 400, e.message);
  }
  const field = (n) => parts.find((p) => p.name === n)?.data;
  const file = field('file') ?? field('image');
  const width = Number.parseInt(field('width')?.toString() ?? '', 10);
  const quality = Number.parseInt(field('quality')?.toString() ?? '80', 10);
  if (!file || file.length === 0) return fail(res, 400, 'missing file');
  if (!Number.isInteger(width) || width < 1) return fail(res, 400, 'bad width');
  try {
    const out = await sharp(file).resize({ width }).jpeg({ quality }).toBuffer();
    answer(res, 200, 'image/jpeg', out);
  } catch (e) {
    fail(res, 422, e.message);
  }
}

const server = http.createServer((req, res) => {
  if (req.method === 'POST') {
    resize(req, res).catch((e) => fail(res, 500, e.message));
  } else if (req.method === 'GET') {
    answer(res, 200, 'application/json', Buffer.from(JSON.stringify({
      sharp: sharp.versions.sharp, libvips: sharp.versions.vips, node: process.version,
      concurrency: sharp.concurrency(), uv_threadpool_size: Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? '4', 10),
      cores: os.availableParallelism(),
    })));
  } else {
    fail(res, 405, 'method not allowed');
  }
});
server.keepAliveTimeout = 60000;
server.listen(port, host, () => console.log(`listening ${host}:${port}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
