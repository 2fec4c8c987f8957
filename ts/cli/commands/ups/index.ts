// mko ups: one module per sub-group of commands.
import { group } from '../../command.js';
import { groupDescription } from '../../groups.js';
import { add, list, remove, status, test, update } from './devices.js';
import { events, history, monitor } from './monitor.js';
import { actions, rules } from './rules.js';
import { restart, scan, services, setup } from './setup.js';

export const upsCommand = group('ups', groupDescription('ups'), [add, list, update, remove, setup, scan, status, test, services, restart, monitor, events, history, actions, rules], [
  '$0 ups status',
  'Every UPS, read live from upsd',
]);
