// apid under load it must shed: RSS of the apid process (its own bin, so the figures are its
// alone) before, at peak and after (a) N idle TCP connections that never start TLS and (b)
// fan-out calls naming M distinct unreachable nodes; and how long a role-less caller's 31 MiB
// Version request takes to be refused. (Reassembly time: packages/machinery/bench/h2-reassembly.)
// Prints one JSON object.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { fromBinary } from '@bufbuild/protobuf';
import { machinePb } from '@talos-ts/machinery';
import { callUnary, issue, makeCa, md, rawClient, startBackend, writeCertsDir } from './fixtures.ts';

const root = new URL('../../..', import.meta.url).pathname;
const IP = '127.0.0.191';
const PORT = 50000;
const IDLE_CONNECTIONS = Number(process.env['APID_BENCH_CONNECTIONS'] ?? 5000);
const FANOUT_TARGETS = Number(process.env['APID_BENCH_TARGETS'] ?? 16384);
const VERSION = '/machine.MachineService/Version';
const MiB = 1024 * 1024;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(m?.[1] ?? 0) / 102.4) / 10;
}

/** Samples RSS every 50 ms while `work` runs; returns the peak. */
async function peakDuring(pid: number, work: () => Promise<void>): Promise<number> {
  let peak = rssMiB(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 50);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, rssMiB(pid));
}

const dir = mkdtempSync(join(tmpdir(), 'apid-limits-bench-'));
const backend = await startBackend(dir, 'a');
const ca = await makeCa('os-ca');
writeCertsDir(join(dir, 'certs'), ca, await issue(ca, { cn: 'a', ips: [IP], usage: ['serverAuth'] }), await issue(ca, { cn: 'apid', roles: ['os:impersonator'], usage: ['clientAuth'] }));
const reader = await issue(ca, { cn: 'talosctl', roles: ['os:reader'], usage: ['clientAuth'] });
const nobody = await issue(ca, { cn: 'nobody', usage: ['clientAuth'] });
const child = spawn(process.execPath, [join(root, 'packages/apid/bin/apid.js'), '--listen', `${IP}:${PORT}`, '--machined-socket', backend.socket, '--certs-dir', join(dir, 'certs'), '--node', IP, '--log-level', 'error'], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
const pid = child.pid as number;
const client = rawClient(`${IP}:${PORT}`, { caPem: ca.crtPem, certPem: reader.crt, keyPem: reader.key });

try {
  for (let i = 0; ; i++) {
    if ((await callUnary(client, VERSION, Buffer.alloc(0), md(), 1000)).ok) break;
    if (i > 200) throw new Error('apid did not come up');
    await sleep(100);
  }
  await sleep(500);
  const idle = { connections: IDLE_CONNECTIONS, before: rssMiB(pid), peak: 0, after: 0, refused: 0 };
  const sockets: Socket[] = [];
  let closing = false;
  idle.peak = await peakDuring(pid, async () => {
    for (let i = 0; i < IDLE_CONNECTIONS; i++) {
      const s = netConnect(PORT, IP);
      s.on('error', () => {});
      s.on('close', () => {
        if (!closing) idle.refused++;
      });
      sockets.push(s);
      if (i % 200 === 199) await sleep(20);
    }
    await sleep(1000);
  });
  // `refused`: closed by apid before we closed them (over the connection cap).
  closing = true;
  for (const s of sockets) s.destroy();
  await sleep(2000);
  idle.after = rssMiB(pid);

  const fan = { targets: FANOUT_TARGETS, perCall: 256, before: rssMiB(pid), peak: 0, after: 0, entries: 0, uniformErrors: 0, rssEvery4096Targets: [] as number[] };
  fan.peak = await peakDuring(pid, async () => {
    for (let start = 0; start < FANOUT_TARGETS; start += 256) {
      const names = Array.from({ length: Math.min(256, FANOUT_TARGETS - start) }, (_, j) => {
        const n = start + j;
        return `127.1.${n >> 8}.${n & 255}`;
      });
      if (start > 0 && start % 4096 === 0) fan.rssEvery4096Targets.push(rssMiB(pid));
      const out = await callUnary(client, VERSION, Buffer.alloc(0), md({ nodes: names.join(',') }), 30_000);
      if (!out.ok) throw new Error(`fan-out failed: ${out.details}`);
      for (const m of fromBinary(machinePb.VersionResponseSchema, out.messages[0] ?? Buffer.alloc(0)).messages) {
        fan.entries++;
        if (m.metadata !== undefined && m.metadata.error === `node ${m.metadata.hostname} is unreachable`) fan.uniformErrors++;
      }
    }
  });
  await sleep(2000);
  fan.after = rssMiB(pid);

  // A role-less caller announces 31 MiB and keeps sending: time until apid refuses it.
  const session = h2connect(`https://${IP}:${PORT}`, {
    ca: ca.crtPem,
    cert: nobody.crt,
    key: nobody.key,
    servername: 'talos-ip-target',
    checkServerIdentity: (_n: string, cert: PeerCertificate) => checkServerIdentity(IP, cert),
  });
  session.on('error', () => {});
  const t0 = performance.now();
  const req = session.request({ ':method': 'POST', ':path': VERSION, 'content-type': 'application/grpc', te: 'trailers' });
  req.on('error', () => {});
  req.resume();
  let answered = false;
  const status = new Promise<unknown>((resolve) => {
    req.once('response', (h) => {
      answered = true;
      resolve(h['grpc-status']);
    });
    req.once('close', () => resolve(`closed (HTTP/2 code ${req.rstCode})`));
  });
  // Sent as a client would: 1 MiB writes, waiting for HTTP/2 flow control, until answered.
  const head = Buffer.alloc(5);
  head.writeUInt32BE(31 * MiB, 1);
  req.write(head);
  let sentBytes = 0;
  const piece = Buffer.alloc(MiB, 0x61);
  while (!answered && !req.destroyed && sentBytes < 31 * MiB) {
    sentBytes += piece.length;
    if (!req.write(piece)) await Promise.race([new Promise((r) => req.once('drain', r)), status]);
  }
  const refusedStatus = await status;
  const refusedMs = Math.round((performance.now() - t0) * 10) / 10;
  session.destroy();

  console.log(
    JSON.stringify({
      apidRssMiB: { idleConnections: idle, fanOut: fan },
      roleLess31MiBVersion: { grpcStatus: refusedStatus, refusedAfterMs: refusedMs, bytesWrittenBeforeAnswer: sentBytes },
    }),
  );
} finally {
  client.close();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await backend.stop();
  rmSync(dir, { recursive: true, force: true });
}
