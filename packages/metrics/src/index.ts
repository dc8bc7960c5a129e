export { FIGURES, STATES, TIMED_PHASES, DURATION_BUCKETS, triggerLabel, outcomeOf, followShutdown } from './figures.js'
export type { Figure, FigureKey, FigureType, Outcome, ObservedController, PhaseEnd, TimedPhase } from './figures.js'
