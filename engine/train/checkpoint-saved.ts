/** A checkpoint a training loop has finished writing: the step it resumes from and the epochs done. */
export interface CheckpointSaved {
  readonly step: number;
  readonly epoch: number;
}
