// QEMU's guestfwd=...-cmd: runs this once per guest connection: stdin/stdout ↔ a TCP server on the
// host (a loopback address of the suite), so a guest can open many connections to it (guestfwd's
// plain tcp: form carries only one).
import { connect } from 'node:net';

const [host, port] = process.argv.slice(2);
const socket = connect(Number(port), host);
process.stdin.pipe(socket);
socket.pipe(process.stdout);
socket.on('error', () => process.exit(1));
socket.on('close', () => process.exit(0));
process.stdin.on('end', () => socket.end());
