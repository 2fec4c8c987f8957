/** The codes upsd answers with (`ERR <CODE>`); any other code is kept as it came. */
export const NUT_ERROR_CODES = [
  'ACCESS-DENIED',
  'UNKNOWN-UPS',
  'VAR-NOT-SUPPORTED',
  'CMD-NOT-SUPPORTED',
  'INVALID-ARGUMENT',
  'INSTCMD-FAILED',
  'SET-FAILED',
  'READONLY',
  'TOO-LONG',
  'FEATURE-NOT-SUPPORTED',
  'FEATURE-NOT-CONFIGURED',
  'ALREADY-SSL-MODE',
  'DRIVER-NOT-CONNECTED',
  'DATA-STALE',
  'ALREADY-LOGGED-IN',
  'INVALID-PASSWORD',
  'ALREADY-SET-PASSWORD',
  'INVALID-USERNAME',
  'ALREADY-SET-USERNAME',
  'USERNAME-REQUIRED',
  'PASSWORD-REQUIRED',
  'UNKNOWN-COMMAND',
  'INVALID-VALUE',
] as const;

export type NutErrorCode = (typeof NUT_ERROR_CODES)[number];

/** upsd answered `ERR <CODE> [detail]`. */
export class NutError extends Error {
  override readonly name = 'NutError';
  constructor(
    readonly code: NutErrorCode | (string & {}),
    readonly request: string,
    readonly detail = '',
  ) {
    super(`upsd answered ERR ${code}${detail ? ` ${detail}` : ''} to ${request}`);
  }

  /** The driver lost the UPS, or upsd lost the driver: the data says nothing about power now. */
  get dataUnavailable(): boolean {
    return this.code === 'DATA-STALE' || this.code === 'DRIVER-NOT-CONNECTED';
  }
}

/** No (complete) reply within the request's time limit; the connection is closed. */
export class NutTimeoutError extends Error {
  override readonly name = 'NutTimeoutError';
  constructor(
    readonly request: string,
    readonly timeoutMs: number,
  ) {
    super(`upsd did not answer ${request} within ${timeoutMs} ms`);
  }
}

/** The TCP connection could not be made, or broke. */
export class NutConnectionError extends Error {
  override readonly name = 'NutConnectionError';
  constructor(
    message: string,
    readonly errno?: string,
  ) {
    super(message);
  }
}

/** upsd sent something the protocol does not allow here. */
export class NutProtocolError extends Error {
  override readonly name = 'NutProtocolError';
}
