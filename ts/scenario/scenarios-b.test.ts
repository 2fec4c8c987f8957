// Molecule scenarios, share b (ts/test-support/scenarios.ts says how they are split).
import { describeScenarios } from '../test-support/scenarios.js';

describeScenarios('b');
