// API message mutations: every RPC of every served service, in-process through the real
// protobuf decoder, and over the wire through apid (mTLS), straight into machined's socket and
// into trustd; framing abuse at the HTTP/2 level; and hand-made hostile calls for known classes
// of attack (catastrophic regexps, fan-out, port-scan oracles, token floods, huge CSRs,
// concurrent applies, a large config diff).
import { readFileSync, statSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { toBinary } from '@bufbuild/protobuf';
import { Code, TalosError } from '@talos-ts/cosi';
import { TALOS_API_PORT, TRUSTD_PORT, cosiStatePb, createCsr, nodePaths, decodeMessage, encodeMessage, generateKey, machinePb, requestCertificate, toConfigSecrets } from '@talos-ts/machinery';
import type { FuzzNode } from '../host/fuzz-node.ts';
import type { Budget } from './config-campaign.ts';
import { applyOnce } from './config-campaign.ts';
import type { ConfigMutator } from './config-mutations.ts';
import { ENCODING_MUTATIONS, isDestructive, mutateEncoding, randomRequest, servedMethods } from './messages.ts';
import { frameHeader, openSession, rawCall, type RawOutcome, type RawTarget } from './raw-grpc.ts';
import type { FuzzReport } from './report.ts';
import type { Rng } from './rng.ts';

const methods = servedMethods();

/** One request for the n-th input: every method in turn, random or mutated bytes. */
function requestFor(n: number, rng: Rng): { entry: (typeof methods)[number]; bytes: Buffer; how: string } {
  const entry = methods[n % methods.length] as (typeof methods)[number];
  const valid = randomRequest(entry.method, rng);
  if (rng.chance(0.4)) return { entry, bytes: Buffer.from(valid), how: 'random' };
  const kind = rng.pick(ENCODING_MUTATIONS);
  return { entry, bytes: mutateEncoding(valid, kind, rng), how: kind };
}

/**
 * Decodes mutated requests of every method with the decoder the servers use. Oracle: it returns
 * or throws InvalidArgument, within a bound, and what it returns encodes again.
 */
export function fuzzMessagesInProcess(rng: Rng, report: FuzzReport, budget: Budget): number {
  const end = performance.now() + budget.timeBudgetMs;
  let n = 0;
  for (; n < budget.count && performance.now() < end; n++) {
    const child = rng.fork();
    const { entry, bytes, how } = requestFor(n, child);
    const category = `decode/${how}`;
    report.count(category);
    const t0 = performance.now();
    try {
      const msg = decodeMessage(entry.method.input, bytes);
      toBinary(entry.method.input, msg);
    } catch (err) {
      if (!(err instanceof TalosError && err.code === Code.InvalidArgument)) {
        report.fail('crash', category, `${entry.path}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, child.seed);
      } else if (/Maximum call stack|out of memory/i.test(err.message)) {
        report.fail('wrong-status', category, `${entry.path}: ${err.message}`, child.seed);
      }
    }
    const ms = performance.now() - t0;
    if (ms > 2000) report.fail('hang', category, `${entry.path}: decode took ${Math.round(ms)} ms`, child.seed);
  }
  return n;
}

/** Raw targets of a node: apid as admin and as reader, machined's socket, trustd. */
export function rawTargets(node: FuzzNode): { apidAdmin: RawTarget; apidReader: RawTarget; machined: RawTarget; trustd: RawTarget; anonymous: RawTarget } {
  const c = node.certs;
  return {
    apidAdmin: { address: `${node.address}:${TALOS_API_PORT}`, caPem: c.caPem, crtPem: c.admin.crt, keyPem: c.admin.key },
    apidReader: { address: `${node.address}:${TALOS_API_PORT}`, caPem: c.caPem, crtPem: c.reader.crt, keyPem: c.reader.key },
    machined: { address: `unix:${nodePaths(node.stateDir).machinedSocket}` },
    trustd: { address: `${node.address}:${TRUSTD_PORT}` },
    anonymous: { address: `${node.address}:${TALOS_API_PORT}` },
  };
}

/** Options of {@link fuzzApiOverWire}. */
export interface WireApiOptions extends Budget {
  /** Bound of one unary call (default 5 s). */
  readonly callTimeoutMs?: number;
  readonly maxRestarts?: number;
}

function isTransportDeath(o: RawOutcome): boolean {
  return o.status === undefined && !o.timedOut;
}

/**
 * Sends random and mutated requests of every RPC over real connections. Oracle: a unary call
 * gets a status (or a reset) within its bound, Unknown/Internal never answers bad input, and
 * the node's processes live. Destructive methods go with the reader role (denied after decoding).
 */
export async function fuzzApiOverWire(node: FuzzNode, rng: Rng, report: FuzzReport, options: WireApiOptions): Promise<number> {
  const end = performance.now() + options.timeBudgetMs;
  const timeoutMs = options.callTimeoutMs ?? 5000;
  let restarts = options.maxRestarts ?? 2;
  const targets = rawTargets(node);
  const sessions = new Map<RawTarget, Awaited<ReturnType<typeof openSession>>>();
  const session = async (t: RawTarget): Promise<Awaited<ReturnType<typeof openSession>>> => {
    let s = sessions.get(t);
    if (!s || s.closed || s.destroyed) {
      s = await openSession(t);
      sessions.set(t, s);
    }
    return s;
  };
  let n = 0;
  try {
    for (; n < options.count && performance.now() < end; n++) {
      const child = rng.fork();
      const { entry, bytes, how } = requestFor(n, child);
      const destructive = isDestructive(entry.method);
      const route = entry.via === 'trustd' ? 'trustd' : child.pick(['apid', 'machined'] as const);
      const target = route === 'trustd' ? targets.trustd : route === 'machined' ? targets.machined : destructive ? targets.apidReader : targets.apidAdmin;
      const headers: Record<string, string> = {};
      if (route === 'machined') headers['talos-role'] = destructive ? 'os:reader' : child.pick(['os:admin', 'os:reader', 'os:operator', '']);
      if (route === 'trustd') headers.token = child.pick(['', 'wrong', 'a'.repeat(1000)]);
      const category = `rpc-${route}/${how}`;
      report.count(category);
      let out: RawOutcome;
      try {
        const s = await session(target);
        const streamingIn = entry.method.methodKind === 'client_streaming' || entry.method.methodKind === 'bidi_streaming';
        const messages = streamingIn ? child.int(3) : 1;
        const chunks: Buffer[] = [];
        for (let i = 0; i < messages; i++) chunks.push(frameHeader(0, bytes.length), bytes);
        out = await rawCall(s, entry.path, { headers, chunks, timeoutMs });
      } catch (err) {
        out = { status: undefined, message: String(err), reset: true, timedOut: false, responseBytes: 0, elapsedMs: 0 };
      }
      report.latency(`rpc-${route}`, out.elapsedMs);
      if (!node.alive()) {
        const e = node.exit();
        report.fail('crash', category, `${entry.path} (${how}, ${bytes.length} bytes): machined exited (code ${e?.code}, signal ${e?.signal})`, child.seed);
        if (restarts-- <= 0) break;
        await node.restart();
        sessions.clear();
        continue;
      }
      const unary = entry.method.methodKind === 'unary' || entry.method.methodKind === 'client_streaming';
      if (out.timedOut && unary) report.fail('hang', category, `${entry.path} (${how}): no status within ${timeoutMs} ms`, child.seed);
      else if (out.status === Code.Unknown || out.status === Code.Internal) report.fail('wrong-status', category, `${entry.path} (${how}): ${Code[out.status]}: ${out.message}`, child.seed);
      else if (isTransportDeath(out) && unary) {
        // The connection died under one call: only a finding when the server end went away.
        sessions.delete(target);
      }
    }
  } finally {
    for (const s of sessions.values()) s.destroy();
  }
  return n;
}

/** The framing attacks, each a function of the node's raw apid target. */
export const FRAMING_ATTACKS = [
  'compressed-flag',
  'bad-flag',
  'length-over-body',
  'body-over-length',
  'huge-declared-length',
  'tiny-frames',
  'early-reset',
  'no-half-close',
  'bad-content-type',
  'unknown-path',
  'many-streams',
] as const;

// Attacks whose frames are malformed on purpose: Internal is a correct answer to them.
const brokenFrame = new Set<string>(['bad-flag', 'length-over-body', 'body-over-length', 'compressed-flag']);

/** One framing attack. */
export type FramingAttack = (typeof FRAMING_ATTACKS)[number];

/**
 * HTTP/2 and gRPC framing abuse against apid (as a reader: every attack lands before or at
 * authorization). Oracle: a status or a reset within the bound, no crash, and the node still
 * answers Version afterwards.
 */
export async function fuzzFraming(node: FuzzNode, rng: Rng, report: FuzzReport, options: Budget & { readonly callTimeoutMs?: number; readonly tinyFrameBytes?: number }): Promise<number> {
  const end = performance.now() + options.timeBudgetMs;
  const bound = options.callTimeoutMs ?? 10_000;
  const target = rawTargets(node).apidReader;
  const version = '/machine.MachineService/Version';
  const empty = Buffer.alloc(0);
  let n = 0;
  for (; n < options.count && performance.now() < end; n++) {
    const child = rng.fork();
    const attack = FRAMING_ATTACKS[n % FRAMING_ATTACKS.length] as FramingAttack;
    const category = `framing/${attack}`;
    report.count(category);
    const s = await openSession(target).catch(() => undefined);
    if (!s) {
      report.fail('unavailable', category, 'apid refused a new connection', child.seed);
      continue;
    }
    let expectOpen = false;
    let out: RawOutcome | undefined;
    try {
      switch (attack) {
        case 'compressed-flag':
          out = await rawCall(s, version, { chunks: [frameHeader(1, 4), Buffer.from([1, 2, 3, 4])], timeoutMs: bound });
          break;
        case 'bad-flag':
          out = await rawCall(s, version, { chunks: [frameHeader(child.pick([2, 0x80, 0xff]), 0)], timeoutMs: bound });
          break;
        case 'length-over-body':
          out = await rawCall(s, version, { chunks: [frameHeader(0, 1000), child.bytes(10)], timeoutMs: bound });
          break;
        case 'body-over-length':
          out = await rawCall(s, version, { chunks: [frameHeader(0, 2), child.bytes(100)], timeoutMs: bound });
          break;
        case 'huge-declared-length':
          out = await rawCall(s, version, { chunks: [frameHeader(0, child.pick([0xffffffff, 0x7fffffff, 33 * 1024 * 1024]))], timeoutMs: bound });
          break;
        case 'tiny-frames': {
          // One message spread over many small DATA frames: reassembly must stay linear.
          const size = options.tinyFrameBytes ?? child.pick([256 * 1024, 1024 * 1024]);
          const chunk = child.pick([16, 64, 256]);
          const chunks: Buffer[] = [frameHeader(0, size)];
          const body = Buffer.alloc(size);
          for (let off = 0; off < size; off += chunk) chunks.push(body.subarray(off, off + chunk));
          out = await rawCall(s, version, { chunks, timeoutMs: bound });
          break;
        }
        case 'early-reset':
          out = await rawCall(s, version, { chunks: [frameHeader(0, 100), child.bytes(10)], resetAfterWrite: true, timeoutMs: bound });
          expectOpen = true;
          break;
        case 'no-half-close':
          // A complete unary request whose stream is never closed: the server may wait, the bound ends it.
          out = await rawCall(s, version, { chunks: [frameHeader(0, 0), empty], keepOpen: true, timeoutMs: Math.min(bound, 2000) });
          expectOpen = true;
          break;
        case 'bad-content-type':
          out = await rawCall(s, version, { headers: { 'content-type': child.pick(['text/plain', 'application/json', '']) }, chunks: [frameHeader(0, 0)], timeoutMs: bound });
          break;
        case 'unknown-path':
          out = await rawCall(s, child.pick(['/', '/x', '/machine.MachineService/', `/${'a'.repeat(8000)}`, '/../machine.MachineService/Version']), { chunks: [frameHeader(0, 0)], timeoutMs: bound });
          break;
        case 'many-streams': {
          // Many long-lived streams on one connection (server-streaming Events that never end).
          const count = child.pick([100, 500]);
          const calls: Promise<RawOutcome>[] = [];
          for (let i = 0; i < count; i++) {
            calls.push(rawCall(s, '/machine.MachineService/Events', { chunks: [frameHeader(0, 0)], timeoutMs: Math.min(bound, 3000) }));
          }
          await Promise.all(calls);
          expectOpen = true;
          break;
        }
      }
    } finally {
      s.destroy();
    }
    if (!node.alive()) {
      report.fail('crash', category, `machined exited during ${attack}`, child.seed);
      break;
    }
    if (out && out.timedOut && !expectOpen) report.fail('hang', category, `no status or reset within ${bound} ms`, child.seed);
    // Internal is gRPC's answer to a broken frame (as grpc-go); Unknown never is.
    else if (out && (out.status === Code.Unknown || (out.status === Code.Internal && !brokenFrame.has(attack)))) report.fail('wrong-status', category, `${Code[out.status]}: ${out.message}`, child.seed);
    try {
      await node.probe(bound);
    } catch (err) {
      report.fail('unavailable', category, `Version failed after ${attack}: ${err instanceof Error ? err.message : String(err)}`, child.seed);
    }
  }
  return n;
}

function code(err: unknown): string {
  return err instanceof TalosError ? Code[err.code] ?? String(err.code) : 'none';
}

/** Options of {@link hostileCalls}. */
export interface HostileOptions {
  /** Duplicated targets in one fan-out request (default 200). */
  readonly fanOut?: number;
  /** SANs in the oversized CSR (default 20,000). */
  readonly csrSans?: number;
  /** Wrong-token attempts against trustd (default 200). */
  readonly tokenAttempts?: number;
  /** Parallel applies (default 8). */
  readonly parallelApplies?: number;
  /** Cert SANs in each of the two large configs of the diff attack (default 8,000). */
  readonly diffSans?: number;
  readonly callTimeoutMs?: number;
  /** Which cases to run (default all). */
  readonly only?: readonly HostileCase[];
}

/** The hand-made hostile calls. */
export const HOSTILE_CASES = ['regex-dos', 'fan-out', 'port-scan', 'token-flood', 'huge-csr', 'parallel-applies', 'large-diff'] as const;

/** One hand-made hostile call. */
export type HostileCase = (typeof HOSTILE_CASES)[number];

/** Known classes of attack, each with its oracle; machined is restarted when one kills it. */
export async function hostileCalls(node: FuzzNode, mutator: ConfigMutator, rng: Rng, report: FuzzReport, options: HostileOptions = {}): Promise<void> {
  const bound = options.callTimeoutMs ?? 5000;
  const Mode = machinePb.ApplyConfigurationRequest_Mode;
  const cases = options.only ?? HOSTILE_CASES;
  const afterCase = async (name: string): Promise<void> => {
    if (!node.alive()) {
      const e = node.exit();
      report.fail('crash', `hostile/${name}`, `machined exited (code ${e?.code}, signal ${e?.signal})`);
      await node.restart();
    }
  };
  for (const c of cases) {
    const category = `hostile/${c}`;
    report.count(category);
    switch (c) {
      case 'regex-dos': {
        // A backtracking regexp over resource definition ids (reader role may List them).
        const s = await openSession(rawTargets(node).apidReader);
        const req = encodeMessage(cosiStatePb.ListRequestSchema, { namespace: 'meta', type: 'ResourceDefinitions.meta.cosi.dev', options: { idQuery: { regexp: '^.{8}([A-Za-z.]+)+!$' } } });
        const out = await rawCall(s, '/cosi.resource.State/List', { chunks: [frameHeader(0, req.length), Buffer.from(req)], timeoutMs: bound });
        s.destroy();
        if (out.timedOut) report.fail('hang', category, `State.List with a backtracking id_query: no answer within ${bound} ms`);
        break;
      }
      case 'fan-out': {
        const n = options.fanOut ?? 200;
        try {
          const res = await node.reader.withNodes(Array.from({ length: n }, () => node.address)).machine.version({}, { timeoutMs: bound * 4 });
          if (res.messages.length > 1) report.fail('unbounded', category, `${n} copies of one target answered ${res.messages.length} times (no dedup or cap)`);
        } catch (err) {
          if (err instanceof TalosError && (err.code === Code.Unknown || err.code === Code.Internal)) report.fail('wrong-status', category, err.message);
        }
        break;
      }
      case 'port-scan': {
        // apid must not tell the network's state to its callers. Targets that name a port are refused
        // from their text alone, all alike; targets it does dial (nothing listening on the API port,
        // an unknown host, a listener that is not a TLS server) must fail alike too.
        const conns = new Set<Socket>();
        const garbage = createServer((s) => {
          conns.add(s);
          s.on('close', () => conns.delete(s));
          s.on('error', () => {});
          s.end('not a TLS server\n');
        });
        // If the address is taken the group still runs: the target then fails some other way.
        await new Promise<void>((resolve) => {
          garbage.once('error', () => resolve());
          garbage.listen(TALOS_API_PORT, '127.0.9.253', resolve);
        });
        try {
          const groups = [
            ['127.0.0.1:1', `${node.address}:${TRUSTD_PORT}`, '127.0.0.1:22'],
            ['127.0.9.254', 'no-such-host.invalid', '127.0.9.253'],
          ];
          for (const targets of groups) {
            const answers: string[] = [];
            for (const target of targets) {
              try {
                await node.reader.withNode(target).machine.version({}, { timeoutMs: bound });
                answers.push(`${target}: answered`);
              } catch (err) {
                const msg = err instanceof Error ? err.message.split(target).join('<target>') : String(err);
                answers.push(`${code(err)}: ${msg.replace(/\d+\.\d+\.\d+\.\d+(:\d+)?/g, '<addr>')}`);
              }
            }
            if (new Set(answers.map((a) => a.replace(/^[^:]*: answered$/, 'answered'))).size > 1) report.fail('oracle-leak', category, answers.join(' | '));
          }
        } finally {
          // close() waits for open connections: a peer that keeps its half open would hold it.
          for (const c of conns) c.destroy();
          await new Promise((resolve) => garbage.close(resolve));
        }
        break;
      }
      case 'token-flood': {
        const attempts = options.tokenAttempts ?? 200;
        const logFile = join(nodePaths(node.stateDir).logDir, 'trustd.log');
        const size = (): number => {
          try {
            return statSync(logFile).size;
          } catch {
            return 0;
          }
        };
        const before = size();
        const key = await generateKey('ecdsa');
        const csrPem = createCsr(key, { subject: { commonName: 'flood' }, ipAddresses: ['127.0.0.1'] });
        let limited = 0;
        for (let i = 0; i < attempts; i++) {
          try {
            await requestCertificate({ endpoints: [`${node.address}:${TRUSTD_PORT}`], token: `wrong.${i}`, csrPem, timeoutMs: bound });
          } catch (err) {
            if (err instanceof TalosError && err.code === Code.ResourceExhausted) limited++;
          }
        }
        await new Promise((r) => setTimeout(r, 300));
        const grown = size() - before;
        const lines = (() => {
          try {
            return readFileSync(logFile, 'utf8').slice(before).split('\n').filter((l) => l !== '').length;
          } catch {
            return 0;
          }
        })();
        // Rate-limited logging writes a bounded number of lines however many attempts come.
        if (lines > Math.max(20, attempts / 4)) report.fail('unbounded', category, `${attempts} wrong tokens wrote ${lines} log lines (${grown} bytes); ${limited} rate-limited`);
        break;
      }
      case 'huge-csr': {
        const sans = options.csrSans ?? 20_000;
        const key = await generateKey('ecdsa');
        const csrPem = createCsr(key, { subject: { commonName: 'huge' }, dnsNames: Array.from({ length: sans }, (_, i) => `n${i}.fuzz.example.com`) });
        const token = toConfigSecrets(node.bundle).trustdToken;
        try {
          const signed = await requestCertificate({ endpoints: [`${node.address}:${TRUSTD_PORT}`], token, csrPem, timeoutMs: bound * 4 });
          report.fail('unbounded', category, `trustd signed a CSR with ${sans} SANs (${signed.crtPem.length} bytes of certificate)`);
        } catch (err) {
          if (err instanceof TalosError && (err.code === Code.Unknown || err.code === Code.Internal)) report.fail('wrong-status', category, err.message);
        }
        break;
      }
      case 'parallel-applies': {
        const k = options.parallelApplies ?? 8;
        const configs = Array.from({ length: k }, () => {
          let m = mutator.mutate('valid-edit', rng);
          while (m.note.includes('certSANs')) m = mutator.mutate('valid-edit', rng);
          return m.bytes;
        });
        const outs = await Promise.all(configs.map((b) => applyOnce(node.admin, b, { dryRun: false, mode: Mode.NO_REBOOT, timeoutMs: bound * 3 })));
        const bad = outs.filter((o) => !o.ok && o.code !== Code.FailedPrecondition && o.code !== Code.Aborted && o.code !== Code.Unavailable);
        for (const o of bad) if (!o.ok) report.fail('wrong-status', category, `${o.code === undefined ? 'no code' : Code[o.code]}: ${o.message}`);
        await afterCase(c);
        const stored = readFileSync(nodePaths(node.stateDir).config);
        const okOnes = configs.filter((_, i) => outs[i]?.ok);
        if (!okOnes.some((b) => b.equals(stored))) {
          const failedMatch = configs.findIndex((b, i) => !outs[i]?.ok && b.equals(stored));
          report.fail('torn-state', category, failedMatch >= 0 ? `config.yaml is the config of call ${failedMatch}, which failed` : 'config.yaml matches none of the successful applies');
        }
        break;
      }
      case 'large-diff': {
        // Two large, valid configs: apply one, dry-run the other (the dry run diffs them).
        const sans = options.diffSans ?? 8000;
        const big = (tag: string): Buffer => mutator.withCertSans(tag, sans);
        const first = await applyOnce(node.admin, big('a'), { dryRun: false, mode: Mode.NO_REBOOT, timeoutMs: bound * 4 });
        if (!first.ok && (first.code === Code.Unknown || first.code === Code.Internal || first.timedOut)) report.fail(first.timedOut ? 'hang' : 'wrong-status', category, `apply of ${sans} SANs: ${first.message}`);
        await afterCase(`${c} (apply)`);
        if (!first.ok) report.count('hostile/large-diff:first-apply-refused');
        if (first.ok) {
          const dry = await applyOnce(node.admin, big('b'), { dryRun: true, mode: Mode.NO_REBOOT, timeoutMs: bound * 6 });
          if (!dry.ok && (dry.timedOut || dry.code === Code.Unknown || dry.code === Code.Internal || dry.code === Code.Unavailable)) {
            report.fail(dry.timedOut ? 'hang' : 'wrong-status', category, `dry run of ${sans} other SANs: ${dry.message}`);
          }
          // Put the node back on its base config for whatever runs next.
          if (node.alive()) await applyOnce(node.admin, Buffer.from(node.baseConfig), { dryRun: false, mode: Mode.NO_REBOOT, timeoutMs: bound * 4 });
        }
        break;
      }
    }
    await afterCase(c);
  }
}

