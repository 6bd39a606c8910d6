/**
 * An append-only text file that survives kill -9: each finished input is one write() followed by fsync, so
 * the file holds all of an input's lines or none of them; a line cut by a crash (power loss, a full disk)
 * is dropped when the file is opened again, so the next append starts on a fresh line.
 */
import { open, type FileHandle } from 'node:fs/promises';

export class AppendFile {
  private constructor(private readonly handle: FileHandle) {}

  /** Opens (creating) the file; returns it with the whole lines it already holds. */
  static async open(path: string): Promise<{ file: AppendFile; text: string }> {
    const handle = await open(path, 'a+');
    const text = (await handle.readFile()).toString('utf8');
    const whole = text.endsWith('\n') || text === '' ? text : text.slice(0, text.lastIndexOf('\n') + 1);
    if (whole.length !== text.length) await handle.truncate(Buffer.byteLength(whole));
    return { file: new AppendFile(handle), text: whole };
  }

  async append(text: string): Promise<void> {
    await this.handle.write(text);
    await this.handle.sync();
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
