// Ansible templates every string it finds in inventory and extra variables, so a stored value
// such as "{{ lookup('pipe', 'cmd') }}" would run cmd on the controller. Whatever mko hands to
// Ansible is data: every string goes marked unsafe, which Ansible keeps as literal text
// (ansible.parsing.ajson.AnsibleJSONDecoder reads {"__ansible_unsafe": "..."} as an unsafe string
// in inventory-script output and in JSON extra-vars files alike). Keys stay as they are: Ansible
// never templates dictionary keys.
import type { Inventory, InventoryGroup } from './build.js';

/** Keys Ansible's JSON decoder reads as markers, whatever else the object holds. */
const DECODER_KEYS = new Set(['__ansible_unsafe', '__ansible_vault']);

/** `value` with every string in it, however deep, marked unsafe for Ansible's JSON loader. */
export function markUnsafe(value: unknown): unknown {
  if (typeof value === 'string') return { __ansible_unsafe: value };
  if (Array.isArray(value)) return value.map(markUnsafe);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => {
        if (DECODER_KEYS.has(key)) throw new Error(`variable key ${key} would be read by Ansible as a marker`);
        return [key, markUnsafe(item)];
      }),
    );
  }
  return value;
}

/** The inventory as Ansible is given it: every host and group variable unsafe, names as they are. */
export function markInventory(inventory: Inventory): Record<string, unknown> {
  const { _meta, ...groups } = inventory;
  return {
    _meta: { hostvars: markUnsafe(_meta.hostvars) },
    ...Object.fromEntries(
      Object.entries(groups as Record<string, InventoryGroup>).map(([name, group]) => [name, group.vars ? { ...group, vars: markUnsafe(group.vars) } : group]),
    ),
  };
}
