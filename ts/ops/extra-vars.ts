import { writeFileSync } from 'node:fs';
import { markUnsafe } from '../inventory/unsafe.js';

/**
 * Write extra variables for `ansible-playbook -e @file`, readable by this user only (they may hold
 * secrets). Every string is marked unsafe, so Ansible takes it as data and never templates it:
 * ansible-core reads an @file as JSON first, with the decoder that honours {"__ansible_unsafe": …}.
 */
export function writeExtraVarsFile(file: string, vars: Record<string, unknown>): void {
  writeFileSync(file, JSON.stringify(markUnsafe(vars)), { mode: 0o600 });
}
