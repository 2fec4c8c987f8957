/** A lab problem the user can fix (not root, name taken, damaged lab...): message only, no stack. */
export class LabError extends Error {
  override readonly name = 'LabError';
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new LabError('mko lab needs root: run it as root (sudo mko lab up)');
}
