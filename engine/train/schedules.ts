/** Learning-rate schedules as pure functions of the step (0-based), so a resumed run continues exactly. */
export type Schedule = (step: number) => number;

/** Linear warm-up from base/warmup to base, then cosine decay to `floor` at `total` steps. */
export function warmupCosine(base: number, total: number, warmup = 0, floor = 0): Schedule {
  return (step) => {
    if (warmup > 0 && step < warmup) return (base * (step + 1)) / warmup;
    const span = Math.max(1, total - warmup);
    const t = Math.min(1, (step - warmup) / span);
    return floor + 0.5 * (base - floor) * (1 + Math.cos(Math.PI * t));
  };
}

export function constant(base: number): Schedule {
  return () => base;
}
