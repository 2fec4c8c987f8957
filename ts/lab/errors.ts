/** A lab problem the user can fix (not root, name taken, damaged lab...): message only, no stack. */
export class LabError extends Error {
  override readonly name = 'LabError';
}
