import { defineSection } from './section';
import { Milliseconds } from './variables';

/** What happens after SIGTERM or SIGINT. */
export class ShutdownVariables {
  @Milliseconds(0)
  SHUTDOWN_GRACE_MS = 25_000;
}

export interface ShutdownConfig {
  /** After SIGTERM/SIGINT: how long in-flight requests and running jobs get before the process exits, ms. */
  shutdownGraceMs: number;
}

/** SHUTDOWN_GRACE_MS (docs/configuration.md). */
export const shutdownConfig = defineSection('shutdown', ShutdownVariables, (v): ShutdownConfig => ({
  shutdownGraceMs: v.SHUTDOWN_GRACE_MS,
}));
