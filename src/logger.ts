import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** JSON lines to stdout (or `destination`). */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  return pino({
    level,
    base: undefined,
    // Belt and braces: nothing that carries a credential is ever written, whatever a caller logs.
    redact: { paths: ['authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', 'token'], censor: '[redacted]' },
  }, destination);
}
