import { existsSync, renameSync } from 'node:fs';
import path from 'node:path';
import { writeTransaction, type Db } from '../db/index.js';
import { UserError } from '../errors.js';
import {
  assertNodeInsertable,
  defaultCluster,
  deleteNode,
  getNode,
  insertNode,
  updateNodeKey,
  validateNodeInput,
  type FleetNode,
  type NodeInput,
} from '../fleet/index.js';
import { renderInstructions, type InstructionsFormat, type InstructionsInput } from './instructions.js';
import { describeKey, generateNodeKey, removeKeyFiles, retireKey, stageNodeKey, type KeyType, type NodeKey } from './keys.js';

export interface AddNodeOptions {
  /** Generate a fresh key pair for this node (the default). */
  generateKey?: boolean;
  keyType?: KeyType;
  /** An existing private key to use instead of generating one. */
  existingKey?: string;
}

export interface Onboarded {
  node: FleetNode;
  instructions: string;
}

/**
 * Register a node and give it its own key pair. Everything that can be refused is checked before
 * the key is made; if the insert still fails, the new key is removed again. Given no cluster, the
 * node joins the default cluster (cluster add/update --default), if there is one.
 */
export async function addNode(
  db: Db,
  dataDir: string,
  input: NodeInput,
  options: AddNodeOptions = {},
): Promise<Onboarded & { /** Given no cluster, the default cluster it joined. */ joinedDefault: string | null }> {
  const joinedDefault = input.cluster === undefined ? (defaultCluster(db)?.name ?? null) : null;
  const data = validateNodeInput(joinedDefault ? { ...input, cluster: joinedDefault } : input);
  assertNodeInsertable(db, data);
  const generate = options.generateKey !== false;
  if (!generate && !options.existingKey) {
    throw new UserError('--no-generate-ssh-key needs --ssh-key <path to an existing private key>');
  }
  if (generate && options.existingKey) {
    throw new UserError('--ssh-key is for an existing key: add --no-generate-ssh-key, or drop --ssh-key to generate one');
  }
  const staged = generate ? await stageNodeKey(dataDir, data.hostname, options.keyType) : undefined;
  const key = staged?.key ?? (await describeKey(options.existingKey ?? ''));
  try {
    // The key goes into place under the write lock, once the row that names it is in.
    const node = writeTransaction(db, () => {
      const inserted = insertNode(db, data, { path: key.path, type: key.type, fingerprint: key.fingerprint, status: generate ? 'generated' : 'deployed' });
      staged?.publish();
      return inserted;
    });
    return { node, instructions: renderInstructions(instructionsInput(node, key)), joinedDefault };
  } catch (error) {
    staged?.discard();
    throw error;
  }
}

/** What the instructions templates need to know about a node and its key. */
export function instructionsInput(node: FleetNode, key: NodeKey): InstructionsInput {
  return {
    hostname: node.hostname,
    address: node.address,
    sshUser: node.sshUser,
    sshPort: node.sshPort,
    keyPath: key.path,
    keyType: key.type,
    fingerprint: key.fingerprint,
    publicKey: key.publicKey,
  };
}

export async function nodeKey(node: FleetNode): Promise<NodeKey> {
  if (!node.sshKeyPath || !existsSync(node.sshKeyPath)) {
    throw new UserError(`node ${node.hostname} has no SSH key on disk: run mko node regenerate-ssh-key ${node.hostname}`);
  }
  return describeKey(node.sshKeyPath, node.sshKeyType ?? undefined);
}

export async function nodeInstructions(db: Db, ref: string, format: InstructionsFormat = 'text'): Promise<string> {
  const node = getNode(db, ref);
  return renderInstructions(instructionsInput(node, await nodeKey(node)), format);
}

/**
 * Rotate a node's key. The old pair is moved to keys/retired/ (still usable to reach the node)
 * rather than deleted, and comes back if generating the new one fails.
 */
export async function regenerateKey(db: Db, dataDir: string, ref: string, keyType?: KeyType): Promise<Onboarded & { retired?: string }> {
  const node = getNode(db, ref);
  const type = keyType ?? node.sshKeyType ?? 'ed25519';
  const retired = node.sshKeyPath ? retireKey(dataDir, node.sshKeyPath) : undefined;
  let key: NodeKey;
  try {
    key = await generateNodeKey(dataDir, node.hostname, type);
  } catch (error) {
    if (retired && node.sshKeyPath) {
      renameSync(retired, node.sshKeyPath);
      if (existsSync(`${retired}.pub`)) renameSync(`${retired}.pub`, `${node.sshKeyPath}.pub`);
    }
    throw error;
  }
  updateNodeKey(db, node.id, { path: key.path, type: key.type, fingerprint: key.fingerprint, status: 'generated' });
  const updated = getNode(db, node.id);
  return { node: updated, instructions: renderInstructions(instructionsInput(updated, key)), ...(retired ? { retired } : {}) };
}

/** Forget a node: its row, its secrets, and the key pair mko made for it (a key the user brought stays). */
export function forgetNode(db: Db, dataDir: string, ref: string): FleetNode {
  const node = getNode(db, ref);
  deleteNode(db, dataDir, node.id);
  if (node.sshKeyPath && path.basename(path.dirname(node.sshKeyPath)) === 'keys') removeKeyFiles(node.sshKeyPath);
  return node;
}
