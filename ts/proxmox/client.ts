// A minimal Proxmox VE API client: node:https, an API token, and TLS verified against the CA the
// user pinned (or the system's CAs). Skipping verification is an explicit, warned-about choice.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { UserError } from '../errors.js';
import type { ProxmoxEndpoint } from './hosts.js';

/** OpenSSL's codes for a certificate that does not check out (node:tls passes them through). */
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const REQUEST_TIMEOUT_MS = 15_000;

export interface ProxmoxClient {
  readonly endpoint: ProxmoxEndpoint;
  get<T>(apiPath: string): Promise<T>;
  post<T>(apiPath: string): Promise<T>;
}

export interface ClientOptions {
  /** Receives the warning about --insecure, once per client. */
  onWarning?: (message: string) => void;
  timeoutMs?: number;
}

export function insecureWarning(name: string): string {
  return `TLS verification is OFF for Proxmox ${name} (--insecure): anyone on the network path can impersonate it and read its API token; pin its CA with --ca-file /etc/pve/pve-root-ca.pem instead`;
}

export function proxmoxClient(endpoint: ProxmoxEndpoint, options: ClientOptions = {}): ProxmoxClient {
  if (endpoint.insecure) options.onWarning?.(insecureWarning(endpoint.name));
  const ca = endpoint.caFile ? readCa(endpoint) : undefined;
  const call = <T>(method: 'GET' | 'POST', apiPath: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const url = new URL(`/api2/json${apiPath}`, endpoint.url);
      const req = request(
        url,
        {
          method,
          headers: {
            Authorization: `PVEAPIToken=${endpoint.tokenId}=${endpoint.tokenSecret}`,
            Accept: 'application/json',
            ...(method === 'POST' ? { 'Content-Length': 0 } : {}),
          },
          ...(ca ? { ca } : {}),
          rejectUnauthorized: !endpoint.insecure,
          timeout: options.timeoutMs ?? REQUEST_TIMEOUT_MS,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const what = `${res.statusCode} ${res.statusMessage ?? ''}`.trim();
            if (status === 401) {
              return reject(
                new UserError(`Proxmox ${endpoint.name} rejected API token ${endpoint.tokenId} (${what}): check the token id and secret (mko proxmox remove, then add again)`),
              );
            }
            if (status === 403) {
              return reject(new UserError(`API token ${endpoint.tokenId} may not ${method} ${apiPath} on Proxmox ${endpoint.name} (${what}): it needs VM.PowerMgmt on the VM`));
            }
            if (status < 200 || status >= 300) return reject(new UserError(`Proxmox ${endpoint.name}: ${method} ${apiPath} answered ${what}`));
            try {
              resolve((JSON.parse(body) as { data: T }).data);
            } catch {
              reject(new UserError(`Proxmox ${endpoint.name}: ${method} ${apiPath} answered something that is not JSON`));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', (error: NodeJS.ErrnoException) => reject(explain(endpoint, error)));
      req.end();
    });
  return { endpoint, get: (p) => call('GET', p), post: (p) => call('POST', p) };
}

function readCa(endpoint: ProxmoxEndpoint): Buffer {
  try {
    return readFileSync(endpoint.caFile ?? '');
  } catch (error) {
    throw new UserError(`cannot read the CA file ${endpoint.caFile} of Proxmox ${endpoint.name}: ${(error as Error).message}`);
  }
}

function explain(endpoint: ProxmoxEndpoint, error: NodeJS.ErrnoException): UserError {
  const code = error.code ?? '';
  if (TLS_CODES.has(code)) {
    const against = endpoint.caFile ? `the CA in ${endpoint.caFile}` : "this machine's CAs (no --ca-file)";
    return new UserError(
      `TLS check of Proxmox ${endpoint.name} (${endpoint.url}) failed against ${against}: ${error.message} (${code}); give the CA that signed its certificate (/etc/pve/pve-root-ca.pem on a Proxmox node) with --ca-file`,
    );
  }
  return new UserError(`cannot reach Proxmox ${endpoint.name} at ${endpoint.url}: ${code || error.message}`);
}
