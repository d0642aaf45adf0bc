// Runs the Vetbench CLI inside this process and, on exit, appends its peak resident set size to stderr, so the
// fuzz suite can bound the memory of each CLI run (process.resourceUsage works the same on Linux and macOS).
// Usage: node test/fuzz/harness/with-max-rss.js <vetbench arguments...>
process.on('exit', () => {
  process.stderr.write(`\nVETBENCH_MAX_RSS_KB=${process.resourceUsage().maxRSS}\n`);
});
await import(new URL('../../../bin/vetbench.js', import.meta.url).href);
