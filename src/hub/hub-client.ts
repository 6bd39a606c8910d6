/**
 * The Hugging Face Hub's HTTP protocol, the two calls a pull needs:
 *
 * - `GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true`: the commit a revision points to and every
 *   file with its size and etag (`lfs.sha256` for LFS files, `blobId` — the git blob sha1 — for the others);
 * - `GET {endpoint}/{repo}/resolve/{commit}/{file}`: the file itself, LFS files by a 302 to the CDN carrying
 *   `X-Linked-Etag`, `X-Linked-Size` and `X-Repo-Commit`. A `Range` header resumes; the token goes to the hub
 *   only, never to the CDN's origin (as `requests` drops it on a cross-host redirect).
 */
import { HubError } from './hub-errors.js';

/** A file of a revision, as the revision API describes it. */
export interface RemoteFile {
  readonly path: string;
  readonly size: number;
  /** The blob name in the cache: the LFS sha256, else the git blob sha1 (what the hub sends as the ETag). */
  readonly etag: string;
  readonly lfs: boolean;
}

export interface RepoRevision {
  readonly repo: string;
  readonly commit: string;
  /** The hub's `gated` field: false, "auto" or "manual". */
  readonly gated: false | string;
  readonly files: readonly RemoteFile[];
}

/** An open file download: the body from `offset` on (0 when the server ignored the Range). */
export interface FileResponse {
  readonly offset: number;
  /** Null when the server says the range starts at the end (416): what is on disk is the whole file. */
  readonly body: AsyncIterable<Uint8Array> | null;
  readonly commit: string | null;
}

type Fetch = typeof fetch;

/** The hub's answer when the revision API is asked with `blobs=true` (only the fields we read). */
interface RevisionJson {
  sha?: string;
  gated?: false | string;
  siblings?: {
    rfilename: string;
    size?: number;
    blobId?: string;
    lfs?: { sha256?: string; size?: number };
  }[];
}

const MAX_REDIRECTS = 10;

export class HubClient {
  constructor(
    readonly endpoint: string,
    private readonly token: string | null,
    private readonly fetchImpl: Fetch = fetch,
  ) {}

  /** The page a user opens to read and accept a gated model's licence. */
  repoPage(repo: string): string {
    return `${this.endpoint}/${repo}`;
  }

  async revision(repo: string, revision: string): Promise<RepoRevision> {
    const url = `${this.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
    const response = await this.request(url, {}, { repo, revision });
    const json = (await response.json()) as RevisionJson;
    if (!json.sha || !Array.isArray(json.siblings))
      throw new HubError('http', `${url}: the hub's answer has no commit or file list`);
    const files = json.siblings.map((s): RemoteFile => {
      const lfs = s.lfs?.sha256 !== undefined;
      const etag = lfs ? s.lfs!.sha256! : s.blobId;
      const size = s.lfs?.size ?? s.size;
      if (etag === undefined || size === undefined)
        throw new HubError('http', `${url}: ${s.rfilename} has no size or blob id (is this a hub endpoint?)`);
      return { path: s.rfilename, size, etag, lfs };
    });
    return { repo, commit: json.sha, gated: json.gated ?? false, files };
  }

  /** Opens `file` of `commit` from byte `offset`, following redirects (the CDN without our token). */
  async openFile(repo: string, commit: string, file: string, offset: number): Promise<FileResponse> {
    const path = file.split('/').map(encodeURIComponent).join('/');
    const url = `${this.endpoint}/${repo}/resolve/${commit}/${path}`;
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (offset > 0) headers.range = `bytes=${offset}-`;
    const response = await this.request(url, headers, { repo, revision: commit, file }, [200, 206, 416]);
    const repoCommit = response.headers.get('x-repo-commit');
    if (response.status === 416) {
      await response.body?.cancel();
      return { offset, body: null, commit: repoCommit };
    }
    if (!response.body) throw new HubError('http', `${url}: empty response`);
    const start = response.status === 206 ? rangeStart(response.headers.get('content-range')) : 0;
    if (start !== 0 && start !== offset)
      throw new HubError('http', `${url}: asked for bytes from ${offset}, got a range from ${start}`);
    return { offset: start, body: response.body, commit: repoCommit };
  }

  /** One request with manual redirects: relative ones stay on the hub, others lose the Authorization header. */
  private async request(
    url: string,
    headers: Record<string, string>,
    what: { repo: string; revision: string; file?: string },
    accept: readonly number[] = [200],
  ): Promise<Response> {
    let current = new URL(url);
    const hub = new URL(this.endpoint).origin;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const sent: Record<string, string> = { ...headers, 'user-agent': 'pixtral-ts; hf_hub-compatible' };
      if (this.token && current.origin === hub) sent.authorization = `Bearer ${this.token}`;
      let response: Response;
      try {
        response = await this.fetchImpl(current, { headers: sent, redirect: 'manual' });
      } catch (err) {
        throw new HubError('network', `cannot reach ${current.origin}: ${reason(err)}`);
      }
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel();
        current = new URL(location, current);
        continue;
      }
      if (accept.includes(response.status)) return response;
      await response.body?.cancel();
      throw this.errorFor(response, what, current);
    }
    throw new HubError('http', `${url}: more than ${MAX_REDIRECTS} redirects`);
  }

  private errorFor(response: Response, what: { repo: string; revision: string; file?: string }, url: URL) {
    const code = response.headers.get('x-error-code');
    const { repo, revision, file } = what;
    if (
      code === 'GatedRepo' ||
      ((response.status === 401 || response.status === 403) && code !== 'RepoNotFound')
    ) {
      const why = this.token ? 'the token in use has no access to it' : 'no token was given';
      return new HubError(
        'gated',
        `${repo} is gated (${why}): accept the licence at ${this.repoPage(repo)} and set HF_TOKEN (or pass --token)`,
      );
    }
    if (code === 'RepoNotFound' || (response.status === 404 && code === null && file === undefined))
      return new HubError(
        'repo-not-found',
        `${repo}: no such model on ${this.endpoint}` +
          (this.token ? '' : ' (if it is private, set HF_TOKEN)'),
      );
    if (code === 'RevisionNotFound')
      return new HubError('revision-not-found', `${repo} has no revision "${revision}"`);
    if (code === 'EntryNotFound' || response.status === 404)
      return new HubError('entry-not-found', `${repo}@${revision} has no file "${file}"`);
    return new HubError('http', `${url.href}: HTTP ${response.status} ${response.statusText}`.trim());
  }
}

/** `bytes 100-199/200` → 100. */
function rangeStart(contentRange: string | null): number {
  const match = /^bytes (\d+)-/.exec(contentRange ?? '');
  return match ? Number(match[1]) : 0;
}

/** fetch's errors say "fetch failed" and keep the reason in `cause`. */
export function reason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}
