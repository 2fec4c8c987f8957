// NUT's network protocol (RFC 9271): a client for upsd over TCP, with typed errors.
export { NUT_DEFAULT_PORT, NUT_DEFAULT_TIMEOUT_MS, NutClient, withNut, type NutClientOptions, type NutUps, type NutVars } from './client.js';
export { NUT_ERROR_CODES, NutConnectionError, NutError, NutProtocolError, NutTimeoutError, type NutErrorCode } from './errors.js';
export { commandLine, quoteWord, splitWords } from './protocol.js';
