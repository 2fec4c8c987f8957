export { addNode, forgetNode, instructionsInput, nodeInstructions, nodeKey, regenerateKey, type AddNodeOptions, type Onboarded } from './onboard.js';
export { renderInstructions, renderSetupScript, sudoersFileFor, type InstructionsInput, type InstructionsFormat } from './instructions.js';
export { describeKey, ensureKeysDir, generateNodeKey, removeKeyFiles, type KeyType, type NodeKey } from './keys.js';
export { testSsh, type SshFailure, type SshTestResult } from './test.js';
export { pasteProgram, shQuote } from './paste.js';
