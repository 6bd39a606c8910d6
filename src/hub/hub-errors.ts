/**
 * What can go wrong talking to the hub, each with one line the user can act on. The kinds follow the
 * `X-Error-Code` values the hub sends (huggingface_hub `utils/_http.py`: RepoNotFound, GatedRepo,
 * RevisionNotFound, EntryNotFound) plus our own for the wire, the disk and checksums.
 */
export type HubErrorKind =
  | 'gated'
  | 'repo-not-found'
  | 'revision-not-found'
  | 'entry-not-found'
  | 'http'
  | 'network'
  | 'checksum'
  | 'disk'
  | 'not-cached'
  | 'bad-name';

export class HubError extends Error {
  constructor(
    readonly kind: HubErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'HubError';
  }
}
