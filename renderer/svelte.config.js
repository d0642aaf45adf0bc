// Svelte 5 in runes mode everywhere; vite-plugin-svelte and svelte-check read this file.
export default {
  compilerOptions: { runes: true },
};
