import test from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '@talos-ts/testkit';
import { Dhcp6Client, ip6Bytes, type Dhcp6Event } from './client.ts';
import { Inbox } from '../testdata/inbox.ts';
import { Msg6, Opt6, decode6, duidLL, encode6, encodeOptions, opt6, type Dhcp6Message } from './message.ts';

const MAC = Buffer.from('02000000bb01', 'hex');
const SERVER_ID = duidLL(Buffer.from('020000000002', 'hex'));

/** ADVERTISE/REPLY granting fd24::150 for 100 s to whatever IA_NA the client asked for. */
function answer(to: Dhcp6Message): Dhcp6Message | undefined {
  const type = to.type === Msg6.Solicit ? Msg6.Advertise : to.type === Msg6.Request ? Msg6.Reply : undefined;
  if (type === undefined) return undefined;
  const iaid = opt6(to, Opt6.IaNa)!.subarray(0, 4);
  const times = Buffer.alloc(8);
  times.writeUInt32BE(50, 0);
  times.writeUInt32BE(80, 4);
  const lifetimes = Buffer.alloc(8);
  lifetimes.writeUInt32BE(100, 0);
  lifetimes.writeUInt32BE(100, 4);
  const ia = Buffer.concat([iaid, times, encodeOptions([[Opt6.IaAddr, Buffer.concat([ip6Bytes('fd24::150'), lifetimes])]])]);
  return { type, xid: to.xid, options: [[Opt6.ClientId, opt6(to, Opt6.ClientId)!], [Opt6.ServerId, SERVER_ID], [Opt6.IaNa, ia]] };
}

/** The link as the client sees it: the first `failSends` sends fail, as while the link-local address is tentative. */
class ScriptedLink {
  readonly hardwareAddress = MAC;
  readonly sent: { type: number; at: number }[] = [];
  readonly #inbox = new Inbox();
  constructor(
    readonly clock: FakeClock,
    public failSends: number,
  ) {}

  send(packet: Buffer): Promise<void> {
    if (this.failSends > 0) {
      this.failSends--;
      return Promise.reject(new Error('sendto ff02::1:2: EADDRNOTAVAIL'));
    }
    const d = decode6(packet);
    assert.ok('value' in d);
    this.sent.push({ type: d.value.type, at: this.clock.now() });
    const reply = answer(d.value);
    if (reply) this.#inbox.deliver(encode6(reply));
    return Promise.resolve();
  }

  receive(signal: AbortSignal): Promise<Buffer> {
    return this.#inbox.receive(signal);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}

test('Dhcp6Client: a SOLICIT that cannot be sent yet (no usable link-local source) is retransmitted on schedule; the client binds', async () => {
  const clock = new FakeClock(0);
  const link = new ScriptedLink(clock, 2);
  const events: Dhcp6Event[] = [];
  const client = new Dhcp6Client({ transport: link, clock, onEvent: (e) => events.push(e) });
  client.start();
  const bound = (): boolean => client.state === 'bound';
  for (let i = 0; i < 10 && !bound(); i++) {
    await clock.untilSleeping();
    if (!bound()) await clock.advance(1_000);
  }
  assert.equal(client.state, 'bound');
  assert.equal(events[0]?.type, 'bound');
  assert.equal(client.lease?.cidr, 'fd24::150/128');
  // Lost at 0 s and 1 s (RFC 8415: 1 s, then doubling); the third SOLICIT went out at 3 s.
  assert.deepEqual(link.sent.map((s) => [s.type, s.at]), [[Msg6.Solicit, 3_000], [Msg6.Request, 3_000]]);
  await client.stop();
});
