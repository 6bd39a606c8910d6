/** A problem with a model file; the message always names the file (and the tensor, when there is one). */
export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    problem: string,
    readonly tensor?: string,
  ) {
    super(tensor ? `${file}: tensor "${tensor}": ${problem}` : `${file}: ${problem}`);
    this.name = 'CheckpointError';
  }
}
