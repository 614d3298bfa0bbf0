import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { PrettyOptions } from 'pino-pretty';

export type { Logger };

/** JSON lines to stdout (or `destination`). */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      // Belt and braces: nothing that carries a credential is ever written, whatever a caller logs.
      redact: {
        paths: ['authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', 'token'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/**
 * On a developer's terminal (stdout a TTY, outside production), readable coloured lines from pino-pretty,
 * written synchronously so a fatal line is out before the process exits; anywhere else, nothing (JSON
 * lines to stdout, for a log collector).
 */
export function terminalDestination(nodeEnv: string): DestinationStream | undefined {
  if (!process.stdout.isTTY || nodeEnv === 'production') return undefined;
  // Loaded only here: a server whose logs go to a collector never loads it.
  const pretty = createRequire(import.meta.url)('pino-pretty') as (options: PrettyOptions) => DestinationStream;
  return pretty({ colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true });
}
