/** Every failure shown to the user as code, message and what to do (ApiCallError carries all three). */
import { ApiCallError, type ApiError } from '../../../electron/api/contract.js';

export function toDisplayError(error: unknown): ApiError {
  if (error instanceof ApiCallError) return { code: error.code, message: error.message, hint: error.hint };
  if (error instanceof TypeError && /fetch|network/i.test(error.message))
    return {
      code: 'connection-lost',
      message: 'The Vetbench back end does not answer.',
      hint: 'Is `vetbench serve` still running? Restart it and open the URL it prints.',
    };
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: 'unexpected',
    message,
    hint: 'Try again; if it persists, report it with the steps that led here.',
  };
}
