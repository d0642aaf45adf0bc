/**
 * Run `work` over `inputs` with at most `limit` calls in flight, results in input order. Bounding the number of
 * open files and buffers is what lets a 60k-file folder be checked without exhausting descriptors or memory.
 */
export async function mapWithConcurrency<T, R>(
  inputs: readonly T[],
  limit: number,
  work: (input: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(inputs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < inputs.length) {
      const index = next++;
      results[index] = await work(inputs[index] as T, index);
    }
  };
  const workers = Math.max(1, Math.min(Math.floor(limit), inputs.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}

/** A semaphore: `run(task)` waits for one of `limit` slots, e.g. to cap full decodes inside a wider pool. */
export function createLimiter(limit: number): <R>(task: () => Promise<R>) => Promise<R> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <R>(task: () => Promise<R>): Promise<R> => {
    // a finishing task hands its slot straight to the next waiter, so a newcomer cannot slip in between
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await task();
    } finally {
      const wake = waiting.shift();
      if (wake) wake();
      else active--;
    }
  };
}
