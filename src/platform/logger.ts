import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Credentials never reach a log line: the redaction list covers the
 * headers and fields that carry them, whatever logs them.
 */
export function createLogger(options: { level: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'shopassist-api' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-admin-key"]',
          'req.headers.cookie',
          'headers.authorization',
          'headers["x-admin-key"]',
          'token',
          'password',
          'databaseUrl',
        ],
        censor: '[redacted]',
      },
    },
    options.destination,
  );
}
