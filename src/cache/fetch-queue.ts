/**
 * The one bounded queue every S3 GET of the read path goes through.
 *
 * - At most `concurrency` requests run at once (p-queue).
 * - Foreground reads have priority over prefetch.
 * - A byte budget bounds the memory held by in-flight responses however many
 *   files are open: a task waits for its bytes before it takes a slot (a task
 *   waiting for budget in a slot would keep a foreground read out of it: with
 *   `--max-concurrency 16`, one reader's 16 read-ahead parts). Part of it is
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
  /** Tasks waiting for budget, before they join the queue. */
  #waitingForBudget = 0

  constructor(config: FetchQueueConfig) {
    this.#config = config
    this.#queue = new PQueue({ concurrency: config.concurrency })
  }

  /** Whether a prefetch task would be admitted now. */
  acceptsPrefetch(): boolean {
    return this.queued < this.#config.maxQueuedPrefetch
  }

  /**
   * Runs `task` once `bytes` of budget and then a slot are free; with a ticket, at the
   * ticket's priority if higher (read again when it joins the queue: it may be raised meanwhile).
   */
  async run<T>(bytes: number, priority: number, task: () => Promise<T>, ticket?: FetchTicket): Promise<T> {
    // Taken at once when there is room, so tasks join the queue in the order they were asked.
    if (!this.#take(bytes, priority, ticket)) {
      this.#waitingForBudget++
      try {
        await this.#acquire(bytes, priority, ticket)
      } finally {
        this.#waitingForBudget--
      }
    }
    const id = `f${this.#nextId++}`
    ticket?.queued.add(id)
    try {
      return await this.#queue.add(
        async () => {
          ticket?.queued.delete(id)
          return task()
        },
        { priority: Math.max(priority, ticket?.priority ?? priority), id },
      )
    } finally {
      this.#release(bytes)
    }
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

  /** Tasks waiting: for budget, or for a slot. */
  get queued(): number {
    return this.#queue.size + this.#waitingForBudget
  }

  /** Waits for `bytes` of the budget; below foreground priority (the ticket's is read at each wake: it may be raised meanwhile), not of the reserve. */
  async #acquire(bytes: number, priority: number, ticket: FetchTicket | undefined): Promise<void> {
    while (!this.#take(bytes, priority, ticket)) await new Promise<void>(resolve => this.#budgetWaiters.push(resolve))
  }

  /** Takes `bytes` of the budget if they fit now. A task larger than the whole budget runs alone rather than never. */
  #take(bytes: number, priority: number, ticket: FetchTicket | undefined): boolean {
    if (this.#budgetUsed > 0 && this.#budgetUsed + bytes > this.#limitAt(Math.max(priority, ticket?.priority ?? priority))) return false
    this.#budgetUsed += bytes
    return true
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
