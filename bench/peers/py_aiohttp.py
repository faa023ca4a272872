#!/usr/bin/python3
"""py_aiohttp.py: the FLORA batch job written with asyncio and aiohttp, the way
a Python user would: one task per manifest row under an asyncio.Semaphore.
For comparison with florabatch (bench/bench_peers.sh).

Usage: FLORA_BASE_URL=... FLORA_API_KEY=... py_aiohttp.py MANIFEST.csv OUTDIR [CONCURRENCY]
Writes OUTDIR/results.jsonl (one line per row) and OUTDIR/outputs.tar.gz.
"""
import asyncio
import csv
import hashlib
import json
import os
import random
import sys
import tarfile

import aiohttp

TECHNIQUE = os.environ.get("TECHNIQUE", "cctv-cam")
RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


async def request(session, method, url, **kw):
    """One request with retries; the caller's body and Idempotency-Key are resent
    unchanged, so a create whose answer was lost never becomes a second run."""
    for attempt in range(6):
        try:
            async with session.request(method, url, **kw) as resp:
                if resp.status in RETRYABLE and attempt < 5:
                    wait = float(resp.headers.get("Retry-After") or 0)
                    await asyncio.sleep(max(wait, random.uniform(0, 2 ** attempt)))
                    continue
                resp.raise_for_status()
                return await resp.json()
        except (aiohttp.ClientConnectionError, asyncio.TimeoutError):
            if attempt == 5:
                raise
            await asyncio.sleep(random.uniform(0, 2 ** attempt))


async def download(session, url, path):
    for attempt in range(6):
        try:
            async with session.get(url) as resp:
                resp.raise_for_status()
                data = await resp.read()
                with open(path, "wb") as f:
                    f.write(data)
                return len(data)
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, asyncio.TimeoutError):
            if attempt == 5:
                raise
            await asyncio.sleep(random.uniform(0, 2 ** attempt))


async def do_item(session, base, out, row, results):
    item_id, image = row["id"], row["input_image"]
    key = "peer-" + hashlib.sha256(f"{TECHNIQUE}|{item_id}|{image}".encode()).hexdigest()[:32]
    body = {"inputs": [{"id": "input_image", "type": "imageUrl", "value": image}],
            "mode": "async", "idempotency_key": key}
    line = {"id": item_id}
    try:
        run = await request(session, "POST", f"{base}/techniques/{TECHNIQUE}/runs",
                            json=body, headers={"Idempotency-Key": key})
        line["run_id"] = run["run_id"]
        poll_url = run.get("poll_url") or f"{base}/techniques/{TECHNIQUE}/runs/{run['run_id']}"
        polls = 0
        while run["status"] not in ("completed", "failed"):
            await asyncio.sleep(2)
            run = await request(session, "GET", poll_url)
            polls += 1
        line.update(status=run["status"], polls=polls, outputs=[])
        if run.get("error_code"):
            line["error_code"] = run["error_code"]
        for o in run.get("outputs") or []:
            name = o["output_id"].replace("/", "_")
            ext = os.path.splitext(o["url"].rsplit("/", 1)[-1])[1]
            os.makedirs(os.path.join(out, "files", item_id), exist_ok=True)
            size = await download(session, o["url"], os.path.join(out, "files", item_id, name + ext))
            line["outputs"].append({"path": f"{item_id}/{name}{ext}", "bytes": size})
    except Exception as e:  # one bad item must not stop the batch
        line.update(status="error", error=f"{type(e).__name__}: {e}")
    # One event loop thread: whole lines, no lock needed.
    results.write(json.dumps(line) + "\n")
    results.flush()


async def main():
    if len(sys.argv) < 3:
        sys.exit("usage: py_aiohttp.py MANIFEST.csv OUTDIR [CONCURRENCY]")
    manifest, out = sys.argv[1], sys.argv[2]
    conc = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    base = os.environ["FLORA_BASE_URL"].rstrip("/")
    headers = {"Authorization": f"Bearer {os.environ['FLORA_API_KEY']}"}
    os.makedirs(os.path.join(out, "files"), exist_ok=True)
    with open(manifest, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("id")]
    sem = asyncio.Semaphore(conc)
    timeout = aiohttp.ClientTimeout(total=120, connect=10)
    connector = aiohttp.TCPConnector(limit=conc)

    async def bounded(session, row, results):
        async with sem:
            await do_item(session, base, out, row, results)

    with open(os.path.join(out, "results.jsonl"), "w") as results:
        async with aiohttp.ClientSession(headers=headers, timeout=timeout, connector=connector) as s:
            await asyncio.gather(*(bounded(s, r, results) for r in rows))

    with tarfile.open(os.path.join(out, "outputs.tar.gz"), "w:gz") as tar:
        tar.add(os.path.join(out, "files"), arcname=".")
    print(f"{len(rows)} results in {out}/results.jsonl, outputs in {out}/outputs.tar.gz", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
