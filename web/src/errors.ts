import type { CombinedError } from 'urql';

/** What the page says about a failed operation: a 401 asks to sign in again, anything else shows its message. */
export function describeError(error: CombinedError): { message: string; signInAgain: boolean } {
  const status = (error.response as Response | undefined)?.status;
  const codes = error.graphQLErrors.map((e) => e.extensions.code);
  if (status === 401 || codes.includes('UNAUTHENTICATED')) {
    return { message: 'Your session has expired or the token is not valid: sign in again.', signInAgain: true };
  }
  const first = error.graphQLErrors[0];
  if (first) return { message: first.message, signInAgain: false };
  return { message: 'The server could not be reached. Try again.', signInAgain: false };
}
