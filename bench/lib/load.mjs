// Closed-loop load with autocannon: fixed connections for a fixed time, a warm-up pass first
// whose numbers are thrown away. Latency is kept per response in ms with sub-ms precision
// (autocannon's own histogram rounds to whole ms, too coarse for "0.5 ms added").
import autocannon from "autocannon";
import { cpuSeconds } from "./cpu.mjs";

/** The workerd process whose CPU time each measured pass reads (see cpu.mjs). */
let workerdPid = null;
export function watchCpuOf(pid) {
  workerdPid = pid;
}

/** The watched workerd's CPU seconds so far, or null. */
export const workerdCpuSeconds = () => cpuSeconds(workerdPid);

export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function round(value, digits) {
  if (value === null || value === undefined || Number.isNaN(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function run(options, onResponse) {
  return new Promise((resolve, reject) => {
    const instance = autocannon({ timeout: 30, ...options }, (error, result) => (error ? reject(error) : resolve(result)));
    if (onResponse) instance.on("response", (_client, status, _bytes, ms) => onResponse(status, ms));
  });
}

/** Latencies in a growable typed array: cheap to record at tens of thousands per second. */
class Samples {
  values = new Float64Array(1 << 16);
  count = 0;
  push(ms) {
    if (this.count === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.count++] = ms;
  }
  sorted() {
    return this.values.slice(0, this.count).sort();
  }
}

/**
 * One target under load, possibly over several rounds (see interleave). `requests` (autocannon's
 * request list, e.g. rotating keys) or `headers`; `duration` seconds per round, or `amount`
 * requests in total instead.
 */
export class Load {
  samples = new Samples();
  statuses = {};
  seconds = 0;
  errors = 0;
  timeouts = 0;
  cpu = 0;

  /** `keyCount`: how many keys `requests` rotates through; a warm-up sends each at least once. */
  constructor({ url, connections, headers, requests, keyCount = 0 }) {
    this.options = { url, connections, headers, requests, pipelining: 1 };
    this.connections = connections;
    this.keyCount = keyCount;
  }

  async warm(seconds) {
    if (this.keyCount > 0) await run({ ...this.options, amount: this.keyCount });
    if (seconds > 0) await run({ ...this.options, duration: seconds });
  }

  async measure({ duration, amount }) {
    const record = (status, ms) => {
      this.samples.push(ms);
      this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    };
    const cpuBefore = cpuSeconds(workerdPid);
    const started = process.hrtime.bigint();
    const result = await run(amount ? { ...this.options, amount } : { ...this.options, duration }, record);
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    const cpuAfter = cpuSeconds(workerdPid);
    this.cpu = cpuBefore === null || cpuAfter === null || this.cpu === null ? null : this.cpu + (cpuAfter - cpuBefore);
    // autocannon reports when its sampling tick sees the stop, so prefer its own duration.
    this.seconds += duration && result.duration ? result.duration : elapsed;
    this.errors += result.errors;
    this.timeouts += result.timeouts;
  }

  summary() {
    const sorted = this.samples.sorted();
    return {
      connections: this.connections,
      seconds: round(this.seconds, 2),
      responses: this.samples.count,
      rps: round(this.samples.count / this.seconds, 0),
      p50: round(percentile(sorted, 50), 3),
      p99: round(percentile(sorted, 99), 3),
      // workerd's CPU per response, in ms: all of keygate's work, its Durable Objects included.
      workerdCpuMs: this.cpu === null || this.samples.count === 0 ? null : round((this.cpu * 1000) / this.samples.count, 3),
      statuses: this.statuses,
      errors: this.errors,
      timeouts: this.timeouts,
    };
  }
}

/** A pass's summary, marked with whether every response had the status the scenario is about. */
export function expect(result, status) {
  const matching = result.statuses[status] ?? 0;
  return { ...result, expectedStatus: status, asExpected: matching === result.responses && result.errors === 0 };
}

/** Warm-up then one measured pass. */
export async function measureLoad(target, { duration, warmup = 0, amount }) {
  const load = new Load(target);
  await load.warm(warmup);
  await load.measure({ duration, amount });
  return load.summary();
}

/**
 * Targets compared as a ratio take turns (A B A B ...), so a neighbour's burst on this shared
 * machine lands on both sides instead of skewing one. Each warms up once, before its first turn.
 */
export async function interleave(targets, { duration, warmup, rounds }) {
  const loads = targets.map((t) => new Load(t));
  for (let r = 0; r < rounds; r++) {
    for (const load of loads) {
      // Every turn is warmed, not only the first: local workerd evicts a Durable Object idle for
      // 10 s (Cloudflare: 70–140 s), and the other workers' turns last longer than that, so an
      // unwarmed turn would measure a thousand objects starting rather than keys in use.
      await load.warm(r === 0 ? warmup : Math.min(warmup, 1));
      await load.measure({ duration: duration / rounds });
    }
  }
  return loads.map((load) => load.summary());
}

/**
 * An autocannon request list that sends each request with the next key of `keys` in turn, and,
 * when `clientIps` is given, the next client IP (cf-connecting-ip) of those in turn.
 */
export function rotatingKeys(keys, clientIps = null) {
  let next = 0;
  return [
    {
      method: "GET",
      setupRequest(request) {
        const i = next++;
        const headers = { ...request.headers, "x-api-key": keys[i % keys.length] };
        if (clientIps) headers["cf-connecting-ip"] = clientIps[i % clientIps.length];
        request.headers = headers;
        return request;
      },
    },
  ];
}
