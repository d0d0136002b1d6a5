// Errors with stable codes: callers match on `code`, never on message text (docs/errors.md lists them).
export type ErrorCode =
  | 'TW_ERR_CONFIG'
  | 'TW_ERR_PREREQ'
  | 'TW_ERR_ADDON'
  | 'TW_ERR_FIREWALL'
  | 'TW_ERR_CAPTURE'
  | 'TW_ERR_PCAP_FILE'
  | 'TW_ERR_LISTEN'
  | 'TW_ERR_STORE'
  | 'TW_ERR_STORE_TIMEOUT'
  | 'TW_ERR_HTTP'
  | 'TW_ERR_CLICKHOUSE'
  | 'TW_ERR_RULES';

export class TidewatchError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TidewatchError';
    this.code = code;
  }
}

export class ConfigError extends TidewatchError {
  constructor(message: string) {
    super('TW_ERR_CONFIG', message);
    this.name = 'ConfigError';
  }
}

export function isTidewatchError(err: unknown): err is TidewatchError {
  return err instanceof TidewatchError;
}
