/**
 * An error the user can act on: `message` says what is wrong, `hint` says what to do about it.
 * Every bad input (weights, images, arrays, datasets) is reported with one of these, never a raw crash.
 */
export class VetbenchError extends Error {
  readonly code: string;
  readonly hint: string;

  constructor(code: string, message: string, hint: string) {
    super(message);
    this.name = 'VetbenchError';
    this.code = code;
    this.hint = hint;
  }

  /** One line for a terminal: what happened, then what to do. */
  describe(): string {
    return `${this.message}\n  -> ${this.hint}`;
  }
}
