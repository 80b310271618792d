// Time to reassemble one gRPC message of 8 MiB and of 31 MiB fed in 16 KiB chunks (HTTP/2's
// default DATA frame size), as the server and channel receive them. Prints one JSON object (ms).
import { MessageReader, frameMessage } from '../src/grpc/h2/wire.ts';

const MiB = 1024 * 1024;
const CHUNK = 16 * 1024;

function reassemblyMs(sizeBytes: number): number {
  const framed = frameMessage(Buffer.alloc(sizeBytes, 0x61));
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const reader = new MessageReader(32 * MiB);
    let got = 0;
    const t0 = performance.now();
    for (let i = 0; i < framed.length; i += CHUNK) reader.push(framed.subarray(i, i + CHUNK), (m) => (got += m.length));
    best = Math.min(best, performance.now() - t0);
    if (got !== sizeBytes) throw new Error('reassembly lost bytes');
  }
  return Math.round(best * 10) / 10;
}

// Warm-up (JIT, allocator) so the first size measured is not charged for it.
reassemblyMs(4 * MiB);
console.log(JSON.stringify({ chunkBytes: CHUNK, reassemble8MiBMs: reassemblyMs(8 * MiB), reassemble31MiBMs: reassemblyMs(31 * MiB) }));
