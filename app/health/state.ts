// The check state machine of one backend: `unhealthyAfter` failures in a row
// turn a healthy backend unhealthy, `healthyAfter` passes in a row turn it
// healthy again; anything else changes nothing but the run being counted.

export type Verdict = 'healthy' | 'unhealthy';

/** What a check's result changed: the backend is to be marked dead, revived, or nothing. */
export type Transition = 'marked' | 'revived' | null;

export interface Thresholds {
  unhealthyAfter: number;
  healthyAfter: number;
}

export class CheckState {
  #verdict: Verdict;
  /** Results in a row that disagree with the verdict (failures while healthy, passes while unhealthy). */
  #run = 0;

  /** `initial` unhealthy: a backend already marked dead when the checks begin (another prober's mark) must pass to be revived. */
  constructor(
    private thresholds: Thresholds,
    initial: Verdict = 'healthy',
  ) {
    this.#verdict = initial;
  }

  get verdict(): Verdict {
    return this.#verdict;
  }

  /** Failures (while healthy) or passes (while unhealthy) counted so far towards a change. */
  get run(): number {
    return this.#run;
  }

  /** New thresholds (the config changed): the run counted so far is kept. */
  retune(thresholds: Thresholds): void {
    this.thresholds = thresholds;
  }

  record(passed: boolean): Transition {
    const agrees = passed === (this.#verdict === 'healthy');
    if (agrees) {
      this.#run = 0;
      return null;
    }
    this.#run++;
    const needed = this.#verdict === 'healthy' ? this.thresholds.unhealthyAfter : this.thresholds.healthyAfter;
    if (this.#run < needed) return null;
    this.#run = 0;
    this.#verdict = this.#verdict === 'healthy' ? 'unhealthy' : 'healthy';
    return this.#verdict === 'unhealthy' ? 'marked' : 'revived';
  }
}
