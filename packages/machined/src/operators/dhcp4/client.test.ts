import test from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '@talos-ts/testkit';
import { Dhcp4Client, type Dhcp4Event, type Dhcp4Transport } from './client.ts';
import { Inbox } from '../testdata/inbox.ts';
import { MessageType, Option, decodeMessage, encodeMessage, ipBytes, messageTypeOf, type Dhcp4Message } from './message.ts';

const MAC = Buffer.from('02000000aa01', 'hex');

interface Sent {
  readonly msg: Dhcp4Message;
  readonly to: string | undefined;
  readonly at: number;
}

/**
 * The link as the client sees it, with a scripted server behind it: `answer` decides the reply to
 * each message (or none). The protocol timing under test is the client's, on a fake clock.
 */
class ScriptedLink implements Dhcp4Transport {
  readonly hardwareAddress = MAC;
  readonly sent: Sent[] = [];
  readonly #inbox = new Inbox();
  closed = false;
  constructor(
    readonly clock: FakeClock,
    public answer: (m: Dhcp4Message, to: string | undefined) => Dhcp4Message | undefined,
  ) {}

  /** How many sends fail before one goes out (a link with no usable source yet). */
  failSends = 0;

  send(packet: Buffer, to?: string): Promise<void> {
    const d = decodeMessage(packet);
    assert.ok('value' in d);
    if (this.failSends > 0) {
      this.failSends--;
      return Promise.reject(new Error('sendto: ENETDOWN'));
    }
    this.sent.push({ msg: d.value, to, at: this.clock.now() });
    const reply = this.answer(d.value, to);
    if (reply) this.#inbox.deliver(encodeMessage(reply));
    return Promise.resolve();
  }

  receive(signal: AbortSignal): Promise<Buffer> {
    return this.#inbox.receive(signal);
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

/** A server at 10.0.0.1 handing out 10.0.0.9/24 for 100 s (T1 50 s, T2 87.5 s by default). */
function reply(to: Dhcp4Message, type: number): Dhcp4Message {
  return {
    op: 2,
    xid: to.xid,
    secs: 0,
    flags: to.flags,
    ciaddr: to.ciaddr,
    yiaddr: type === MessageType.Nak ? '0.0.0.0' : '10.0.0.9',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: to.chaddr,
    options: new Map([
      [Option.MessageType, Buffer.from([type])],
      [Option.ServerId, ipBytes('10.0.0.1')],
      [Option.SubnetMask, ipBytes('255.255.255.0')],
      [Option.LeaseTime, Buffer.from([0, 0, 0, 100])],
    ]),
  };
}

const server =
  (opts: { ack?: (m: Dhcp4Message) => number | undefined } = {}) =>
  (m: Dhcp4Message): Dhcp4Message | undefined => {
    const type = messageTypeOf(m);
    if (type === MessageType.Discover) return reply(m, MessageType.Offer);
    if (type === MessageType.Request) {
      const t = opts.ack ? opts.ack(m) : MessageType.Ack;
      return t === undefined ? undefined : reply(m, t);
    }
    return undefined;
  };

test('Dhcp4Client: DISCOVER is retransmitted with doubling timeouts (4 s, 8 s, 16 s ...) while nobody answers', async () => {
  const clock = new FakeClock(0);
  const link = new ScriptedLink(clock, () => undefined);
  const client = new Dhcp4Client({ transport: link, clock });
  client.start();
  for (let i = 0; i < 4; i++) {
    await clock.untilSleeping();
    await clock.advance(100_000);
  }
  await client.stop();
  const at = link.sent.map((s) => s.at);
  assert.deepEqual(at.slice(0, 5), [0, 4000, 12_000, 28_000, 60_000]);
  assert.ok(link.sent.every((s) => messageTypeOf(s.msg) === MessageType.Discover && s.to === undefined && (s.msg.flags & 0x8000) !== 0));
  assert.equal(client.state, 'stopped');
  assert.ok(link.closed);
});

test('Dhcp4Client: a send that fails (the link not ready yet) is retransmitted on schedule; the client does not die', async () => {
  const clock = new FakeClock(0);
  const link = new ScriptedLink(clock, server());
  link.failSends = 2;
  const events: Dhcp4Event[] = [];
  const client = new Dhcp4Client({ transport: link, clock, onEvent: (e) => events.push(e) });
  client.start();
  const bound = (): boolean => client.state === 'bound';
  for (let i = 0; i < 10 && !bound(); i++) {
    await clock.untilSleeping();
    if (!bound()) await clock.advance(4_000);
  }
  assert.equal(client.state, 'bound');
  assert.equal(events[0]?.type, 'bound');
  // The first two DISCOVERs never left (at 0 s and 4 s); the third went out at 12 s.
  assert.equal(link.sent[0]?.at, 12_000);
  await client.stop();
});

test('Dhcp4Client: renews by unicast at T1, rebinds by broadcast at T2, reports expiry at the lease end, then starts over', async () => {
  const clock = new FakeClock(0);
  let answering = true;
  const link = new ScriptedLink(clock, server({ ack: () => (answering ? MessageType.Ack : undefined) }));
  const events: Dhcp4Event[] = [];
  const client = new Dhcp4Client({ transport: link, clock, onEvent: (e) => events.push(e) });
  client.start();
  await clock.untilSleeping();
  assert.equal(events[0]?.type, 'bound');
  assert.equal(client.state, 'bound');
  const requests = (): Sent[] => link.sent.filter((s) => messageTypeOf(s.msg) === MessageType.Request && s.msg.ciaddr === '10.0.0.9');

  await clock.advance(49_999);
  assert.equal(requests().length, 0);
  await clock.advance(1);
  await clock.untilSleeping();
  assert.equal(events[1]?.type, 'renewed');
  assert.deepEqual(
    requests().map((s) => [s.at, s.to]),
    [[50_000, '10.0.0.1']],
  );

  // The server goes silent: renewing from 100 s (T1 after the renewal), rebinding from 137.5 s, expired at 150 s.
  answering = false;
  for (let i = 0; i < 200 && !events.some((e) => e.type === 'expired'); i++) {
    await clock.untilSleeping();
    await clock.advance(500);
  }
  const expired = events.find((e) => e.type === 'expired');
  assert.ok(expired && expired.type === 'expired' && expired.reason === 'timeout');
  assert.ok(clock.now() >= 150_000 && clock.now() <= 150_500, String(clock.now()));
  const after = requests().slice(1);
  assert.equal(after[0]?.at, 100_000);
  assert.ok(after.filter((s) => s.at < 137_500).every((s) => s.to === '10.0.0.1'), 'renewing is unicast');
  assert.ok(after.some((s) => s.at >= 137_500 && s.to === undefined), 'rebinding is broadcast');
  // The RFC's 60 s floor means one retransmission per state here: the waits are bounded by the state's end.
  assert.equal(client.lease, undefined);
  answering = true;
  await clock.untilSleeping();
  await clock.advance(5000);
  assert.equal(events.at(-1)?.type, 'bound');
  await client.stop();
  assert.equal(events.at(-1)?.type, 'released');
  const release = link.sent.at(-1)!;
  assert.equal(messageTypeOf(release.msg), MessageType.Release);
  assert.equal(release.msg.ciaddr, '10.0.0.9');
  assert.equal(release.to, '10.0.0.1');
});

test('Dhcp4Client: a NAK to the REQUEST starts over with a new DISCOVER', async () => {
  const clock = new FakeClock(0);
  let naks = 1;
  const link = new ScriptedLink(clock, server({ ack: () => (naks-- > 0 ? MessageType.Nak : MessageType.Ack) }));
  const events: Dhcp4Event[] = [];
  const client = new Dhcp4Client({ transport: link, clock, onEvent: (e) => events.push(e) });
  client.start();
  await clock.untilSleeping();
  assert.deepEqual(
    link.sent.map((s) => messageTypeOf(s.msg)),
    [MessageType.Discover, MessageType.Request, MessageType.Discover, MessageType.Request],
  );
  assert.notEqual(link.sent[0]!.msg.xid, link.sent[2]!.msg.xid);
  assert.equal(events[0]?.type, 'bound');
  await client.stop();
});

test('Dhcp4Client: a rename that lands while the REQUEST is in flight renews at once under the new name', async () => {
  const clock = new FakeClock(0);
  const ref: { client?: Dhcp4Client } = {};
  let renamed = false;
  const link = new ScriptedLink(
    clock,
    server({
      ack: () => {
        // The server has taken the old name; the new one arrives before the client is bound.
        if (!renamed) ref.client?.setHostname({ hostname: 'renamed', domainname: '' });
        renamed = true;
        return MessageType.Ack;
      },
    }),
  );
  const client = new Dhcp4Client({ transport: link, clock, hostname: 'first' });
  ref.client = client;
  client.start();
  await clock.untilSleeping();
  const names = link.sent
    .filter((s) => messageTypeOf(s.msg) === MessageType.Request)
    .map((s) => [s.at, s.msg.options.get(Option.HostName)?.toString('latin1')]);
  assert.deepEqual(names, [
    [0, 'first'],
    [0, 'renamed'],
  ]);
  await client.stop();
});
