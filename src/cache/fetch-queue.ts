/**
 * The one bounded queue every S3 GET of the read path goes through.
 *
 * - At most `concurrency` requests run at once (p-queue).
 * - Foreground reads have priority over prefetch.
 * - A byte budget bounds the memory held by in-flight responses however many
 *   files are open: a task waits for its bytes before it starts. Part of it is
 *   kept for foreground fetches, so a reader never waits for a sequential
 *   reader's read-ahead (up to 128 MiB in flight) to make room.
 * - Prefetch is admitted only while few tasks wait; otherwise it is dropped
 *   (the foreground read will ask again if it needs the data).
 * - A fetch carries a FetchTicket: a foreground reader that joins a prefetch or
 *   load already queued raises it to its own priority (`raise`), so it never
 *   waits behind every other foreground read.
 */
import PQueue from 'p-queue'

export interface FetchQueueConfig {
  readonly concurrency: number
  /** Bytes that in-flight responses may hold in memory at once. */
  readonly inFlightBudgetBytes: number
  /** Of those, bytes only a fetch a reader waits on (foreground) may take: read-ahead and loads never leave it none. */
  readonly foregroundReserveBytes?: number
  /** Waiting tasks above which prefetch is refused. */
  readonly maxQueuedPrefetch: number
}

export const PRIORITY_FOREGROUND = 1
export const PRIORITY_PREFETCH = 0
/** An operator's `load`: after foreground reads, before prefetch, and never dropped. */
export const PRIORITY_LOAD = 0.5

/** The queue entries of one fetch (one per GET of its runs), and the priority they run at. */
export class FetchTicket {
  priority: number
  /** The priority the fetch was asked at, before any reader raised it. */
  readonly origin: number
  /** INVARIANT: ids of this fetch's tasks still waiting in the queue (not started). */
  readonly queued = new Set<string>()

  constructor(priority: number) {
    this.priority = priority
    this.origin = priority
  }
}

export class FetchQueue {
  readonly #queue: PQueue
  readonly #config: FetchQueueConfig
  #budgetUsed = 0
  #nextId = 0
  readonly #budgetWaiters: Array<() => void> = []

  constructor(config: FetchQueueConfig) {
    this.#config = config
    this.#queue = new PQueue({ concurrency: config.concurrency })
  }

  /** Whether a prefetch task would be admitted now. */
  acceptsPrefetch(): boolean {
    return this.#queue.size < this.#config.maxQueuedPrefetch
  }

  /** Runs `task` when a slot and `bytes` of budget are free; with a ticket, at the ticket's priority if higher. */
  async run<T>(bytes: number, priority: number, task: () => Promise<T>, ticket?: FetchTicket): Promise<T> {
    const id = `f${this.#nextId++}`
    ticket?.queued.add(id)
    return this.#queue.add(
      async () => {
        ticket?.queued.delete(id)
        await this.#acquire(bytes, priority, ticket)
        try {
          return await task()
        } finally {
          this.#release(bytes)
        }
      },
      { priority: Math.max(priority, ticket?.priority ?? priority), id },
    )
  }

  /** Raises a fetch to `priority` (never lowers it): its tasks still waiting move up the queue. */
  raise(ticket: FetchTicket, priority: number): void {
    if (priority <= ticket.priority) return
    ticket.priority = priority
    for (const id of ticket.queued) this.#queue.setPriority(id, priority)
    // One of its tasks may be waiting for budget below the reserve, which it may now take.
    this.#wakeBudgetWaiters()
  }

  get pending(): number {
    return this.#queue.pending
  }

  get queued(): number {
    return this.#queue.size
  }

  /** Waits for `bytes` of the budget; below foreground priority (the ticket's is read at each wake: it may be raised meanwhile), not of the reserve. */
  async #acquire(bytes: number, priority: number, ticket: FetchTicket | undefined): Promise<void> {
    // A task larger than the whole budget runs alone rather than never.
    while (this.#budgetUsed > 0 && this.#budgetUsed + bytes > this.#limitAt(Math.max(priority, ticket?.priority ?? priority))) {
      await new Promise<void>(resolve => this.#budgetWaiters.push(resolve))
    }
    this.#budgetUsed += bytes
  }

  /** The budget a fetch at `priority` may fill: all of it in the foreground, less the reserve below. */
  #limitAt(priority: number): number {
    return this.#config.inFlightBudgetBytes - (priority >= PRIORITY_FOREGROUND ? 0 : (this.#config.foregroundReserveBytes ?? 0))
  }

  #release(bytes: number): void {
    this.#budgetUsed -= bytes
    this.#wakeBudgetWaiters()
  }

  #wakeBudgetWaiters(): void {
    for (const wake of this.#budgetWaiters.splice(0)) wake()
  }
}
