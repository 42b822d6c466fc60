#!/usr/bin/env node
// node_fetch: Node's built-in fetch (undici, on libuv's one event loop), C requests in flight at
// most: C workers pull the next URL until none is left, and Promise.all waits for them, the way a
// Node service bounds its fan-out. Like py_asyncio and the coroutine model it overlaps every
// wait on one thread; each request pays for a Promise chain, undici's parser and the V8 heap.
//
// It speaks the reference protocol (bench/reference/common.py's docstring, docs/models.md):
// one JSON object per line in ({"urls", "concurrency", "keep_alive", "timeout_s",
// "connect_timeout_s"}), one per line out, until stdin closes. Times are CLOCK_MONOTONIC
// seconds (process.hrtime), the clock the harness and the Python children use.
import fs from "node:fs";
import readline from "node:readline";

const now = () => Number(process.hrtime.bigint()) / 1e9;

// One fault, one kind, as the C++ models and the Python references report it.
function classify(err, gotResponse) {
  if (err.name === "TimeoutError" || err.name === "AbortError") return "timeout";
  const code = (err.cause && err.cause.code) || err.code || "";
  if (["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL",
       "UND_ERR_CONNECT_TIMEOUT", "ERR_INVALID_URL"].includes(code)) {
    return "connect";
  }
  // https: a certificate it does not trust (Node's OpenSSL codes) or a failed handshake. Node 18's
  // fetch trusts the system's authorities only (no per-request CA), so the suite gives this
  // reference no https row; an https URL still fails as the models fail it.
  if (!gotResponse && /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/.test(code)) {
    return "connect";
  }
  if (err instanceof TypeError && !gotResponse &&
      (!err.cause || err.cause.message === "bad port")) {
    return "connect";  // a bad URL, or a port fetch refuses to dial (as a browser would)
  }
  // undici's parser errors: a code HPE_* (Node 20.20), or only a name and message (Node 20.19).
  const cause = err.cause || {};
  if (code.startsWith("HPE_") || code === "UND_ERR_RES_CONTENT_LENGTH_MISMATCH" ||
      cause.name === "HTTPParserError" ||
      /does not match the HTTP\/1\.1 protocol|Parse Error/.test(cause.message || "")) {
    return "bad_response";
  }
  return gotResponse ? "bad_response" : "reset";
}

async function fetchOne(url, batch) {
  const out = { status: 0, bytes: 0, start: now(), end: 0, error: "none", detail: "" };
  let gotResponse = false;
  try {
    const init = { signal: AbortSignal.timeout(Math.max(1, batch.timeout_s * 1000)) };
    if (!batch.keep_alive) init.headers = { connection: "close" };
    const resp = await fetch(url, init);
    gotResponse = true;
    out.status = resp.status;
    if (resp.body) {
      for await (const chunk of resp.body) out.bytes += chunk.length;
    }
  } catch (err) {
    out.error = classify(err, gotResponse);
    out.detail = `${err.name}: ${err.message}${err.cause ? ` (${err.cause.code || err.cause.message})` : ""}`;
    out.status = 0;
    out.bytes = 0;
  }
  out.end = now();
  return out;
}

// fetch's connection pool (undici's global Agent) opens a connection whenever none is idle at the
// instant it asks, so C workers can hold more than C. A pool of exactly C per batch, as the
// models keep, closed with the batch. Node exposes undici's Agent only through the global
// dispatcher's constructor (the symbol is undici's own, stable since Node 18).
const DISPATCHER = Symbol.for("undici.globalDispatcher.1");

async function withPool(concurrency, body) {
  // undici creates its global Agent on the first fetch: a data: URL makes it without a socket.
  if (!globalThis[DISPATCHER]) await fetch("data:,").catch(() => {});
  const global = globalThis[DISPATCHER];
  if (!global) return body();  // a runtime without undici's global Agent: its default pool
  const Agent = global.constructor;
  const pool = new Agent({ connections: concurrency });
  globalThis[DISPATCHER] = pool;
  try {
    return await body();
  } finally {
    globalThis[DISPATCHER] = global;
    await pool.close().catch(() => {});
  }
}

async function runBatch(batch) {
  return withPool(Math.max(1, batch.concurrency), () => runWorkers(batch));
}

async function runWorkers(batch) {
  const outcomes = new Array(batch.urls.length);
  let next = 0;
  const worker = async () => {
    while (next < batch.urls.length) {
      const i = next++;
      outcomes[i] = await fetchOne(batch.urls[i], batch);
    }
  };
  const workers = Math.max(1, Math.min(batch.concurrency, batch.urls.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return outcomes;
}

function threads() {
  try {
    return fs.readdirSync("/proc/self/task").length;
  } catch {
    return 1;
  }
}

async function serve() {
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const spec = JSON.parse(line);
    const batch = {
      urls: spec.urls,
      concurrency: spec.concurrency ?? 1,
      keep_alive: spec.keep_alive ?? true,
      timeout_s: spec.timeout_s ?? 30,
    };
    const before = process.resourceUsage();
    const cpu0 = process.cpuUsage();
    const t0 = now();
    const outcomes = await runBatch(batch);
    const wall = now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const after = process.resourceUsage();
    process.stdout.write(JSON.stringify({
      wall_s: wall,
      cpu_s: (cpu.user + cpu.system) / 1e6,
      vol_csw: after.voluntaryContextSwitches - before.voluntaryContextSwitches,
      invol_csw: after.involuntaryContextSwitches - before.involuntaryContextSwitches,
      rss_start_kib: before.maxRSS,
      max_rss_kib: after.maxRSS,
      threads: threads(),
      outcomes: outcomes.map((o) => [o.status, o.bytes, o.start, o.end, o.error, o.detail]),
    }) + "\n");
  }
}

if (process.argv.includes("-h") || process.argv.includes("--help")) {
  process.stdout.write("node_fetch.mjs: a reference client speaking iobench's JSON-lines " +
                       "protocol on stdin/stdout (see bench/reference/common.py)\n");
} else {
  await serve();
}
