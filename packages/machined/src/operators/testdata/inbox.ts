/**
 * The datagrams a scripted test link has for its DHCP client: delivered in order, each taken by
 * one `receive`; a receive that waits ends with an error when its signal aborts.
 */
export class Inbox {
  readonly #queue: Buffer[] = [];
  #waiter: ((b: Buffer) => void) | undefined;

  deliver(b: Buffer): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    if (w) w(b);
    else this.#queue.push(b);
  }

  receive(signal: AbortSignal): Promise<Buffer> {
    const next = this.#queue.shift();
    if (next) return Promise.resolve(next);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiter = undefined;
        reject(new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiter = (b) => {
        signal.removeEventListener('abort', onAbort);
        resolve(b);
      };
    });
  }
}
