// A small real HTTP origin on loopback, for the demo, the tests and the benchmarks.
//   GET  /__origin/counts          -> {"<x-keygate-key-id>": n, ...} requests seen per key
//   GET  /__origin/paths           -> {"<path>": n, ...} requests seen per path (did anything get through?)
//   POST /__origin/reset           -> clears the counts
//   GET  /__origin/download?bytes=N -> N deterministic bytes (streamed), x-sha256 header
//   *    /__origin/slow?ms=N       -> answers after N ms
//   GET  /__origin/slow-body?ms=N  -> headers at once, then "first", then after N ms "last"
//   *    /__origin/static          -> a fixed small body (the benchmark's target)
//   *    …/__origin/respond?status=302&location=…&link=…  -> that status with those response
//                                     headers (any name; repeated names repeat the header)
//   *    anything else             -> JSON echo: method, path, query, headers, body length and SHA-256
// `origin.serve(handler)` puts pages of its own in front of all that: `npm run dev` serves the
// example OAuth consent page and demo app there (examples/oauth-consent/consent.mjs).
import { createHash } from "node:crypto";
import { createServer } from "node:http";

export function patternBytes(offset, length) {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (offset + i) * 31 % 251;
  return out;
}

export function startOrigin({ port = 0, host = "127.0.0.1", quiet = true } = {}) {
  const counts = new Map();
  const paths = new Map();
  /** Pages served before everything else: `(req, res, url) => handled`. */
  let pages = () => false;
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://origin");
    if (pages(req, res, url)) return;
    const keyId = req.headers["x-keygate-key-id"];
    if (typeof keyId === "string") counts.set(keyId, (counts.get(keyId) ?? 0) + 1);
    if (!url.pathname.startsWith("/__origin/")) paths.set(url.pathname, (paths.get(url.pathname) ?? 0) + 1);
    if (!quiet) console.log(`origin: ${req.method} ${req.url} key=${keyId ?? "-"}`);

    if (url.pathname === "/__origin/static") {
      req.resume();
      res.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
      return res.end("ok");
    }
    if (url.pathname.endsWith("/__origin/respond")) {
      req.resume();
      const headers = [];
      for (const [name, value] of url.searchParams) if (name !== "status") headers.push(name, value);
      res.writeHead(Number(url.searchParams.get("status") ?? 200), headers);
      return res.end("redirecting");
    }
    if (url.pathname === "/__origin/counts") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify(Object.fromEntries(counts)));
    }
    if (url.pathname === "/__origin/paths") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify(Object.fromEntries(paths)));
    }
    if (url.pathname === "/__origin/reset") {
      counts.clear();
      paths.clear();
      res.writeHead(204);
      return res.end();
    }
    if (url.pathname === "/__origin/download") {
      const total = Number(url.searchParams.get("bytes") ?? 0);
      const hash = createHash("sha256");
      for (let off = 0; off < total; off += 65536) hash.update(patternBytes(off, Math.min(65536, total - off)));
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(total), "x-sha256": hash.digest("hex") });
      let offset = 0;
      const pump = () => {
        while (offset < total) {
          const chunk = patternBytes(offset, Math.min(65536, total - offset));
          offset += chunk.length;
          if (!res.write(chunk)) return res.once("drain", pump);
        }
        res.end();
      };
      return pump();
    }
    if (url.pathname === "/__origin/slow-body") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first\n");
      setTimeout(() => res.end("last\n"), Number(url.searchParams.get("ms") ?? 0));
      return;
    }
    const hash = createHash("sha256");
    let length = 0;
    req.on("data", (chunk) => {
      length += chunk.length;
      hash.update(chunk);
    });
    req.on("end", () => {
      const delay = url.pathname === "/__origin/slow" ? Number(url.searchParams.get("ms") ?? 0) : 0;
      setTimeout(() => {
        const body = JSON.stringify({
          method: req.method,
          // As received: WHATWG URL would read "//servers/1" as host "servers", path "/1".
          path: req.url.split("?")[0],
          query: url.search,
          headers: req.headers,
          bodyLength: length,
          bodySha256: hash.digest("hex"),
        });
        res.writeHead(200, { "content-type": "application/json", "x-origin": "keygate-demo", connection: "keep-alive" });
        res.end(body);
      }, delay);
    });
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const { port: bound } = server.address();
      resolve({
        url: `http://${host}:${bound}`,
        port: bound,
        close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }),
        serve: (handler) => {
          pages = handler;
        },
      });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.PORT ?? 8788);
  const origin = await startOrigin({ port, quiet: false });
  console.log(`demo origin listening on ${origin.url}`);
}
