/**
 * Preloaded (`node -r`) into every process the harness starts: SIGTERM and SIGINT end the process
 * through `process.exit`, so `--cpu-prof` writes its profile (a signal's default action would not).
 */
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => process.exit(0));
}
