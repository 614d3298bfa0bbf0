import type { CombinedError } from 'urql';

/** A change refused because the task had changed since the page showed it (expectedVersion). */
export function isStale(error: CombinedError): boolean {
  return error.graphQLErrors.some((e) => e.extensions.code === 'PRECONDITION_FAILED');
}

/**
 * What the page says about a failed operation: a 401 asks to sign in again, a change to a task someone
 * changed meanwhile says so, anything else shows its message.
 */
export function describeError(error: CombinedError): { message: string; signInAgain: boolean } {
  const status = (error.response as Response | undefined)?.status;
  const codes = error.graphQLErrors.map((e) => e.extensions.code);
  if (status === 401 || codes.includes('UNAUTHENTICATED')) {
    return { message: 'Your session has expired or the token is not valid: sign in again.', signInAgain: true };
  }
  if (isStale(error)) {
    return {
      message: 'This task was changed elsewhere (another tab or device), so yours was not saved. It now shows the current version.',
      signInAgain: false,
    };
  }
  const first = error.graphQLErrors[0];
  if (first) return { message: first.message, signInAgain: false };
  return { message: 'The server could not be reached. Try again.', signInAgain: false };
}
