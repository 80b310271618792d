import { machinePb } from '@talos-ts/machinery';
import { listProcesses, mountUsage, readCpuInfo, readLoadAvg, readSockets, readSystemStat, socketOwners, type SocketTable } from '../linux/procfs.ts';
import type { PartialImplementation } from './implement.ts';

type Stats = Pick<PartialImplementation<typeof machinePb.MachineService>, 'mounts' | 'processes' | 'netstat' | 'systemStat' | 'loadAvg' | 'cPUInfo'>;

const tables: readonly SocketTable[] = ['tcp', 'tcp6', 'udp', 'udp6', 'udplite', 'udplite6', 'raw', 'raw6'];
const TCP_LISTEN = 10;

/**
 * Whether a socket listens: TCP in LISTEN; for the connectionless tables, a socket with no peer
 * (upstream's netstat treats those as listening too).
 */
function listening(table: SocketTable, state: number, remotePort: number, remoteIp: string): boolean {
  if (table.startsWith('tcp')) return state === TCP_LISTEN;
  return remotePort === 0 && (remoteIp === '0.0.0.0' || remoteIp === '::');
}

/** The /proc-backed handlers of machine.MachineService: Mounts, Processes, Netstat, SystemStat, LoadAvg and CPUInfo. */
export function createStatsService(): Stats {
  return {
    async systemStat() {
      const s = await readSystemStat();
      return {
        messages: [
          {
            bootTime: s.bootTimeSeconds,
            cpuTotal: s.cpuTotal,
            cpu: s.cpus,
            irqTotal: s.irqTotal,
            irq: s.irqs,
            contextSwitches: s.contextSwitches,
            processCreated: s.processesCreated,
            processRunning: s.processesRunning,
            processBlocked: s.processesBlocked,
            softIrqTotal: s.softIrqTotal,
            softIrq: s.softIrq,
          },
        ],
      };
    },
    async loadAvg() {
      return { messages: [await readLoadAvg()] };
    },
    async cPUInfo() {
      return { messages: [{ cpuInfo: await readCpuInfo() }] };
    },
    async mounts() {
      const stats = (await mountUsage()).map((m) => ({ filesystem: m.source, size: m.sizeBytes, available: m.availableBytes, mountedOn: m.target }));
      return { messages: [{ stats }] };
    },
    async processes() {
      const processes = (await listProcesses()).map((p) => ({
        pid: p.pid,
        ppid: p.ppid,
        state: p.state,
        threads: p.threads,
        cpuTime: p.cpuTimeSeconds,
        virtualMemory: p.virtualMemoryBytes,
        residentMemory: p.residentMemoryBytes,
        command: p.command,
        executable: p.executable,
        args: p.args,
        label: p.label,
      }));
      return { messages: [{ processes }] };
    },
    async netstat(req) {
      const l4 = req.l4proto;
      const wanted = tables.filter((t) => l4?.[t] === true);
      const sockets = await readSockets(wanted);
      const owners = req.feature?.pid ? await socketOwners() : undefined;
      const connectrecord = sockets
        .filter((s) => {
          const isListening = listening(s.table, s.state, s.remotePort, s.remoteIp);
          if (req.filter === machinePb.NetstatRequest_Filter.LISTENING) return isListening;
          if (req.filter === machinePb.NetstatRequest_Filter.CONNECTED) return !isListening;
          return true;
        })
        .map((s) => {
          const owner = owners?.get(s.inode);
          return {
            l4proto: s.table,
            localip: s.localIp,
            localport: s.localPort,
            remoteip: s.remoteIp,
            remoteport: s.remotePort,
            state: s.state,
            txqueue: s.txQueue,
            rxqueue: s.rxQueue,
            tr: s.timerActive,
            timerwhen: s.timerWhen,
            retrnsmt: s.retransmits,
            uid: s.uid,
            timeout: s.timeout,
            inode: s.inode,
            ref: s.ref,
            pointer: s.pointer,
            ...(owner ? { process: { pid: owner.pid, name: owner.name } } : {}),
          };
        });
      return { messages: [{ connectrecord }] };
    },
  };
}
