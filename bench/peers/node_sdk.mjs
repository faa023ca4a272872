#!/usr/bin/env node
// node_sdk.mjs: the FLORA batch job written with the official TypeScript SDK
// (@flora-ai/flora), the way a Node.js user would: a small promise pool over
// the manifest rows. For comparison with florabatch (bench/bench_peers.sh).
//
// Usage: FLORA_BASE_URL=... FLORA_API_KEY=... node node_sdk.mjs MANIFEST.csv OUTDIR [CONCURRENCY]
// MANIFEST is `id,input_image` with a header row; ids and URLs hold no commas.
// Writes OUTDIR/results.jsonl (one line per row) and OUTDIR/outputs.tar.gz.
import FLORA from '@flora-ai/flora';
import { createHash } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';

const [manifest, out, concArg] = process.argv.slice(2);
if (!manifest || !out) {
  console.error('usage: node node_sdk.mjs MANIFEST.csv OUTDIR [CONCURRENCY]');
  process.exit(2);
}
const CONCURRENCY = Number(concArg || 200);
const TECHNIQUE = process.env.TECHNIQUE || 'cctv-cam';
// The SDK reads FLORA_API_KEY and FLORA_BASE_URL; it retries connection
// errors, 429 and 5xx itself (twice by default).
const client = new FLORA({ maxRetries: 5 });

const rows = readFileSync(manifest, 'utf8')
  .split(/\r?\n/)
  .slice(1)
  .filter((l) => l.trim())
  .map((l) => {
    const i = l.indexOf(',');
    return { id: l.slice(0, i), image: l.slice(i + 1) };
  });

await mkdir(path.join(out, 'files'), { recursive: true });
const results = createWriteStream(path.join(out, 'results.jsonl'));

async function download(url, file) {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const buf = Buffer.from(await res.arrayBuffer());
      await writeFile(file, buf);
      return buf.length;
    } catch (e) {
      if (attempt === 5) throw e;
      await sleep(Math.random() * 1000 * 2 ** attempt);
    }
  }
}

async function doItem({ id, image }) {
  const key = 'peer-' + createHash('sha256').update(`${TECHNIQUE}|${id}|${image}`).digest('hex').slice(0, 32);
  const line = { id };
  try {
    // The SDK drops its own idempotency option, so the header goes explicitly.
    let run = await client.techniques.runs.create(
      TECHNIQUE,
      { inputs: [{ id: 'input_image', type: 'imageUrl', value: image }], mode: 'async', idempotency_key: key },
      { headers: { 'Idempotency-Key': key } },
    );
    line.run_id = run.run_id;
    let polls = 0;
    while (run.status !== 'completed' && run.status !== 'failed') {
      await sleep(2000);
      run = await client.techniques.runs.retrieve(line.run_id, { techniqueId: TECHNIQUE });
      polls++;
    }
    Object.assign(line, { status: run.status, polls, outputs: [] });
    if (run.error_code) line.error_code = run.error_code;
    for (const o of run.outputs ?? []) {
      const name = o.output_id.replaceAll('/', '_') + path.extname(new URL(o.url).pathname);
      await mkdir(path.join(out, 'files', id), { recursive: true });
      const bytes = await download(o.url, path.join(out, 'files', id, name));
      line.outputs.push({ path: `${id}/${name}`, bytes });
    }
  } catch (e) {
    Object.assign(line, { status: 'error', error: String(e?.message ?? e) });
  }
  results.write(JSON.stringify(line) + '\n');
}

let next = 0;
async function worker() {
  while (next < rows.length) await doItem(rows[next++]);
}
await Promise.all(Array.from({ length: Math.min(CONCURRENCY, rows.length) }, worker));
await new Promise((resolve) => results.end(resolve));

const code = await new Promise((resolve) => {
  spawn('tar', ['czf', path.join(out, 'outputs.tar.gz'), '-C', path.join(out, 'files'), '.'], { stdio: 'inherit' })
    .on('close', resolve);
});
if (code !== 0) process.exit(1);
console.error(`${rows.length} results in ${out}/results.jsonl, outputs in ${out}/outputs.tar.gz`);
