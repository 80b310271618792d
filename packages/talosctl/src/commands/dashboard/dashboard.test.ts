import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKeys } from './keys.ts';
import { appendLog, applyKey, formatLogLine, applyNodeError, applySample, createModel, LOG_LINES, sanitizeLine, type DashboardModel, type NodeSample } from './model.ts';
import { formatCpuFrequency, formatUptime, graph, render, visibleText } from './render.ts';
import { cpuTimes, uptimeSeconds } from './source.ts';
import { parseIntervalMs } from './dashboard.ts';
import { main } from '../../main.ts';

function sample(over: Partial<NodeSample> & { cpuTicks?: [number, number]; procCpu?: number } = {}): NodeSample {
  const [total, idle] = over.cpuTicks ?? [1000, 800];
  return {
    hostname: { value: 'node-one' },
    version: { value: { tag: 'v1.2.3', arch: 'amd64', platform: 'container' } },
    machineType: { value: 'controlplane' },
    memory: { value: { totalBytes: 4_000_000_000, availableBytes: 1_000_000_000 } },
    processes: {
      value: [
        { pid: 1, state: 'S', threads: 3, cpuTimeSeconds: over.procCpu ?? 10, residentBytes: 50_000_000, command: '/sbin/init' },
        { pid: 42, state: 'R', threads: 1, cpuTimeSeconds: 1, residentBytes: 900_000_000, command: 'etcd --data-dir=/var/lib/etcd' },
      ],
    },
    services: { value: [{ id: 'apid', state: 'Running', health: 'ok' }, { id: 'etcd', state: 'Preparing', health: '?' }] },
    cpu: { value: { totalSeconds: total, idleSeconds: idle, cpus: 4 } },
    cpuInfo: { value: { count: 4, mhz: 2200.152 } },
    uptimeSeconds: { value: 93_784 },
    loadAvg: { value: [0.5, 0.25, 0.125] },
    addresses: { value: ['10.5.0.2'] },
    ...over,
  };
}

function screen(model: DashboardModel): string[] {
  return render(model).map(visibleText);
}

function model(nodes = ['10.5.0.2', '10.5.0.3'], size = { cols: 100, rows: 30 }): DashboardModel {
  return createModel(nodes, { ...size, nowMs: 1_000_000, intervalMs: 3000 });
}

test('dashboard render: exactly rows lines, each exactly cols visible characters, at any size', () => {
  for (const [cols, rows] of [[100, 30], [80, 24], [40, 10], [10, 3], [200, 60]] as const) {
    for (const scr of ['summary', 'monitor'] as const) {
      const m = model(undefined, { cols, rows });
      m.screen = scr;
      applySample(m, '10.5.0.2', sample(), 1_000_000);
      appendLog(m, '10.5.0.2', `${'x'.repeat(500)}\nshort\n`);
      const lines = screen(m);
      assert.equal(lines.length, rows, `${cols}x${rows} ${scr}`);
      for (const l of lines) assert.equal(Array.from(l).length, cols, `${cols}x${rows} ${scr}: ${JSON.stringify(l)}`);
    }
  }
});

test('dashboard render: the header has upstream\'s figures of the selected node; the footer names nodes and screens', () => {
  const m = model();
  applySample(m, '10.5.0.2', sample({ cpuTicks: [1000, 800] }), 1_000_000);
  applySample(m, '10.5.0.2', sample({ cpuTicks: [1400, 1100] }), 1_003_000);
  const lines = screen(m);
  assert.match(lines[0] ?? '', /node-one Talos-TS \(v1\.2\.3\): uptime 1d2h3m4s, 4x2.2GHz, 4\.0 GB RAM, PROCS 2, CPU 25\.0%, RAM 75\.0%/);
  assert.match(lines.at(-1) ?? '', /^\[10\.5\.0\.2 \| 10\.5\.0\.3\] --- \[Summary\] --- \[F2: Monitor\]/);
  const body = lines.join('\n');
  for (const want of ['VERSION   v1.2.3', 'PLATFORM  container', 'TYPE      controlplane', 'HOSTNAME   node-one', 'ADDRESSES  10.5.0.2', 'LOAD      0.50 0.25 0.13', 'apid']) {
    assert.ok(body.includes(want), `summary shows ${want}`);
  }
  assert.match(body, /etcd\s+Preparing\s+\?/);
});

test('dashboard render: a figure the node refused or lacks is an n/a cell, not a crash', () => {
  const m = model();
  applySample(m, '10.5.0.2', sample({ cpu: { error: 'not permitted' }, cpuInfo: { error: 'not permitted' }, uptimeSeconds: { error: 'not permitted' }, loadAvg: { error: 'not permitted' }, addresses: { error: 'not found' }, services: { error: 'not available' } }), 1_000_000);
  const summary = screen(m);
  assert.match(summary[0] ?? '', /uptime n\/a, n\/a CPU, 4\.0 GB RAM, PROCS 2, CPU n\/a, RAM 75\.0%/);
  assert.match(summary.join('\n'), /ADDRESSES\s+n\/a/);
  m.screen = 'monitor';
  const monitor = screen(m).join('\n');
  assert.match(monitor, /CPU n\/a {2}MEM 75\.0% \(3\.0 GB of 4\.0 GB\) {2}LOAD n\/a {2}PROCS 2/);
  assert.match(monitor, /n\/a \(SystemStat: not permitted\)/);
});

test('dashboard render: an unreachable node shows its error and how long it has failed; the next good poll clears it', () => {
  const m = model();
  applySample(m, '10.5.0.3', sample({ hostname: { value: 'node-two' } }), 990_000);
  applyKey(m, 'right');
  applyNodeError(m, '10.5.0.3', 'connection refused', 995_000);
  applyNodeError(m, '10.5.0.3', 'connection refused', 998_000);
  let lines = screen(m);
  assert.match(lines[0] ?? '', /node-two \[unreachable\] Talos-TS/);
  assert.match(lines[1] ?? '', /✗ 10\.5\.0\.3: connection refused \(failing for 5s; figures below are from 10s ago\)/);
  applySample(m, '10.5.0.3', sample({ hostname: { value: 'node-two' } }), 999_000);
  lines = screen(m);
  assert.doesNotMatch(lines.join('\n'), /unreachable|✗/);
  assert.match(lines[1] ?? '', /10\.5\.0\.3: updated 1s ago, every 3s/);
});

test('dashboard render: the monitor screen draws CPU and memory history and lists processes by CPU use', () => {
  const m = model();
  m.screen = 'monitor';
  applySample(m, '10.5.0.2', sample({ cpuTicks: [1000, 1000], procCpu: 10 }), 1_000_000);
  applySample(m, '10.5.0.2', sample({ cpuTicks: [2000, 1000], procCpu: 11.5 }), 1_003_000);
  const lines = screen(m);
  assert.match(lines.join('\n'), /CPU 100\.0% of 4 CPUs/);
  assert.ok(lines.some((l) => l.includes('█')), 'a full bar for the 100% sample');
  const table = lines.findIndex((l) => /PID STATE THREADS\s+CPU%\s+RSS COMMAND/.test(l));
  assert.ok(table > 0);
  // pid 1 used 1.5 s of CPU in 3 s: 50% of a core, so it leads although etcd has more memory.
  assert.match(lines[table + 1] ?? '', /^\s+1 S\s+3\s+50\.0\s+50 MB \/sbin\/init/);
  assert.match(lines[table + 2] ?? '', /^\s+42 R\s+1\s+0\.0\s+900 MB etcd --data-dir/);
});

test('dashboard graph: percentages become eighth blocks, newest on the right, padded on the left', () => {
  assert.deepEqual(graph([0, 50, 100], 5, 2), ['    █', '   ██']);
  assert.deepEqual(graph([100, 100, 100, 100], 2, 1), ['██']);
  assert.deepEqual(graph([6.25], 1, 1), ['▁'], 'half an eighth rounds up to the lowest block');
  assert.deepEqual(graph([1, 2, 3, 4], 2, 1), ['  '], 'only the newest samples that fit are drawn');
});

test('dashboard keys: h/l and arrows switch node clamped at the ends; F1/F2 switch screens; q and Ctrl-C quit', () => {
  const m = model(['a', 'b', 'c']);
  assert.deepEqual(parseKeys('l\x1b[C'), ['right', 'right']);
  for (const k of parseKeys('l\x1b[C\x1b[C')) applyKey(m, k);
  assert.equal(m.selected, 2, 'clamped at the last node');
  for (const k of parseKeys('h\x1b[Dhhh')) applyKey(m, k);
  assert.equal(m.selected, 0, 'clamped at the first node');
  applyKey(m, parseKeys('\x1bOQ')[0] ?? 'quit');
  assert.equal(m.screen, 'monitor');
  applyKey(m, parseKeys('\x1b[11~')[0] ?? 'quit');
  assert.equal(m.screen, 'summary');
  applyKey(m, 'f3');
  assert.equal(m.screen, 'summary', 'no F3 screen yet: the key does nothing');
  assert.equal(applyKey(m, parseKeys('q')[0] ?? 'left'), 'quit');
  assert.deepEqual(parseKeys('\x03'), ['quit']);
  assert.deepEqual(parseKeys('\x1a\x04\x15\x06\x02'), ['pause', 'halfPageDown', 'halfPageUp', 'pageDown', 'pageUp']);
});

test('dashboard keys: unknown escape sequences (mouse, other F-keys) are skipped whole, never read as letters', () => {
  assert.deepEqual(parseKeys('\x1b[<0;10;5M'), [], 'an SGR mouse report');
  assert.deepEqual(parseKeys('\x1b[15~q'), ['quit'], 'F5 then q');
  assert.deepEqual(parseKeys('\x1b[1;5Cl'), ['right'], 'Ctrl-Right is not a key here; l is');
  assert.deepEqual(parseKeys('\x1b'), [], 'a lone ESC');
  assert.deepEqual(parseKeys('\x1bOP\x1b[[B'), ['f1', 'f2'], 'xterm F1, Linux console F2');
});

test('dashboard keys: j/k scroll logs from the tail; a scrolled reader keeps their place while lines arrive; switching node resets', () => {
  const m = model(['a', 'b'], { cols: 80, rows: 24 });
  appendLog(m, 'a', Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n') + '\n');
  let lines = screen(m);
  assert.match(lines.at(-2) ?? '', /^line 99 /);
  for (const k of parseKeys('k\x1b[A')) applyKey(m, k);
  lines = screen(m);
  assert.match(lines.at(-2) ?? '', /^line 97 /);
  appendLog(m, 'a', 'line 100\nline 101\n');
  assert.match(screen(m).at(-2) ?? '', /^line 97 /, 'still on the same lines');
  applyKey(m, 'halfPageDown');
  applyKey(m, 'pageDown');
  assert.equal(m.logScroll, 0, 'back at the tail, not below it');
  applyKey(m, 'pageUp');
  assert.ok(m.logScroll > 0);
  applyKey(m, 'right');
  assert.equal(m.logScroll, 0);
  assert.match(screen(m).join('\n'), /no log lines yet/);
});

test('dashboard model: log chunks split anywhere are joined into lines; escapes in logs cannot reach the terminal; the log is bounded', () => {
  const m = model(['a']);
  appendLog(m, 'a', 'hel');
  appendLog(m, 'a', 'lo\x1b[2J\x1b]0;title\x07 world\r\n\tx\n');
  assert.deepEqual(m.perNode.get('a')?.logs, ['hello world', '    x']);
  assert.equal(sanitizeLine('a\x1b[31mred\x1b[0m\x00\x07b'), 'aredb');
  appendLog(m, 'a', 'z\n'.repeat(LOG_LINES + 10));
  assert.equal(m.perNode.get('a')?.logs.length, LOG_LINES);
});

test('dashboard model: Ctrl-Z pauses updates and says so in the footer', () => {
  const m = model(['a']);
  applyKey(m, 'pause');
  applySample(m, 'a', sample(), 1_000_000);
  appendLog(m, 'a', 'x\n');
  assert.equal(m.perNode.get('a')?.sample, undefined);
  assert.match(screen(m).at(-1) ?? '', /--- \[PAUSED\]/);
  applyKey(m, 'pause');
  applySample(m, 'a', sample(), 1_000_000);
  assert.ok(m.perNode.get('a')?.sample);
});

test('dashboard source: CPU from SystemStat cpu_total, uptime from boot_time, the clock as upstream prints it', () => {
  const t = (user: number, idle: number) => ({ user, nice: 0.05, system: 0.5, idle, iowait: 0.2, irq: 0.01, softIrq: 0.02, steal: 0.03, guest: 0.5, guestNice: 0 });
  // Guest time is already inside user time: counting it again would inflate the total.
  const c = cpuTimes({ cpuTotal: { $typeName: 'machine.CPUStat', ...t(1, 8) }, cpu: [{ $typeName: 'machine.CPUStat', ...t(0.5, 4) }, { $typeName: 'machine.CPUStat', ...t(0.5, 4) }] });
  assert.deepEqual([c.totalSeconds.toFixed(2), c.idleSeconds.toFixed(2), c.cpus], ['9.81', '8.20', 2]);
  assert.throws(() => cpuTimes({ cpuTotal: undefined, cpu: [] }), /no cpu_total/);
  assert.equal(uptimeSeconds(1_700_000_000n, 1_700_000_090_500), 90.5);
  assert.throws(() => uptimeSeconds(0n, Date.now()), /no boot_time/);
  assert.equal(formatCpuFrequency(2200.152), '2.2GHz');
  assert.equal(formatCpuFrequency(3493.9), '3.49GHz');
  assert.equal(formatCpuFrequency(799.6), '800MHz');
  assert.equal(formatUptime(59), '59s');
  assert.equal(formatUptime(3600), '1h0m0s');
  assert.equal(formatUptime(86_400 * 2 + 61), '2d1m1s');
});

test('dashboard flags: --update-interval takes Go durations and refuses nonsense', () => {
  assert.equal(parseIntervalMs('3s'), 3000);
  assert.equal(parseIntervalMs('1m30s'), 90_000);
  assert.equal(parseIntervalMs('500ms'), 500);
  assert.throws(() => parseIntervalMs('3'), /invalid argument "3" for "-d, --update-interval" flag/);
  assert.throws(() => parseIntervalMs('1ms'), /at least 100ms/);
});

test('dashboard model: our daemons\' JSON log records are shown as time, level, message and fields; other lines as they are', () => {
  const line = JSON.stringify({ time: '2026-01-02T03:04:05.678Z', level: 'info', msg: 'Health check successful', node: '10.5.0.2', service: 'apid', attempt: 2 });
  assert.equal(formatLogLine(line), '03:04:05.678Z info Health check successful service=apid attempt=2');
  assert.equal(formatLogLine('[  1.0] kernel: hello'), '[  1.0] kernel: hello');
  assert.equal(formatLogLine('{not json'), '{not json');
  assert.equal(formatLogLine('{"no":"msg"}'), '{"no":"msg"}');
  const m = model(['a']);
  appendLog(m, 'a', `${JSON.stringify({ msg: 'evil \x1b[2J', level: 'warn' })}\n`);
  assert.deepEqual(m.perNode.get('a')?.logs, ['warn evil '], 'escapes inside a record are stripped too');
});

test('talosctl dashboard: without a terminal it says so and exits 1; a bad --update-interval is refused first', async () => {
  const run = async (...args: string[]): Promise<{ code: number; err: string }> => {
    const err: string[] = [];
    const code = await main(args, { out: () => undefined, err: (t) => void err.push(t) });
    return { code, err: err.join('') };
  };
  // Under the test runner stdout is a pipe, as with `talosctl dashboard | less`.
  assert.equal(process.stdout.isTTY, undefined);
  assert.deepEqual(await run('dashboard'), { code: 1, err: 'error: dashboard needs a terminal: stdin and stdout must be a TTY\n' });
  assert.deepEqual(await run('dashboard', '-d', 'soon'), { code: 1, err: 'error: invalid argument "soon" for "-d, --update-interval" flag: invalid duration\n' });
});
