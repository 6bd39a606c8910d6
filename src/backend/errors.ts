/** A backend (or a feature of one) that this machine or this model cannot provide, said in user terms. */
export class BackendUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendUnavailableError';
  }
}
