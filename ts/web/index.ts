export { createApp, API_PREFIX } from './app.js';
export { isLoopback, runWeb, runningWeb, stopWeb, webPidFile, type WebInfo } from './server.js';
export { createToken, listTokens, revokeToken, SCOPES, type Scope, type Token } from './tokens.js';
