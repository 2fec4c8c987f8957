// Secrets kept outside the fleet database (SecureOn passwords, Proxmox token secrets, NUT
// passwords): one 0600 file in a 0700 directory, rows hold opaque handles.
export { deleteSecrets, getSecret, secretsFile, secretsLock, withSecrets, type SecretKind, type SecretsWriter } from './store.js';
