/** How far a scan has come: units of work done (one inversion or one probe), of total, and the time left. */
export interface ScanProgress {
  readonly done: number;
  readonly total: number;
  readonly etaMs: number;
}
