import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: undefined,
    // Belt and braces: nothing that carries a credential is ever written, whatever a caller logs.
    redact: { paths: ['authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', 'token'], censor: '[redacted]' },
  });
}
