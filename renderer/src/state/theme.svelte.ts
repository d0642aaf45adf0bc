/** Light, dark or the system's choice; remembered in localStorage and applied as <html data-theme>. */
export type ThemeChoice = 'system' | 'light' | 'dark';

const KEY = 'vetbench-theme';

export class ThemeState {
  choice = $state<ThemeChoice>('system');

  constructor(
    private readonly storage: Pick<Storage, 'getItem' | 'setItem'> | null,
    private readonly root: { dataset: DOMStringMap } | null,
  ) {
    const saved = storage?.getItem(KEY);
    if (saved === 'light' || saved === 'dark' || saved === 'system') this.choice = saved;
    this.apply();
  }

  set(choice: ThemeChoice): void {
    this.choice = choice;
    this.storage?.setItem(KEY, choice);
    this.apply();
  }

  /** Cycles system -> light -> dark, for the one toolbar button. */
  next(): void {
    this.set(this.choice === 'system' ? 'light' : this.choice === 'light' ? 'dark' : 'system');
  }

  private apply(): void {
    if (!this.root) return;
    if (this.choice === 'system') delete this.root.dataset.theme;
    else this.root.dataset.theme = this.choice;
  }
}
