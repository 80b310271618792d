import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProcAddress, parseCpuInfo, parseLoadAvg, parseProcStat, parseSocketTable, parseSystemStat } from './procfs.ts';

test('procfs: a command with spaces and parentheses does not shift the stat fields', () => {
  const line = '4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 1000 123456789 300 18446744073709551615';
  const st = parseProcStat(line);
  assert.deepEqual(st, { comm: 'my (odd) cmd', state: 'S', ppid: 1, threads: 7, ticks: 300, vsize: 123456789n, rssPages: 300n });
});

test('procfs: /proc/net addresses decode from host-order words (IPv4 and compressed IPv6)', () => {
  assert.equal(decodeProcAddress('0100007F'), '127.0.0.1');
  assert.equal(decodeProcAddress('00000000000000000000000001000000'), '::1');
  assert.equal(decodeProcAddress('000080FE00000000FF005452FEB5F1FD'), 'fe80::5254:ff:fdf1:b5fe');
});

test('procfs: a /proc/net/tcp row becomes a socket with its state, queues and inode', () => {
  const text = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 5E00007F:C350 00000000:0000 0A 00000002:00000003 00:00000000 00000000     0        0 94533 1 0000000000000000 100 0 0 10 0',
  ].join('\n');
  const [s] = parseSocketTable('tcp', text);
  assert.deepEqual(
    s && { ip: s.localIp, port: s.localPort, remote: `${s.remoteIp}:${s.remotePort}`, state: s.state, tx: s.txQueue, rx: s.rxQueue, inode: s.inode },
    { ip: '127.0.0.94', port: 50000, remote: '0.0.0.0:0', state: 10, tx: 2n, rx: 3n, inode: 94533n },
  );
});

test('procfs: /proc/stat gives boot time, CPU seconds per CPU, interrupts and soft interrupts', () => {
  const text = [
    'cpu  1000 20 300 40000 50 6 7 8 0 0',
    'cpu0 600 10 200 20000 25 3 4 4 0 0',
    'cpu1 400 10 100 20000 25 3 3 4 0 0',
    'intr 12345 9 0 33',
    'ctxt 987654',
    'btime 1700000000',
    'processes 4321',
    'procs_running 3',
    'procs_blocked 1',
    'softirq 5000 1 2 3 4 5 6 7 8 9 10',
  ].join('\n');
  const s = parseSystemStat(text);
  assert.equal(s.bootTimeSeconds, 1700000000n);
  assert.deepEqual(s.cpuTotal, { user: 10, nice: 0.2, system: 3, idle: 400, iowait: 0.5, irq: 0.06, softIrq: 0.07, steal: 0.08, guest: 0, guestNice: 0 });
  assert.deepEqual(s.cpus.map((c) => c.user), [6, 4]);
  assert.deepEqual([s.irqTotal, s.irqs], [12345n, [9n, 0n, 33n]]);
  assert.deepEqual([s.contextSwitches, s.processesCreated, s.processesRunning, s.processesBlocked], [987654n, 4321n, 3n, 1n]);
  assert.equal(s.softIrqTotal, 5000n);
  assert.deepEqual([s.softIrq.hi, s.softIrq.netRx, s.softIrq.blockIoPoll, s.softIrq.rcu], [1n, 4n, 6n, 10n]);
});

test('procfs: a /proc/stat cpu line of an old kernel without steal and guest reads those as zero', () => {
  const s = parseSystemStat('cpu  100 0 100 800 0 0 0\nbtime 5');
  assert.deepEqual([s.cpuTotal.user, s.cpuTotal.steal, s.cpuTotal.guestNice, s.bootTimeSeconds], [1, 0, 0, 5n]);
});

test('procfs: /proc/loadavg gives the three averages and refuses other text', () => {
  assert.deepEqual(parseLoadAvg('0.52 1.58 10.59 2/1234 5678\n'), { load1: 0.52, load5: 1.58, load15: 10.59 });
  assert.equal(parseLoadAvg(''), undefined);
  assert.equal(parseLoadAvg('a b c'), undefined);
});

test('procfs: /proc/cpuinfo gives one entry per CPU block (x86 keys and arm64 spellings)', () => {
  const x86 = [
    'processor\t: 0',
    'vendor_id\t: GenuineIntel',
    'cpu family\t: 6',
    'model\t\t: 85',
    'model name\t: Intel(R) Xeon(R) CPU @ 2.20GHz',
    'cpu MHz\t\t: 2200.152',
    'siblings\t: 2',
    'cpu cores\t: 1',
    'apicid\t\t: 0',
    'cpuid level\t: 13',
    'flags\t\t: fpu vme de',
    'bugs\t\t: spectre_v1',
    'bogomips\t: 4400.30',
    'clflush size\t: 64',
    'address sizes\t: 46 bits physical, 48 bits virtual',
    'power management:',
    '',
    'processor\t: 1',
    'model name\t: Intel(R) Xeon(R) CPU @ 2.20GHz',
    '',
  ].join('\n');
  const cpus = parseCpuInfo(x86);
  assert.deepEqual(cpus.map((c) => c.processor), [0, 1]);
  const [c0] = cpus;
  assert.deepEqual(
    c0 && [c0.vendorId, c0.cpuFamily, c0.model, c0.modelName, c0.cpuMhz, c0.siblings, c0.cpuCores, c0.apicId, c0.cpuIdLevel, c0.flags, c0.bugs, c0.bogoMips, c0.clFlushSize, c0.addressSizes, c0.powerManagement],
    ['GenuineIntel', '6', '85', 'Intel(R) Xeon(R) CPU @ 2.20GHz', 2200.152, 2, 1, '0', 13, ['fpu', 'vme', 'de'], ['spectre_v1'], 4400.3, 64, '46 bits physical, 48 bits virtual', ''],
  );
  const [arm] = parseCpuInfo('processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd\n\nHardware\t: x\n');
  assert.deepEqual(arm && [arm.bogoMips, arm.flags], [50, ['fp', 'asimd']]);
});
