/**
 * A Hugging Face Hub on loopback, for the pull tests: the revision API, `resolve` with a 302 to a "CDN" on a
 * second port (another origin, so the token must not follow), Range requests, gated repos, and the faults a
 * real download meets (a throttled CDN, a connection dropped mid-file, corrupt bytes). It records every
 * request, with its Range and Authorization headers, for the tests to check.
 *
 * The response shapes are the hub's, as the public client reads them (recorded below as data).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The hub's wire shapes, from huggingface_hub: `constants.py` (header names), `utils/_http.py`
 * (`hf_raise_for_status`: X-Error-Code values and their statuses), `file_download.py` (`get_hf_file_metadata`:
 * X-Linked-Etag / X-Linked-Size on the LFS redirect, ETag otherwise, X-Repo-Commit always) and `hf_api.py`
 * (`model_info` with `files_metadata=True` → `?blobs=true`, the `siblings` entries below).
 */
export const HUB_SHAPES = {
  headers: {
    repoCommit: 'X-Repo-Commit',
    linkedEtag: 'X-Linked-Etag',
    linkedSize: 'X-Linked-Size',
    errorCode: 'X-Error-Code',
    errorMessage: 'X-Error-Message',
  },
  errors: {
    gatedNoToken: {
      status: 401,
      code: 'GatedRepo',
      message: (repo: string) =>
        `Access to model ${repo} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
    },
    gatedNoAccess: {
      status: 403,
      code: 'GatedRepo',
      message: (repo: string) =>
        `Access to model ${repo} is restricted and you are not in the authorized list. Visit https://huggingface.co/${repo} to ask for access.`,
    },
    repoNotFound: { status: 401, code: 'RepoNotFound', message: () => 'Repository not found' },
    revisionNotFound: {
      status: 404,
      code: 'RevisionNotFound',
      message: (rev: string) => `Invalid rev id: ${rev}`,
    },
    entryNotFound: { status: 404, code: 'EntryNotFound', message: () => 'Entry not found' },
  },
  /** One `siblings` entry of `GET /api/models/{repo}/revision/{rev}?blobs=true`. */
  sibling: (file: HubFile) => ({
    rfilename: file.path,
    blobId: gitBlobSha1(file.lfs ? lfsPointer(file.bytes) : file.bytes),
    size: file.bytes.length,
    ...(file.lfs && {
      lfs: {
        sha256: sha256(file.bytes),
        size: file.bytes.length,
        pointerSize: lfsPointer(file.bytes).length,
      },
    }),
  }),
} as const;

export interface HubFile {
  readonly path: string;
  readonly bytes: Buffer;
  /** Stored in git LFS: served through the CDN, named by its sha256. */
  readonly lfs: boolean;
}

export interface HubRepo {
  readonly id: string;
  readonly files: readonly HubFile[];
  readonly gated?: boolean;
}

export interface RecordedRequest {
  readonly server: 'hub' | 'cdn';
  readonly method: string;
  readonly path: string;
  readonly range: string | null;
  readonly authorization: string | null;
}

/** Faults the CDN injects, per file path; each `times` counts down as it fires. */
export interface CdnFaults {
  /** Bytes per second for every CDN response (0: unthrottled). */
  bytesPerSecond: number;
  /** Close the connection after this many body bytes. */
  drop: Map<string, { afterBytes: number; times: number }>;
  /** Serve bytes with one flipped. */
  corrupt: Map<string, { times: number }>;
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function gitBlobSha1(bytes: Buffer): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

function lfsPointer(bytes: Buffer): Buffer {
  return Buffer.from(
    `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(bytes)}\nsize ${bytes.length}\n`,
  );
}

/** A real git commit id: the sha1 of a commit object over the tree of the repo's files (LFS ones as pointers). */
export function gitCommitSha(files: readonly HubFile[], message = 'Upload folder'): string {
  const entries = [...files]
    .sort((a, b) => (a.path < b.path ? -1 : 1))
    .map((f) =>
      Buffer.concat([
        Buffer.from(`100644 ${f.path}\0`),
        Buffer.from(gitBlobSha1(f.lfs ? lfsPointer(f.bytes) : f.bytes), 'hex'),
      ]),
    );
  const tree = Buffer.concat(entries);
  const treeSha = createHash('sha1').update(`tree ${tree.length}\0`).update(tree).digest('hex');
  const who = 'Pixtral Tests <tests@example.invalid> 1726000000 +0000';
  const body = `tree ${treeSha}\nauthor ${who}\ncommitter ${who}\n\n${message}\n`;
  return createHash('sha1')
    .update(`commit ${Buffer.byteLength(body)}\0${body}`)
    .digest('hex');
}

export class LocalHub {
  readonly requests: RecordedRequest[] = [];
  readonly faults: CdnFaults = { bytesPerSecond: 0, drop: new Map(), corrupt: new Map() };
  /** Body bytes the CDN has sent, per file path. */
  readonly sent = new Map<string, number>();
  private readonly repos = new Map<string, HubRepo & { commit: string }>();
  private readonly blobs = new Map<string, HubFile>();

  private constructor(
    private readonly hub: Server,
    private readonly cdn: Server,
    readonly token: string,
  ) {}

  static async start(token = 'hf_local_test_token'): Promise<LocalHub> {
    const hub = createServer();
    const cdn = createServer();
    const local = new LocalHub(hub, cdn, token);
    hub.on('request', (req, res) => local.serveHub(req, res));
    cdn.on('request', (req, res) => void local.serveCdn(req, res));
    await Promise.all([listen(hub), listen(cdn)]);
    return local;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.hub.address() as AddressInfo).port}`;
  }

  private get cdnUrl(): string {
    return `http://127.0.0.1:${(this.cdn.address() as AddressInfo).port}`;
  }

  /** Publishes a repo (again: a new commit on main); returns its commit id. */
  addRepo(repo: HubRepo): string {
    const commit = gitCommitSha(repo.files, `Upload ${repo.id}`);
    this.repos.set(repo.id, { ...repo, commit });
    for (const file of repo.files) if (file.lfs) this.blobs.set(sha256(file.bytes), file);
    return commit;
  }

  commitOf(repoId: string): string {
    return this.repos.get(repoId)!.commit;
  }

  close(): Promise<void> {
    return Promise.all([closeServer(this.hub), closeServer(this.cdn)]).then(() => undefined);
  }

  private record(server: 'hub' | 'cdn', req: IncomingMessage, path: string): void {
    this.requests.push({
      server,
      method: req.method ?? 'GET',
      path,
      range: req.headers.range ?? null,
      authorization: req.headers.authorization ?? null,
    });
  }

  private serveHub(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    const path = decodeURIComponent(url.pathname);
    this.record('hub', req, url.pathname + url.search);
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(path);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const repo = this.repos.get((api ?? resolve)?.[1] ?? '');
    if (!repo) return hubError(res, HUB_SHAPES.errors.repoNotFound, '');
    const rev = (api ?? resolve)![2]!;
    if (rev !== 'main' && rev !== repo.commit) return hubError(res, HUB_SHAPES.errors.revisionNotFound, rev);
    if (api) {
      const body = {
        _id: repo.commit.slice(0, 24),
        id: repo.id,
        modelId: repo.id,
        author: repo.id.split('/')[0],
        sha: repo.commit,
        lastModified: '2024-09-11T00:00:00.000Z',
        private: false,
        disabled: false,
        gated: repo.gated ? 'manual' : false,
        downloads: 0,
        likes: 0,
        tags: [],
        createdAt: '2024-09-11T00:00:00.000Z',
        siblings: repo.files.map(HUB_SHAPES.sibling),
        spaces: [],
        usedStorage: repo.files.reduce((n, f) => n + f.bytes.length, 0),
      };
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      return void res.end(JSON.stringify(body));
    }
    if (repo.gated) {
      const auth = req.headers.authorization;
      if (!auth) return hubError(res, HUB_SHAPES.errors.gatedNoToken, repo.id);
      if (auth !== `Bearer ${this.token}`) return hubError(res, HUB_SHAPES.errors.gatedNoAccess, repo.id);
    }
    const file = repo.files.find((f) => f.path === resolve![3]);
    if (!file) return hubError(res, HUB_SHAPES.errors.entryNotFound, '', repo.commit);
    const common = { [HUB_SHAPES.headers.repoCommit]: repo.commit, 'accept-ranges': 'bytes' };
    if (file.lfs) {
      const digest = sha256(file.bytes);
      res.writeHead(302, {
        ...common,
        etag: `"${HUB_SHAPES.sibling(file).blobId}"`,
        [HUB_SHAPES.headers.linkedEtag]: `"${digest}"`,
        [HUB_SHAPES.headers.linkedSize]: String(file.bytes.length),
        location: `${this.cdnUrl}/repos/${digest.slice(0, 2)}/${digest.slice(2, 4)}/${digest}?response-content-disposition=attachment`,
      });
      return void res.end();
    }
    sendRange(req, res, file.bytes, { ...common, etag: `"${gitBlobSha1(file.bytes)}"` });
  }

  private async serveCdn(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.cdnUrl);
    this.record('cdn', req, url.pathname);
    const file = this.blobs.get(url.pathname.split('/').pop() ?? '');
    if (!file) {
      res.writeHead(404);
      return void res.end();
    }
    let bytes = file.bytes;
    const corrupt = this.faults.corrupt.get(file.path);
    if (corrupt && corrupt.times > 0) {
      corrupt.times--;
      bytes = Buffer.from(bytes);
      bytes[bytes.length >> 1]! ^= 0xff;
    }
    const range = sendRange(req, res, bytes, { etag: `"${sha256(file.bytes)}"` }, true);
    if (!range) return;
    const drop = this.faults.drop.get(file.path);
    const dropAt = drop && drop.times > 0 ? drop.afterBytes : Infinity;
    if (drop && drop.times > 0) drop.times--;
    const chunk = 64 * 1024;
    let sentHere = 0;
    for (let at = range.start; at < bytes.length; at += chunk) {
      if (res.destroyed) return;
      let piece = bytes.subarray(at, Math.min(at + chunk, bytes.length));
      if (sentHere + piece.length > dropAt) {
        piece = piece.subarray(0, dropAt - sentHere);
        res.write(piece);
        this.sent.set(file.path, (this.sent.get(file.path) ?? 0) + piece.length);
        await new Promise((r) => setTimeout(r, 20));
        return void res.socket?.destroy();
      }
      if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
      sentHere += piece.length;
      this.sent.set(file.path, (this.sent.get(file.path) ?? 0) + piece.length);
      if (this.faults.bytesPerSecond > 0)
        await new Promise((r) => setTimeout(r, (1000 * piece.length) / this.faults.bytesPerSecond));
    }
    res.end();
  }
}

/** Answers a GET with the whole body (200) or `Range: bytes=N-` (206, or 416 past the end). */
function sendRange(
  req: IncomingMessage,
  res: ServerResponse,
  bytes: Buffer,
  headers: Record<string, string>,
  streamed = false,
): { start: number } | null {
  const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const start = match ? Number(match[1]) : 0;
  if (start >= bytes.length && match) {
    res.writeHead(416, { ...headers, 'content-range': `bytes */${bytes.length}` });
    res.end();
    return null;
  }
  res.writeHead(match ? 206 : 200, {
    ...headers,
    'content-type': 'application/octet-stream',
    'content-length': String(bytes.length - start),
    ...(match && { 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` }),
  });
  if (req.method === 'HEAD') {
    res.end();
    return null;
  }
  if (streamed) return { start };
  res.end(bytes.subarray(start));
  return null;
}

function hubError(
  res: ServerResponse,
  error: { status: number; code: string; message: (arg: string) => string },
  arg: string,
  commit?: string,
): void {
  const message = error.message(arg);
  res.writeHead(error.status, {
    'content-type': 'application/json; charset=utf-8',
    [HUB_SHAPES.headers.errorCode]: error.code,
    [HUB_SHAPES.headers.errorMessage]: message,
    ...(commit && { [HUB_SHAPES.headers.repoCommit]: commit }),
  });
  res.end(JSON.stringify({ error: message }));
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
