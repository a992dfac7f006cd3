/**
 * A call a test double keeps waiting, recorded but unanswered and unprocessed, until the test
 * releases it: how a test orders two processes without sleeping.
 */
export interface Hold {
  /** Resolves when the held call has arrived (it is recorded, not yet processed). */
  readonly arrived: Promise<void>;
  /** Lets the held call go on: it is processed then, against the state as it is then. */
  release(): void;
}

interface Queued<Call> {
  readonly matches: (call: Call) => boolean;
  readonly arrive: () => void;
  readonly released: Promise<void>;
}

/**
 * The holds queued on one test double: each holds the next call it matches, in the order they
 * were queued. Closing drops the held calls: they are never processed.
 */
export class Holds<Call> {
  private readonly queued: Queued<Call>[] = [];
  private drop!: () => void;
  private readonly dropped = new Promise<void>((resolve) => (this.drop = resolve));

  /** Queues a hold for the next call that `matches`. */
  add(matches: (call: Call) => boolean): Hold {
    let arrive!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.queued.push({ matches, arrive, released });
    return { arrived, release };
  }

  /**
   * Waits while `call` is held: resolves `true` when it may be processed (no hold matched it, or
   * its hold was released), `false` when the double closed while holding it.
   */
  async pass(call: Call): Promise<boolean> {
    const index = this.queued.findIndex((hold) => hold.matches(call));
    if (index < 0) return true;
    const [hold] = this.queued.splice(index, 1);
    hold.arrive();
    return Promise.race([hold.released.then(() => true), this.dropped.then(() => false)]);
  }

  /** Drops every call held now or later: the double is closing. */
  close(): void {
    this.drop();
  }
}
