// The UPSes mko knows: which node runs each one's driver and upsd, with what driver and port, and
// the upsmon accounts on that upsd. Passwords go to the secrets file; rows hold only handles.
import { randomBytes } from 'node:crypto';
import { findByRef, refuseNumericName, writeTransaction, type Db } from '../db/index.js';
import { quote, UserError } from '../errors.js';
import { getNode, type FleetNode } from '../fleet/index.js';
import { field, validate } from '../validate/index.js';
import { deleteSecrets, getSecret, withSecrets } from '../secrets/index.js';
import { numberOrText } from '../wol/index.js';

export interface Ups {
  id: number;
  name: string;
  nodeId: number;
  /** The UPS host's hostname and address (where upsd listens). */
  host: string;
  address: string;
  driver: string;
  port: string;
  description: string;
  driverOptions: Record<string, string>;
  upsdPort: number;
  primaryUser: string;
  secondaryUser: string;
  /** Whether a secondary password is stored (never the password itself). */
  secondaryPasswordSet: boolean;
  createdAt: string;
}

interface UpsRow {
  id: number;
  name: string;
  node_id: number;
  hostname: string;
  address: string;
  driver: string;
  port: string;
  description: string;
  driver_options: string;
  upsd_port: number;
  primary_user: string;
  primary_secret: string | null;
  secondary_user: string;
  secondary_secret: string | null;
  created_at: string;
}

const SELECT_UPSES = `SELECT u.*, n.hostname, n.address FROM upses u JOIN nodes n ON n.id = u.node_id`;

function toUps(row: UpsRow): Ups {
  return {
    id: row.id,
    name: row.name,
    nodeId: row.node_id,
    host: row.hostname,
    address: row.address,
    driver: row.driver,
    port: row.port,
    description: row.description,
    driverOptions: JSON.parse(row.driver_options) as Record<string, string>,
    upsdPort: row.upsd_port,
    primaryUser: row.primary_user,
    secondaryUser: row.secondary_user,
    secondaryPasswordSet: row.secondary_secret !== null,
    createdAt: row.created_at,
  };
}

export interface UpsInput {
  name: string;
  host: string;
  driver?: string;
  port?: string;
  description?: string;
  /** `key=value` driver options as typed, or already parsed. */
  driverOptions?: Record<string, string>;
  upsdPort?: number | string;
  user?: string;
  password?: string;
}

/** Printable ASCII without space, quote or backslash: safe in NUT's config files as they are. */
const PASSWORD = /^[!#-[\]-~]{4,64}$/;

const upsSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$', hint: 'a UPS name of up to 63 letters, digits, ".", "_" or "-", e.g. rack1' },
    host: { type: 'string', minLength: 1, noTemplate: true, hint: 'a node id or hostname' },
    driver: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$', hint: 'a NUT driver name such as usbhid-ups, blazer_usb or dummy-ups' },
    port: { type: 'string', pattern: '^[^\\s"\\\\]{1,255}$', noTemplate: true, printable: true, hint: 'a driver port without spaces or quotes, e.g. auto, /dev/ttyS0 or dummy.dev' },
    description: { type: 'string', maxLength: 200, pattern: '^[^\\n\\r"\\\\]*$', printable: true, hint: 'text of at most 200 characters without quotes or backslashes' },
    driverOptions: {
      type: 'object',
      propertyNames: { pattern: '^[a-z][a-z0-9_.-]{0,63}$' },
      additionalProperties: { type: 'string', pattern: '^[^\\n\\r"\\\\]{0,255}$', printable: true },
      hint: 'key=value driver options (ups.conf keys such as vendorid=0463), values without quotes',
    },
    upsdPort: field.port,
    user: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,32}$', hint: 'a NUT user name of up to 32 letters, digits, ".", "_" or "-"' },
  },
  required: ['name', 'host'],
  additionalProperties: false,
};

/** What `ups add` takes, with the password: write-only, never in a response. */
export const upsInputSchema = {
  ...upsSchema,
  properties: {
    ...upsSchema.properties,
    password: { type: 'string', writeOnly: true, hint: 'the upsmon secondary account\'s password (needs user): 4 to 64 printable characters without spaces, quotes or backslashes; made up when not given' },
  },
};

export const upsFlags = {
  name: 'UPS name',
  host: '--host',
  driver: '--driver',
  port: '--port',
  description: '--description',
  driverOptions: '--option',
  upsdPort: '--upsd-port',
  user: '--user',
};

/** Check a UPS's fields as `ups add` does (one-line UserError naming the option), e.g. a scanned one. */
export function validateUps(input: Omit<UpsInput, 'password' | 'upsdPort'>): void {
  validate(upsSchema, input, upsFlags);
}

/** `vendorid=0463` strings into an object; a string without "=" is reported against --option. */
export function parseDriverOptions(items: readonly string[]): Record<string, string> {
  const options: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UserError(`invalid --option ${quote(item)}: must be key=value, e.g. vendorid=0463`);
    options[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return options;
}

/** A password for an account mko makes up itself: 24 URL-safe characters. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

export function listUpses(db: Db): Ups[] {
  return (db.prepare(`${SELECT_UPSES} ORDER BY u.name`).all() as UpsRow[]).map(toUps);
}

export function findUps(db: Db, ref: string | number): Ups | undefined {
  const row = findByRef<UpsRow>(db, SELECT_UPSES, { id: 'u.id', name: 'u.name' }, ref);
  return row ? toUps(row) : undefined;
}

export function getUps(db: Db, ref: string | number): Ups {
  const ups = findUps(db, ref);
  if (!ups) throw new UserError(`no UPS ${quote(String(ref))}: see mko ups list`);
  return ups;
}

/** Register a UPS. Its upsmon passwords are stored as secrets (the primary one made up here). */
export function addUps(db: Db, dataDir: string, input: UpsInput): Ups {
  const { password, ...rest } = input;
  const data = validate<Omit<UpsInput, 'password'> & { upsdPort?: number }>(upsSchema, { ...rest, ...(input.upsdPort !== undefined ? { upsdPort: numberOrText(input.upsdPort) } : {}) }, upsFlags);
  refuseNumericName(data.name, upsFlags.name);
  // Checked apart from the schema so that the error never shows the password.
  if (password !== undefined && (typeof password !== 'string' || !PASSWORD.test(password))) throw new UserError('invalid --password: must be 4 to 64 printable characters without spaces, quotes or backslashes', 1, 'password');
  if (password !== undefined && data.user === undefined) throw new UserError('--password needs --user: the upsmon account it belongs to', 1, 'user');
  refuseTaken(db, data.name, getNode(db, data.host));
  return withSecrets(dataDir, (secrets) => {
    const primary = secrets.put('nut-password', generatePassword());
    const secondary = secrets.put('nut-password', password ?? generatePassword());
    try {
      return writeTransaction(db, () => insertUps(db, data, primary, secondary));
    } catch (error) {
      secrets.delete(primary, secondary);
      throw error;
    }
  });
}

function refuseTaken(db: Db, name: string, node: FleetNode): void {
  if (findUps(db, name)) throw new UserError(`UPS ${name} already exists: choose another name, or mko ups remove ${name}`);
  const onNode = listUpses(db).find((u) => u.nodeId === node.id);
  if (onNode) throw new UserError(`--host ${node.hostname} already runs UPS ${onNode.name}: one UPS per host`);
}

function insertUps(db: Db, data: Omit<UpsInput, 'password'> & { upsdPort?: number }, primary: string, secondary: string): Ups {
  // Again under the write lock: another `ups add` may have taken the name or the host meanwhile.
  const node = getNode(db, data.host);
  refuseTaken(db, data.name, node);
  const id = db
    .prepare(
      `INSERT INTO upses (name, node_id, driver, port, description, driver_options, upsd_port, primary_secret, secondary_user, secondary_secret)
       VALUES (@name, @nodeId, @driver, @port, @description, @driverOptions, @upsdPort, @primary, @secondaryUser, @secondary)`,
    )
    .run({
      name: data.name,
      nodeId: node.id,
      driver: data.driver ?? 'usbhid-ups',
      port: data.port ?? 'auto',
      description: data.description ?? '',
      driverOptions: JSON.stringify(data.driverOptions ?? {}),
      upsdPort: data.upsdPort ?? 3493,
      primary,
      secondaryUser: data.user ?? 'upsmon_secondary',
      secondary,
    }).lastInsertRowid;
  return getUps(db, Number(id));
}

/** What ups update changes: how the driver reaches the UPS, upsd's port, the description. */
export type UpsChanges = Pick<UpsInput, 'driver' | 'port' | 'description' | 'driverOptions' | 'upsdPort'>;

export const upsUpdateSchema = {
  type: 'object',
  properties: { driver: upsSchema.properties.driver, port: upsSchema.properties.port, description: upsSchema.properties.description, driverOptions: upsSchema.properties.driverOptions, upsdPort: upsSchema.properties.upsdPort },
  additionalProperties: false,
};

/**
 * Change a UPS's driver, port, options, upsd port or description. Only the record: the nodes get
 * it with the next mko ups setup. (Its host, name and accounts stay: remove and add it for those.)
 */
export function updateUps(db: Db, ref: string, changes: UpsChanges): Ups {
  const data = validate<UpsChanges>(upsUpdateSchema, { ...changes, ...(changes.upsdPort !== undefined ? { upsdPort: numberOrText(changes.upsdPort) } : {}) }, upsFlags);
  if (Object.keys(data).length === 0) throw new UserError('nothing to change: give --driver, --port, --option, --upsd-port or --description');
  return writeTransaction(db, () => {
    const ups = getUps(db, ref);
    db.prepare(
      `UPDATE upses SET driver = @driver, port = @port, description = @description, driver_options = @driverOptions, upsd_port = @upsdPort
       WHERE id = @id`,
    ).run({
      id: ups.id,
      driver: data.driver ?? ups.driver,
      port: data.port ?? ups.port,
      description: data.description ?? ups.description,
      driverOptions: JSON.stringify(data.driverOptions ?? ups.driverOptions),
      upsdPort: data.upsdPort ?? ups.upsdPort,
    });
    return getUps(db, ups.id);
  });
}

/** Forget a UPS with its rules, events and history, and its stored passwords. */
export function removeUps(db: Db, dataDir: string, ref: string): Ups {
  const { ups, handles } = writeTransaction(db, () => {
    const found = getUps(db, ref);
    const row = db.prepare('SELECT primary_secret, secondary_secret FROM upses WHERE id = ?').get(found.id) as { primary_secret: string | null; secondary_secret: string | null };
    db.prepare('DELETE FROM upses WHERE id = ?').run(found.id);
    return { ups: found, handles: [row.primary_secret, row.secondary_secret] };
  });
  deleteSecrets(dataDir, handles);
  return ups;
}

export interface UpsPasswords {
  primary: string;
  secondary: string;
}

/** The upsmon passwords, for the nut role and `mko ups test`; never printed. */
export function upsPasswords(db: Db, dataDir: string, ups: Ups): UpsPasswords {
  const handles = db.prepare('SELECT primary_secret, secondary_secret FROM upses WHERE id = ?').get(ups.id) as { primary_secret: string | null; secondary_secret: string | null };
  const read = (handle: string | null, account: string): string => {
    if (!handle) throw new UserError(`UPS ${ups.name} has no ${account} password: mko ups remove ${ups.name} and add it again`);
    return getSecret(dataDir, handle, `the ${account} account of UPS ${ups.name}`);
  };
  return { primary: read(handles.primary_secret, 'upsmon primary'), secondary: read(handles.secondary_secret, 'upsmon secondary') };
}
