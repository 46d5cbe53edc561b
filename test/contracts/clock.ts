/** A clock that moves only when told: lazy-reset boundaries are tested exactly, never by sleeping. */
export class TestClock {
  private ms: number;

  constructor(start = '2026-01-01T00:00:00.000Z') {
    this.ms = Date.parse(start);
  }

  readonly now = (): Date => new Date(this.ms);

  advance(ms: number): void {
    this.ms += ms;
  }
}
