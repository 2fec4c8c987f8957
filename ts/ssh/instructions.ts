import { readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { templatesDir } from '../paths.js';

export interface InstructionsInput {
  hostname: string;
  address: string;
  sshUser: string;
  sshPort: number;
  keyPath: string;
  keyType: string;
  fingerprint: string;
  publicKey: string;
}

export type InstructionsFormat = 'text' | 'markdown';

// Shell lines must come out byte for byte: no HTML escaping.
const hbs = Handlebars.create();
hbs.registerPartial('node-setup-script', readFileSync(path.join(templatesDir, 'partials', 'node-setup-script.hbs'), 'utf8'));
const templates: Record<InstructionsFormat, Handlebars.TemplateDelegate> = {
  text: hbs.compile(readFileSync(path.join(templatesDir, 'ssh-instructions.hbs'), 'utf8'), { noEscape: true, strict: true }),
  markdown: hbs.compile(readFileSync(path.join(templatesDir, 'ssh-instructions.md.hbs'), 'utf8'), { noEscape: true, strict: true }),
};

/** The sudoers drop-in that gives a node's login user passwordless sudo (the set-up script installs it). */
export const sudoersFileFor = (sshUser: string): string => `/etc/sudoers.d/90-mko-${sshUser}`;

function context(input: InstructionsInput): Record<string, unknown> {
  return {
    ...input,
    isRoot: input.sshUser === 'root',
    publicKeyPath: `${input.keyPath}.pub`,
    sudoersFile: sudoersFileFor(input.sshUser),
  };
}

/** The copy-paste set-up for one node: the lines that authorize its key and give passwordless sudo. */
export function renderInstructions(input: InstructionsInput, format: InstructionsFormat = 'text'): string {
  return templates[format](context(input));
}

/** Just the shell lines to run on the node, as the node's user (what the lab "pastes"). */
export function renderSetupScript(input: InstructionsInput): string {
  return hbs.compile('{{> node-setup-script}}', { noEscape: true, strict: true })(context(input));
}
