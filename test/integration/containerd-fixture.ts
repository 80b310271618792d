// Creates real containers through containerd's own API for the container RPC suites: a container
// record with an OCI spec, and (optionally) a running task whose root is an empty directory with
// the host's /usr bound read-only into it, so that a host program (sleep) runs without an image.
import { mkdirSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { containerdContainersPb, containerdTasksPb, createGrpcClient, type GrpcClient } from '@talos-ts/machinery';

const SPEC_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Spec';

/** One container to create. */
export interface FixtureContainer {
  readonly namespace: string;
  readonly id: string;
  readonly image?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Start a task running `sleep`; without it only the container record exists. */
  readonly task: boolean;
}

/** Containers made in a containerd, removed (tasks killed first) on dispose. */
export interface ContainerdFixture extends AsyncDisposable {
  readonly containers: GrpcClient<typeof containerdContainersPb.Containers>;
  readonly tasks: GrpcClient<typeof containerdTasksPb.Tasks>;
  create(c: FixtureContainer): Promise<number | undefined>;
  /** Metadata carrying containerd's namespace header. */
  ns(namespace: string): { metadata: Record<string, string>; timeoutMs: number };
}

/** An OCI runtime spec for `sleep 3600` in a root of its own; no PID namespace, so SIGTERM ends it. */
function spec(root: string, cgroupsPath: string): object {
  return {
    ociVersion: '1.0.2',
    process: { user: { uid: 0, gid: 0 }, args: ['/usr/bin/sleep', '3600'], env: ['PATH=/usr/bin'], cwd: '/', noNewPrivileges: true },
    root: { path: root, readonly: false },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/usr', type: 'bind', source: '/usr', options: ['rbind', 'ro'] },
    ],
    linux: { cgroupsPath, namespaces: [{ type: 'mount' }, { type: 'ipc' }, { type: 'uts' }] },
  };
}

/** Connects to containerd's socket; `dir` holds the containers' root directories. */
export function containerdFixture(socket: string, dir: string): ContainerdFixture {
  const containers = createGrpcClient(containerdContainersPb.Containers, `unix:${socket}`);
  const tasks = createGrpcClient(containerdTasksPb.Tasks, `unix:${socket}`);
  const made: FixtureContainer[] = [];
  const ns = (namespace: string) => ({ metadata: { 'containerd-namespace': namespace }, timeoutMs: 20_000 });
  return {
    containers,
    tasks,
    ns,
    async create(c) {
      const root = join(dir, `${c.namespace}-${c.id}`);
      mkdirSync(root, { recursive: true });
      for (const l of ['bin', 'lib', 'lib64']) symlinkSync(`usr/${l}`, join(root, l));
      // One cgroup level, named after this fixture's directory: runc removes it with the task.
      const json = JSON.stringify(spec(root, `/talos-ts-it-${basename(dir)}-${c.namespace}-${c.id}`));
      await containers.create(
        {
          container: {
            id: c.id,
            image: c.image ?? '',
            labels: { ...c.labels },
            runtime: { name: 'io.containerd.runc.v2' },
            spec: { typeUrl: SPEC_TYPE_URL, value: Buffer.from(json) },
          },
        },
        ns(c.namespace),
      );
      made.push(c);
      if (!c.task) return undefined;
      const created = await tasks.create({ containerId: c.id }, ns(c.namespace));
      await tasks.start({ containerId: c.id }, ns(c.namespace));
      return created.pid;
    },
    async [Symbol.asyncDispose]() {
      try {
        for (const c of made.reverse()) {
          if (c.task) {
            await tasks.kill({ containerId: c.id, signal: 9, all: true }, ns(c.namespace)).catch(() => {});
            await tasks.wait({ containerId: c.id }, ns(c.namespace)).catch(() => {});
            await tasks.delete({ containerId: c.id }, ns(c.namespace)).catch(() => {});
          }
          await containers.delete({ id: c.id }, ns(c.namespace)).catch(() => {});
        }
      } finally {
        containers.close();
        tasks.close();
      }
    },
  };
}
