// sharp-resize.mjs — the core resize done by sharp (Node.js + its own libvips):
// decode a JPEG, resize to 256 px wide, encode JPEG q75, written to a file.
//   node bench/sharp-resize.mjs RUNS OUT_DIR IMAGE...
// Prints one JSON object: {"sharp": version, "libvips": version,
// "images": {path: {"runs": [ms...], "median_ms": ms, "width", "height"}}}.
// Timed in-process (no process start), after 2 warm-up runs, cache off.
import sharp from 'sharp';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const [runsArg, outDir, ...images] = process.argv.slice(2);
const runs = Number.parseInt(runsArg, 10);
if (!Number.isInteger(runs) || runs < 1 || !outDir || images.length === 0) {
  console.error('usage: node sharp-resize.mjs RUNS OUT_DIR IMAGE...');
  process.exit(2);
}
sharp.cache(false);

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function once(input, output) {
  return sharp(input).resize({ width: 256 }).jpeg({ quality: 75 }).toFile(output);
}

const result = { sharp: sharp.versions.sharp, libvips: sharp.versions.vips, images: {} };
for (const [i, input] of images.entries()) {
  const output = path.join(outDir, `sharp-${i}.jpg`);
  for (let w = 0; w < 2; w++) await once(input, output);
  const times = [];
  let info = null;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    info = await once(input, output);
    times.push(performance.now() - t0);
  }
  result.images[input] = {
    runs: times, median_ms: median(times), width: info.width, height: info.height,
    threads: sharp.concurrency(),
  };
}
console.log(JSON.stringify(result));
