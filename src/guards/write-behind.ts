/**
 * A Durable Object's write made after its replies: `schedule(due)` asks for `write` to run no later
 * than `due` (an earlier request wins), on a timer, so the reply that asked is already on its way
 * and never waits for storage. A timer, not an alarm: setting an alarm is itself a write, which
 * would hold that very reply.
 */
export class WriteBehind {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private due = 0;

  constructor(private readonly write: () => void) {}

  get pending(): boolean {
    return this.timer !== null;
  }

  schedule(due: number, now: number): void {
    if (this.timer !== null) {
      if (this.due <= due) return;
      clearTimeout(this.timer);
    }
    this.due = due;
    this.timer = setTimeout(() => this.run(), Math.max(0, due - now));
  }

  /** The owner writes now itself (an admin write, a read that must see everything). */
  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private run(): void {
    this.timer = null;
    try {
      this.write();
    } catch (error) {
      // Memory still holds everything; the next decision schedules the write again.
      console.error("keygate: a Durable Object's deferred write failed", error);
    }
  }
}
